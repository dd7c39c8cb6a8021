// Reading -f/--filename inputs: files, directories (recursively, *.yaml, *.yml, *.json) and "-" for
// stdin, each holding one or more YAML documents. Every unreadable path and syntax error is collected.

import type { Dirent, Stats } from 'node:fs';
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Composer, type Document, isScalar, LineCounter, Parser } from 'yaml';
import { decodeText } from './core/text.ts';
import { documentValue, READ_OPTIONS, TOO_DEEP } from './core/yaml.ts';
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
      const read = await readBounded(file);
      if ('problem' in read) {
        problems.push({ source: file, path: '', message: read.problem });
        continue;
      }
      const decoded = decodeText(read.bytes);
      if ('problem' in decoded) problems.push({ source: file, path: '', message: decoded.problem });
      else parseInto(file, decoded.text, docs, problems);
    }
  }
  if (problems.length > 0) throw new InputError('cannot read input', problems);
  return docs;
}

/**
 * The most vsop reads from one file or stream. The apiserver takes at most 3 MiB per request, so this
 * leaves room for thousands of objects in one file while a mistaken `-f /dev/zero` ends in well under a
 * second, and parsing stays within a few gigabytes of memory.
 */
export const MAX_FILE_BYTES = 64 * 1024 * 1024;

/**
 * A file's bytes, or why they cannot be used. A regular file larger than the limit is refused before it
 * is read; a FIFO, a character device or process substitution (`-f <(kustomize build)`), named on the
 * command line, is read as a stream and refused once it passes the limit.
 */
async function readBounded(file: string): Promise<{ bytes: Uint8Array } | { problem: string }> {
  const tooBig = `is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB, the most vsop reads from one file: split it`;
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, 'r');
    const info = await handle.stat();
    if (info.isFile()) {
      if (info.size > MAX_FILE_BYTES) return { problem: tooBig };
      return { bytes: await handle.readFile() };
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of handle.createReadStream({ highWaterMark: 1024 * 1024, autoClose: false })) {
      size += (chunk as Buffer).length;
      if (size > MAX_FILE_BYTES) return { problem: tooBig };
      chunks.push(chunk as Buffer);
    }
    return { bytes: Buffer.concat(chunks) };
  } catch (err) {
    return { problem: `cannot be read: ${describeIoError(err)}` };
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * Standard input (`-f -`) as text: read as a stream and refused once it passes MAX_FILE_BYTES (`-f - <
 * /dev/zero`), then decoded as files are (a byte-order mark, UTF-16; bytes that are not UTF-8 refused).
 * Throws an InputError naming (stdin).
 */
export async function readStdinText(stream: AsyncIterable<Buffer | string> & { destroy?(): void }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += bytes.length;
    if (size > MAX_FILE_BYTES) {
      stream.destroy?.();
      throw new InputError('cannot read input', [
        { source: '(stdin)', path: '', message: `is larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB, the most vsop reads from one stream: split it` },
      ]);
    }
    chunks.push(bytes);
  }
  const decoded = decodeText(Buffer.concat(chunks));
  if ('problem' in decoded) throw new InputError('cannot read input', [{ source: '(stdin)', path: '', message: decoded.problem }]);
  return decoded.text;
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
      else if (!MANIFEST.test(e.name)) continue;
      else if (e.isFile()) found.push(full);
      else {
        // A link counts for what it leads to; a FIFO or a device inside a directory would block or never
        // end, and a directory is read only when named: such entries are refused, not opened.
        const target = e.isSymbolicLink() ? await stat(full).catch(() => undefined) : undefined;
        if (target?.isFile()) found.push(full);
        else
          problems.push({
            source: full,
            path: '',
            message: `is ${specialKind(e, target)}, not a regular file: vsop reads only regular files inside a directory (name it on its own to read it)`,
          });
      }
    }
  };
  await walk(path);
  if (found.length === 0 && problems.length === 0) problems.push({ source: path, path: '', message: 'directory holds no .yaml, .yml or .json files' });
  return found;
}

function specialKind(e: Dirent, target: Stats | undefined): string {
  const kind = target ?? e;
  if (e.isSymbolicLink() && !target) return 'a link that leads nowhere';
  if (kind.isFIFO()) return 'a FIFO';
  if (kind.isSocket()) return 'a socket';
  if (kind.isCharacterDevice() || kind.isBlockDevice()) return 'a device';
  if (kind.isDirectory()) return 'a link to a directory';
  return 'not a file';
}

/**
 * Each YAML document of `text`, one at a time: the parser and composer of the yaml package are driven as
 * a stream (its documented Composer API), so only the document in hand and the plain values are kept, not
 * every document's syntax tree (parseAllDocuments holds them all: about 50 times the file's size).
 */
function parseInto(source: string, text: string, docs: SourcedDocument[], problems: Problem[]): void {
  const lineCounter = new LineCounter();
  const composer = new Composer({ ...READ_OPTIONS });
  let any = false;
  const documents = composer.compose(new Parser(lineCounter.addNewLine).parse(text), true, text.length);
  for (;;) {
    let next: IteratorResult<Document.Parsed>;
    let read: ReturnType<typeof documentValue>;
    try {
      next = documents.next();
      if (next.done) break;
      // Only the first problem of a document: the ones after a syntax error are usually its echoes.
      read = documentValue(next.value, lineCounter);
    } catch (err) {
      // The yaml package composes and converts nested collections recursively: nesting deep enough to
      // exhaust the stack (several hundred levels; Kubernetes objects nest a few dozen) ends the file.
      if (!(err instanceof RangeError)) throw err;
      problems.push({ source, path: '', message: TOO_DEEP });
      return;
    }
    const doc = next.value;
    if ('problem' in read) {
      problems.push({ source: `${source}:${read.problem.line}:${read.problem.col}`, path: '', message: read.problem.message });
      continue;
    }
    const value = read.value;
    if (value === null || value === undefined) continue;
    any = true;
    const start = doc.contents?.range[0] ?? doc.range[0];
    const line = lineCounter.linePos(start).line;
    // Only a ConfigMap (alone or in a List) needs its block's position; other documents are let go.
    const kind = (value as { kind?: unknown }).kind;
    const mayHoldConfig = typeof kind !== 'string' || kind === 'ConfigMap' || kind.endsWith('List');
    docs.push({
      value,
      source: `${source}:${line}`,
      text: text.slice(doc.range[0], doc.range[2]),
      textStart: { file: source, ...lineCounter.linePos(doc.range[0]) },
      ...(mayHoldConfig ? { blockStart: blockStart(doc, text, source, lineCounter) } : {}),
    });
  }
  if (!any && problems.every((p) => !p.source?.startsWith(source))) {
    problems.push({ source, path: '', message: 'is empty (no YAML documents)' });
  }
}

/** Where a block scalar at `path` of the document begins in the file: the line after its "|" header, and its indentation. */
function blockStart(doc: Document.Parsed, text: string, source: string, lineCounter: LineCounter): NonNullable<SourcedDocument['blockStart']> {
  return (path) => {
    const node = doc.getIn(path, true);
    if (!isScalar(node) || node.type !== 'BLOCK_LITERAL' || !node.range) return undefined;
    const header = lineCounter.linePos(node.range[0]).line;
    const body = text.slice(node.range[0]).split('\n').slice(1);
    const first = body.find((l) => l.trim() !== '') ?? '';
    return { file: source, line: header + 1, indent: first.length - first.trimStart().length };
  };
}

/** A file or stream error in the words of strerror(3), without Node's "ECODE: …, syscall" wrapping. */
export function describeIoError(err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'ENOSPC') return 'no space left on device';
  if (code === 'EBADF') return 'bad file descriptor';
  if (code === 'EIO') return 'input/output error';
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
      return {
        config: inventory.config,
        services: inventory.services,
        virtualServices: inventory.virtualServices,
        httpRoutes: inventory.httpRoutes,
        referenceGrants: inventory.referenceGrants,
        endpointSlices: inventory.endpointSlices,
      };
    },
  };
}
