// The entry point: parse, dispatch, and the one place where an error becomes an exit code.

import { CommanderError } from 'commander';
import { basename } from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import type { NamesInput } from './cli/complete-names.ts';
import type { NameKind } from './cli/completion.ts';
import { buildProgram } from './cli/program.ts';
import { processIo, type Io } from './cli/io.ts';
import { EXIT, exitCodeOf, InterruptedError, ProblemsError, VsopError } from './errors.ts';

export async function run(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const noColorFlag = argv.includes('--no-color');
  // ora and others carry their own chalk, which reads FORCE_COLOR when first imported.
  if ((noColorFlag || io.env.NO_COLOR) && io.env === process.env) process.env.FORCE_COLOR = '0';
  const invokedAs = basename(argv[1] ?? 'vsop').startsWith('kubectl-') ? 'kubectl vsop' : 'vsop';
  let exit: number = EXIT.ok;
  const program = buildProgram(io, (code) => (exit = code), invokedAs, pkg.version);
  try {
    // The shells' and kubectl's hidden request for candidates (cobra's __complete): its words are a
    // command line being typed, not flags for commander.
    if (argv[2] === '__complete') return await (await import('./cli/complete.ts')).complete(io, program, argv.slice(3));
    // The seed operator's -zap-* flags are not in commander's syntax; `watch` takes them as they are.
    // Bare `vsop` is a request for help, as bare `kubectl` is: on stdout, exit 0.
    if (argv.length <= 2) {
      program.outputHelp();
      return EXIT.ok;
    }
    const args = shortOptionValues(argv.includes('watch') ? (await import('./cli/watch.ts')).zapAliases(argv) : [...argv]);
    await program.parseAsync(args);
    return interrupted(io) ?? exit;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage; // commander printed it
    // Whatever failed once the user stopped the command (an aborted request, a prompt) is that stop: the
    // shell's code for the signal, and no message, as kubectl does.
    const stopped = interrupted(io);
    if (stopped !== undefined) return stopped;
    await report(err, io, noColorFlag ? false : undefined);
    return exitCodeOf(err);
  }
}

/**
 * The names `vsop __complete` offers, from -f files (src/cli/complete-names.ts's findNames): exported for
 * the worker thread complete.ts reads them in, which loads this bundle. Rejects as findNames does.
 */
export async function completionNames(kind: NameKind, input: NamesInput, env: Record<string, string | undefined>): Promise<string[]> {
  return (await import('./cli/complete-names.ts')).findNames(kind, input, env, new AbortController().signal);
}

/**
 * kubectl's `-o=json`: a short option joined to its value by "=" becomes the option and the value
 * (commander would take "=json" for the value). Arguments after "--" are left alone.
 */
function shortOptionValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  let rest = false;
  for (const a of argv) {
    if (a === '--') rest = true;
    const m = rest ? null : /^(-[a-zA-Z])=(.*)$/s.exec(a);
    if (m) out.push(m[1]!, m[2]!);
    else out.push(a);
  }
  return out;
}

/** 130 after Ctrl-C, 143 after SIGTERM; undefined when no signal came, or the command stops on one (watch). */
function interrupted(io: Io): number | undefined {
  const reason: unknown = io.signal.reason;
  if (!io.signal.aborted || io.stopsOnSignal || !(reason instanceof InterruptedError)) return undefined;
  return reason.signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated;
}

async function report(err: unknown, io: Io, colorFlag: boolean | undefined): Promise<void> {
  const c = (await import('./cli/paint.ts')).paint(io, colorFlag).err;
  if (err instanceof VsopError) {
    io.err(`${c.red('error:')} ${err.message}\n`);
    if (err.hint) io.err(`${c.dim('hint:')} ${err.hint}\n`);
    if (!(err instanceof ProblemsError) && err.cause instanceof Error && io.env.VSOP_DEBUG) io.err(`${err.cause.stack}\n`);
    return;
  }
  io.err(`${c.red('error:')} internal error, please report it: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
}
