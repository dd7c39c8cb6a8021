// Where a command's state comes from: files given with -f, or the cluster of the current kubeconfig.

import { fileSource } from '../files.ts';
import type { KubePort } from '../k8s/port.ts';
import type { Problem } from '../errors.ts';
import type { Input } from '../inputs.ts';
import type { StateSource } from '../reconcile.ts';
import type { Io } from './io.ts';
import type { GlobalOptions } from './options.ts';

export interface SourceOptions extends GlobalOptions {
  filename?: string[];
}

export interface OpenedSource {
  source: StateSource;
  /** Present in cluster mode: where writes go. */
  port?: KubePort;
}

/** `inputs`: what a cluster source reads besides the ConfigMap (default INPUTS; `vsop xds render` passes XDS_INPUTS). */
export async function openSource(io: Io, opts: SourceOptions, inputs?: readonly Input[]): Promise<OpenedSource> {
  const location = { namespace: opts.configNamespace, name: opts.configName };
  if (opts.filename && opts.filename.length > 0) return { source: fileSource(opts.filename, location, io.readStdin) };
  // The Kubernetes client is loaded only here, so offline commands never pay for it.
  const [{ connectWith }, { clusterSource }] = await Promise.all([import('../k8s/connect.ts'), import('../k8s/source.ts')]);
  const port = connectWith(io.env, opts, { signal: io.signal });
  return { source: clusterSource(port, location, inputs), port };
}

/** Warnings about the configuration (unknown keys) go to stderr, never stdout. */
export function printWarnings(io: Io, warnings: readonly { source?: string; path: string; message: string }[], color: (s: string) => string): void {
  for (const w of warnings) io.err(`${color('warning:')} ${w.source ? `${w.source}: ` : ''}${w.path ? `${w.path}: ` : ''}${w.message}\n`);
}

/** Services left out because they cannot be rendered (reconcile's refusedApart), as warnings saying so. */
export function refusedWarnings(problems: readonly Problem[]): Problem[] {
  return problems.map((p) => ({ ...p, message: `${p.message} (left out: this Service cannot be rendered; the others are not held back)` }));
}
