// Colour, loaded only by commands that print (chalk is not needed for --version or --help).

import { Chalk, type ChalkInstance } from 'chalk';
import { colorEnabled, type Io } from './io.ts';

export interface Paint {
  out: ChalkInstance;
  err: ChalkInstance;
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
