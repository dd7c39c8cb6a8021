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
  routing: ServiceRouting[];
  /** Services that could not be rendered (an invalid object name, say); they get no VirtualService. */
  problems: Problem[];
}

/** Real Services indexed by namespace then name; placeholders kept apart, as they never count. */
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
    if (ns === undefined || skip.has(ns)) continue;
    if (isPlaceholder(svc)) {
      let set = placeholders.get(ns);
      if (!set) placeholders.set(ns, (set = new Set()));
      set.add(svc.metadata.name);
      continue;
    }
    let byName = real.get(ns);
    if (!byName) real.set(ns, (byName = new Map()));
    byName.set(svc.metadata.name, svc);
  }
  return { real, placeholders };
}

export function resolve(config: Config, template: Template, services: readonly Service[]): Resolution {
  const index = indexServices(services, config.excludedNamespaces);
  const byName = new Map(config.developerNamespaces.map((d) => [d.name, d]));
  const production = [...(index.real.get(config.defaultNamespace)?.values() ?? [])]
    .filter((s) => !SYSTEM_SERVICES.includes(s.metadata.name))
    .sort((a, b) => compare(a.metadata.name, b.metadata.name));

  const virtualServices: VirtualService[] = [];
  const routing: ServiceRouting[] = [];
  const problems: Problem[] = [];
  for (const svc of production) {
    const name = svc.metadata.name;
    const ports = distinctPorts(svc);
    const namespaces = config.developerNamespaces.map((dev) => ({
      namespace: dev.name,
      placeholder: index.placeholders.get(dev.name)?.has(name) ?? false,
      route: routeState(dev, name, undefined, index, byName),
    }));
    routing.push({ service: name, namespaces });

    const vs = renderTemplate(template, { serviceName: name, defaultNamespace: config.defaultNamespace });
    const problem = objectNameProblem(vs.metadata.name);
    if (problem) {
      problems.push({ source: `service ${config.defaultNamespace}/${name}`, path: 'virtualServiceTemplate: metadata.name', message: `${JSON.stringify(vs.metadata.name)} ${problem}` });
      continue;
    }
    const devRoutes: HttpRoute[] = [];
    for (const dev of config.developerNamespaces) {
      if (ports.length <= 1) {
        const state = routeState(dev, name, undefined, index, byName);
        if (state.state !== 'missing') devRoutes.push(devRoute(config, dev, name, state.target));
        continue;
      }
      for (const port of ports) {
        const state = routeState(dev, name, port, index, byName);
        if (state.state !== 'missing') devRoutes.push(devRoute(config, dev, name, state.target, port));
      }
    }
    virtualServices.push(finish(vs, template.injectAt, devRoutes, config.defaultNamespace, name));
  }
  return { virtualServices, routing, problems };
}

/** Follows the parent chain to the nearest namespace holding a real copy of the Service (and port). */
function routeState(
  dev: DeveloperNamespace,
  service: string,
  port: number | undefined,
  index: ServiceIndex,
  byName: Map<string, DeveloperNamespace>,
): RouteState {
  const visited = new Set<string>();
  let cur: DeveloperNamespace | undefined = dev;
  while (cur && !visited.has(cur.name)) {
    visited.add(cur.name);
    const svc = index.real.get(cur.name)?.get(service);
    if (svc && (port === undefined || distinctPorts(svc).includes(port))) {
      return cur === dev ? { state: 'route', target: cur.name } : { state: 'fallback', target: cur.name };
    }
    cur = cur.parent === undefined ? undefined : byName.get(cur.parent);
  }
  return { state: 'missing' };
}

function devRoute(config: Config, dev: DeveloperNamespace, service: string, target: string, port?: number): HttpRoute {
  const headers = { [config.routingHeader]: { exact: dev.headerValue } };
  const host = `${service}.${target}.svc.cluster.local`;
  if (port === undefined) {
    return { name: devRouteName(dev.name), match: [{ headers }], route: [{ destination: { host } }] };
  }
  return {
    name: devRouteName(dev.name, port),
    match: [{ port, headers }],
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
