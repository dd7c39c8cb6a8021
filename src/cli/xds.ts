// vsop xds render: the Envoy v3 resources `vsop xds` would serve (Listeners, RouteConfigurations, Clusters,
// ClusterLoadAssignments), as JSON, from files or the cluster: the pull-request review of xDS users. And
// vsop xds bootstrap: the bootstrap a client needs to reach vsop xds.

import { renderXds, XDS_KINDS } from '../core/render/xds.ts';
import { ConfigError, UsageError } from '../errors.ts';
import { XDS_INPUTS } from '../inputs.ts';
import { envoyBootstrap, grpcBootstrap, nodeIdProblem, routeProblem, serverProblem } from '../xds/bootstrap.ts';
import { reconcileOnce } from '../reconcile.ts';
import type { Io } from './io.ts';
import { paint } from './paint.ts';
import { openSource, printWarnings, type SourceOptions } from './source.ts';

/** vsop xds render: reads what the server reads (XDS_INPUTS: the EndpointSlices too), from files or the cluster. */
export async function render(io: Io, services: string[], opts: SourceOptions): Promise<number> {
  const result = await reconcileOnce((await openSource(io, opts, XDS_INPUTS)).source, {
    renderOnly: true,
    keepRefused: true,
    ...(services.length ? { services } : {}),
  });
  const only = services.length ? new Set(services) : undefined;
  // As vsop xds serves them (src/xds/feed.ts): a Service whose template problem is with the rendered object
  // alone (its name, say) is rendered from its routing table, with a warning; one whose problem may bear
  // on its routes is refused (exit 3), as a vsop xds that starts now serves nothing for it.
  const problems = result.resolution.problems.filter((p) => !only || only.has(p.service!));
  const apart = new Set(result.resolution.objectRefused.map((t) => t.service));
  const routing = problems.filter((p) => !apart.has(p.service!));
  if (routing.length > 0) throw new ConfigError(`cannot render valid ${result.loaded.template.kind}s`, routing);
  const objectOnly = problems.map((p) => ({
    ...p,
    message: `${p.message} (the ${result.loaded.template.kind} cannot be rendered; its routing is served over xDS all the same: xDS never uses the rendered object)`,
  }));
  // As a vsop xds that starts now serves them: a Service whose recorded overrides cannot be read is
  // rendered without them, said in a warning (a running vsop xds holds the routing it last served).
  const unreadable = result.unreadable.filter((i) => !only || only.has(i.service));
  const { resources, warnings } = renderXds({
    tables: [...result.resolution.tables, ...result.resolution.objectRefused].filter((t) => !only || only.has(t.service)),
    services: result.snapshot.services,
    endpointSlices: result.snapshot.endpointSlices ?? [],
    namespace: result.loaded.config.defaultNamespace,
  });
  const left = unreadable.map((i) => ({
    ...i.problem,
    message: `${i.problem.message}; service ${i.service} rendered without these overrides, as vsop xds serves it after a start (a running one holds the routing it last served)`,
  }));
  printWarnings(io, [...result.warnings, ...objectOnly, ...left, ...warnings], paint(io, opts.color).err.yellow);
  io.out(`${JSON.stringify({ resources: XDS_KINDS.flatMap((k) => resources[k]) }, null, 2)}\n`);
  return 0;
}

interface BootstrapCliOptions extends SourceOptions {
  envoy?: boolean;
  grpc?: boolean;
  server?: string;
  nodeId: string;
  route?: string;
  /** Given explicitly (--envoy alone uses it): undefined is the default, 10000. */
  listenPort?: number;
}

/** vsop xds bootstrap: a bootstrap for gRPC's xDS client or for Envoy, pointing at vsop xds. */
export async function bootstrap(io: Io, opts: BootstrapCliOptions): Promise<number> {
  // Every problem with the flags, each naming its flag, then one usage error (exit 2).
  const problems: string[] = [];
  if (opts.envoy && opts.grpc) problems.push('--grpc and --envoy: give one, the client the bootstrap is for');
  if (!opts.envoy && !opts.grpc) problems.push('--grpc or --envoy is required: the client the bootstrap is for');
  const server = opts.server ?? `vsop-xds.${opts.configNamespace}.svc.cluster.local:18000`;
  const bad = (flag: string, value: string, problem: string | undefined) => problem && problems.push(`${flag} ${JSON.stringify(value)} ${problem}`);
  bad(opts.server === undefined ? '--config-namespace (in the default --server)' : '--server', server, serverProblem(server));
  bad('--node-id', opts.nodeId, nodeIdProblem(opts.nodeId));
  if (opts.route !== undefined) bad('--route', opts.route, routeProblem(opts.route));
  if (opts.route !== undefined && opts.grpc && !opts.envoy) problems.push('--route is for --envoy: a gRPC client names its route in its xds:/// target');
  if (opts.listenPort !== undefined && opts.grpc && !opts.envoy) problems.push("--listen-port is for --envoy: a gRPC client has no listener of vsop's to bind");
  if (opts.envoy && !opts.grpc && opts.route === undefined)
    problems.push('--envoy needs --route: the RouteConfiguration its listener serves, a Service host:port (vsop xds render lists them)');
  if (problems.length > 0) {
    throw new UsageError(problems.length === 1 ? problems[0]! : `invalid flags:\n  ${problems.join('\n  ')}`, {
      hint: opts.envoy ? 'vsop xds bootstrap --envoy --route my-app.default.svc.cluster.local:80' : 'vsop xds bootstrap --grpc > bootstrap.json',
    });
  }
  const out = opts.grpc
    ? grpcBootstrap({ server, nodeId: opts.nodeId })
    : envoyBootstrap({ server, nodeId: opts.nodeId, route: opts.route!, listenPort: opts.listenPort ?? 10000 });
  io.out(`${JSON.stringify(out, null, 2)}\n`);
  return 0;
}
