// The cluster client for a command: kubeconfig resolution, the proxy kubectl would use, and the KubePort
// over them.

import { KubeClient, type ClientOptions } from './client.ts';
import { loadKubeConfig, proxyFor, type KubeconfigOptions } from './kubeconfig.ts';
import type { VersionPort, WatchPort } from './port.ts';

export function connect(opts: KubeconfigOptions & ClientOptions): WatchPort & VersionPort {
  const kc = loadKubeConfig(opts);
  const proxy = proxyFor(kc, opts.env);
  return new KubeClient(kc, { ...opts, ...(proxy ? { proxy } : {}) });
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
