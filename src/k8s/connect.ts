// The cluster client for a command: kubeconfig resolution plus the KubePort over it.

import { KubeClient, type ClientOptions } from './client.ts';
import { loadKubeConfig, type KubeconfigOptions } from './kubeconfig.ts';
import type { KubePort } from './port.ts';

export function connect(opts: KubeconfigOptions & ClientOptions): KubePort {
  return new KubeClient(loadKubeConfig(opts), opts);
}
