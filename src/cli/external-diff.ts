// `sync --diff` through the diff program KUBECTL_EXTERNAL_DIFF names, as `kubectl diff` runs it
// (kubernetes/kubectl, pkg/cmd/diff/diff.go: DiffProgram.getCommand, Directory, InfoObject.Name):
// - two fresh directories, LIVE-* and MERGED-* under the temporary directory, one file per object in
//   each, named group.version.Kind.namespace.name, holding its YAML; an object that does not exist on
//   one side is an empty file there (kubectl's Printer writes nothing for a nil object);
// - the variable is split at single spaces: the first word is the program; each further word is
//   passed only if it is made of letters, digits, "-" and "=" (others are dropped with a warning);
//   the program gets the two directories first, then those words: `colordiff -N -u` runs
//   `colordiff LIVE-x MERGED-y -N -u`;
// - its stdout and stderr are vsop's; its exit status is the command's when 0 (no differences) or 1
//   (differences), and anything else is an error (kubectl exits 2; so does vsop, see EXIT.usage).
// Only the objects the plan changes are written: an object vsop leaves alone may still differ from its
// rendering in ways vsop does not count (key order, an empty field left out), and the program would
// report those as changes.

import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Action } from '../core/plan.ts';
import { diffSides, objectFileName } from '../core/render.ts';
import { UsageError } from '../errors.ts';
import type { Io } from './io.ts';

export const EXTERNAL_DIFF = 'KUBECTL_EXTERNAL_DIFF';

/** kubectl's filter for the words after the program. */
const PLAIN_WORD = /^[a-zA-Z0-9-=]+$/;

/** The program and its extra words, as kubectl splits the variable; `dropped` are the words it ignores. */
export function diffCommand(value: string): { program: string; args: string[]; dropped: string[] } {
  const [program = '', ...rest] = value.split(' ');
  // An empty word (two spaces in a row) is no argument: dropped without a word, as kubectl's filter drops it.
  return { program, args: rest.filter((w) => PLAIN_WORD.test(w)), dropped: rest.filter((w) => w !== '' && !PLAIN_WORD.test(w)) };
}

/** Runs the program on the plan's changes; resolves to its exit status, 0 or 1. */
export async function externalDiff(io: Io, value: string, actions: readonly Action[], warn: (message: string) => void): Promise<number> {
  const { program, args, dropped } = diffCommand(value);
  if (program === '') {
    // kubectl runs the first word as it is, and fails on an empty one: so does vsop, as a usage error.
    throw new UsageError(`${EXTERNAL_DIFF}=${JSON.stringify(value)} names no program: its first word is empty`, {
      hint: `set it to a program and its arguments without a leading space, e.g. ${EXTERNAL_DIFF}="diff -u", or unset it`,
    });
  }
  for (const w of dropped) warn(`${EXTERNAL_DIFF}: the argument "${w}" is ignored: only letters, digits, "-" and "=" are allowed, as kubectl diff allows`);
  const live = await mkdtemp(join(tmpdir(), 'LIVE-'));
  try {
    const merged = await mkdtemp(join(tmpdir(), 'MERGED-'));
    try {
      await Promise.all(
        actions
          .filter((a) => a.type !== 'unchanged')
          .flatMap((a) => {
            const file = objectFileName((a.after ?? a.live)!);
            const sides = diffSides(a);
            return [writeFile(join(live, file), sides.live), writeFile(join(merged, file), sides.after)];
          }),
      );
      return await run(io, program, [live, merged, ...args]);
    } finally {
      await rm(merged, { recursive: true, force: true });
    }
  } finally {
    await rm(live, { recursive: true, force: true });
  }
}

function run(io: Io, program: string, args: string[]): Promise<number> {
  const what = `${EXTERNAL_DIFF} program "${program}"`;
  const hint = `fix ${EXTERNAL_DIFF}, or unset it for vsop's own unified diff`;
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { stdio: ['ignore', 'pipe', 'pipe'], env: io.env, signal: io.signal });
    child.stdout.setEncoding('utf8').on('data', (t: string) => io.out(t));
    child.stderr.setEncoding('utf8').on('data', (t: string) => io.err(t));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.name === 'AbortError') return reject(err);
      reject(new UsageError(`cannot run the ${what}: ${err.code === 'ENOENT' ? 'not found' : err.message}`, { cause: err, hint }));
    });
    child.on('close', (code, signal) => {
      if (code === 0 || code === 1) resolve(code);
      else reject(new UsageError(`the ${what} failed: ${signal ? `ended by ${signal}` : `exit status ${code}`}`, { hint }));
    });
  });
}
