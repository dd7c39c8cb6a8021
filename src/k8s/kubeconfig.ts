// Finding the cluster the way kubectl does: --kubeconfig (that file only), else KUBECONFIG (several files,
// the first to define a name or the current context wins), else ~/.kube/config, else the Pod's service
// account. An unknown --context is an error, not a silent fallback.

import { KubeConfig } from '@kubernetes/client-node';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { InputError, UsageError, UnreachableError } from '../errors.ts';

const SERVICE_ACCOUNT = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export interface KubeconfigOptions {
  kubeconfig?: string;
  context?: string;
  env: Record<string, string | undefined>;
}

export function loadKubeConfig(opts: KubeconfigOptions): KubeConfig {
  const kc = new KubeConfig();
  if (opts.kubeconfig) {
    if (!existsSync(opts.kubeconfig)) throw new UsageError(`--kubeconfig ${opts.kubeconfig}: no such file`);
    loadFile(kc, opts.kubeconfig);
  } else if (opts.env.KUBECONFIG) {
    const files = opts.env.KUBECONFIG.split(delimiter).filter((f) => f && existsSync(f));
    if (files.length === 0) throw new UsageError(`KUBECONFIG=${opts.env.KUBECONFIG}: none of its files exists`);
    mergeFirstWins(kc, files);
  } else if (existsSync(join(opts.env.HOME ?? homedir(), '.kube', 'config'))) {
    loadFile(kc, join(opts.env.HOME ?? homedir(), '.kube', 'config'));
  } else if (opts.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT)) {
    kc.loadFromCluster();
  } else {
    throw new UnreachableError('no cluster configuration: no --kubeconfig, no KUBECONFIG, no ~/.kube/config, and not running in a Pod', {
      hint: 'point --kubeconfig or KUBECONFIG at a kubeconfig file, or use -f FILE to work offline',
    });
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new UsageError(`context "${opts.context}" does not exist`, {
        hint: `known contexts: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || '(none)'
        }`,
      });
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster) {
    const current = kc.getCurrentContext();
    const names = kc.getContexts().map((c) => c.name);
    throw new UsageError(current ? `the current context "${current}" names no cluster` : 'the kubeconfig sets no current context', {
      hint: names.length
        ? `pick one with --context (known: ${names.join(', ')})`
        : 'the kubeconfig defines no context: kubectl config set-context, or point --kubeconfig at another file',
    });
  }
  let url: URL | undefined;
  try {
    url = new URL(cluster.server);
  } catch {
    url = undefined;
  }
  if (url?.protocol !== 'https:') {
    const why = url ? 'is not HTTPS: vsop talks to the API server over HTTPS only' : 'is not a URL';
    throw new InputError('invalid kubeconfig', [{ source: `cluster "${cluster.name}"`, path: 'cluster.server', message: `${JSON.stringify(cluster.server)} ${why}` }], {
      hint: "set the cluster's server to https://HOST:PORT",
    });
  }
  return kc;
}

/**
 * One kubeconfig file, with relative paths made absolute as kubectl does. An empty file is an empty
 * configuration (kubectl reads it so); one that is not YAML is invalid input naming the file.
 */
function loadFile(kc: KubeConfig, file: string): void {
  const text = readFileSync(file, 'utf8');
  if (text.trim() === '') return;
  try {
    kc.loadFromString(text);
  } catch (err) {
    throw new InputError('invalid kubeconfig', [{ source: file, path: '', message: `is not a kubeconfig: ${String((err as Error).message).split('\n')[0]}` }], {
      hint: `check it with: kubectl config view --kubeconfig ${file}`,
    });
  }
  kc.makePathsAbsolute(dirname(file));
}

/** kubectl's merge: the first file to define a cluster, user or context keeps it; so does current-context. */
function mergeFirstWins(kc: KubeConfig, files: string[]): void {
  const merged = { clusters: [] as { name: string }[], users: [] as { name: string }[], contexts: [] as { name: string }[], currentContext: '' };
  for (const file of files) {
    const one = new KubeConfig();
    loadFile(one, file);
    const add = <T extends { name: string }>(into: T[], from: T[]) => {
      for (const item of from) if (!into.some((x) => x.name === item.name)) into.push(item);
    };
    add(merged.clusters, one.getClusters());
    add(merged.users, one.getUsers());
    add(merged.contexts, one.getContexts());
    if (!merged.currentContext && one.getCurrentContext()) merged.currentContext = one.getCurrentContext();
  }
  kc.loadFromOptions(merged);
}
