// The resolver: configuration plus the Services that exist, plus the overrides recorded by hand → the
// routing table of each production Service (routing/table.ts) and the VirtualService rendered from it
// (render/virtualservice.ts). Pure and deterministic: output order follows Service names and the
// config's namespace order.

import type { Problem } from '../errors.ts';
import type { OverrideContext } from './edit.ts';
import type { Overrides } from './overrides.ts';
import { isPlaceholder, SYSTEM_SERVICES } from './ownership.ts';
import { placeholder } from './placeholders.ts';
import { type HTTPRoute, httpRouteLimitProblems, httpRouteWeightProblem, type ReferenceGrant, referenceGrants, renderHTTPRoutes } from './render/httproute.ts';
import { renderVirtualService, weightProblem } from './render/virtualservice.ts';
import { qualify } from './istio/hosts.ts';
import { distinctPorts } from './routing/ports.ts';
import { decide, type RoutingTable, type ServiceIndex } from './routing/table.ts';
import { renderedProblems, renderTemplate, type Template } from './template.ts';
import type { Config, Service, VirtualService } from './types.ts';
import { objectProblems, pathText } from './schema/validate.ts';

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
  /**
   * Services that could not be rendered (an invalid object name, say; an HTTPRoute over the CRD's size
   * limits); they get no VirtualService or HTTPRoute, no table and no placeholders. Each names its
   * Service in `service`.
   */
  problems: Problem[];
  /** The Services `problems` are about, sorted: they have no objects, table or placeholders here. */
  refused: string[];
  /**
   * The tables of refused Services whose every problem is with the rendered object alone, not its routes:
   * its metadata (a name the template renders too long for this Service's name), or a name another
   * Service's object takes. The routing decision stands (routing/table.ts never reads the template);
   * `vsop xds`, which serves the decision and never the object, serves them. Sorted by Service.
   */
  objectRefused: RoutingTable[];
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
    refused: [],
    objectRefused: [],
    warnings: [],
  };
  const routeKind = template.kind;
  const validLengths = new Set<number>();
  const validShapes = new Set<string>();
  const claim = nameOwners(routeKind, config.defaultNamespace);
  for (const svc of production) {
    const name = svc.metadata.name;
    const copies = index.real.get(name)!;
    const base = renderTemplate(template, { serviceName: name, defaultNamespace: config.defaultNamespace });
    // The template was checked rendered once (template.ts); what depends on the name is checked here, in
    // full, once per name length (Service names are DNS labels: their letters change nothing else,
    // unless the name stands in a regex). A rendering with problems is checked for every such Service.
    const problems = template.nameInRegex || !validLengths.has(name.length) ? renderedProblems(base, routeKind, name, config.defaultNamespace) : [];
    if (problems.length === 0) validLengths.add(name.length);
    // The Service renders nothing: its problems are said, and, when they concern only the rendered object
    // (its metadata, its name taken), its routing table is kept for outputs that need no object (xds).
    const refuse = (found: readonly Problem[], table?: RoutingTable) => {
      out.problems.push(...found);
      out.refused.push(name);
      if (table) out.objectRefused.push(table);
    };
    const templateKey = routeKind === 'HTTPRoute' ? 'httpRouteTemplate' : 'virtualServiceTemplate';
    const templateProblems = problems.map((p) => ({ source: `service ${config.defaultNamespace}/${name}`, path: `${templateKey}: ${p.path}`, message: p.message, service: name }));
    // A problem in the rendered spec may be one with its routes (the name in a regex, say): no table.
    if (problems.length > 0 && !problems.every((p) => p.path === 'metadata' || p.path.startsWith('metadata.'))) {
      refuse(templateProblems);
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
    const ports = distinctPorts(svc);
    const table = decide({
      config,
      production: svc,
      copies,
      placeholders,
      overrides,
      // The object the overrides are read from: routeKind HTTPRoute, a multi-port Service's first route (<name>-<port>).
      source: `${routeKind.toLowerCase()} ${config.defaultNamespace}/${routeKind === 'HTTPRoute' && ports.length > 1 ? `${base.metadata.name}-${ports[0]}` : base.metadata.name}`,
      view: opts.routing ?? false,
    });
    if (problems.length > 0) {
      refuse(templateProblems, table);
      continue;
    }
    let objects: (VirtualService | HTTPRoute)[];
    let warnings: Problem[];
    if (routeKind === 'HTTPRoute') {
      const rendered = renderHTTPRoutes(base as unknown as HTTPRoute, table, config.defaultNamespace);
      // A route over the CRD's size limits is refused whole, as the apiserver would refuse its write: no
      // route of the Service is rendered. Splitting its rules over more routes is not done: across routes
      // the Gateway API breaks precedence ties by age and name instead of rule order (see the README).
      const limits = rendered.httpRoutes.flatMap((r) => httpRouteLimitProblems(r).map((p) => ({ ...p, hint: limitHint(r, p.path, config) })));
      if (limits.length > 0) {
        refuse(limits.map((p) => ({ source: `service ${config.defaultNamespace}/${name}`, path: `${p.source}: ${p.path}`, message: `${p.message}; ${p.hint}`, service: name })));
        continue;
      }
      // Each route as rendered, against the CRD's schema and CEL rules as the apiserver would check its
      // write: the template was checked without vsop's rules (template.ts), and what vsop adds (a variant
      // per routing rule, with its header matches and the copy's backendRef) must be storable too. Checked
      // once per shape: what can change the verdict besides the template is the name's length, the ports,
      // the rules' header conditions and ports, the weights and the overrides recorded (namespaces are
      // valid names, and a Service name's letters change nothing else). Checking every route costs 1.1 s
      // per 10,000 Services (the CEL rules), four times the rest of resolve.
      const shape = JSON.stringify([
        name.length,
        table.ports,
        table.rules.map((r) => [r.headers, r.port ?? null, r.backend.port ?? null]),
        table.weights.length,
        table.overrides ?? null,
      ]);
      const invalid = validShapes.has(shape)
        ? []
        : rendered.httpRoutes.flatMap((r) =>
            objectProblems(structuredClone(r) as unknown as Record<string, unknown>).map((p) => ({
              source: `service ${config.defaultNamespace}/${name}`,
              path: `httproute ${r.metadata.namespace}/${r.metadata.name}: ${pathText(p.path)}`,
              message: `${p.message} (the route as vsop renders it, the template's rules with vsop's)`,
              service: name,
            })),
          );
      if (invalid.length > 0) {
        refuse(invalid);
        continue;
      }
      validShapes.add(shape);
      objects = rendered.httpRoutes;
      warnings = rendered.warnings;
    } else {
      const rendered = renderVirtualService(base, table, config.defaultNamespace);
      objects = [rendered.virtualService];
      warnings = rendered.warnings;
    }
    const taken = claim(name, objects);
    if (taken.length > 0) {
      refuse(taken, table);
      continue;
    }
    out.warnings.push(...[...table.warnings, ...warnings].map((w) => ({ ...w, service: name })));
    if (routeKind === 'HTTPRoute') out.httpRoutes.push(...(objects as HTTPRoute[]));
    else out.virtualServices.push(...(objects as VirtualService[]));
    for (const p of table.placeholderTargets) out.placeholders.push(placeholder(svc, p.namespace, p.target));
    out.tables.push(table);
  }
  out.warnings.push(...sharedHostWarnings(out.virtualServices));
  if (routeKind === 'HTTPRoute') out.referenceGrants = referenceGrants(out.httpRoutes, config.defaultNamespace);
  out.placeholders.sort((a, b) => compare(`${a.metadata.namespace}/${a.metadata.name}`, `${b.metadata.namespace}/${b.metadata.name}`));
  return out;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The Service each rendered VirtualService or HTTPRoute name belongs to. Two objects of one kind, namespace
 * and name are one object to the apiserver: each write would overwrite the other's routes, so sync would
 * never converge and one Service would lose its routing unsaid. A template name with ${serviceName}
 * still collides in HTTPRoute mode, where a multi-port Service's routes take the port as a suffix:
 * with metadata.name "${serviceName}", Service a with ports 80 and 90 renders a-80 and a-90, and Service
 * a-80 renders a-80. The first Service (by name) keeps the name; a later one that renders it is refused.
 * Returns claim(service, objects): records the objects as the Service's and returns one problem per
 * object whose name is taken (then nothing is recorded).
 */
function nameOwners(
  kind: 'VirtualService' | 'HTTPRoute',
  namespace: string,
): (service: string, objects: readonly { metadata: { name: string; namespace?: string } }[]) => Problem[] {
  const owners = new Map<string, string>();
  const field = kind === 'HTTPRoute' ? 'httpRouteTemplate' : 'virtualServiceTemplate';
  const hint = kind === 'HTTPRoute' ? ' (a multi-port Service\'s routes end with -<port>: end the name with text after ${serviceName}, e.g. "${serviceName}-routes")' : '';
  return (service, objects) => {
    const problems: Problem[] = [];
    const mine = new Set<string>();
    for (const o of objects) {
      const key = `${o.metadata.namespace ?? namespace}/${o.metadata.name}`;
      const owner = owners.get(key) ?? (mine.has(key) ? service : undefined);
      mine.add(key);
      if (owner === undefined) continue;
      problems.push({
        source: `service ${namespace}/${service}`,
        path: `${kind.toLowerCase()} ${key}`,
        message: `Service ${namespace}/${owner} renders this ${kind} too${owner === service ? ' (twice)' : ''}: one would overwrite the other; ${field}'s metadata.name must give each Service's objects their own names${hint}`,
        service,
      });
    }
    if (problems.length === 0) for (const key of mine) owners.set(key, service);
    return problems;
  };
}

/**
 * What the user can change where a rendered route breaks a limit at `path` (httpRouteLimitProblems). A
 * match over the headers limit is a template match copied either for a developer namespace (it holds the
 * routing header with a namespace's value: routing/table.ts routingCondition, the one condition an
 * automatic rule adds) or for a route added by hand (its --header conditions added to the match).
 */
function limitHint(route: HTTPRoute, path: string, config: Config): string {
  const at = /^spec\.rules\[(\d+)\]\.matches\[(\d+)\]\.headers$/.exec(path);
  if (!at) return LIMIT_HINT;
  const headers = route.spec.rules?.[Number(at[1])]?.matches?.[Number(at[2])]?.headers;
  const values = new Set(config.developerNamespaces.map((d) => d.headerValue));
  const header = config.routingHeader.toLowerCase();
  const automatic = (Array.isArray(headers) ? headers : []).some(
    (h) => (h.type ?? 'Exact') === 'Exact' && typeof h.name === 'string' && h.name.toLowerCase() === header && values.has(h.value as string),
  );
  return automatic ? HEADERS_HINT : HAND_HEADERS_HINT;
}

/** A match over the headers limit: vsop adds the routing header to each template match a developer rule copies. */
const HEADERS_HINT =
  "vsop adds the routing header to each of the template's matches that it copies for a developer namespace, so a template match may hold one header match fewer than the limit: remove one from the template's match";

/** A match over the headers limit made by a route added by hand: its --header conditions join the template match's. */
const HAND_HEADERS_HINT =
  "a route added by hand (route add --header) renders as each of the template's matches with its header matches added: drop it (vsop route rm or reset SERVICE -n NAMESPACE) and add it with fewer --header flags, or remove headers from the template's match";

/** What a Service whose HTTPRoute is over the CRD's limits can change (its variants: template rules to production x namespaces routed to and hand routes). */
const LIMIT_HINT =
  'vsop renders one rule per developer namespace routed to and per hand route for each template rule that sends to production: use fewer template rules that send to production, fewer developer namespaces or hand routes, or routeKind VirtualService';

/**
 * Istio's analyzer IST0109 (ConflictingMeshGatewayVirtualServiceHosts, pkg/config/analysis/analyzers/
 * virtualservice/conflictingmeshgatewayhosts.go): VirtualServices bound to the mesh that name the same
 * host (as Istio qualifies it) leave undefined which applies, so a template host without ${serviceName}
 * gives every Service's routes but one's to nobody. vsop's VirtualServices share the template's
 * gateways and exportTo, so the analyzer's scopes are one here.
 */
function sharedHostWarnings(virtualServices: readonly VirtualService[]): Problem[] {
  const byHost = new Map<string, string[]>();
  for (const vs of virtualServices) {
    const gateways = Array.isArray(vs.spec.gateways) ? (vs.spec.gateways as string[]) : [];
    if (gateways.length > 0 && !gateways.includes('mesh')) continue;
    const namespace = vs.metadata.namespace ?? 'default';
    for (const h of new Set((vs.spec.hosts ?? []).map((h) => qualify(h, namespace)))) {
      let names = byHost.get(h);
      if (!names) byHost.set(h, (names = []));
      names.push(`${namespace}/${vs.metadata.name}`);
    }
  }
  const out: Problem[] = [];
  for (const [host, names] of byHost) {
    if (names.length < 2) continue;
    out.push({
      source: `virtualservice ${names[0]}`,
      path: 'spec.hosts',
      message: `IST0109: the VirtualServices ${[...names].sort().join(',')} associated with mesh gateway define the same host ${host}, which can lead to undefined behavior (Istio applies one of them; the template's hosts need \${serviceName})`,
    });
  }
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
