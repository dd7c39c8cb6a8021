// A spinner on stderr for work that takes more than a moment, only on a terminal and never in CI; a
// silent stand-in everywhere else, so callers never ask.

import type { Io } from './io.ts';
import { colorEnabled } from './io.ts';

export interface Progress {
  text(t: string): void;
  stop(): void;
}

const DELAY_MS = 300;

export function progress(io: Io, colorFlag: boolean | undefined, text: string): Progress {
  if (!io.stderrIsTTY || io.env.CI !== undefined || io.env.TERM === 'dumb') return { text: () => {}, stop: () => {} };
  // A terminal that reports no width (a pseudo-terminal nobody sized, as script(1) may open): ora divides
  // by it and, clearing its line, loops without end.
  if (!(process.stderr.columns > 0)) return { text: () => {}, stop: () => {} };
  let current = text;
  let spinner: { text: string; stop(): void } | undefined;
  let stopped = false;
  const timer = setTimeout(async () => {
    const { default: ora } = await import('ora');
    if (stopped) return;
    spinner = ora({ text: current, stream: process.stderr, color: colorEnabled(io, 'err', colorFlag) ? 'cyan' : false, discardStdin: false }).start();
  }, DELAY_MS);
  timer.unref();
  return {
    text: (t) => {
      current = t;
      if (spinner) spinner.text = t;
    },
    stop: () => {
      stopped = true;
      clearTimeout(timer);
      spinner?.stop();
      spinner = undefined;
    },
  };
}
