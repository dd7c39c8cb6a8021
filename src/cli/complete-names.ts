// The names `vsop __complete` offers (complete.ts), read the way the commands read them: the -f files
// (fileSource) or the cluster (the ConfigMap, then the production namespace's Services), and the
// kubeconfig's contexts. Loaded only when a position needs names.

import { stat } from 'node:fs/promises';
import { loadConfig } from '../core/config.ts';
import { DEFAULT_CONFIG_LOCATION, placeholderScopeOf } from '../core/ownership.ts';
import type { Config, Service } from '../core/types.ts';
import { fileSource } from '../files.ts';
import type { NameKind } from './completion.ts';
import { parseDuration } from './program.ts';

type Env = Record<string, string | undefined>;

/**
 * The names of one kind, in the order the source holds them (Services sorted): production Services
 * (`services`), developer namespaces of the config (`developer-namespaces`), those after the production
 * namespace (`namespaces`), or the kubeconfig's contexts. Rejects when the source cannot be read or
 * `signal` aborts; the caller turns that into no candidates.
 */
export async function findNames(kind: NameKind, input: NamesInput, env: Env, signal: AbortSignal): Promise<string[]> {
  if (kind === 'contexts') {
    const { kubeconfigContexts } = await import('../k8s/contexts.ts');
    return kubeconfigContexts({ env, ...(input.kubeconfig ? { kubeconfig: input.kubeconfig } : {}) });
  }
  const { config, services } = await read(input, env, signal, kind === 'services');
  if (kind === 'services') return [...placeholderScopeOf(config, services).production].sort();
  const developers = config.developerNamespaces.map((d) => d.name);
  return kind === 'namespaces' ? [...new Set([config.defaultNamespace, ...developers])] : developers;
}

/** The config, and (when `withServices`) the Services of the production namespace. */
async function read(input: NamesInput, env: Env, signal: AbortSignal, withServices: boolean): Promise<{ config: Config; services: Service[] }> {
  const location = { namespace: input.configNamespace, name: input.configName };
  if (input.offline) {
    const snapshot = await fileSource(await regularPaths(input.files), location, async () => '').read();
    return { config: loadConfig(snapshot.config.text, snapshot.config.source).config, services: snapshot.services };
  }
  const [{ connectWith }, { readConfig }] = await Promise.all([import('../k8s/connect.ts'), import('../k8s/source.ts')]);
  // The bound is the caller's signal; the line's --request-timeout (default 30 s) bounds each request too.
  const port = connectWith(env, { ...input, requestTimeout: input.requestTimeout }, { signal });
  try {
    const text = await readConfig(port, location);
    const { config } = loadConfig(text.text, text.source);
    return { config, services: withServices ? await port.listServices(config.defaultNamespace) : [] };
  } finally {
    port.close?.();
  }
}

/**
 * The -f paths completion may open: regular files and directories (inside them files.ts opens only
 * regular files), and paths that cannot be stat'ed, which reading then reports. A FIFO, a device, a socket
 * or a pipe (`-f <(cmd)`, /dev/fd/N) is left out: opening a FIFO blocks a thread of libuv's pool until a
 * writer comes, which nothing can stop, and a pipe's contents belong to the command being typed.
 */
async function regularPaths(paths: readonly string[]): Promise<string[]> {
  const infos = await Promise.all(paths.map((p) => stat(p).catch(() => undefined)));
  return paths.filter((_, i) => !infos[i] || infos[i].isFile() || infos[i].isDirectory());
}

/** Where names are found, from the flags on the line (or their environment variables and defaults). */
export interface NamesInput {
  /** -f paths; stdin (-) is left out, since nothing is typed into a completion. */
  files: string[];
  /** Whether the line has -f at all: then the files are the source, never the cluster. */
  offline: boolean;
  kubeconfig?: string;
  context?: string;
  configNamespace: string;
  configName: string;
  /** Milliseconds one API request may take: the line's --request-timeout, else the flag's default (30 s). */
  requestTimeout: number;
}

/** The flags' values on the line (by long flag, complete.ts's locate) as a NamesInput. */
export function namesInput(values: ReadonlyMap<string, string[]>, env: Env): NamesInput {
  const last = (flag: string) => values.get(flag)?.at(-1);
  const files = values.get('--filename') ?? [];
  const kubeconfig = last('--kubeconfig');
  const context = last('--context');
  return {
    files: files.filter((f) => f !== '-'),
    offline: files.length > 0,
    ...(kubeconfig ? { kubeconfig } : {}),
    ...(context ? { context } : {}),
    configNamespace: last('--config-namespace') ?? env.VSOP_CONFIG_NAMESPACE ?? DEFAULT_CONFIG_LOCATION.namespace,
    configName: last('--config-name') ?? env.VSOP_CONFIG_NAME ?? DEFAULT_CONFIG_LOCATION.name,
    requestTimeout: requestTimeout(last('--request-timeout')),
  };
}

/**
 * The line's --request-timeout in milliseconds; the flag's default (30 s) where it is absent, or not a
 * duration the flag takes (1s to 1h, program.ts), since completion reports no errors.
 */
function requestTimeout(value: string | undefined): number {
  try {
    const ms = value === undefined ? 30_000 : parseDuration(value);
    return ms >= 1000 && ms <= 3_600_000 ? ms : 30_000;
  } catch {
    return 30_000;
  }
}
