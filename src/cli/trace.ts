// vsop trace SERVICE: where one request goes and why, by Istio's rules (src/core/istio), in the state
// `vsop sync` would leave (or, with --live, the state as it is): the Service the host names, the
// VirtualService that applies (and those Istio ignores), the route met, and the destination clusters.

import { describeMatch } from '../core/istio/describe.ts';
import { dataText } from '../core/render.ts';
import { namespaceNameProblem, objectNameProblem } from '../core/names.ts';
import { notInForce, traceRequest, type TraceAnswer, type TraceRequest } from '../core/istio/trace.ts';
import type { NotRendered } from '../core/routing/table.ts';
import { NotFoundError, UsageError } from '../errors.ts';
import { reconcileOnce, worldAfter } from '../reconcile.ts';
import type { Io } from './io.ts';
import { paint } from './paint.ts';
import { openSource, printWarnings, refusedWarnings, type SourceOptions } from './source.ts';

interface TraceOptions extends SourceOptions {
  header?: string[];
  path: string;
  method: string;
  port?: number;
  from?: string;
  live?: boolean;
  output: 'text' | 'json' | 'yaml';
}

export async function trace(io: Io, service: string, opts: TraceOptions): Promise<number> {
  const c = paint(io, opts.color);
  const headers: Record<string, string> = {};
  for (const h of opts.header ?? []) {
    const at = h.indexOf('=');
    const name = at > 0 ? h.slice(0, at).trim() : '';
    if (!name) throw new UsageError(`-H ${JSON.stringify(h)}: expected name=value`, { hint: 'for example: -H x-developer=dev-alice' });
    headers[name.toLowerCase()] = h.slice(at + 1);
  }
  // What Envoy would see: the method as sent (it matches :method case-sensitively), an origin-form path.
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(opts.method))
    throw new UsageError(`--method ${JSON.stringify(opts.method)} is not an HTTP method`, { hint: 'for example: --method POST' });
  if (!opts.path.startsWith('/')) throw new UsageError(`--path ${JSON.stringify(opts.path)} must start with /`, { hint: `for example: --path /${opts.path}` });
  const badFrom = opts.from === undefined ? undefined : namespaceNameProblem(opts.from);
  if (badFrom) throw new UsageError(`--from ${JSON.stringify(opts.from)} ${badFrom}`);
  // A Service that cannot be rendered keeps its live objects in the world traced, with a warning.
  const result = await reconcileOnce((await openSource(io, opts)).source, { allowGone: true, refusedApart: true });
  const config = result.loaded.config;
  const [name = '', ns = config.defaultNamespace] = service.split('.');
  if (objectNameProblem(name) || namespaceNameProblem(ns)) throw new UsageError(`${JSON.stringify(service)} is not a Service name (NAME, or NAME.NAMESPACE)`);
  // Only what is about the Service traced (its name's production Service), or about no Service: as sync SERVICE says.
  const here = (p: { service?: string }) => p.service === undefined || p.service === name;
  printWarnings(io, [...result.warnings.filter(here), ...refusedWarnings(result.resolution.problems.filter(here))], c.err.yellow);
  const { services, virtualServices, httpRoutes = [] } = result.snapshot;
  const world = opts.live ? { services, virtualServices, httpRoutes } : worldAfter(result);
  const svc = world.services.find((s) => s.metadata.name === name && s.metadata.namespace === ns);
  if (!svc) throw new NotFoundError(`service ${ns}/${name} not found`, { hint: `trace a Service of ${config.defaultNamespace} (or NAME.NAMESPACE)` });
  const ports = (svc.spec?.ports ?? []).map((p) => p.port);
  const port = opts.port ?? ports[0];
  if (port === undefined) throw new UsageError(`service ${ns}/${name} has no ports`);
  if (!ports.includes(port)) throw new UsageError(`service ${ns}/${name} has no port ${port} (it has: ${ports.join(', ')})`);
  const from = opts.from ?? config.defaultNamespace;
  const req: TraceRequest = { host: `${name}.${ns}.svc.cluster.local`, port, path: opts.path, method: opts.method, headers, from };
  const answer = traceRequest(world, req);
  // Hand routes kept but not in force (routeKind HTTPRoute: a prefix header) that this request would meet.
  const table = ns === config.defaultNamespace ? result.resolution.tables.find((t) => t.service === name) : undefined;
  const left = table ? notInForce(table, req) : [];
  if (opts.output !== 'text') {
    io.out(dataText(opts.output, { version: 1, request: req, state: opts.live ? 'live' : 'after-sync', ...answer, ...(left.length ? { notInForce: left } : {}) }));
    return 0;
  }
  io.out(text(req, answer, left, config.routeKind));
  return 0;
}

function text(req: TraceRequest, a: TraceAnswer, left: readonly NotRendered[], kind: 'VirtualService' | 'HTTPRoute'): string {
  const lines: string[] = [];
  const hdrs = Object.entries(req.headers).map(([k, v]) => `${k}: ${v}`);
  lines.push(`request: ${req.method} ${req.host}:${req.port}${req.path} from namespace ${req.from}${hdrs.length ? ` with ${hdrs.join(', ')}` : ''}`);
  if (a.service) lines.push(`service: ${a.service.namespace}/${a.service.name}`);
  if (a.httpRoutes) lines.push(`httproutes: ${a.httpRoutes.join(', ')} (merged by Gateway API precedence as Istio's ${a.virtualService!.namespace}/${a.virtualService!.name})`);
  else if (a.virtualService) lines.push(`virtualservice: ${a.virtualService.namespace}/${a.virtualService.name}`);
  else if (a.service) lines.push(`${kind === 'HTTPRoute' ? 'httproutes: none apply' : 'virtualservice: none applies'} (the Service's own default route)`);
  for (const i of a.ignored ?? []) {
    // Generated from HTTPRoutes: named by the user's routes, then Istio's object.
    if (i.httpRoutes) lines.push(`  ignored: httproute ${i.httpRoutes.join(', ')} (as Istio's ${i.namespace}/${i.name}; Istio uses one set of routes per host for sidecars)`);
    else lines.push(`  ignored: ${i.namespace}/${i.name} (Istio uses one VirtualService per host for sidecars)`);
  }
  const rule = a.httpRoute ? `httproute ${a.httpRoute.namespace}/${a.httpRoute.name} rule ${a.httpRoute.rule}${a.httpRoute.match ? ` match ${a.httpRoute.match}` : ''}` : undefined;
  if (a.route) lines.push(`route: ${rule ?? a.route.name ?? `#${a.route.index}`}${a.route.match ? ` (${describeMatch(a.route.match)})` : ' (no match: every request)'}`);
  for (const d of a.destinations ?? []) {
    const svc = d.host.split('.').slice(0, 2).reverse().join('/');
    const missing = d.noSuchPort ? `  (${svc} has no port ${d.port}: Envoy answers 503)` : d.noSuchService ? `  (service ${svc} does not exist: Envoy answers 503)` : '';
    lines.push(`→ ${d.host}:${d.port}${(a.destinations?.length ?? 0) > 1 ? ` weight ${d.weight}` : ''}  [${d.cluster}]${missing}`);
  }
  if (a.action && a.action !== 'route') lines.push(`action: ${a.action}`);
  if (a.error) lines.push(`error: ${a.error}`);
  for (const r of left) lines.push(`not in force: route ${r.route}, recorded by hand for ${r.namespace}, would match; it is not rendered: ${r.reason}`);
  return `${lines.join('\n')}\n`;
}
