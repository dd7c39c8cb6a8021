// The resolver: configuration plus the Services that exist, plus the overrides recorded by hand → the
// VirtualServices that should exist. Pure and deterministic: output order follows Service names and the
// config's namespace order.

import type { Problem } from '../errors.ts';
import type { OverrideContext } from './edit.ts';
import { objectNameProblem } from './names.ts';
import { isEmpty, serialize, type HeaderRoute, type Overrides } from './overrides.ts';
import {
  DEFAULT_ROUTE_NAME,
  devRouteName,
  headerRouteName,
  isPlaceholder,
  MANAGED_LABEL,
  MANAGED_VALUE,
  OVERRIDES_ANNOTATION,
  SERVICE_ANNOTATION,
  SYSTEM_SERVICES,
  templateRouteName,
} from './ownership.ts';
import { placeholder } from './placeholders.ts';
import { renderTemplate, type Template } from './template.ts';
import type { Config, DeveloperNamespace, HttpRoute, Service, VirtualService } from './types.ts';

/** Where the routing header would lead, from the Services alone. */
type CopyState =
  | { state: 'route'; target: string } // its own copy
  | { state: 'fallback'; target: string } // an ancestor's copy (parent chain)
  | { state: 'missing' }; // production serves it

/** How one developer namespace is served for one production Service. */
export type RouteState =
  | CopyState
  | { state: 'removed' } // production serves it: `route rm` took the automatic route away
  | { state: 'cleared' }; // production serves it: `clear` took every automatic route away

/** What was added by hand for one namespace, as rendered. */
export interface NamespaceOverrides {
  /** Header routes recorded for the namespace. */
  headerRoutes: number;
  /** The recorded share of requests without a matching header, in percent. */
  weight?: number;
  /** Recorded, but not rendered until the namespace has a real copy of the Service (see the warnings). */
  waiting?: true;
}

export interface ServiceRouting {
  service: string;
  /** What the managed VirtualService records, or null. */
  overrides: Overrides | null;
  /** Keyed by developer namespace, in config order. */
  namespaces: { namespace: string; placeholder: boolean; route: RouteState; overrides?: NamespaceOverrides }[];
}

export interface ResolveOptions {
  /** Also work out, per Service and namespace, how requests are routed (status's view). */
  routing?: boolean;
  /** The overrides of one production Service (from its live VirtualService, changed by a route command). */
  overrides?: (service: string, ctx: OverrideContext) => Overrides | undefined;
}

export interface Resolution {
  /** One per production Service, sorted by name. */
  virtualServices: VirtualService[];
  /** The production Services, sorted. */
  services: string[];
  /** How each developer namespace is served, per Service (only when asked for: it is status's view). */
  routing: ServiceRouting[];
  /** Placeholder Services that should exist (enablePlaceholderServices), sorted by namespace/name. */
  placeholders: Service[];
  /** Services that could not be rendered (an invalid object name, say); they get no VirtualService. */
  problems: Problem[];
  /** Overrides that are recorded but cannot be rendered now (a namespace left the config, a copy is missing). */
  warnings: Problem[];
}

/** Real Services indexed by name, then namespace; placeholders kept apart, as they never count. */
export interface ServiceIndex {
  real: Map<string, Map<string, Service>>;
  placeholders: Map<string, Set<string>>;
}

export function indexServices(services: readonly Service[], excluded: readonly string[]): ServiceIndex {
  const skip = new Set(excluded);
  const real = new Map<string, Map<string, Service>>();
  const placeholders = new Map<string, Set<string>>();
  for (const svc of services) {
    const ns = svc.metadata.namespace;
    const name = svc.metadata.name;
    if (ns === undefined || skip.has(ns)) continue;
    if (isPlaceholder(svc)) {
      let set = placeholders.get(name);
      if (!set) placeholders.set(name, (set = new Set()));
      set.add(ns);
      continue;
    }
    let byNamespace = real.get(name);
    if (!byNamespace) real.set(name, (byNamespace = new Map()));
    byNamespace.set(ns, svc);
  }
  return { real, placeholders };
}

const MISSING: CopyState = Object.freeze({ state: 'missing' });

export function resolve(config: Config, template: Template, services: readonly Service[], opts: ResolveOptions = {}): Resolution {
  const index = indexServices(services, config.excludedNamespaces);
  const chains = config.developerNamespaces.map((dev) => fallbackChain(dev, config.developerNamespaces));
  const matches = config.developerNamespaces.map((dev) => headerMatch(config.routingHeader, dev.headerValue));
  const production: Service[] = [];
  for (const [name, byNamespace] of index.real) {
    const svc = byNamespace.get(config.defaultNamespace);
    if (svc && !SYSTEM_SERVICES.includes(name)) production.push(svc);
  }
  production.sort((a, b) => compare(a.metadata.name, b.metadata.name));

  const virtualServices: VirtualService[] = [];
  const routing: ServiceRouting[] = [];
  const problems: Problem[] = [];
  const warnings: Problem[] = [];
  const placeholders: Service[] = [];
  for (const svc of production) {
    const name = svc.metadata.name;
    const ports = distinctPorts(svc);
    const copies = index.real.get(name)!;
    const states = chains.map((chain) => routeState(chain, copies, undefined));
    const vs = renderTemplate(template, { serviceName: name, defaultNamespace: config.defaultNamespace });
    const problem = objectNameProblem(vs.metadata.name);
    if (problem) {
      problems.push({ source: `service ${config.defaultNamespace}/${name}`, path: 'virtualServiceTemplate: metadata.name', message: `${JSON.stringify(vs.metadata.name)} ${problem}` });
      continue;
    }
    const o = opts.overrides?.(name, {
      config,
      service: name,
      production: svc,
      copies,
      placeholders: index.placeholders.get(name) ?? NONE,
      catchAll: (Array.isArray(vs.spec.http) ? vs.spec.http : []).findLast((r) => r.match === undefined),
    });
    const taken = (dev: DeveloperNamespace) => o !== undefined && (o.cleared || o.removed.includes(dev.name));
    const hand = o && !isEmpty(o) ? handRoutes(o, config, name, ports, copies, `virtualservice ${config.defaultNamespace}/${vs.metadata.name}`) : undefined;
    if (hand) warnings.push(...hand.warnings);
    if (opts.routing) {
      routing.push({
        service: name,
        overrides: o && !isEmpty(o) ? o : null,
        namespaces: config.developerNamespaces.map((dev, i) => ({
          namespace: dev.name,
          placeholder: index.placeholders.get(name)?.has(dev.name) ?? false,
          route: taken(dev) ? (o!.cleared ? CLEARED : REMOVED) : states[i]!,
          ...(hand?.byNamespace.has(dev.name) ? { overrides: hand.byNamespace.get(dev.name)! } : {}),
        })),
      });
    }

    if (config.enablePlaceholderServices) {
      config.developerNamespaces.forEach((dev, i) => {
        const state = states[i]!;
        if (state.state === 'route' || index.real.get(name)?.has(dev.name)) return;
        // A placeholder leads where the namespace's header leads: production, once its route is taken away.
        placeholders.push(placeholder(svc, dev.name, state.state === 'fallback' && !taken(dev) ? state.target : config.defaultNamespace));
      });
    }

    const devRoutes: HttpRoute[] = [...(hand?.routes ?? [])];
    config.developerNamespaces.forEach((dev, i) => {
      if (taken(dev)) return;
      if (ports.length <= 1) {
        const state = states[i]!;
        if (state.state !== 'missing') devRoutes.push(devRoute(dev, matches[i]!, name, state.target));
        return;
      }
      for (const port of ports) {
        const state = routeState(chains[i]!, copies, port);
        if (state.state !== 'missing') devRoutes.push(devRoute(dev, matches[i]!, name, state.target, port));
      }
    });
    const done = finish(vs, template.injectAt, devRoutes, config.defaultNamespace, name, o && !isEmpty(o) ? serialize(o) : undefined);
    if (hand && hand.weights.length > 0) split(done, hand.weights, name, warnings);
    virtualServices.push(done);
  }
  placeholders.sort((a, b) => compare(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`));
  return { virtualServices, services: production.map((s) => s.metadata.name), routing, placeholders, problems, warnings };
}

const NONE: ReadonlySet<string> = new Set();
const REMOVED: RouteState = Object.freeze({ state: 'removed' });
const CLEARED: RouteState = Object.freeze({ state: 'cleared' });

interface HandRoutes {
  /** Header routes, in the order they were added. */
  routes: HttpRoute[];
  /** Namespaces that get a share of the catch-all route, in config order. */
  weights: { namespace: string; percent: number }[];
  byNamespace: Map<string, NamespaceOverrides>;
  warnings: Problem[];
}

/**
 * The header routes and weights recorded by hand, for the namespaces that can take them: a configured
 * developer namespace with a real copy of the Service (with the ports asked for), or any namespace the
 * user forced. The rest stay recorded and are reported, so that a deleted copy never turns a share of
 * production traffic into errors, and routes come back when the copy does.
 */
function handRoutes(o: Overrides, config: Config, service: string, ports: number[], copies: ReadonlyMap<string, Service>, source: string): HandRoutes {
  const out: HandRoutes = { routes: [], weights: [], byNamespace: new Map(), warnings: [] };
  const warn = (message: string) => out.warnings.push({ source, path: `annotation ${OVERRIDES_ANNOTATION}`, message });
  const configured = new Set(config.developerNamespaces.map((d) => d.name));
  const note = (ns: string) => {
    let n = out.byNamespace.get(ns);
    if (!n) out.byNamespace.set(ns, (n = { headerRoutes: 0 }));
    return n;
  };
  const reset = (ns: string) => `vsop route reset ${service} -n ${ns}`;
  const waiting = new Set<string>();
  const wait = (ns: string, message: string) => {
    note(ns).waiting = true;
    if (!waiting.has(message)) warn(message), waiting.add(message);
  };
  const counts = new Map<string, number>();
  for (const r of o.routes) {
    const n = (counts.get(r.namespace) ?? 0) + 1;
    counts.set(r.namespace, n);
    if (!configured.has(r.namespace)) {
      warn(`header route ${headerRouteName(r.namespace, n)} is not rendered: "${r.namespace}" is not a developer namespace in the configuration (${reset(r.namespace)} drops it)`);
      continue;
    }
    note(r.namespace).headerRoutes++;
    if (r.port !== undefined && !ports.includes(r.port)) {
      warn(`header route ${headerRouteName(r.namespace, n)} is not rendered: service ${config.defaultNamespace}/${service} has no port ${r.port}`);
      continue;
    }
    const copy = copies.get(r.namespace);
    const copyPorts = copy ? distinctPorts(copy) : [];
    const wanted = r.port !== undefined ? [r.port] : ports;
    const reachable = r.force ? wanted : wanted.filter((p) => copyPorts.includes(p));
    if (!copy && !r.force) {
      wait(r.namespace, `routes to ${r.namespace} wait for service ${r.namespace}/${service}, which does not exist (or is only a placeholder)`);
      continue;
    }
    if (reachable.length === 0) {
      wait(r.namespace, `header route ${headerRouteName(r.namespace, n)} waits for service ${r.namespace}/${service} to have port ${wanted.join(', ')}`);
      continue;
    }
    out.routes.push(...headerRoute(r, n, service, r.port !== undefined || ports.length > 1 ? reachable : []));
  }
  for (const w of o.weights) {
    if (!configured.has(w.namespace)) {
      warn(`the weight of ${w.namespace} is not rendered: it is not a developer namespace in the configuration (${reset(w.namespace)} drops it)`);
      continue;
    }
    note(w.namespace).weight = w.percent;
    const copy = copies.get(w.namespace);
    const copyPorts = copy ? distinctPorts(copy) : [];
    if (!w.force && (!copy || ports.some((p) => !copyPorts.includes(p)))) {
      wait(w.namespace, copy ? `the weight of ${w.namespace} waits for service ${w.namespace}/${service} to have every port of ${config.defaultNamespace}/${service}` : `routes to ${w.namespace} wait for service ${w.namespace}/${service}, which does not exist (or is only a placeholder)`);
      continue;
    }
    if (w.percent > 0) out.weights.push(w);
  }
  const order = new Map(config.developerNamespaces.map((d, i) => [d.name, i]));
  out.weights.sort((a, b) => order.get(a.namespace)! - order.get(b.namespace)!);
  return out;
}

function headerRoute(r: HeaderRoute, n: number, service: string, ports: number[]): HttpRoute[] {
  const headers = Object.fromEntries(r.headers.map((h) => [h.name, { [h.match]: h.value }]));
  const host = `${service}.${r.namespace}.svc.cluster.local`;
  if (ports.length === 0) return [{ name: headerRouteName(r.namespace, n), match: [{ headers }], route: [{ destination: { host } }] }];
  return ports.map((port) => ({
    name: headerRouteName(r.namespace, n, r.port === undefined ? port : undefined),
    match: [{ port, headers }],
    route: [{ destination: { host, port: { number: port } } }],
  }));
}

/**
 * Weights split the template's catch-all route: each namespace gets its share of the requests no earlier
 * route caught, production the rest. The developer destinations keep the production destination's port.
 */
function split(vs: VirtualService, weights: HandRoutes['weights'], service: string, warnings: Problem[]): void {
  const http = vs.spec.http!;
  const at = http.findLastIndex((r) => r.match === undefined);
  const catchAll = http[at];
  const dest = catchAll?.route ?? [];
  if (!catchAll || dest.length !== 1 || (dest[0]!.weight !== undefined && dest[0]!.weight !== 100)) {
    const source = `virtualservice ${vs.metadata.namespace}/${vs.metadata.name}`;
    warnings.push({ source, path: `annotation ${OVERRIDES_ANNOTATION}`, message: 'weights are not rendered: the template needs a catch-all route (one without match) sending to exactly one destination' });
    return;
  }
  const production = dest[0]!;
  const rest = 100 - weights.reduce((s, w) => s + w.percent, 0);
  const port = production.destination.port;
  http[at] = {
    ...catchAll,
    route: [
      ...(rest > 0 ? [{ ...production, weight: rest }] : []),
      ...weights.map((w) => ({ destination: { host: `${service}.${w.namespace}.svc.cluster.local`, ...(port ? { port } : {}) }, weight: w.percent })),
    ],
  };
}

/** The namespace itself, then its parent, its parent's parent…: where a request falls back to, in order. */
function fallbackChain(dev: DeveloperNamespace, all: readonly DeveloperNamespace[]): string[] {
  const chain: string[] = [];
  let cur: DeveloperNamespace | undefined = dev;
  while (cur && !chain.includes(cur.name)) {
    chain.push(cur.name);
    const parent: string | undefined = cur.parent;
    cur = parent === undefined ? undefined : all.find((d) => d.name === parent);
  }
  return chain;
}

/** The nearest namespace along the chain holding a real copy of the Service (with that port). */
function routeState(chain: readonly string[], copies: ReadonlyMap<string, Service>, port: number | undefined): CopyState {
  for (let i = 0; i < chain.length; i++) {
    const svc = copies.get(chain[i]!);
    if (svc && (port === undefined || distinctPorts(svc).includes(port))) {
      return i === 0 ? { state: 'route', target: chain[0]! } : { state: 'fallback', target: chain[i]! };
    }
  }
  return MISSING;
}

interface SharedMatch {
  headers: Readonly<Record<string, unknown>>;
  /** `[{headers}]`, the whole match list of a single-port route. */
  all: Record<string, unknown>[];
}

/**
 * The header condition of a developer namespace's routes is the same for every Service, so one frozen
 * copy is shared by all of them (10,000 Services render 10,000 fewer objects per namespace). Nothing may
 * change a rendered route in place; the freeze makes any attempt fail loudly.
 */
function headerMatch(header: string, value: string): SharedMatch {
  const headers = Object.freeze({ [header]: Object.freeze({ exact: value }) });
  return { headers, all: Object.freeze([Object.freeze({ headers })]) as unknown as Record<string, unknown>[] };
}

function devRoute(dev: DeveloperNamespace, match: SharedMatch, service: string, target: string, port?: number): HttpRoute {
  const host = `${service}.${target}.svc.cluster.local`;
  if (port === undefined) {
    return { name: devRouteName(dev.name), match: match.all, route: [{ destination: { host } }] };
  }
  return {
    name: devRouteName(dev.name, port),
    match: [{ port, headers: match.headers }],
    route: [{ destination: { host, port: { number: port } } }],
  };
}

/** Names the template's routes, injects the developer routes, and marks the object as vsop's. */
function finish(vs: VirtualService, injectAt: number, devRoutes: HttpRoute[], namespace: string, service: string, overrides: string | undefined): VirtualService {
  const own = Array.isArray(vs.spec.http) ? vs.spec.http : [];
  const lastCatchAll = own.findLastIndex((r) => r.match === undefined);
  const named = own.map((r, i) =>
    r.name !== undefined ? r : { name: i === lastCatchAll ? DEFAULT_ROUTE_NAME : templateRouteName(i), ...r },
  );
  const at = Math.min(injectAt, named.length);
  const { name, namespace: _ns, labels, annotations, ...restMeta } = vs.metadata;
  return {
    ...vs,
    metadata: {
      name,
      namespace,
      ...restMeta,
      labels: { ...labels, [MANAGED_LABEL]: MANAGED_VALUE },
      annotations: overrides === undefined ? { ...annotations, [SERVICE_ANNOTATION]: service } : { ...annotations, [SERVICE_ANNOTATION]: service, [OVERRIDES_ANNOTATION]: overrides },
    },
    spec: { ...vs.spec, http: [...named.slice(0, at), ...devRoutes, ...named.slice(at)] },
  };
}

export function distinctPorts(svc: Service): number[] {
  const ports = (svc.spec?.ports ?? []).map((p) => p.port).filter((p) => Number.isInteger(p));
  return [...new Set(ports)].sort((a, b) => a - b);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
