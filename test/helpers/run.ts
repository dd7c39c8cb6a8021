// Runs the CLI in-process with captured streams: the same code path as bin/vsop.js, minus the spawn.

import { run } from '../../src/main.ts';
import type { Io } from '../../src/cli/io.ts';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `answer`: stdin is a terminal, and this is typed in answer to any question asked. */
export async function runVsop(args: readonly string[], opts: { stdin?: string; env?: Record<string, string>; answer?: string } = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    readStdin: async () => opts.stdin ?? '',
    stdoutIsTTY: false,
    stderrIsTTY: false,
    ...(opts.answer === undefined
      ? {}
      : {
          stdinIsTTY: true,
          prompt: async (question: string) => {
            stderr += `${question}${opts.answer}\n`;
            return opts.answer!;
          },
        }),
    env: opts.env ?? {},
    signal: new AbortController().signal,
  };
  const code = await run(['node', 'vsop', ...args], io);
  return { code, stdout, stderr };
}
