// Shell completion scripts generated from the command tree, so they never fall behind the flags. Names
// that only the cluster or the -f files know (Services, developer namespaces, contexts) are asked of
// `vsop __complete` (complete.ts) at the positions the tree marks for them.

import type { Command, Option } from 'commander';

type Shell = 'bash' | 'zsh' | 'fish';

/**
 * The names completed from the cluster, the -f files or the kubeconfig: production Services, developer
 * namespaces, those and the production namespace (where a request may come from), kubeconfig contexts.
 */
export type NameKind = 'services' | 'developer-namespaces' | 'namespaces' | 'contexts';

/** One command of the tree (the program itself has the empty path). */
export interface CommandNode {
  path: string[];
  commands: string[];
  options: OptionInfo[];
  /** The choices of the command's first argument (`completion <shell>`), if it has any. */
  choices: readonly string[];
  /** The names the command's arguments take (`sync [service...]`), if they are names vsop can list. */
  argumentNames: NameKind | undefined;
  /** The command takes any number of those arguments (`sync [service...]`), not one (`trace <service>`). */
  variadic: boolean;
  description: string;
}

export interface OptionInfo {
  flags: string[];
  takesValue: boolean;
  choices: readonly string[] | undefined;
  /** The value is a path: complete file names. */
  file: boolean;
  /** The value is a name vsop can list. */
  names: NameKind | undefined;
  description: string;
}

/** Options whose values are paths; other values get no file-name completion. */
const FILE_OPTIONS = new Set(['--filename', '--kubeconfig']);

/** Options whose values are names vsop can list, by long flag. */
const NAME_OPTIONS: Record<string, NameKind> = { '--context': 'contexts', '--namespace': 'developer-namespaces', '--from': 'namespaces' };

/** Arguments whose values are names vsop can list, by the argument's name in the tree. */
const NAME_ARGUMENTS: Record<string, NameKind> = { service: 'services' };

/** Commander's own -h/--help, which is not among a command's options. */
const HELP: OptionInfo = { flags: ['-h', '--help'], takesValue: false, choices: undefined, file: false, names: undefined, description: 'print help' };

/** The options a command takes: its own, then the program's (-h/--help once). */
export function optionsAt(n: CommandNode, root: CommandNode): OptionInfo[] {
  return n === root ? root.options : [...n.options, ...root.options.filter((o) => o !== HELP)];
}

/** `help [command...]` beside a group's commands (program.ts): its argument is one of the commands beside it. */
const HELP_COMMAND: Omit<CommandNode, 'path' | 'commands' | 'choices'> = {
  options: [],
  argumentNames: undefined,
  variadic: false,
  description: 'print help for a command',
};

/** The visible commands of the program, depth first, the program first; hidden commands are left out. */
export function commandTree(cmd: Command, path: string[] = [], out: CommandNode[] = []): CommandNode[] {
  // The `help` command (program.ts) is described below, its argument the commands beside it.
  const visible = cmd.commands.filter((c) => !(c as Command & { _hidden?: boolean })._hidden && c.name() !== 'help');
  const first = cmd.registeredArguments[0];
  out.push({
    path,
    // `help [command...]` beside a command's subcommands, as `vsop help sync` works.
    commands: [...visible.map((c) => c.name()), ...(visible.length ? ['help'] : [])],
    options: [...cmd.options.filter((o) => !o.hidden).map(describeOption), HELP],
    choices: first?.argChoices ?? [],
    argumentNames: first ? NAME_ARGUMENTS[first.name()] : undefined,
    variadic: first?.variadic ?? false,
    description: cmd.description(),
  });
  for (const c of visible) commandTree(c, [...path, c.name()], out);
  if (visible.length) out.push({ ...HELP_COMMAND, path: [...path, 'help'], commands: [], choices: visible.map((c) => c.name()) });
  return out;
}

function describeOption(o: Option): OptionInfo {
  return {
    flags: [o.short, o.long].filter((f): f is string => f !== undefined),
    takesValue: o.required || o.optional,
    choices: o.argChoices,
    file: o.long !== undefined && FILE_OPTIONS.has(o.long),
    names: o.long === undefined ? undefined : NAME_OPTIONS[o.long],
    description: o.description,
  };
}

function valueWords(o: OptionInfo): string {
  return o.choices ? o.choices.join(' ') : '';
}

export function completionScript(program: Command, shell: Shell): string {
  const nodes = commandTree(program);
  const globals = nodes[0]!.options.filter((o) => o !== HELP);
  if (shell === 'bash') return bash(program.name(), nodes, globals);
  if (shell === 'zsh') return zsh(program.name(), nodes, globals);
  return fish(program.name(), nodes);
}

function bash(name: string, nodes: CommandNode[], globals: OptionInfo[]): string {
  const cases = nodes.map((n) => {
    const opts = [...n.options, ...(n.path.length ? globals : [])];
    const flags = opts.flatMap((o) => o.flags).join(' ');
    const words = [...n.commands, flags].join(' ');
    // A path: no candidates, so that bash completes file names its own way (complete -o default):
    // directories with a slash and no space after, quotes and spaces as typed.
    const valueCases = opts
      .filter((o) => o.takesValue)
      .map((o) =>
        o.file
          ? `      ${o.flags.join('|')}) COMPREPLY=(); return ;;`
          : o.names
            ? `      ${o.flags.join('|')}) _vsop_names; return ;;`
            : `      ${o.flags.join('|')}) COMPREPLY=($(compgen -W "${valueWords(o)}" -- "$cur")); return ;;`,
      )
      .join('\n');
    // An argument with choices (completion <shell>) or names (a Service): those, and the flags only once a
    // dash is typed.
    const reply = n.choices.length
      ? `if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${flags}" -- "$cur")); else COMPREPLY=($(compgen -W "${n.choices.join(' ')}" -- "$cur")); fi`
      : n.argumentNames && !n.commands.length
        ? `if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "${flags}" -- "$cur")); else _vsop_names; fi`
        : `COMPREPLY=($(compgen -W "${words}" -- "$cur"))`;
    return `    "${n.path.join(' ')}")\n      case "$prev" in\n${valueCases}\n      esac\n      ${reply} ;;`;
  });
  return `# bash completion for ${name}; generated by \`${name} completion bash\`.
# Load it with: source <(${name} completion bash)
_vsop() {
  local cur prev path="" i w words=() line lead REPLY
  cur="\${COMP_WORDS[COMP_CWORD]}"
  # The line's words up to the cursor as bash parsed them (a quoted or escaped path with spaces is one
  # word), joined again where they touch: COMP_WORDS also splits at = and : (--context=arn:aws:...).
  # Each word is then unquoted, as the command will get it.
  line="\${COMP_LINE-\${COMP_WORDS[*]}}"
  line="\${line:0:\${COMP_POINT-\${#line}}}"
  for ((i = 0; i <= COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    lead="\${line%%[![:space:]]*}"
    line="\${line#"$lead"}"
    _vsop_unquote "$w"
    if ((i > 0)) && [[ -z $lead ]]; then words[-1]+="$REPLY"; else words+=("$REPLY"); fi
    line="\${line#"$w"}"
  done
  prev="\${words[\${#words[@]}-2]}"
  case "\${words[-1]}" in --*=*) _vsop_names; return ;; esac
  for ((i = 1; i < \${#words[@]} - 1; i++)); do
    w="\${words[i]}"
    case "$w" in -*) continue ;; esac
    case " $(_vsop_commands "$path") " in *" $w "*) path="\${path:+$path }$w" ;; esac
  done
  case "$path" in
${cases.join('\n')}
  esac
}
# A word as the command gets it: quotes removed, backslash escapes resolved (no expansion).
_vsop_unquote() {
  local s="$1" q="" c i
  REPLY=""
  for ((i = 0; i < \${#s}; i++)); do
    c="\${s:i:1}"
    if [[ $q == "'" ]]; then
      if [[ $c == "'" ]]; then q=""; else REPLY+="$c"; fi
    elif [[ $c == '\\' ]]; then
      if [[ -z $q || \${s:i+1:1} == [\\$\\\`\\"\\\\] ]]; then ((i++)); c="\${s:i:1}"; fi
      REPLY+="$c"
    elif [[ $c == "'" && -z $q ]]; then q="'"
    elif [[ $c == '"' ]]; then
      if [[ -n $q ]]; then q=""; else q='"'; fi
    else REPLY+="$c"; fi
  done
}
_vsop_commands() {
  case "$1" in
${nodes.map((n) => `    "${n.path.join(' ')}") echo "${n.commands.join(' ')}" ;;`).join('\n')}
  esac
}
# Names only the cluster, the -f files or the kubeconfig know (Services, namespaces, contexts), from
# \`${name} __complete\` given the line's words: a candidate a line (a TAB before its description), then
# ":DIRECTIVE", cobra's. It answers within VSOP_COMPLETION_TIMEOUT (default 2s), with nothing if it must.
_vsop_names() {
  local out line strip directive=0
  out=$("\${words[0]}" __complete "\${words[@]:1}" 2>/dev/null)
  # Candidates are whole words; bash replaces only the part after the last = or : (word breaks to it).
  strip="\${words[-1]%"\${words[-1]##*[=:]}"}"
  COMPREPLY=()
  while IFS= read -r line; do
    case "$line" in
      :*) directive="\${line#:}" ;;
      ?*) COMPREPLY+=("\${line%%$'\\t'*}") ;;
    esac
  done <<< "$out"
  [[ -n $strip ]] && COMPREPLY=("\${COMPREPLY[@]#"$strip"}")
  # Directive bit 4, no file completion: no file names when no name fits.
  if (( directive & 4 )); then compopt +o default 2>/dev/null; fi
  return 0
}
complete -o default -F _vsop vsop kubectl-vsop
`;
}

function zsh(name: string, nodes: CommandNode[], globals: OptionInfo[]): string {
  const esc = (s: string) => s.replace(/'/g, "'\\''").replace(/[[\]:]/g, '\\$&');
  const fn = (n: CommandNode) => `_vsop${n.path.map((p) => `_${p.replace(/-/g, '_')}`).join('')}`;
  const specs = (n: CommandNode) =>
    [...n.options, ...(n.path.length ? globals : [])].map((o) => {
      const value = o.takesValue ? `:value:${o.file ? '_files' : o.names ? '_vsop_names' : `(${valueWords(o)})`}` : '';
      const names = o.flags.length > 1 ? `(${o.flags.join(' ')})'{${o.flags.join(',')}}'` : o.flags[0]!;
      return `    '${names}[${esc(o.description)}]${value}'`;
    });
  const functions = nodes.map((n) => {
    const sub = n.commands.length
      ? `\n    '1:command:((${nodes
          .filter((m) => m.path.length === n.path.length + 1 && m.path.slice(0, -1).join(' ') === n.path.join(' '))
          .map((m) => `${m.path.at(-1)}\\:"${esc(m.description)}"`)
          .join(' ')}))' \\\n    '*::arg:->sub'`
      : n.choices.length
        ? `\n    '1:argument:(${n.choices.join(' ')})'`
        : n.argumentNames
          ? `\n    '${n.variadic ? '*' : '1'}:${n.argumentNames}:_vsop_names'`
          : `\n    '*:file:_files'`;
    const dispatch = n.commands.length
      ? `\n  case $state in sub)\n    case $words[1] in\n${n.commands.map((c) => `      ${c}) ${fn({ ...n, path: [...n.path, c] })} ;;`).join('\n')}\n    esac ;;\n  esac`
      : '';
    // The program's function keeps the whole line: _arguments shifts words for a subcommand's function.
    const line = n.path.length ? '' : '\n  local -a _vsop_words; _vsop_words=("${words[@]}"); local _vsop_current=$CURRENT';
    return `${fn(n)}() {\n  local state${line}\n  _arguments -s \\\n${specs(n).join(' \\\n')}${specs(n).length ? ' \\' : ''}${sub}${dispatch}\n}`;
  });
  return `#compdef vsop kubectl-vsop
# zsh completion for ${name}; generated by \`${name} completion zsh\`.
# Load it with: source <(${name} completion zsh)
${functions.join('\n\n')}

# Names only the cluster, the -f files or the kubeconfig know (Services, namespaces, contexts), from
# \`${name} __complete\` given the line's words: a candidate a line (a TAB before its description), then
# ":DIRECTIVE", cobra's. It answers within VSOP_COMPLETION_TIMEOUT (default 2s), with nothing if it must.
_vsop_names() {
  local -a lines names
  # (Q): the words unquoted, as the command gets them ("my dir" is my dir).
  lines=("\${(@f)$(\${_vsop_words[1]} __complete "\${(@Q)_vsop_words[2,_vsop_current]}" 2>/dev/null)}")
  names=(\${lines:#:*})
  names=(\${names%%$'\\t'*})
  compadd -a names
}

compdef _vsop vsop kubectl-vsop
`;
}

function fish(name: string, nodes: CommandNode[]): string {
  const esc = (s: string) => s.replace(/'/g, "\\'");
  const lines = [
    `# fish completion for ${name}; generated by \`${name} completion fish\`.`,
    `# Load it with: ${name} completion fish | source`,
    '',
    `# Names only the cluster, the -f files or the kubeconfig know (Services, namespaces, contexts), from`,
    `# \`${name} __complete\` given the line's words: a candidate a line (a TAB before its description), then`,
    `# ":DIRECTIVE", cobra's. It answers within VSOP_COMPLETION_TIMEOUT (default 2s), with nothing if it must.`,
    'function __vsop_names',
    '    set -l tokens (commandline -opc)',
    '    set -l current (commandline -ct)',
    '    $tokens[1] __complete $tokens[2..-1] "$current" 2>/dev/null | string match -v -r "^:"',
    'end',
    '',
  ];
  const allCommands = nodes.flatMap((n) => n.commands);
  // kubectl-vsop (the kubectl plugin's name) gets the same completions.
  const COMMANDS = '-c vsop -c kubectl-vsop';
  for (const n of nodes) {
    const cond = n.path.length === 0 ? `not __fish_seen_subcommand_from ${allCommands.join(' ')}` : n.path.map((p) => `__fish_seen_subcommand_from ${p}`).join('; and ');
    // A command's subcommands until one of them is typed (`xds render` is not followed by `render` again).
    const commandCond = n.path.length && n.commands.length ? `${cond}; and not __fish_seen_subcommand_from ${n.commands.join(' ')}` : cond;
    for (const c of n.commands) {
      const child = nodes.find((m) => m.path.join(' ') === [...n.path, c].join(' '))!;
      lines.push(`complete ${COMMANDS} -f -n '${commandCond}' -a ${c} -d '${esc(child.description)}'`);
    }
    if (n.choices.length) lines.push(`complete ${COMMANDS} -f -n '${cond}' -a '${n.choices.join(' ')}'`);
    if (n.argumentNames && !n.commands.length) lines.push(`complete ${COMMANDS} -f -n '${cond}' -a '(__vsop_names)'`);
    // -h/--help: the program's, offered after any command.
    for (const o of n.path.length ? n.options.filter((opt) => opt !== HELP) : n.options) {
      const short = o.flags.find((f) => /^-[^-]/.test(f));
      const long = o.flags.find((f) => f.startsWith('--'));
      const parts = [`complete ${COMMANDS}`, n.path.length ? `-n '${cond}'` : '', short ? `-s ${short.slice(1)}` : '', long ? `-l ${long.slice(2)}` : ''];
      if (o.takesValue) parts.push(o.file ? '-r -F' : o.names ? "-x -a '(__vsop_names)'" : `-x -a '${valueWords(o)}'`);
      parts.push(`-d '${esc(o.description)}'`);
      lines.push(parts.filter(Boolean).join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}
