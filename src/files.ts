// Reading -f/--filename inputs: files, directories (recursively, *.yaml, *.yml, *.json) and "-" for
// stdin, each holding one or more YAML documents. Every unreadable path and syntax error is collected.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isScalar, LineCounter, parseAllDocuments } from 'yaml';
import { documentValue } from './core/yaml.ts';
import { InputError, type Problem } from './errors.ts';
import { collect, type SourcedDocument } from './core/inventory.ts';
import { CONFIG_KEY } from './core/ownership.ts';
import type { ConfigLocation } from './core/types.ts';
import type { StateSource } from './reconcile.ts';

const MANIFEST = /\.(ya?ml|json)$/i;

export async function readDocuments(paths: readonly string[], stdin: () => Promise<string>): Promise<SourcedDocument[]> {
  const problems: Problem[] = [];
  const docs: SourcedDocument[] = [];
  for (const path of paths) {
    if (path === '-') {
      parseInto('(stdin)', await stdin(), docs, problems);
      continue;
    }
    for (const file of await expand(path, problems)) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        problems.push({ source: file, path: '', message: `cannot be read: ${describeIoError(err)}` });
        continue;
      }
      parseInto(file, text, docs, problems);
    }
  }
  if (problems.length > 0) throw new InputError('cannot read input', problems);
  return docs;
}

async function expand(path: string, problems: Problem[]): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    problems.push({ source: path, path: '', message: describeIoError(err) });
    return [];
  }
  if (!info.isDirectory()) return [path];
  const found: string[] = [];
  const walk = async (dir: string) => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      problems.push({ source: dir, path: '', message: `cannot be read: ${describeIoError(err)}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const full = join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (MANIFEST.test(e.name)) found.push(full);
    }
  };
  await walk(path);
  if (found.length === 0) problems.push({ source: path, path: '', message: 'directory holds no .yaml, .yml or .json files' });
  return found;
}

function parseInto(source: string, text: string, docs: SourcedDocument[], problems: Problem[]): void {
  const lineCounter = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const list = Array.isArray(parsed) ? parsed : [];
  let any = false;
  for (const doc of list) {
    // Only the first problem of a document: the ones after a syntax error are usually its echoes.
    const read = documentValue(doc, lineCounter);
    if ('problem' in read) {
      problems.push({ source: `${source}:${read.problem.line}:${read.problem.col}`, path: '', message: read.problem.message });
      continue;
    }
    const value = read.value;
    if (value === null || value === undefined) continue;
    any = true;
    const start = doc.contents?.range[0] ?? doc.range[0];
    const line = lineCounter.linePos(start).line;
    docs.push({
      value,
      source: `${source}:${line}`,
      text: text.slice(doc.range[0], doc.range[2]),
      blockStart: (path) => {
        const node = doc.getIn(path, true);
        if (!isScalar(node) || node.type !== 'BLOCK_LITERAL' || !node.range) return undefined;
        // The content starts on the line after the "|" header, indented like its first non-blank line.
        const header = lineCounter.linePos(node.range[0]).line;
        const body = text.slice(node.range[0]).split('\n').slice(1);
        const first = body.find((l) => l.trim() !== '') ?? '';
        return { file: source, line: header + 1, indent: first.length - first.trimStart().length };
      },
    });
  }
  if (!any && problems.every((p) => !p.source?.startsWith(source))) {
    problems.push({ source, path: '', message: 'is empty (no YAML documents)' });
  }
}

function describeIoError(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return err instanceof Error ? err.message : String(err);
}

/** Files as the state source: the ConfigMap, Services and live VirtualServices all come from them. */
export function fileSource(paths: readonly string[], location: ConfigLocation, stdin: () => Promise<string>): StateSource {
  return {
    async read() {
      const inventory = collect(await readDocuments(paths, stdin), location);
      if (!inventory.config) {
        const others = inventory.otherConfigMaps.length ? ` (found ConfigMaps: ${inventory.otherConfigMaps.join(', ')})` : '';
        throw new InputError(
          'no configuration in the input',
          [
            {
              path: '',
              message: `no ConfigMap ${location.namespace}/${location.name} with a ${CONFIG_KEY} key${others}`,
            },
          ],
          { hint: `add the ConfigMap's file with -f, or point --config-namespace/--config-name at yours` },
        );
      }
      return { config: inventory.config, services: inventory.services, virtualServices: inventory.virtualServices };
    },
  };
}
