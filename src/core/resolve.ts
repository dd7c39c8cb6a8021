// The resolver: configuration plus the Services that exist → the VirtualServices that should exist.
// Pure and deterministic: output order follows Service names and the config's namespace order.

import type { Problem } from '../errors.ts';
import { objectNameProblem } from './names.ts';
import {
  DEFAULT_ROUTE_NAME,
  devRouteName,
  isPlaceholder,
  MANAGED_LABEL,
  MANAGED_VALUE,
  SERVICE_ANNOTATION,
  SYSTEM_SERVICES,
  templateRouteName,
} from './ownership.ts';
import { placeholder } from './placeholders.ts';
import { renderTemplate, type Template } from './template.ts';
import type { Config, DeveloperNamespace, HttpRoute, Service, VirtualService } from './types.ts';

/** How one developer namespace is served for one production Service. */
export type RouteState =
  | { state: 'route'; target: string } // its own copy
  | { state: 'fallback'; target: string } // an ancestor's copy (parent chain)
  | { state: 'missing' }; // production serves it

export interface ServiceRouting {
  service: string;
  /** Keyed by developer namespace, in config order. */
  namespaces: { namespace: string; placeholder: boolean; route: RouteState }[];
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

const MISSING: RouteState = Object.freeze({ state: 'missing' });

export function resolve(config: Config, template: Template, services: readonly Service[], opts: { routing?: boolean } = {}): Resolution {
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
  const placeholders: Service[] = [];
  for (const svc of production) {
    const name = svc.metadata.name;
    const ports = distinctPorts(svc);
    const copies = index.real.get(name)!;
    const states = chains.map((chain) => routeState(chain, copies, undefined));
    if (opts.routing) {
      routing.push({
        service: name,
        namespaces: config.developerNamespaces.map((dev, i) => ({
          namespace: dev.name,
          placeholder: index.placeholders.get(name)?.has(dev.name) ?? false,
          route: states[i]!,
        })),
      });
    }

    if (config.enablePlaceholderServices) {
      config.developerNamespaces.forEach((dev, i) => {
        const state = states[i]!;
        if (state.state === 'route' || index.real.get(name)?.has(dev.name)) return;
        placeholders.push(placeholder(svc, dev.name, state.state === 'fallback' ? state.target : config.defaultNamespace));
      });
    }

    const vs = renderTemplate(template, { serviceName: name, defaultNamespace: config.defaultNamespace });
    const problem = objectNameProblem(vs.metadata.name);
    if (problem) {
      problems.push({ source: `service ${config.defaultNamespace}/${name}`, path: 'virtualServiceTemplate: metadata.name', message: `${JSON.stringify(vs.metadata.name)} ${problem}` });
      continue;
    }
    const devRoutes: HttpRoute[] = [];
    config.developerNamespaces.forEach((dev, i) => {
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
    virtualServices.push(finish(vs, template.injectAt, devRoutes, config.defaultNamespace, name));
  }
  placeholders.sort((a, b) => compare(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`));
  return { virtualServices, services: production.map((s) => s.metadata.name), routing, placeholders, problems };
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
function routeState(chain: readonly string[], copies: ReadonlyMap<string, Service>, port: number | undefined): RouteState {
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
function finish(vs: VirtualService, injectAt: number, devRoutes: HttpRoute[], namespace: string, service: string): VirtualService {
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
      annotations: { ...annotations, [SERVICE_ANNOTATION]: service },
    },
    spec: { ...vs.spec, http: [...named.slice(0, at), ...devRoutes, ...named.slice(at)] },
  };
}

function distinctPorts(svc: Service): number[] {
  const ports = (svc.spec?.ports ?? []).map((p) => p.port).filter((p) => Number.isInteger(p));
  return [...new Set(ports)].sort((a, b) => a - b);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
