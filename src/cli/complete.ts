// `vsop __complete WORD... CURRENT`: the candidates for completing a command line, in cobra's protocol
// (spf13/cobra, completions.go), which kubectl's plugin completion speaks too (kubectl_complete-vsop;
// kubectl's pkg/cmd/plugin/plugin_completion.go). The arguments are the words after the program's name,
// the last one the word being completed ("" for a new word). The answer, on stdout: one candidate a line,
// "candidate<TAB>description" where there is one, then a last line ":<directive>", the sum of cobra's
// ShellCompDirective bits (DIRECTIVE). Anything on stderr is for people debugging; the scripts drop it.
//
// A hidden command, answered before commander parses (main.ts): commander would take a global flag among
// the words (`--context x`) for its own. Names come from the -f files when the line has -f, else from the
// cluster the line's --kubeconfig/--context (or the defaults) point at, and contexts from the kubeconfig,
// all within one time bound (VSOP_COMPLETION_TIMEOUT, default 2s): a slow or unreachable cluster gives no
// candidates, never a shell waiting on a Tab.

import type { Command } from 'commander';
import { type CommandNode, commandTree, type NameKind, type OptionInfo, optionsAt } from './completion.ts';
import type { NamesInput } from './complete-names.ts';
import type { Io } from './io.ts';
import { parseDuration } from './program.ts';

/** cobra's ShellCompDirective bits (completions.go): the shell's behaviour after the candidates. */
export const DIRECTIVE = { default: 0, error: 1, noSpace: 2, noFileComp: 4 } as const;

/** The bound on finding names when VSOP_COMPLETION_TIMEOUT does not set one, in milliseconds. */
export const DEFAULT_BOUND_MS = 2000;

/** What the last word of a command line is. */
export interface Position {
  /** The command the words lead to. */
  node: CommandNode;
  /** The option whose value the word is, if it is one. */
  option?: OptionInfo;
  /** The part of the word before the value (`--context=`), given back with every candidate. */
  prefix: string;
  /** What is typed of the candidate. */
  partial: string;
  /** The values given so far, by the option's long flag (`--filename` → its paths), the last one last. */
  values: Map<string, string[]>;
  /** The command's arguments given so far. */
  args: string[];
  /** The first flag on the line that the command does not have (`sync -n`): then nothing is offered. */
  unknownFlag?: string;
}

/**
 * Where the last of `words` stands in the command tree (`tree[0]` is the program): after which command,
 * as the value of which option, after which arguments. Flags are taken as commander takes them: the
 * command's own and the program's anywhere after the program's name, `--flag=value`, `-o value`, `-ovalue`
 * and `-o=value`; "--" ends the flags. Words that match nothing are arguments.
 */
export function locate(tree: readonly CommandNode[], words: readonly string[]): Position {
  const root = tree[0]!;
  const partialWord = words.at(-1) ?? '';
  let node = root;
  const values = new Map<string, string[]>();
  const args: string[] = [];
  const optionsOf = (n: CommandNode) => optionsAt(n, root);
  const find = (flag: string) => optionsOf(node).find((o) => o.flags.includes(flag));
  const record = (o: OptionInfo, value: string) => {
    const key = o.flags.at(-1)!;
    values.set(key, [...(values.get(key) ?? []), value]);
  };
  let flagsEnded = false;
  let awaiting: OptionInfo | undefined;
  let unknownFlag: string | undefined;
  for (const word of words.slice(0, -1)) {
    if (awaiting) {
      record(awaiting, word);
      awaiting = undefined;
      continue;
    }
    if (!flagsEnded && word === '--') {
      flagsEnded = true;
      continue;
    }
    if (!flagsEnded && word.startsWith('-') && word !== '-') {
      const [flag, value] = splitFlag(word, find);
      const o = find(flag);
      if (!o) unknownFlag ??= flag;
      if (o?.takesValue) value === undefined ? (awaiting = o) : record(o, value);
      continue;
    }
    const sub = args.length === 0 ? tree.find((n) => n.path.length === node.path.length + 1 && n.path.at(-1) === word && samePrefix(n.path, node.path)) : undefined;
    if (sub) node = sub;
    else args.push(word);
  }
  const unknown = unknownFlag ? { unknownFlag } : {};
  if (awaiting) return { node, option: awaiting, prefix: '', partial: partialWord, values, args, ...unknown };
  if (!flagsEnded && partialWord.startsWith('-')) {
    const [flag, value] = splitFlag(partialWord, find);
    const o = find(flag);
    if (o?.takesValue && value !== undefined) return { node, option: o, prefix: partialWord.slice(0, partialWord.length - value.length), partial: value, values, args, ...unknown };
  }
  return { node, prefix: '', partial: partialWord, values, args, ...unknown };
}

function samePrefix(path: readonly string[], parent: readonly string[]): boolean {
  return parent.every((p, i) => path[i] === p);
}

/** A flag word as flag and value: `--context=x`, `-o=json` and `-ojson` carry their value; `--context` does not. */
function splitFlag(word: string, find: (flag: string) => OptionInfo | undefined): [string, string | undefined] {
  const eq = word.indexOf('=');
  if (word.startsWith('--')) return eq < 0 ? [word, undefined] : [word.slice(0, eq), word.slice(eq + 1)];
  const short = word.slice(0, 2);
  if (word.length === 2) return [short, undefined];
  if (word[2] === '=') return [short, word.slice(3)];
  return find(short)?.takesValue ? [short, word.slice(2)] : [short, undefined];
}

/** The candidates for a position, and cobra's directive; the names it needs are asked of `names`. */
export async function candidates(tree: readonly CommandNode[], at: Position, names: (kind: NameKind) => Promise<string[]>): Promise<{ lines: string[]; directive: number }> {
  const root = tree[0]!;
  // cobra answers a line whose flags do not parse with no candidates and its default directive.
  if (at.unknownFlag) return { lines: [], directive: DIRECTIVE.default };
  const matching = (list: readonly string[]) => list.filter((c) => c.startsWith(at.partial)).map((c) => `${at.prefix}${c}`);
  const o = at.option;
  if (o) {
    if (o.choices) return { lines: matching(o.choices), directive: DIRECTIVE.noFileComp };
    // No candidates and the default directive: the shell completes file names.
    if (o.file) return { lines: [], directive: DIRECTIVE.default };
    if (o.names) return { lines: matching(await names(o.names)), directive: DIRECTIVE.noFileComp };
    return { lines: [], directive: DIRECTIVE.noFileComp };
  }
  const n = at.node;
  if (at.partial.startsWith('-')) {
    const options = optionsAt(n, root);
    const lines = options.flatMap((opt) => opt.flags.filter((f) => f.startsWith(at.partial)).map((f) => `${f}\t${opt.description}`));
    return { lines, directive: DIRECTIVE.noFileComp };
  }
  if (n.commands.length && at.args.length === 0) {
    const lines = n.commands
      .filter((c) => c.startsWith(at.partial))
      .map((c) => `${c}\t${tree.find((m) => m.path.length === n.path.length + 1 && m.path.at(-1) === c && samePrefix(m.path, n.path))?.description ?? ''}`);
    return { lines, directive: DIRECTIVE.noFileComp };
  }
  if (n.choices.length && at.args.length === 0) return { lines: matching(n.choices), directive: DIRECTIVE.noFileComp };
  if (n.argumentNames && (n.variadic || at.args.length === 0)) {
    const given = new Set(at.args);
    return { lines: matching((await names(n.argumentNames)).filter((name) => !given.has(name))), directive: DIRECTIVE.noFileComp };
  }
  return { lines: [], directive: DIRECTIVE.noFileComp };
}

/**
 * VSOP_COMPLETION_TIMEOUT as milliseconds (a duration as the flags take them: 500ms, 2s, or seconds);
 * the default when it is unset or not a duration, since completion reports no errors.
 */
export function completionBound(env: Record<string, string | undefined>): number {
  const value = env.VSOP_COMPLETION_TIMEOUT;
  if (!value) return DEFAULT_BOUND_MS;
  try {
    return parseDuration(value);
  } catch {
    return DEFAULT_BOUND_MS;
  }
}

/**
 * The bundle's own file (dist/main.cjs, which bin/vsop.js runs with it as __filename), which a worker
 * thread can load; undefined when vsop runs from its TypeScript source (the unit tests).
 */
function bundleFile(): string | undefined {
  return typeof __filename === 'string' && __filename.endsWith('.cjs') ? __filename : undefined;
}

/** A worker's code: the names of one kind, by the bundle's completionNames (main.ts), posted back. */
const WORKER = `const { parentPort, workerData: w } = require('node:worker_threads');
require(w.bundle).completionNames(w.kind, w.input, w.env).then(
  (names) => parentPort.postMessage({ names }),
  (err) => parentPort.postMessage({ error: err instanceof Error ? err.message : String(err) }),
);`;

/**
 * findNames in a worker thread, so that a parse taking longer than the bound (a large -f file set: one
 * YAML document is parsed at once, and no timer fires meanwhile) holds neither the answer nor the
 * process: when `signal` aborts the worker is terminated and the promise rejects with its reason. From
 * the TypeScript source (no bundle to load in a worker) it runs in this thread.
 */
async function namesApart(kind: NameKind, input: NamesInput, env: Record<string, string | undefined>, signal: AbortSignal): Promise<string[]> {
  const bundle = bundleFile();
  if (!bundle) return (await import('./complete-names.ts')).findNames(kind, input, env, signal);
  const { Worker } = await import('node:worker_threads');
  const worker = new Worker(WORKER, { eval: true, workerData: { bundle, kind, input, env: { ...env } }, stdout: true, stderr: true });
  let stop = () => {};
  try {
    return await new Promise<string[]>((resolve, reject) => {
      stop = () => reject(signal.reason);
      if (signal.aborted) stop();
      signal.addEventListener('abort', stop, { once: true });
      worker.once('message', (m: { names?: string[]; error?: string }) => (m.names ? resolve(m.names) : reject(new Error(m.error))));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the worker reading the files ended (exit ${code})`)));
    });
  } finally {
    signal.removeEventListener('abort', stop);
    await worker.terminate();
  }
}

/**
 * Answers `vsop __complete WORD...` on io.out; always exit 0. Names not found within the bound (or not at
 * all: no cluster, an unreadable file) give no candidates, with the reason on stderr.
 */
export async function complete(io: Io, program: Command, words: readonly string[]): Promise<number> {
  const tree = commandTree(program);
  const at = locate(tree, words.length ? words : ['']);
  const bound = completionBound(io.env);
  const stop = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      stop.abort(new Error(`no answer within ${bound} ms (VSOP_COMPLETION_TIMEOUT)`));
      resolve('timeout');
    }, bound);
  });
  const signal = AbortSignal.any([stop.signal, io.signal]);
  const names = async (kind: NameKind) => {
    const { findNames, namesInput } = await import('./complete-names.ts');
    const input = namesInput(at.values, io.env);
    // Reading -f files is parsing, which holds the thread: in a worker, dropped when the bound passes.
    return input.offline ? namesApart(kind, input, io.env, signal) : findNames(kind, input, io.env, signal);
  };
  let answer: { lines: string[]; directive: number };
  if (at.unknownFlag) io.err(`vsop __complete: no candidates: ${['vsop', ...at.node.path].join(' ')} has no flag ${at.unknownFlag}\n`);
  try {
    const found = await Promise.race([candidates(tree, at, names), deadline]);
    answer = found === 'timeout' ? { lines: [], directive: DIRECTIVE.noFileComp } : found;
    if (found === 'timeout') io.err(`vsop __complete: no candidates: ${(stop.signal.reason as Error).message}\n`);
  } catch (err) {
    io.err(`vsop __complete: no candidates: ${err instanceof Error ? err.message : String(err)}\n`);
    answer = { lines: [], directive: DIRECTIVE.noFileComp };
  } finally {
    clearTimeout(timer);
    stop.abort();
  }
  io.out(`${answer.lines.map((l) => `${l.split('\n')[0]}\n`).join('')}:${answer.directive}\n`);
  return 0;
}
