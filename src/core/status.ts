// What `vsop status` says, as data: per production Service and developer namespace, where the routing
// header leads by the routing table (routing/table.ts), held to Istio's rules by witnesses traced through
// the objects as `vsop sync` leaves them (istio/verify.ts), and which other VirtualServices Istio uses for
// the host instead (plan findings). The differential test holds this view to trace, and trace to Istio.

import { meshVirtualServices, parentsOf } from './istio/gateway.ts';
import { serviceHost } from './istio/hosts.ts';
import { takenRoutes, type Taken } from './istio/verify.ts';
import type { World } from './istio/trace.ts';
import { SERVICE_ANNOTATION } from './ownership.ts';
import type { HTTPRoute } from './render/httproute.ts';
import type { Finding } from './plan.ts';
import type { Overrides } from './overrides.ts';
import type { NamespaceRouting, RoutingTable } from './routing/table.ts';
import type { VirtualService } from './types.ts';

export interface NamespaceStatus extends NamespaceRouting {
  /** Where header requests the table routes to a copy go instead, per port (another route, another VirtualService). */
  taken?: Taken[];
}

/**
 * routeKind HTTPRoute: an HTTPRoute in another namespace than the production Service's, attached to it (a
 * GAMMA consumer route). Istio applies it, instead of the Service's own routes (vsop's), to requests from
 * callers in its namespace (istio/gateway.ts, select.ts), so it decides where they go, header or not.
 */
export interface ConsumerRoutes {
  /** The callers' namespace: the routes'. */
  namespace: string;
  /** The consumer routes there (namespace/name), merged as Istio merges them, oldest first. */
  httpRoutes: string[];
  /** Header requests vsop routes to a copy that, sent from this namespace, go elsewhere (per developer namespace and port). */
  taken: { namespace: string; port: number; by: string }[];
}

export interface ServiceStatus {
  service: string;
  /** vsop's VirtualService for it (namespace/name); routeKind HTTPRoute: its first HTTPRoute. */
  virtualService: string;
  /** routeKind HTTPRoute: vsop's HTTPRoutes for it (namespace/name), one per port of a multi-port Service. */
  httpRoutes?: string[];
  /** Other VirtualServices Istio uses for the host, instead of vsop's, for requests from the production namespace. */
  shadowedBy: string[];
  /** Others that take the host only for requests from some developer namespaces. */
  shadowedFor: { other: string; callers: string[] }[];
  /** routeKind HTTPRoute: consumer routes of the Service, per namespace; they decide their callers' requests. */
  consumerRoutes?: ConsumerRoutes[];
  overrides: Overrides | null;
  namespaces: NamespaceStatus[];
}

export interface StatusInput {
  defaultNamespace: string;
  tables: readonly RoutingTable[];
  /** vsop's desired VirtualServices, in the tables' order (routeKind VirtualService). */
  virtualServices: readonly VirtualService[];
  /** routeKind HTTPRoute: vsop's desired HTTPRoutes (each annotated with its Service); then virtualServices is empty. */
  httpRoutes?: readonly HTTPRoute[];
  findings: readonly Finding[];
  /** The objects as `vsop sync` would leave them (reconcile.ts worldAfter). */
  world: World;
  /**
   * The namespaces a `taken` warning traces requests from (as plan.ts's shadowed findings do): the
   * production namespace and every developer namespace configured, copy or not. Absent: production and
   * the developer namespaces routed to.
   */
  callers?: readonly string[];
}

export function statusView(input: StatusInput): ServiceStatus[] {
  const prod = input.defaultNamespace;
  const after = new Map(input.world.virtualServices.map((v) => [`${v.metadata.namespace}/${v.metadata.name}`, v]));
  const shadowing = new Map<string, Finding[]>();
  for (const f of input.findings) if (f.code === 'shadowed' && f.service && f.other) shadowing.set(f.service, [...(shadowing.get(f.service) ?? []), f]);
  const gateway = input.httpRoutes ? gatewayIndex(input.httpRoutes, input.world, prod) : undefined;
  return input.tables.map((table, i) => {
    const routes = gateway?.routesOf(table.service) ?? [];
    const desired = input.virtualServices[i];
    const key = gateway ? (routes[0] ?? '') : `${desired!.metadata.namespace}/${desired!.metadata.name}`;
    const live = after.get(key);
    const shadows = shadowing.get(table.service) ?? [];
    // table.namespaces: resolve with `routing` fills it in.
    const namespaces = table.namespaces.map((n): NamespaceStatus => {
      if (n.route.state !== 'route' && n.route.state !== 'fallback') return n;
      const taken = gateway ? gateway.taken(table, n.namespace) : takenFrom(input.world, live, table, n.namespace, prod);
      return taken.length ? { ...n, taken } : n;
    });
    const consumers = gateway?.consumers(table) ?? [];
    return {
      service: table.service,
      virtualService: key,
      ...(gateway ? { httpRoutes: routes } : {}),
      ...(consumers.length ? { consumerRoutes: consumers } : {}),
      shadowedBy: shadows.filter((f) => f.callers?.includes(prod)).map((f) => f.other!),
      shadowedFor: shadows.filter((f) => !f.callers?.includes(prod)).map((f) => ({ other: f.other!, callers: f.callers ?? [] })),
      overrides: table.overrides ?? null,
      namespaces,
    };
  });
}

/**
 * Routes someone else added to vsop's VirtualServices that take header requests vsop routes to a copy
 * (found as status finds them: witnesses traced through the objects as sync leaves them). vsop keeps such
 * routes where they are, so it says so: one `taken` warning per route, naming the namespaces it takes.
 * Only VirtualServices holding routes vsop did not render are looked at.
 */
export function takenFindings(input: Omit<StatusInput, 'findings'>): Finding[] {
  if (input.httpRoutes) return gatewayTakenFindings(input, input.httpRoutes);
  const prod = input.defaultNamespace;
  const after = new Map(input.world.virtualServices.map((v) => [`${v.metadata.namespace}/${v.metadata.name}`, v]));
  const out: Finding[] = [];
  // HTTPRoutes attached to a production Service take part in its routing in this mode too (foreign ones,
  // or vsop's own before a switch back has deleted them): Istio's generated VirtualServices.
  const generated = input.world.httpRoutes?.length ? meshVirtualServices(input.world.httpRoutes, input.world.services) : [];
  input.tables.forEach((table, i) => {
    const desired = input.virtualServices[i]!;
    const key = `${desired.metadata.namespace}/${desired.metadata.name}`;
    const live = after.get(key);
    if (generated.length > 0) out.push(...httpRouteTakers(input.world, generated, desired, live, table, prod, input.callers));
    const ours = new Set((desired.spec.http ?? []).map((r) => r.name));
    const foreign = new Set((Array.isArray(live?.spec.http) ? live.spec.http : []).map((r) => r.name).filter((n) => !ours.has(n)));
    // A route added by hand for one namespace can come to take another's automatic route after the fact
    // (that namespace's route reset, or the namespace newly configured): route add alone cannot prevent it.
    const hand = new Map(table.rules.filter((r) => r.origin === 'hand').map((r) => [r.name, r.namespace]));
    if (!live || (foreign.size === 0 && hand.size === 0)) return;
    const byRoute = new Map<string, string[]>();
    const devs = new Set(table.rules.filter((r) => r.origin === 'automatic').map((r) => r.namespace));
    for (const ns of devs) {
      for (const t of takenFrom(input.world, live, table, ns, prod)) {
        const name = t.by.startsWith('route ') ? t.by.slice('route '.length) : undefined;
        if (name === undefined || !(foreign.has(name) || (hand.has(name) && hand.get(name) !== ns))) continue;
        const list = byRoute.get(name) ?? [];
        if (!list.includes(ns)) byRoute.set(name, [...list, ns]);
      }
    }
    for (const [name, namespaces] of byRoute) {
      const owner = hand.get(name);
      out.push({
        code: 'taken',
        severity: 'warning',
        namespace: desired.metadata.namespace!,
        name: desired.metadata.name,
        service: table.service,
        message:
          owner === undefined
            ? `route ${name}, which vsop did not render, takes the header requests vsop routes to ${namespaces.join(', ')} before vsop's routes see them; vsop leaves routes others add where they are: move it below vsop's routes or narrow its match`
            : `route ${name}, added by hand for ${owner}, takes the header requests of ${namespaces.join(', ')}'s automatic route: take it away with vsop route reset ${table.service} -n ${owner}, or give ${namespaces.join(', ')} another header value`,
      });
    }
  });
  return out;
}

/** Where a namespace's automatic routes lose its header requests, traced from `from` (default: the production namespace). */
function takenFrom(world: World, live: VirtualService | undefined, table: RoutingTable, namespace: string, prod: string, from = prod): Taken[] {
  const rules = table.rules.filter((r) => r.origin === 'automatic' && r.namespace === namespace).map((r) => ({ name: r.name, backend: r.backend.namespace }));
  return takenRoutes(world, live, rules, table.service, prod, from, table.ports);
}

/**
 * routeKind VirtualService: a `taken` warning for each HTTPRoute attached to the Service that catches the
 * header requests vsop's VirtualService routes to a copy. Istio applies the VirtualService it generates
 * from the HTTPRoutes of one namespace before the Service's VirtualService for callers in that namespace
 * (select.ts: the caller's own Gateway API routes first), and for other callers the older of the two; so
 * a producer route (the Service's namespace) takes every request from the production namespace, a
 * consumer route its own namespace's. Witnesses are traced from the production namespace, each developer
 * namespace (`callers`: every one configured, as an older producer route takes the requests of a namespace
 * without a copy too; else those routed to), and each consumer route's namespace; the warning lists the
 * callers it holds for.
 */
function httpRouteTakers(
  world: World,
  generated: readonly VirtualService[],
  desired: VirtualService,
  live: VirtualService | undefined,
  table: RoutingTable,
  prod: string,
  configured: readonly string[] | undefined,
): Finding[] {
  const host = serviceHost(table.service, prod);
  const attached = generated.filter((vs) => (vs.spec.hosts ?? []).includes(host));
  if (attached.length === 0) return [];
  const devs = [...new Set(table.rules.filter((r) => r.origin === 'automatic').map((r) => r.namespace))];
  const callers = [...new Set([prod, ...(configured ?? devs), ...attached.map((vs) => vs.metadata.namespace ?? 'default')])];
  const byTaker = new Map<string, { namespaces: string[]; callers: string[] }>();
  for (const from of callers) {
    for (const ns of devs) {
      for (const t of takenFrom(world, live, table, ns, prod, from)) {
        if (t.kind !== 'HTTPRoute') continue;
        const entry = byTaker.get(t.by) ?? { namespaces: [], callers: [] };
        if (!entry.namespaces.includes(ns)) entry.namespaces.push(ns);
        if (!entry.callers.includes(from)) entry.callers.push(from);
        byTaker.set(t.by, entry);
      }
    }
  }
  return [...byTaker].map(([by, { namespaces, callers: from }]) => {
    const missed = by.endsWith(NO_RULE);
    const what = missed ? by.slice(0, -NO_RULE.length) : by;
    return {
      code: 'taken' as const,
      severity: 'warning' as const,
      namespace: desired.metadata.namespace!,
      name: desired.metadata.name,
      service: table.service,
      callers: from,
      message: `${what}, which vsop did not write, takes the header requests vsop routes to ${namespaces.join(', ')} when they come from namespace${from.length > 1 ? 's' : ''} ${from.join(', ')}${missed ? ' (none of its rules matches them: 404)' : ''}, before this VirtualService sees them: Istio applies the routes it generates from HTTPRoutes attached to a Service before the Service's VirtualService for callers in the route's namespace, and the older of the two for other callers; delete it (or take its parentRef off the Service), or set routeKind: HTTPRoute so that the Gateway API orders its rules with vsop's`,
    };
  });
}

/**
 * routeKind HTTPRoute: where header requests go, as Istio merges every HTTPRoute attached to the Service
 * by the Gateway API's precedence (istio/gateway.ts). For each automatic rule of the table, the rules of
 * vsop's HTTPRoutes standing in for it (its copy as backend, its headers in a match) are found in the
 * VirtualServices Istio generates, and a witness of each is traced (istio/verify.ts).
 */
function gatewayIndex(desired: readonly HTTPRoute[], world: World, prod: string) {
  const byService = new Map<string, HTTPRoute[]>();
  for (const r of desired) {
    const service = r.metadata.annotations?.[SERVICE_ANNOTATION];
    if (service !== undefined) byService.set(service, [...(byService.get(service) ?? []), r]);
  }
  const live = new Map((world.httpRoutes ?? []).map((r) => [`${r.metadata.namespace}/${r.metadata.name}`, r]));
  const generated = meshVirtualServices(world.httpRoutes ?? [], world.services);
  const taken = (table: RoutingTable, namespace: string, from = prod): Taken[] => {
    const host = serviceHost(table.service, prod);
    const out: Taken[] = [];
    for (const rule of table.rules.filter((r) => r.origin === 'automatic' && r.namespace === namespace)) {
      for (const want of byService.get(table.service) ?? []) {
        const route = live.get(`${want.metadata.namespace}/${want.metadata.name}`);
        // Istio's VirtualService for this route's key: its namespace, its parentRef's port, the host.
        const port = route?.spec.parentRefs?.[0]?.port;
        const name = `${prod}${typeof port === 'number' ? `~${port}` : ''}~${host}`;
        const vs = generated.find((v) => v.metadata.namespace === prod && v.metadata.name === name);
        if (!route || !vs) continue;
        const names = (route.spec.rules ?? []).flatMap((r, i) => (standsFor(r, rule, table.service) ? [`${prod}.${route.metadata.name}.${i}`] : []));
        out.push(
          ...takenRoutes(
            world,
            vs,
            names.map((n) => ({ name: n, backend: rule.backend.namespace })),
            table.service,
            prod,
            from,
            table.ports,
          ),
        );
      }
    }
    return out;
  };
  return {
    routesOf: (service: string) => (byService.get(service) ?? []).map((r) => `${r.metadata.namespace}/${r.metadata.name}`),
    taken,
    /**
     * The Service's consumer routes, per namespace (Istio's VirtualServices generated in another namespace
     * for its host), and for callers there, where the witnesses of vsop's automatic rules go instead.
     */
    consumers(table: RoutingTable): ConsumerRoutes[] {
      const host = serviceHost(table.service, prod);
      const byNamespace = new Map<string, Set<string>>();
      for (const vs of generated) {
        const ns = vs.metadata.namespace ?? 'default';
        if (ns === prod || !(vs.spec.hosts ?? []).includes(host)) continue;
        const set = byNamespace.get(ns) ?? new Set<string>();
        for (const p of parentsOf(vs)) set.add(p);
        byNamespace.set(ns, set);
      }
      const devs = [...new Set(table.rules.filter((r) => r.origin === 'automatic').map((r) => r.namespace))];
      return [...byNamespace]
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([namespace, routes]) => ({
          namespace,
          httpRoutes: [...routes],
          taken: devs.flatMap((ns) => taken(table, ns, namespace).map((t) => ({ namespace: ns, port: t.port, by: t.by }))),
        }));
    },
  };
}

/** Whether an HTTPRoute rule is one of vsop's variants of a routing rule: to its copy, with its headers. */
function standsFor(r: NonNullable<HTTPRoute['spec']['rules']>[number], rule: RoutingTable['rules'][number], service: string): boolean {
  const refs = r.backendRefs ?? [];
  if (refs.length !== 1 || refs[0]!.name !== service || refs[0]!.namespace !== rule.backend.namespace) return false;
  return (r.matches ?? []).some((m) => {
    const headers = (Array.isArray(m.headers) ? m.headers : []) as { name?: string; value?: string }[];
    return rule.headers.every((h) => headers.some((x) => x.name === h.name && x.value === h.value));
  });
}

const NO_RULE = ' (no rule matches)';

/** routeKind HTTPRoute: a `taken` warning for each HTTPRoute (or VirtualService) that catches vsop's header requests first. */
function gatewayTakenFindings(input: Omit<StatusInput, 'findings'>, desired: readonly HTTPRoute[]): Finding[] {
  const prod = input.defaultNamespace;
  const index = gatewayIndex(desired, input.world, prod);
  const out: Finding[] = [];
  for (const table of input.tables) {
    const own = new Set(index.routesOf(table.service));
    const takers: { by: string; namespace: string }[] = [];
    for (const ns of new Set(table.rules.filter((r) => r.origin === 'automatic').map((r) => r.namespace))) {
      for (const t of index.taken(table, ns)) {
        // vsop's own rules taking another namespace's requests are the hand routes' business (route add).
        const m = /^httproute (\S+) rule/.exec(t.by);
        if (m && own.has(m[1]!)) continue;
        // Named by the user's object and its kind, never by a VirtualService Istio generated from HTTPRoutes.
        takers.push({ by: t.kind === 'VirtualService' ? `virtualservice ${t.by}` : t.by, namespace: ns });
      }
    }
    const byTaker = namespacesByTaker(takers);
    const [first] = own;
    if (first === undefined) continue;
    const [namespace, name] = first.split('/') as [string, string];
    for (const [by, namespaces] of byTaker) {
      out.push({
        code: 'taken',
        severity: 'warning',
        namespace,
        name,
        service: table.service,
        objectKind: 'HTTPRoute',
        message: by.endsWith(NO_RULE)
          ? `${by.slice(0, -NO_RULE.length)}, which vsop did not write, takes the header requests vsop routes to ${namespaces.join(', ')} and none of its rules matches them (404): Istio keeps a route with a parentRef port apart from one without, and a sidecar uses the older of the two alone; attach it as vsop's route is attached (with or without the port), or add a rule for these requests`
          : `${by}, which vsop did not write, takes the header requests vsop routes to ${namespaces.join(', ')} before vsop's rules see them (the Gateway API orders the rules of every HTTPRoute attached to a Service by match precedence, then age, then name): narrow its match, or add the routing header to it`,
      });
    }
    // Consumer routes: for callers in their namespace they stand in for vsop's routes, header or not.
    for (const c of index.consumers(table)) {
      for (const [by, namespaces] of namespacesByTaker(c.taken)) {
        const what = by.endsWith(NO_RULE) ? by.slice(0, -NO_RULE.length) : by;
        out.push({
          code: 'taken',
          severity: 'warning',
          namespace,
          name,
          service: table.service,
          objectKind: 'HTTPRoute',
          callers: [c.namespace],
          message: `${what}, a consumer route (in namespace ${c.namespace}, attached to service ${prod}/${table.service}), takes the header requests vsop routes to ${namespaces.join(', ')} when they come from namespace ${c.namespace}${by.endsWith(NO_RULE) ? ' (none of its rules matches them: 404)' : ''}: Istio applies a Service's consumer routes instead of its own (vsop's) to callers in their namespace; add the routing header's rules to it, or delete it`,
        });
      }
    }
  }
  return out;
}

/** The namespaces each taker (`by`) takes requests of, in the order first seen, each once. */
function namespacesByTaker(taken: Iterable<{ by: string; namespace: string }>): Map<string, string[]> {
  const byTaker = new Map<string, string[]>();
  for (const t of taken) {
    const list = byTaker.get(t.by) ?? [];
    if (!list.includes(t.namespace)) byTaker.set(t.by, [...list, t.namespace]);
  }
  return byTaker;
}
