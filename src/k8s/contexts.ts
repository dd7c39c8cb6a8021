// The context names of the kubeconfig, for completing --context. Read with the yaml library rather than
// @kubernetes/client-node (kubeconfig.ts), whose loading alone takes longer (about 0.3 s) than the rest of
// a completion; a context's name is all that is needed, and kubectl's merge of several files keeps the
// first of each name, in file order.

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { parse } from 'yaml';
import { InputError } from '../errors.ts';
import type { KubeconfigOptions } from './kubeconfig.ts';

/**
 * The context names of the kubeconfig kubectl would read, as loadKubeConfig chooses it: the --kubeconfig
 * file, else KUBECONFIG's files, else ~/.kube/config; [] when none of them exists. A file that is not
 * YAML is an InputError naming it. Nothing else is checked: a context is being chosen, not used.
 */
export function kubeconfigContexts(opts: Pick<KubeconfigOptions, 'kubeconfig' | 'env'>): string[] {
  const files = opts.kubeconfig
    ? [opts.kubeconfig]
    : opts.env.KUBECONFIG
      ? opts.env.KUBECONFIG.split(delimiter).filter(Boolean)
      : [join(opts.env.HOME ?? homedir(), '.kube', 'config')];
  const names: string[] = [];
  for (const file of files.filter((f) => existsSync(f))) {
    let doc: unknown;
    try {
      doc = parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new InputError('invalid kubeconfig', [{ source: file, path: '', message: `is not YAML: ${String((err as Error).message).split('\n')[0]}` }]);
    }
    const contexts = (doc as { contexts?: unknown } | null)?.contexts;
    for (const c of Array.isArray(contexts) ? contexts : []) {
      const name = (c as { name?: unknown } | null)?.name;
      if (typeof name === 'string' && !names.includes(name)) names.push(name);
    }
  }
  return names;
}
