// The cluster client for a command: kubeconfig resolution plus the KubePort over it.

import { KubeClient, type ClientOptions } from './client.ts';
import { loadKubeConfig, type KubeconfigOptions } from './kubeconfig.ts';
import type { WatchPort } from './port.ts';

export function connect(opts: KubeconfigOptions & ClientOptions): WatchPort {
  return new KubeClient(loadKubeConfig(opts), opts);
}
