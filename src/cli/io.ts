// The streams commands write to, injected so tests can capture them. Results go to stdout; progress,
// warnings and errors to stderr. Whether to colour is decided here; paint.ts does the colouring.

import { EXIT, InterruptedError } from '../errors.ts';
import { describeIoError, readStdinText } from '../files.ts';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  /**
   * The width in columns of the terminal a person reads the output on: stdout's, else stderr's when
   * stdout goes to a pipe or a file (`vsop status | less`); absent with no terminal at all.
   */
  columns?: number;
  /** A person can answer a question (clear --purge asks before deleting). */
  stdinIsTTY?: boolean;
  /** Asks on stderr and returns the line typed in answer. */
  prompt?(question: string): Promise<string>;
  env: Record<string, string | undefined>;
  /** Aborted on the first SIGINT or SIGTERM (its reason an InterruptedError): in-flight requests and retry waits stop. */
  signal: AbortSignal;
  /** Set by a command for which a signal is the normal way to stop (watch): it then ends as it chooses. */
  stopsOnSignal?: boolean;
}

export function processIo(): Io {
  const abort = new AbortController();
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    // A second signal means "now": exit at once, with the shell's code for it.
    if (abort.signal.aborted) process.exit(signal === 'SIGINT' ? EXIT.interrupted : EXIT.terminated);
    abort.abort(new InterruptedError(signal));
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  // A reader that went away (`vsop render | head -1`) ends vsop quietly, as SIGPIPE ends kubectl; Node
  // ignores SIGPIPE, so the closed pipe shows up as EPIPE on the next write. Any other failure to write
  // (a full disk: `> /dev/full`; a broken descriptor) is said once on stderr and ends vsop with exit 74:
  // output that was not written is not a result. A file or terminal fails in write() itself, a pipe later
  // as the stream's 'error' event: both come here.
  const failed = (stream: 'standard output' | 'standard error') => (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.pipe);
    if (stream === 'standard output') {
      try {
        process.stderr.write(`error: cannot write to ${stream}: ${describeIoError(err)}\n`);
      } catch {
        // stderr is broken too: the exit code is all that is left to say it.
      }
    }
    process.exit(EXIT.output);
  };
  const stdoutFailed = failed('standard output');
  const stderrFailed = failed('standard error');
  process.stdout.on('error', stdoutFailed);
  process.stderr.on('error', stderrFailed);
  const write = (stream: NodeJS.WriteStream, onError: (err: NodeJS.ErrnoException) => void) => (t: string) => {
    try {
      stream.write(t);
    } catch (err) {
      onError(err as NodeJS.ErrnoException);
    }
  };
  return {
    signal: abort.signal,
    out: write(process.stdout, stdoutFailed),
    err: write(process.stderr, stderrFailed),
    readStdin: async () => (process.stdin.isTTY ? '' : readStdinText(process.stdin)),
    stdoutIsTTY: process.stdout.isTTY === true,
    ...terminalColumns(),
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    prompt: async (question) => {
      const { createInterface } = await import('node:readline/promises');
      const rl = createInterface({ input: process.stdin, output: process.stderr });
      // On a terminal readline reads the keys itself (raw mode): Ctrl-C reaches it, not the process, as a
      // key. It is the user's Ctrl-C all the same: exit 130, as anywhere else.
      rl.on('SIGINT', () => onSignal('SIGINT'));
      try {
        return await rl.question(question, { signal: abort.signal });
      } catch (err) {
        // Ctrl-D (the end of input) closes readline before an answer: no answer, which is not a yes.
        if (!abort.signal.aborted && (err as Error).name === 'AbortError') return '';
        throw err;
      } finally {
        rl.close();
      }
    },
    env: process.env,
  };
}

/**
 * no-color.org and the chalk conventions: --no-color wins, then NO_COLOR (non-empty), then FORCE_COLOR,
 * then whether the stream is a terminal (and TERM is not dumb).
 */
export function colorEnabled(io: Io, stream: 'out' | 'err', flag: boolean | undefined): boolean {
  if (flag === false) return false;
  if (io.env.NO_COLOR) return false;
  const force = io.env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (io.env.TERM === 'dumb') return false;
  return stream === 'out' ? io.stdoutIsTTY : io.stderrIsTTY;
}

function terminalColumns(): { columns?: number } {
  const tty = [process.stdout, process.stderr].find((s) => s.isTTY && s.columns > 0);
  return tty ? { columns: tty.columns } : {};
}

/**
 * The width to lay output out for: COLUMNS when it holds a positive whole number (as GNU ls and Python's
 * shutil read it), else the terminal's (Io.columns), else undefined: no terminal (CI, a script), whose
 * reader's width is unknown.
 */
export function outputWidth(io: Io): number | undefined {
  const columns = io.env.COLUMNS?.trim();
  if (columns && /^\d+$/.test(columns)) return Number(columns) > 0 ? Number(columns) : io.columns;
  return io.columns;
}
