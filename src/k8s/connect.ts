// The cluster client for a command: kubeconfig resolution plus the KubePort over it.

import { KubeClient, type ClientOptions } from './client.ts';
import { loadKubeConfig, type KubeconfigOptions } from './kubeconfig.ts';
import type { VersionPort, WatchPort } from './port.ts';

export function connect(opts: KubeconfigOptions & ClientOptions): WatchPort & VersionPort {
  return new KubeClient(loadKubeConfig(opts), opts);
}

/** The global flags every cluster command shares, as connection options. */
export interface ConnectionFlags {
  kubeconfig?: string;
  context?: string;
  requestTimeout: number;
}

export function connectWith(env: KubeconfigOptions['env'], flags: ConnectionFlags, client: ClientOptions = {}): WatchPort & VersionPort {
  return connect({
    env,
    requestTimeout: flags.requestTimeout,
    ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}),
    ...(flags.context ? { context: flags.context } : {}),
    ...client,
  });
}
