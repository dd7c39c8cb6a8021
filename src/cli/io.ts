// The streams commands write to, injected so tests can capture them. Results go to stdout; progress,
// warnings and errors to stderr. Colour is decided once, here.

import { Chalk, type ChalkInstance } from 'chalk';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  readStdin(): Promise<string>;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  env: Record<string, string | undefined>;
}

export interface Paint {
  out: ChalkInstance;
  err: ChalkInstance;
}

export function processIo(): Io {
  return {
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    readStdin: async () => {
      if (process.stdin.isTTY) return '';
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    },
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
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

export function paint(io: Io, flag: boolean | undefined): Paint {
  return {
    out: new Chalk({ level: colorEnabled(io, 'out', flag) ? 1 : 0 }),
    err: new Chalk({ level: colorEnabled(io, 'err', flag) ? 1 : 0 }),
  };
}

/** Colours a unified diff line by line: headers bold, hunks cyan, additions green, removals red. */
export function colorDiff(text: string, c: ChalkInstance): string {
  if (c.level === 0) return text;
  return text
    .split('\n')
    .map((line) => {
      if (line.startsWith('+++') || line.startsWith('---')) return c.bold(line);
      if (line.startsWith('@@')) return c.cyan(line);
      if (line.startsWith('+')) return c.green(line);
      if (line.startsWith('-')) return c.red(line);
      return line;
    })
    .join('\n');
}
