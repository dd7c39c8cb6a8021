// Fuzzing the offline CLI (issue 11): seeded mutations of the examples — of their bytes, of their YAML
// structure, of the types and sizes of their values — through render, sync --diff, status, trace and
// config validate, in process. Whatever the input, vsop must answer with a documented exit code other than
// 70 (a bug), print no stack trace, write nothing to stdout on an error, and finish within a time bound.
// A few hundred cases run in `npm test`; FUZZ_RUNS=20000 (and FUZZ_SEED to replay) runs the long mode.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAllDocuments, stringify } from 'yaml';
import { EXIT } from '../../src/errors.ts';
import { runVsop } from '../helpers/run.ts';

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);
/** A case that takes longer than this hangs, as far as a user is concerned. */
const TIME_BOUND_MS = 20_000;

const dir = mkdtempSync(join(tmpdir(), 'vsop-fuzz-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const EXAMPLES = ['seed', 'hierarchical', 'custom-template'].map((name) =>
  ['configmap.yaml', 'services.yaml'].map((f) => readFileSync(`examples/${name}/${f}`, 'utf8')).join('---\n'),
);
const DOCUMENTED = new Set<number>(Object.values(EXIT).filter((c) => c !== EXIT.internal));

/** Values of every type and size a Kubernetes object's field could be given by mistake or malice. */
const junk = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string({ maxLength: 20 }),
  fc.constantFrom('', '*', '${serviceName}', '${nope}', '__proto__', 'constructor', '*.example.com', '-1', '80', 'x'.repeat(300), '\u0000', '\uFEFF', '../..'),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
);

/** A mapping key made of any value (String() throws on an object without a prototype). */
const keyOf = (v: unknown): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? 'undefined'));

/** One mutation of a parsed document: replace, delete or duplicate a value somewhere inside it. */
function mutateValue(doc: unknown, path: number[], replacement: unknown, how: 'replace' | 'delete' | 'wrap'): unknown {
  if (doc === null || typeof doc !== 'object') return how === 'wrap' ? [doc, doc] : replacement;
  const entries = Array.isArray(doc) ? doc.map((v, i) => [String(i), v] as const) : Object.entries(doc);
  if (entries.length === 0 || path.length === 0) return how === 'delete' ? undefined : how === 'wrap' ? { [keyOf(replacement)]: doc } : replacement;
  const [i, ...rest] = path;
  const at = i! % entries.length;
  const changed = entries.map(([k, v], j) => [k, j === at ? mutateValue(v, rest, replacement, how) : v] as const).filter(([, v]) => v !== undefined);
  return Array.isArray(doc) ? changed.map(([, v]) => v) : Object.fromEntries(changed);
}

const structural = fc
  .record({
    example: fc.nat(EXAMPLES.length - 1),
    doc: fc.nat(),
    path: fc.array(fc.nat(), { maxLength: 8 }),
    replacement: junk,
    how: fc.constantFrom('replace', 'delete', 'wrap'),
    inConfig: fc.boolean(),
  })
  .map(({ example, doc, path, replacement, how, inConfig }) => {
    const docs = parseAllDocuments(EXAMPLES[example]!).map((d) => d.toJS());
    const at = doc % docs.length;
    const target = docs[at] as { data?: Record<string, string> } | null;
    // Half the time the mutation goes into config.yaml itself (or its template), which is YAML in a string.
    if (inConfig && target?.data?.['config.yaml']) {
      const config = parseAllDocuments(target.data['config.yaml'])[0]!.toJS();
      target.data['config.yaml'] = stringify(mutateValue(config, path, replacement, how as 'replace'));
    } else docs[at] = mutateValue(docs[at], path, replacement, how as 'replace');
    return docs.map((d) => stringify(d)).join('---\n');
  });

const bytewise = fc
  .record({
    example: fc.nat(EXAMPLES.length - 1),
    edits: fc.array(fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'cut', 'insert', 'dup-line'), byte: fc.integer({ min: 0, max: 255 }) }), {
      minLength: 1,
      maxLength: 6,
    }),
  })
  .map(({ example, edits }) => {
    let bytes = Buffer.from(EXAMPLES[example]!);
    for (const e of edits) {
      const at = e.at % Math.max(bytes.length, 1);
      if (e.kind === 'flip') bytes[at] = e.byte;
      else if (e.kind === 'cut') bytes = bytes.subarray(0, at);
      else if (e.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([e.byte]), bytes.subarray(at)]);
      else {
        const lines = bytes.toString('latin1').split('\n');
        const i = at % lines.length;
        lines.splice(i, 0, lines[i]!);
        bytes = Buffer.from(lines.join('\n'), 'latin1');
      }
    }
    return bytes;
  });

const sized = fc
  .record({ example: fc.nat(EXAMPLES.length - 1), depth: fc.integer({ min: 50, max: 4000 }), kind: fc.constantFrom('seq', 'map', 'alias') })
  .map(({ example, depth, kind }) => {
    const extra =
      kind === 'seq'
        ? `apiVersion: v1\nkind: Service\nmetadata: {name: deep, namespace: default}\nspec: {x: ${'['.repeat(depth)}${']'.repeat(depth)}}\n`
        : kind === 'map'
          ? `apiVersion: v1\nkind: Service\nmetadata: {name: deep, namespace: default}\nspec: {x: ${'{a: '.repeat(depth)}1${'}'.repeat(depth)}}\n`
          : `a: &a [x, x, x, x, x, x, x, x, x, x]\n${Array.from(
              { length: Math.min(depth, 40) },
              (_, i) =>
                `${String.fromCharCode(98 + (i % 24))}${i}: &l${i} [${Array(10)
                  .fill(i === 0 ? '*a' : `*l${i - 1}`)
                  .join(', ')}]`,
            ).join('\n')}\n`;
    return `${EXAMPLES[example]}---\n${extra}`;
  });

const command = fc.constantFrom(
  ['render'],
  ['sync', '--diff'],
  ['sync', '--diff', '-o', 'json'],
  ['status'],
  ['trace', 'my-app', '-H', 'x-developer=dev-alice'],
  ['config', 'validate'],
);

let n = 0;
async function check(input: string | Buffer, args: readonly string[]): Promise<void> {
  const file = join(dir, `case-${n++ % 8}.yaml`);
  writeFileSync(file, input);
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    runVsop([...args, '-f', file]),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`vsop ${args.join(' ')} did not finish within ${TIME_BOUND_MS} ms`)), TIME_BOUND_MS))),
  ]).finally(() => clearTimeout(timer));
  const show = () => `vsop ${args.join(' ')} -f <input> → exit ${result.code}\n${result.stderr.slice(0, 2000)}\n--- input:\n${input.toString().slice(0, 3000)}`;
  assert.ok(DOCUMENTED.has(result.code), `undocumented exit code: ${show()}`);
  assert.doesNotMatch(result.stderr, /\n\s+at .+:\d+:\d+\)?\n/, `a stack trace: ${show()}`);
  assert.doesNotMatch(result.stderr, /internal error/i, show());
  if (result.code >= 2) assert.equal(result.stdout, '', `output on an error: ${show()}`);
}

describe(`fuzzing the offline CLI (${RUNS} cases per kind${SEED === undefined ? '' : `, seed ${SEED}`})`, () => {
  const options = { numRuns: RUNS, ...(SEED === undefined ? {} : { seed: SEED }), endOnFailure: true };
  it('structural mutations: values of other types and sizes, deleted and wrapped fields, in objects and in config.yaml', async () => {
    await fc.assert(
      fc.asyncProperty(structural, command, (input, args) => check(input, args)),
      options,
    );
  });
  it('byte mutations: flipped, inserted and cut bytes, duplicated lines', async () => {
    await fc.assert(
      fc.asyncProperty(bytewise, command, (input, args) => check(input, args)),
      options,
    );
  });
  it('sizes: deep nesting and aliases that multiply', async () => {
    await fc.assert(
      fc.asyncProperty(sized, command, (input, args) => check(input, args)),
      { ...options, numRuns: Math.max(20, Math.round(RUNS / 10)) },
    );
  });
});
