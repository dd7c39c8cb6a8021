// The resolver: configuration plus the Services that exist, plus the overrides recorded by hand → the
// routing table of each production Service (routing/table.ts) and the VirtualService rendered from it
// (render/virtualservice.ts). Pure and deterministic: output order follows Service names and the
// config's namespace order.

import type { Problem } from '../errors.ts';
import type { OverrideContext } from './edit.ts';
import { objectNameProblem } from './names.ts';
import type { Overrides } from './overrides.ts';
import { isPlaceholder, SYSTEM_SERVICES } from './ownership.ts';
import { placeholder } from './placeholders.ts';
import { type HTTPRoute, httpRouteWeightProblem, type ReferenceGrant, referenceGrants, renderHTTPRoutes } from './render/httproute.ts';
import { renderVirtualService, weightProblem } from './render/virtualservice.ts';
import { decide, type RoutingTable, type ServiceIndex } from './routing/table.ts';
import { renderTemplate, type Template } from './template.ts';
import type { Config, Service, VirtualService } from './types.ts';

export interface ResolveOptions {
  /** Also work out, per Service and namespace, how requests are routed (status's view: each table's `namespaces`). */
  routing?: boolean;
  /** The overrides of one production Service (from its live VirtualService, changed by a route command). */
  overrides?: (service: string, ctx: OverrideContext) => Overrides | undefined;
}

export interface Resolution {
  /** One per production Service, sorted by name (routeKind VirtualService; none otherwise). */
  virtualServices: VirtualService[];
  /** routeKind HTTPRoute: one per production Service (one per port of a multi-port one), sorted by Service. */
  httpRoutes: HTTPRoute[];
  /** routeKind HTTPRoute: the grants the routes' backendRefs into developer namespaces need, by namespace. */
  referenceGrants: ReferenceGrant[];
  /** The routing table of each production Service, in the same order. */
  tables: RoutingTable[];
  /** The production Services, sorted. */
  services: string[];
  /** Placeholder Services that should exist (enablePlaceholderServices), sorted by namespace/name. */
  placeholders: Service[];
  /** Services that could not be rendered (an invalid object name, say); they get no VirtualService. */
  problems: Problem[];
  /** Overrides that are recorded but cannot be rendered now (a namespace left the config, a copy is missing). */
  warnings: Problem[];
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

export function resolve(config: Config, template: Template, services: readonly Service[], opts: ResolveOptions = {}): Resolution {
  const index = indexServices(services, config.excludedNamespaces);
  const production: Service[] = [];
  for (const [name, byNamespace] of index.real) {
    const svc = byNamespace.get(config.defaultNamespace);
    if (svc && !SYSTEM_SERVICES.includes(name)) production.push(svc);
  }
  production.sort((a, b) => compare(a.metadata.name, b.metadata.name));

  const out: Resolution = {
    virtualServices: [],
    httpRoutes: [],
    referenceGrants: [],
    tables: [],
    services: production.map((s) => s.metadata.name),
    placeholders: [],
    problems: [],
    warnings: [],
  };
  const routeKind = template.kind;
  for (const svc of production) {
    const name = svc.metadata.name;
    const copies = index.real.get(name)!;
    const base = renderTemplate(template, { serviceName: name, defaultNamespace: config.defaultNamespace });
    const problem = objectNameProblem(base.metadata.name);
    if (problem) {
      out.problems.push({
        source: `service ${config.defaultNamespace}/${name}`,
        path: 'virtualServiceTemplate: metadata.name',
        message: `${JSON.stringify(base.metadata.name)} ${problem}`,
      });
      continue;
    }
    const placeholders = index.placeholders.get(name) ?? NONE;
    const overrides = opts.overrides?.(name, {
      config,
      service: name,
      production: svc,
      copies,
      placeholders,
      weightProblem: () =>
        routeKind === 'HTTPRoute' ? httpRouteWeightProblem(base as unknown as HTTPRoute, name, config.defaultNamespace) : weightProblem(base, name, config.defaultNamespace),
    });
    const table = decide({
      config,
      production: svc,
      copies,
      placeholders,
      overrides,
      source: `virtualservice ${config.defaultNamespace}/${base.metadata.name}`,
      view: opts.routing ?? false,
    });
    out.warnings.push(...table.warnings);
    for (const p of table.placeholderTargets) out.placeholders.push(placeholder(svc, p.namespace, p.target));
    if (routeKind === 'HTTPRoute') {
      const rendered = renderHTTPRoutes(base as unknown as HTTPRoute, table, config.defaultNamespace);
      out.warnings.push(...rendered.warnings);
      out.httpRoutes.push(...rendered.httpRoutes);
    } else {
      const rendered = renderVirtualService(base, table, config.defaultNamespace);
      out.warnings.push(...rendered.warnings);
      out.virtualServices.push(rendered.virtualService);
    }
    out.tables.push(table);
  }
  if (routeKind === 'HTTPRoute') out.referenceGrants = referenceGrants(out.httpRoutes, config.defaultNamespace);
  out.placeholders.sort((a, b) => compare(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`));
  return out;
}

const NONE: ReadonlySet<string> = new Set();

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
