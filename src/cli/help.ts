// How --help is laid out. Commander's layout, with three changes taken from kubectl and istioctl:
// - every command's help lists the global options (istioctl's "Global Flags:"; kubectl points to
//   `kubectl options` instead), so `vsop sync --help` shows --context and --kubeconfig; the top-level
//   help says they apply to every command;
// - an Examples section, kubectl's shape: a "# comment" line, then the command;
// - nothing wider than the screen. Commander stops wrapping a description once its column is narrower
//   than 40 characters and leaves the terminal to cut the line wherever it falls, mid-word
//   ("...Services and Vi" / "rtualServices"); here such an option's description goes on the lines
//   under it instead, wrapped at word boundaries, as kubectl prints every flag.

import { Help, type Command, type Option } from 'commander';
import { type Io, outputWidth } from './io.ts';

/** Below this, a description column beside the terms is too narrow to read: descriptions go below. */
const NARROW = 40;
/** How far a description set under its term is indented. */
const UNDER = 6;

/** The width help is laid out for: the output's (COLUMNS, the terminal), else commander's 80. */
export function helpWidth(io: Io): number {
  return outputWidth(io) ?? 80;
}

export function helpConfiguration(): Partial<Help> {
  return {
    showGlobalOptions: true,
    // Commander's minimum is for the column beside the terms; a description set under its term, or a
    // command's own description, is worth wrapping down to this.
    minWidthToWrap: 20,
    visibleGlobalOptions(this: Help, cmd: Command): Option[] {
      // A command that says which inherited options it heeds (globalsHeeded) lists those alone. A group
      // (route, config) does nothing itself: its commands' help lists them. --version works anywhere, but
      // says nothing about the command whose help this is.
      const heeded = HEEDED.get(cmd);
      if (!heeded && cmd.commands.length > 0) return [];
      return Help.prototype.visibleGlobalOptions.call(this, cmd).filter((o) => o.long !== '--version' && (!heeded || heeded.includes(o.long ?? '')));
    },
    formatItem(this: Help, term: string, termWidth: number, description: string, helper: Help): string {
      const width = this.helpWidth ?? 80;
      if (!description || width - termWidth - 4 >= NARROW) return Help.prototype.formatItem.call(this, term, termWidth, description, helper);
      const lines = helper.boxWrap(description, width - UNDER).split('\n');
      return [`  ${term}`, ...lines.map((l) => ' '.repeat(UNDER) + l)].join('\n');
    },
  };
}

const HEEDED = new WeakMap<Command, readonly string[]>();

/**
 * Says which options inherited from the commands above `cmd` it heeds (their long names), so that its help
 * lists those alone: `xds bootstrap` reads no cluster, and `xds render` none of the server's flags. Also
 * for a command that has subcommands yet runs itself (`xds`), whose help otherwise lists none.
 */
export function globalsHeeded(cmd: Command, longs: readonly string[]): Command {
  HEEDED.set(cmd, longs);
  return cmd;
}

/**
 * The inherited options given on the command line that `cmd` does not heed (globalsHeeded), as their long
 * names in the order of the commands above it, nearest first: `xds render --address :1` gives
 * ["--address"]. A value from the environment (VSOP_CONFIG_NAME) or a default is no choice of the user's
 * and is not listed; nor is anything for a command that does not say what it heeds. Help lists the same
 * split (visibleGlobalOptions), so what help shows is what parsing accepts.
 */
export function unheededOptions(cmd: Command): string[] {
  const heeded = HEEDED.get(cmd);
  if (!heeded) return [];
  const given: string[] = [];
  for (let c = cmd.parent; c; c = c.parent)
    for (const o of c.options) if (o.long && o.long !== '--version' && !heeded.includes(o.long) && c.getOptionValueSource(o.attributeName()) === 'cli') given.push(o.long);
  return given;
}

/** One example: what it does, then the command line. */
export type Example = readonly [comment: string, command: string];

/**
 * kubectl's Examples section: each example a "# comment" line then the command, both within `width`: a
 * long comment wraps at word boundaries, a long command at a space with a trailing backslash, as a shell
 * reads it.
 */
export function examplesText(examples: readonly Example[], width: number): string {
  const out = ['Examples:'];
  examples.forEach(([comment, command], i) => {
    if (i > 0) out.push('');
    out.push(...wrapWords(comment, width - 4).map((l) => `  # ${l}`));
    out.push(...wrapCommand(command, width));
  });
  return `\n${out.join('\n')}`;
}

/** Lines of at most `width` characters, broken between words (a longer word stands alone). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/**
 * `  cmd args...`, continued with " \" on lines indented 4 more when it does not fit, broken between a
 * flag's value and the next flag rather than between a flag and its value.
 */
function wrapCommand(command: string, width: number): string[] {
  const words: string[] = [];
  const tokens = command.split(' ');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    const takesNext = (/^-/.test(t) && !t.includes('=')) || t === '>';
    if (takesNext && next !== undefined && !next.startsWith('-')) words.push(`${t} ${tokens[++i]}`);
    else words.push(t);
  }
  const lines: string[] = [];
  let line = `  ${words[0]}`;
  let alone = true;
  for (let i = 1; i < words.length; i++) {
    const rest = words.slice(i).join(' ');
    if (line.length + 1 + rest.length <= width) return [...lines, `${line} ${rest}`];
    // The word and, since more follows, " \" must fit; a line holds at least one word.
    if (!alone && line.length + 1 + words[i]!.length + 2 > width) {
      lines.push(`${line} \\`);
      line = `      ${words[i]}`;
    } else {
      line = `${line} ${words[i]}`;
      alone = false;
    }
  }
  return [...lines, line];
}
