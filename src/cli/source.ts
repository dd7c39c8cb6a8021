// Where a command's state comes from: files given with -f, or (cluster mode) the current kubeconfig.

import { UsageError } from '../errors.ts';
import { fileSource } from '../files.ts';
import type { StateSource } from '../reconcile.ts';
import type { Io } from './io.ts';
import type { GlobalOptions } from './program.ts';

export interface SourceOptions extends GlobalOptions {
  filename?: string[];
}

export function stateSource(io: Io, opts: SourceOptions): StateSource {
  const location = { namespace: opts.configNamespace, name: opts.configName };
  if (opts.filename && opts.filename.length > 0) return fileSource(opts.filename, location, io.readStdin);
  throw new UsageError('no input: give the ConfigMap, Services and VirtualServices with -f FILE (a directory, or - for stdin)', {
    hint: 'vsop sync -f examples/seed --diff',
  });
}

/** Warnings about the configuration (unknown keys) go to stderr, never stdout. */
export function printWarnings(io: Io, warnings: readonly { source?: string; path: string; message: string }[], color: (s: string) => string): void {
  for (const w of warnings) io.err(`${color('warning:')} ${w.source ? `${w.source}: ` : ''}${w.path ? `${w.path}: ` : ''}${w.message}\n`);
}
