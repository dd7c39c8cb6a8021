// The command tree. Flags and help live here; each command's work lives in its own file, loaded only
// when that command runs, so `vsop --version` and `--help` stay cheap. Completions walk this same tree.

import { Argument, Command, Option } from 'commander';
import { DEFAULT_CONFIG_LOCATION } from '../core/ownership.ts';
import type { Io } from './io.ts';

export interface GlobalOptions {
  color?: boolean;
  configNamespace: string;
  configName: string;
}

/** What a command's action returns: the exit code. */
export type Outcome = Promise<number>;

const collect = (value: string, previous: string[] = []) => [...previous, value];

const filenameOption = () =>
  new Option('-f, --filename <path>', 'read the ConfigMap, Services and VirtualServices from files, directories or - (stdin) instead of a cluster; repeatable').argParser(collect);

export function buildProgram(io: Io, setExit: (code: number) => void, name = 'vsop', version = '0.0.0'): Command {
  const program = new Command(name)
    .description('Route requests with a developer header to developer namespaces, everything else to production, with Istio VirtualServices.')
    .version(version, '-V, --version', 'print the version')
    .addOption(
      new Option('--config-namespace <namespace>', 'namespace of the vsop ConfigMap')
        .env('VSOP_CONFIG_NAMESPACE')
        .default(DEFAULT_CONFIG_LOCATION.namespace),
    )
    .addOption(new Option('--config-name <name>', 'name of the vsop ConfigMap').env('VSOP_CONFIG_NAME').default(DEFAULT_CONFIG_LOCATION.name))
    .option('--no-color', 'never colour output (NO_COLOR and FORCE_COLOR are honoured too)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s) })
    .exitOverride();

  // Commander passes (...arguments, options, command); handlers get the arguments and all options.
  type Handler = (args: unknown[], opts: GlobalOptions & Record<string, unknown>) => Outcome;
  const action = (handler: Handler) => async (...args: unknown[]) => {
    const cmd = args.at(-1) as Command;
    setExit(await handler(args.slice(0, -2), cmd.optsWithGlobals()));
  };

  program
    .command('render')
    .description('print the VirtualServices that should exist')
    .argument('[service...]', 'limit to these production Services')
    .addOption(filenameOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(
      action(async ([services], opts) => (await import('./render.ts')).render(io, services as string[], opts as never)),
    );

  program
    .command('sync')
    .description('compute the VirtualServices that should exist and show or apply the difference')
    .argument('[service...]', 'limit to these production Services')
    .addOption(filenameOption())
    .option('--diff', 'print the plan as a unified diff; exit 0 when nothing would change, 1 when something would, 2 or more on error')
    .addOption(
      new Option('--dry-run <mode>', 'client: print the objects that would be written, without writing').choices(['none', 'client', 'server']).default('none'),
    )
    .addOption(new Option('-o, --output <format>', 'plan format with --diff (text, json, markdown)').choices(['text', 'json', 'markdown']).default('text'))
    .option('--adopt', 'take over a same-named VirtualService that lacks the managed label, keeping its routes')
    .option('--strict', 'treat warnings (another VirtualService on the same host) as errors')
    .action(action(async ([services], opts) => (await import('./sync.ts')).sync(io, services as string[], opts as never)));

  const config = program.command('config').description('work with the vsop configuration');
  config
    .command('validate')
    .description('check the ConfigMap (or a bare config.yaml) and report every problem')
    .addOption(filenameOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .action(action(async (_args, opts) => (await import('./config.ts')).validate(io, opts as never)));

  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'the shell to complete for').choices(['bash', 'zsh', 'fish']))
    .action(
      action(async ([shell]) => {
        io.out((await import('./completion.ts')).completionScript(program, shell as 'bash' | 'zsh' | 'fish'));
        return 0;
      }),
    );

  return program;
}
