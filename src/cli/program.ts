// The command tree. Flags and help live here; each command's work lives in its own file, loaded only
// when that command runs, so `vsop --version` and `--help` stay cheap. Completions walk this same tree.

import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_CONFIG_LOCATION } from '../core/ownership.ts';
import { UsageError } from '../errors.ts';
import { type Example, examplesText, globalsHeeded, helpConfiguration, helpWidth, unheededOptions, wrapWords } from './help.ts';
import type { Io } from './io.ts';
import type { GlobalOptions } from './options.ts';

/** What a command's action returns: the exit code. */
export type Outcome = Promise<number>;

const collect = (value: string, previous: string[] = []) => [...previous, value];

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/**
 * kubectl's durations, which are Go's (time.ParseDuration): one or more numbers each with its unit, ns, us
 * (or µs), ms, s, m or h ("30s", "1m30s", "1.5h", "500ms"), or a bare number of seconds (kubectl's
 * --request-timeout takes "5" as 5s). Returns milliseconds, rounded. Throws InvalidArgumentError (exit 2)
 * on anything else, a sign included: no flag takes a negative duration. Hand-written: the npm parsers
 * found either accept far more than Go does (parse-duration: "1 hour", days, spaces) or only one unit.
 */
export function parseDuration(value: string): number {
  const text = value.trim();
  if (!DURATION.test(text)) throw new InvalidArgumentError('expected a duration such as 30s, 1m30s or 500ms');
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Math.round(Number(text) * 1000);
  let ms = 0;
  for (const m of text.matchAll(DURATION_PART)) ms += Number(m[1]) * DURATION_UNITS[m[2] as keyof typeof DURATION_UNITS];
  return Math.round(ms);
}

/**
 * The durations parseDuration takes (after trimming white space), as a regular expression's source in the
 * syntax JavaScript and Go's RE2 share: bare seconds, or numbers each with a unit. The chart's
 * values.schema.json holds the same between its white space (test/integration/chart-values.test.ts
 * compares them, and runs helm on accepted and refused forms).
 */
export const DURATION_SYNTAX = '[0-9]+(\\.[0-9]+)?|(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(ns|us|µs|ms|s|m|h))+';
const DURATION = new RegExp(`^(${DURATION_SYNTAX})$`);
const DURATION_PART = /([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|ms|s|m|h)/g;

/** Go's duration units, in milliseconds (time/format.go unitMap). */
const DURATION_UNITS = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * A duration flag's parser, refusing values outside [min, max] (milliseconds): a resync every 0 s or a
 * request timeout of 300 years is a typo, not a wish. The README lists each flag's range.
 */
function duration(min: number, max: number): (value: string) => number {
  const show = (ms: number) => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
  return (value) => {
    const ms = parseDuration(value);
    if (ms < min || ms > max) throw new InvalidArgumentError(`expected a duration from ${show(min)} to ${show(max)}`);
    return ms;
  };
}

/**
 * Refuses (UsageError, exit 2) an inherited flag given to a command that does not use it, each named:
 * `vsop xds render --address :1` would otherwise run as if it were not there. What a command uses is
 * what globalsHeeded says, the list its help shows.
 */
function refuseUnheeded(cmd: Command): void {
  const given = unheededOptions(cmd);
  if (given.length === 0) return;
  const path: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) path.unshift(c.name());
  const flags = given.join(', ');
  throw new UsageError(`${flags} ${given.length === 1 ? 'does' : 'do'} nothing for ${path.join(' ')}: leave ${given.length === 1 ? 'it' : 'them'} out`, {
    hint: `${path.join(' ')} --help lists the flags it uses`,
  });
}

const filenameOption = () =>
  new Option(
    '-f, --filename <path>',
    'read the ConfigMap, Services and route objects (VirtualServices, HTTPRoutes, ReferenceGrants) from files, directories or - (stdin) instead of a cluster; repeatable',
  ).argParser(collect);

function wholeNumber(min: number, max: number): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) throw new InvalidArgumentError(`expected a whole number from ${min} to ${max}`);
    return Number(value);
  };
}

/**
 * The flags of every command that plans and applies, as sync does (sync, route, clear): the command's own
 * (`first`), input, --diff, --dry-run, -o and --adopt, then sync's own (`last`), then the retry budget.
 * (`last`, not `then`: an object with a `then` method is taken for a promise by `await`.)
 */
function planCommand(cmd: Command, own: { first?: (cmd: Command) => Command; last?: (cmd: Command) => Command }): Command {
  (own.first ?? ((c) => c))(cmd)
    .addOption(filenameOption())
    .option(
      '--diff',
      'print the plan as a unified diff (KUBECTL_EXTERNAL_DIFF names another diff program, as for kubectl diff); exit 0 when nothing would change, 1 when something would, 2 or more on error',
    )
    .addOption(
      new Option('--dry-run <mode>', 'client: say what would be written; server: send the writes with dryRun, so the API server checks them without storing')
        .choices(['none', 'client', 'server'])
        .default('none'),
    )
    .addOption(
      new Option('-o, --output <format>', 'text; json or yaml (the plan with --diff, the results otherwise); markdown (with --diff)')
        .choices(['text', 'json', 'yaml', 'markdown'])
        .default('text'),
    )
    .option(
      '--adopt',
      "take over an object of vsop's name (the VirtualService or HTTPRoute, a ReferenceGrant) that lacks the managed label; a VirtualService keeps its own routes",
    );
  return (own.last ?? ((c) => c))(cmd)
    .addOption(
      new Option('--timeout <duration>', 'give up after this long: reading, writing and every retry together (a question asked does not count)')
        .argParser(duration(1000, 86_400_000))
        .default(60_000, '60s'),
    )
    .addOption(
      new Option('--retry-base <duration>', 'first conflict-retry delay; it doubles each time, with jitter').argParser(duration(10, 60_000)).default(1000, '1s').hideHelp(),
    );
}

export function buildProgram(io: Io, setExit: (code: number) => void, name = 'vsop', version = '0.0.0'): Command {
  const program = new Command(name)
    .description('Route requests with a developer header to developer namespaces, everything else to production, with Istio VirtualServices or Gateway API HTTPRoutes.')
    .version(version, '-V, --version', 'print the version')
    .addOption(new Option('--config-namespace <namespace>', 'namespace of the vsop ConfigMap').env('VSOP_CONFIG_NAMESPACE').default(DEFAULT_CONFIG_LOCATION.namespace))
    .addOption(new Option('--config-name <name>', 'name of the vsop ConfigMap').env('VSOP_CONFIG_NAME').default(DEFAULT_CONFIG_LOCATION.name))
    .option('--kubeconfig <path>', "the kubeconfig file to use (default: KUBECONFIG, then ~/.kube/config, then the Pod's service account)")
    .option('--context <name>', 'the kubeconfig context to use')
    .addOption(new Option('--request-timeout <duration>', 'give up on one API request after this long').argParser(duration(1000, 3_600_000)).default(30_000, '30s'))
    .option('--no-color', 'never colour output (NO_COLOR and FORCE_COLOR are honoured too)')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp(helpConfiguration())
    .configureOutput({ writeOut: (s) => io.out(s), writeErr: (s) => io.err(s), getOutHelpWidth: () => helpWidth(io), getErrHelpWidth: () => helpWidth(io) })
    .exitOverride();

  // kubectl's Examples section, laid out for the width help is printed at. "vsop" in an example is the
  // name vsop was run as ("kubectl vsop" as a plugin).
  const examples = (cmd: Command, list: readonly Example[]) =>
    cmd.addHelpText('after', () =>
      examplesText(
        list.map(([comment, line]) => [comment, line.replace(/(?<![\w/.-])vsop(?![\w/.-])/g, name)] as const),
        helpWidth(io),
      ),
    );
  examples(program, [
    ['The plan for the seed example, with no cluster', 'vsop sync -f examples/seed --diff'],
    ["Where each developer namespace's header leads", 'vsop status -f examples/seed'],
    ["Apply the plan to the current kubeconfig context's cluster", 'vsop sync'],
  ]);
  program.addHelpText(
    'after',
    () => `\n${wrapWords(`Run "${name} COMMAND --help" for a command's flags and examples; the options above apply to every command.`, helpWidth(io)).join('\n')}`,
  );

  // Commander passes (...arguments, options, command); handlers get the arguments and all options.
  type Handler = (args: unknown[], opts: GlobalOptions & Record<string, unknown>) => Outcome;
  const action =
    (handler: Handler) =>
    async (...args: unknown[]) => {
      const cmd = args.at(-1) as Command;
      refuseUnheeded(cmd);
      setExit(await handler(args.slice(0, -2), cmd.optsWithGlobals()));
    };

  program
    .command('render')
    .description('print the VirtualServices (or HTTPRoutes and ReferenceGrants) that should exist')
    .argument('[service...]', 'limit to these production Services')
    .addOption(filenameOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(action(async ([services], opts) => (await import('./render.ts')).render(io, services as string[], opts as never)));
  examples(program.commands.at(-1)!, [
    ['The VirtualServices the seed example should have', 'vsop render -f examples/seed'],
    ["One Service's, as JSON", 'vsop render my-app -f examples/seed -o json'],
    ["Those of the current kubeconfig context's cluster", 'vsop render'],
  ]);

  planCommand(
    program
      .command('sync')
      .description('compute the VirtualServices (or HTTPRoutes and ReferenceGrants) that should exist and show or apply the difference')
      .argument('[service...]', 'limit to these production Services'),
    {
      last: (c) => c.option('--strict', 'treat every warning as an error, before any write: another VirtualService or HTTPRoute taking the requests, a hand route not in force, …'),
    },
  ).action(action(async ([services], opts) => (await import('./sync.ts')).sync(io, services as string[], opts as never)));
  examples(program.commands.at(-1)!, [
    ['The plan for the seed example, with no cluster (exit 1: there are changes)', 'vsop sync -f examples/seed --diff'],
    ['The same plan as data, for scripts', 'vsop sync -f examples/seed --diff -o yaml'],
    ["The plan against the current kubeconfig context's cluster", 'vsop sync --diff'],
    ['Send the writes for the API server to check, storing nothing', 'vsop sync --dry-run=server'],
    ['Apply the plan for one Service, in another context', 'vsop sync my-app --context staging'],
  ]);

  const route = program
    .command('route')
    .description('route by hand: header routes, weights, taking routes away; recorded in the managed VirtualService or HTTPRoute, so sync and watch keep them');
  planCommand(
    route
      .command('add')
      .description("send requests with given headers, or a share of the others, to a developer namespace's copy of a Service")
      .argument('<service>', 'the production Service'),
    {
      first: (c) =>
        c
          .requiredOption('-n, --namespace <namespace>', 'the developer namespace to route to')
          .addOption(new Option('--header <name=value>', 'route requests carrying this header; repeatable, all must match').argParser(collect))
          .addOption(new Option('--match <type>', 'how --header values match (default: exact; regex is RE2 and matches the whole value)').choices(['exact', 'prefix', 'regex']))
          .addOption(new Option('--weight <percent>', 'send this share of the requests no header route catches; production keeps the rest').argParser(wholeNumber(0, 100)))
          .addOption(new Option('--port <port>', 'limit the header route to this port of the Service').argParser(wholeNumber(1, 65535)))
          .option('--force', 'route even though the namespace lacks a real copy of the Service (or of the port)'),
    },
  ).action(action(async ([service], opts) => (await import('./route.ts')).add(io, service as string, opts as never)));
  examples(route.commands.at(-1)!, [
    ["Requests carrying x-cid: alice reach dev-alice's copy of my-app", 'vsop route add my-app -n dev-alice --header x-cid=alice'],
    ['The same, as a plan, with no cluster', 'vsop route add my-app -n dev-alice --header x-cid=alice -f examples/seed --diff'],
    ['A fifth of the requests no header route catches', 'vsop route add my-app -n dev-alice --weight 20'],
  ]);
  planCommand(
    route.command('rm').description("take a developer namespace's routes for a Service away, the automatic one included").argument('<service>', 'the production Service'),
    { first: (c) => c.requiredOption('-n, --namespace <namespace>', 'the developer namespace') },
  ).action(action(async ([service], opts) => (await import('./route.ts')).rm(io, service as string, opts as never)));
  examples(route.commands.at(-1)!, [
    ["Take dev-alice's routes for my-app away, as a plan, with no cluster", 'vsop route rm my-app -n dev-alice -f examples/seed --diff'],
    ['The same, applied', 'vsop route rm my-app -n dev-alice'],
  ]);
  planCommand(
    route.command('reset').description('drop what was routed by hand (for one namespace, or all) and return to automatic routing').argument('<service>', 'the production Service'),
    { first: (c) => c.option('-n, --namespace <namespace>', 'only this developer namespace') },
  ).action(action(async ([service], opts) => (await import('./route.ts')).reset(io, service as string, opts as never)));
  examples(route.commands.at(-1)!, [
    ['Automatic routing again for dev-alice', 'vsop route reset my-app -n dev-alice'],
    ['... for every developer namespace', 'vsop route reset my-app'],
  ]);
  examples(route, [
    ["Requests carrying x-cid: alice reach dev-alice's copy of my-app", 'vsop route add my-app -n dev-alice --header x-cid=alice'],
    ['Back to automatic routing', 'vsop route reset my-app'],
  ]);

  planCommand(
    program
      .command('clear')
      .description('production-only routing: take every developer route of these Services away (kept by sync and watch until route reset)')
      .argument('[service...]', 'the production Services'),
    {
      first: (c) =>
        c
          .option('--all', 'every production Service')
          .option('--purge', 'with --all: delete every managed VirtualService, HTTPRoute, ReferenceGrant and placeholder Service instead (the emergency cleanup)')
          .option('-y, --yes', 'with --purge: delete without asking'),
    },
  ).action(action(async ([services], opts) => (await import('./clear.ts')).clear(io, services as string[], opts as never)));
  examples(program.commands.at(-1)!, [
    ['Production only for my-app, as a plan, with no cluster', 'vsop clear my-app -f examples/seed --diff'],
    ['Production only for every production Service', 'vsop clear --all'],
    ['The emergency cleanup: delete every object vsop manages (asks first)', 'vsop clear --purge --all'],
  ]);

  program
    .command('status')
    .description('show, per production Service and developer namespace, where the header leads and whether the managed VirtualService or HTTPRoute is in sync')
    .argument('[service...]', 'limit to these production Services')
    .addOption(filenameOption())
    .option('-n, --namespace <namespace>', "only this developer namespace's column")
    .addOption(
      new Option('-o, --output <format>', "table, wide (adds the managed VirtualService's or HTTPRoute's name and resourceVersion), json or yaml")
        .choices(['table', 'wide', 'json', 'yaml'])
        .default('table'),
    )
    .action(action(async ([services], opts) => (await import('./status.ts')).status(io, services as string[], opts as never)));
  examples(program.commands.at(-1)!, [
    ["Where each developer namespace's header leads, with no cluster", 'vsop status -f examples/hierarchical'],
    ["One developer namespace's column", 'vsop status -f examples/seed -n dev-alice'],
    ['The same as data, for scripts', 'vsop status -f examples/seed -o yaml'],
    ["The current kubeconfig context's cluster, with each managed object's resourceVersion", 'vsop status -o wide'],
  ]);

  program
    .command('trace')
    .description("show where one request goes and why, by Istio's rules: the VirtualService or HTTPRoute that applies, the route it meets, the destination")
    .argument('<service>', 'a production Service (or NAME.NAMESPACE)')
    .option('-H, --header <name=value>', 'a request header; repeatable', collect)
    .option('--path <path>', 'the request path, with its query if any', '/')
    .option('--method <method>', 'the request method', 'GET')
    .addOption(new Option('--port <port>', 'the Service port called (default: its first)').argParser(wholeNumber(1, 65535)))
    .option('--from <namespace>', 'the namespace the request comes from (default: the production namespace)')
    .option('--live', 'trace the state as it is, not as vsop sync would leave it')
    .addOption(filenameOption())
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').choices(['text', 'json', 'yaml']).default('text'))
    .action(action(async ([service], opts) => (await import('./trace.ts')).trace(io, service as string, opts as never)));
  examples(program.commands.at(-1)!, [
    ["Where a request with dev-alice's header goes, with no cluster", 'vsop trace my-app -f examples/seed -H x-developer=dev-alice'],
    ["... with dev-bob's, who has no copy, as JSON", 'vsop trace my-app -f examples/seed -H x-developer=dev-bob -o json'],
    ['The same request against the cluster as it is now', 'vsop trace my-app --live -H x-developer=dev-alice'],
  ]);

  program
    .command('watch')
    .description('reconcile continuously, as a Deployment: the drop-in replacement for the VirtualService operator')
    .option('--health-probe-bind-address <address>', 'where /healthz and /readyz listen', ':8081')
    .option('--metrics-bind-address <address>', 'where Prometheus /metrics listens ("0" turns it off)', ':8080')
    .option('--leader-elect', 'run several replicas: only the holder of a coordination.k8s.io Lease writes')
    .option('--leader-election-id <name>', 'name of the Lease', 'virtualservice-operator')
    .option('--leader-election-namespace <namespace>', "namespace of the Lease (default: POD_NAMESPACE, else the ConfigMap's)")
    .addOption(new Option('--lease-duration <duration>', 'how long a Lease holds without renewal').argParser(duration(1000, 600_000)).default(15_000, '15s'))
    .addOption(new Option('--renew-deadline <duration>', 'a leader that has not renewed for this long stops writing').argParser(duration(1000, 600_000)).default(10_000, '10s'))
    .addOption(new Option('--retry-period <duration>', 'how often to try to acquire or renew the Lease').argParser(duration(100, 60_000)).default(2_000, '2s'))
    .addOption(new Option('--workers <n>', 'Services reconciled at once').argParser(positiveInt).default(4))
    .addOption(
      new Option('--resync-period <duration>', 'reconcile everything again this often, to catch anything missed').argParser(duration(10_000, 86_400_000)).default(600_000, '10m'),
    )
    .addOption(
      new Option('--stuck-after <duration>', '/healthz fails once a worker has held one Service this long (a stuck controller, restarted by its liveness probe)')
        .argParser(duration(10_000, 86_400_000))
        .default(900_000, '15m'),
    )
    .addOption(new Option('--log-level <level>', 'least severe level logged (-zap-log-level is accepted too)').choices(['debug', 'info', 'error']).default('info'))
    .addOption(new Option('--log-format <format>', 'json lines, or console for people (-zap-development is accepted too)').choices(['json', 'console']).default('json'))
    .addOption(new Option('--retry-base <duration>', 'first conflict-retry delay').argParser(duration(10, 60_000)).default(1000, '1s').hideHelp())
    .action(action(async (_args, opts) => (await import('./watch.ts')).watch(io, opts as never)));
  examples(program.commands.at(-1)!, [
    ["Reconcile the current kubeconfig context's cluster, logging for people", 'vsop watch --log-format console'],
    ['As deployments/deployment.yaml runs it: replicas elect one writer', 'vsop watch --leader-elect'],
  ]);

  const xds = program
    .command('xds')
    .description('serve the routing over xDS (an Aggregated Discovery Service) to Envoy and proxyless gRPC clients, as a Deployment')
    .option('--address <address>', 'where the xDS (ADS) server listens, without TLS', ':18000')
    .option('--health-probe-bind-address <address>', 'where /healthz and /readyz listen', ':8081')
    .option('--metrics-bind-address <address>', 'where Prometheus /metrics listens ("0" turns it off)', ':8080')
    .addOption(new Option('--log-level <level>', 'least severe level logged').choices(['debug', 'info', 'error']).default('info'))
    .addOption(new Option('--log-format <format>', 'json lines, or console for people').choices(['json', 'console']).default('json'))
    .action(action(async (_args, opts) => (await import('./xds-serve.ts')).xds(io, opts as never)));
  // The server reads the cluster (no colour: its logs are JSON or plain lines); bootstrap reads nothing but
  // the namespace of its default --server; render reads files or the cluster, none of the server's flags.
  const CLUSTER = ['--config-namespace', '--config-name', '--kubeconfig', '--context', '--request-timeout'];
  globalsHeeded(xds, CLUSTER);
  xds
    .command('bootstrap')
    .description("print a bootstrap pointing an xDS client at vsop xds: gRPC's (GRPC_XDS_BOOTSTRAP) or Envoy's (-c)")
    .option('--grpc', 'for proxyless gRPC clients (grpc-go, grpc-java, @grpc/grpc-js-xds)')
    .option('--envoy', 'for Envoy: clusters, endpoints and routes over ADS, one static listener for --route')
    .option('--server <host:port>', 'where vsop xds listens (default: port 18000 of the Service vsop-xds in --config-namespace)')
    .option('--node-id <id>', "the client's node id, in vsop xds's logs", 'vsop-client')
    .option('--route <host:port>', "with --envoy: the Service port whose routes Envoy's listener serves (a RouteConfiguration name)")
    .addOption(new Option('--listen-port <port>', "with --envoy: the port Envoy's listener takes (default: 10000)").argParser(wholeNumber(1, 65535)))
    .action(action(async (_args, opts) => (await import('./xds.ts')).bootstrap(io, opts as never)));
  globalsHeeded(xds.commands.at(-1)!, ['--config-namespace']);
  examples(xds.commands.at(-1)!, [
    ['A bootstrap for grpc-go, in a file GRPC_XDS_BOOTSTRAP names', 'vsop xds bootstrap --grpc > bootstrap.json'],
    ["Envoy serving my-app's port 80 routes on :10000", 'vsop xds bootstrap --envoy --route my-app.default.svc.cluster.local:80'],
  ]);
  examples(xds, [
    ["Serve the current kubeconfig context's cluster to xDS clients on :18000", 'vsop xds'],
    ['The resources it would serve, with no cluster', 'vsop xds render -f examples/xds'],
  ]);
  xds
    .command('render')
    .description('print the xDS resources that would be served (Listeners, RouteConfigurations, Clusters, ClusterLoadAssignments) as JSON')
    .argument('[service...]', 'limit to these production Services')
    .addOption(
      new Option(
        '-f, --filename <path>',
        'read the ConfigMap, Services, route objects (VirtualServices, HTTPRoutes) and EndpointSlices from files, directories or - (stdin) instead of a cluster; repeatable',
      ).argParser(collect),
    )
    .action(action(async ([services], opts) => (await import('./xds.ts')).render(io, services as string[], opts as never)));
  globalsHeeded(xds.commands.at(-1)!, [...CLUSTER, '--no-color']);
  examples(xds.commands.at(-1)!, [
    ['The resources for the xDS example, with no cluster', 'vsop xds render -f examples/xds'],
    ["Those of one Service of the current kubeconfig context's cluster", 'vsop xds render my-app'],
  ]);

  const config = program.command('config').description('work with the vsop configuration');
  config
    .command('validate')
    .description('check the ConfigMap (or a bare config.yaml) and report every problem')
    .addOption(filenameOption())
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').choices(['text', 'json', 'yaml']).default('text'))
    .action(action(async (_args, opts) => (await import('./config.ts')).validate(io, opts as never)));
  examples(config.commands.at(-1)!, [
    ["Check the seed example's ConfigMap", 'vsop config validate -f examples/seed/configmap.yaml'],
    ["Check the cluster's, as JSON", 'vsop config validate -o json'],
  ]);
  config
    .command('rbac')
    .description(
      'print the Roles and RoleBindings the configuration calls for: VirtualServices and HTTPRoutes in the production namespace, placeholder Services and ReferenceGrants in each developer namespace',
    )
    .addOption(filenameOption())
    .option('--serviceaccount <namespace:name>', 'the ServiceAccount to bind (default: CONFIG_NAMESPACE:virtualservice-operator)')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['yaml', 'json']).default('yaml'))
    .action(action(async (_args, opts) => (await import('./rbac.ts')).rbac(io, opts as never)));
  examples(config.commands.at(-1)!, [
    ["The Roles for the cluster's configuration, applied", 'vsop config rbac | kubectl apply -f -'],
    ["Those for the seed example's ConfigMap", 'vsop config rbac -f examples/seed/configmap.yaml'],
  ]);
  examples(config, [["Check the seed example's ConfigMap", 'vsop config validate -f examples/seed/configmap.yaml']]);

  program
    .command('version')
    .description("print vsop's version and, from the current kubeconfig context, the Kubernetes and Istio versions of the cluster")
    .option('--client', "vsop's version only: no cluster is contacted")
    .addOption(new Option('-o, --output <format>', 'text, json or yaml').choices(['text', 'json', 'yaml']).default('text'))
    .action(action(async (_args, opts) => (await import('./version.ts')).version(io, opts as never, version)));
  examples(program.commands.at(-1)!, [
    ["vsop's version, the cluster's and Istio's", 'vsop version'],
    ["vsop's alone, as JSON, with no cluster", 'vsop version --client -o json'],
  ]);

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
  examples(program.commands.at(-1)!, [
    ['Complete vsop in this bash session', 'source <(vsop completion bash)'],
    ['In every fish session', 'vsop completion fish > ~/.config/fish/completions/vsop.fish'],
  ]);

  // kubectl's conventions for groups of commands: `vsop route` alone is a request for its help (on stdout,
  // exit 0), as `kubectl config` is, and a word after it that is none of its commands is an unknown command;
  // `vsop help TOPIC` (and `vsop route help TOPIC`) walks down to the command named, and names a topic that
  // is no command instead of printing the parent's help as an error.
  for (const group of [route, config]) {
    group.allowExcessArguments(true).action((_opts: unknown, cmd: Command) => {
      if (cmd.args.length > 0) throw new UsageError(`unknown command '${cmd.args[0]}' for '${name} ${cmd.name()}'`, { hint: commandsHint(cmd, name) });
      cmd.outputHelp();
    });
  }
  // vsop xds is a command and a group: a word after it is a misspelt command (`vsop xds rendr -f x`), not
  // an excess argument or the start of unknown options.
  xds.allowExcessArguments(true).hook('preAction', (_this, actionCommand) => {
    if (actionCommand === xds && xds.args.length > 0) throw unknownCommand(xds, xds.args[0]!);
  });
  // Command.unknownOption is commander's (lib/command.js), left out of its typings: wrapped, not replaced.
  const hooked = xds as unknown as { unknownOption(flag: string): void };
  const unknownOption = hooked.unknownOption.bind(xds);
  hooked.unknownOption = (flag: string) => {
    const word = xds.args[0];
    if (word !== undefined && !word.startsWith('-')) throw unknownCommand(xds, word);
    unknownOption(flag);
  };
  const unknownCommand = (cmd: Command, word: string) => new UsageError(`unknown command '${word}' for '${name} ${cmd.name()}'`, { hint: commandsHint(cmd, name) });
  for (const parent of [program, route, config, xds]) {
    parent.helpCommand(false);
    parent
      .command('help')
      .argument('[command...]', 'the command to describe, and its subcommands')
      .description('display help for command')
      .action((topic: string[]) => {
        let cmd = parent;
        for (const word of topic) {
          const sub = cmd.commands.find((c) => c.name() === word || c.aliases().includes(word));
          if (!sub) throw new UsageError(`unknown help topic '${topic.join(' ')}'`, { hint: commandsHint(cmd, name) });
          cmd = sub;
        }
        cmd.outputHelp();
      });
  }
  return program;
}

/** "vsop route's commands: add, rm, reset", for the hint of an unknown command or help topic. */
function commandsHint(cmd: Command, name: string): string {
  const path = [];
  for (let c: Command | null = cmd; c?.parent; c = c.parent) path.unshift(c.name());
  const names = cmd.commands.map((c) => c.name()).filter((n) => n !== 'help' && n !== '__complete');
  return `${[name, ...path].join(' ')}'s commands: ${names.join(', ')}`;
}
