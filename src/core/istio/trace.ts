// Where one request goes, by Istio's rules: the Service its host names, the VirtualService that applies
// (select.ts), the route it meets (match.ts) and the Envoy cluster(s) of that route's destinations.
// `vsop trace` prints it; plan findings and status use the same functions.

import type { HTTPRoute } from '../render/httproute.ts';
import type { HttpRoute, Service, VirtualService } from '../types.ts';
import { meshVirtualServices, parentsOf, ruleOrigin, type RuleOrigin, usesGatewaySemantics } from './gateway.ts';
import { CLUSTER_DOMAIN, clusterName, parseServiceHost, qualify } from './hosts.ts';
import type { NotRendered, RoutingTable } from '../routing/table.ts';
import { firstMatch, matches, type Request } from './match.ts';
import { hostIndex, selectVirtualService } from './select.ts';

export type TraceRequest = Request;

export interface TraceDestination {
  host: string;
  port: number;
  weight: number;
  cluster: string;
  /** The Service exists but lacks the port: Istio generates no such cluster, and Envoy answers 503. */
  noSuchPort?: true;
  /** A cluster-local host with no Service at all (a route forced before the copy exists): Envoy answers 503. */
  noSuchService?: true;
}

export interface TraceAnswer {
  /** The Envoy cluster of a single-destination route; "" when weighted, or when no route is met. */
  cluster: string;
  weights?: { cluster: string; weight: number }[];
  /** Why the request reaches no cluster, e.g. "no route matched". */
  error?: string;
  /** The Service the host names (after following a placeholder or other ExternalName alias). */
  service?: { namespace: string; name: string };
  virtualService?: { namespace: string; name: string };
  /**
   * When the VirtualService is one Istio generated from Gateway API HTTPRoutes (gateway.ts): those
   * HTTPRoutes ("namespace/name", oldest first), and the rule the request met.
   */
  httpRoutes?: string[];
  httpRoute?: RuleOrigin;
  /**
   * VirtualServices that name the host but are ignored for this caller (Istio uses one per host); one Istio
   * generated from HTTPRoutes also lists them ("namespace/name"), the objects the user wrote.
   */
  ignored?: { namespace: string; name: string; httpRoutes?: string[] }[];
  /** The route met, by name (or index) and the match entry that held. */
  route?: { name?: string; index: number; match?: Record<string, unknown> };
  action?: 'route' | 'redirect' | 'directResponse' | 'delegate';
  destinations?: TraceDestination[];
}

export interface World {
  services: readonly Service[];
  virtualServices: readonly VirtualService[];
  /** Gateway API HTTPRoutes of any namespace; those attached to a Service (GAMMA) route it as Istio translates them. */
  httpRoutes?: readonly HTTPRoute[];
}

/** Traces one request. Never throws for what the world holds; answers with `error` instead. */
export function traceRequest(world: World, req: TraceRequest): TraceAnswer {
  const { lookup, candidates } = indexOf(world);
  const fqdn = hostFqdn(req.host, req.from);
  let svc = lookup(fqdn);
  if (!svc) return { cluster: '', error: `no Service for host ${JSON.stringify(req.host)} (${fqdn})` };
  const alias = aliasTarget(svc);
  const concrete = alias ? lookup(alias) : undefined;
  if (concrete) svc = concrete;
  const host = `${svc.metadata.name}.${svc.metadata.namespace}.${CLUSTER_DOMAIN}`;
  const service = { namespace: svc.metadata.namespace!, name: svc.metadata.name };
  const selection = selectVirtualService(candidates(host), host, req.port, req.from);
  const ignored = selection.ignored.map((vs) => (usesGatewaySemantics(vs) ? { ...ref(vs), httpRoutes: parentsOf(vs) } : ref(vs)));
  if (!selection.winner) {
    const cluster = clusterName(host, req.port);
    return { cluster, service, ...(ignored.length ? { ignored } : {}), action: 'route', destinations: [{ host, port: req.port, weight: 100, cluster }] };
  }
  const vs = selection.winner.virtualService;
  const parents = usesGatewaySemantics(vs) ? { httpRoutes: parentsOf(vs) } : {};
  const base: TraceAnswer = { cluster: '', service, virtualService: ref(vs), ...parents, ...(ignored.length ? { ignored } : {}) };
  const hit = firstMatch(selection.winner.routes, req);
  if (!hit) return { ...base, error: 'no route matched' };
  const route = { ...(hit.route.name !== undefined ? { name: hit.route.name } : {}), index: hit.index, ...(hit.match ? { match: hit.match } : {}) };
  const origin = ruleOrigin(hit.route);
  if (origin) base.httpRoute = origin;
  if (hit.route.redirect !== undefined) return { ...base, route, action: 'redirect' };
  if (hit.route.directResponse !== undefined) return { ...base, route, action: 'directResponse' };
  if (hit.route.delegate !== undefined) return { ...base, route, action: 'delegate', error: 'delegated routes are not traced' };
  const destinations = routeDestinations(hit.route, vs.metadata.namespace ?? 'default', req.port, lookup);
  if (destinations.length === 0) return { ...base, route, action: 'route', error: 'the route names no destination host' };
  if (destinations.length === 1) return { ...base, route, action: 'route', destinations, cluster: destinations[0]!.cluster };
  return { ...base, route, action: 'route', destinations, weights: destinations.map((d) => ({ cluster: d.cluster, weight: d.weight })) };
}

/**
 * The Envoy clusters of a route's destinations for a request on `listenerPort`: the destination's port,
 * else the listener's; an ExternalName Service's cluster is its target's.
 * Source: istio pilot/pkg/networking/core/route/route.go GetDestinationCluster.
 */
function routeDestinations(route: HttpRoute, namespace: string, listenerPort: number, lookup: (fqdn: string) => Service | undefined): TraceDestination[] {
  const list = (Array.isArray(route.route) ? route.route : []).filter((d) => typeof d?.destination?.host === 'string');
  return list
    .filter((d) => list.length === 1 || (d.weight ?? 0) > 0)
    .map((d) => {
      const host = qualify(d.destination.host, namespace);
      // Sidecar routes see only the Services that have the listener's port (httproute.go servicesByName),
      // so a port-less destination always takes the listener's port.
      const svc = lookup(host);
      const seen = svc && (svc.spec?.ports ?? []).some((p) => p.port === listenerPort) ? svc : undefined;
      const port = d.destination.port?.number ?? listenerPort;
      const target = (seen && seen.spec?.type === 'ExternalName' ? seen.spec.externalName : undefined) ?? host;
      const noSuchPort = svc && svc.spec?.type !== 'ExternalName' && !(svc.spec?.ports ?? []).some((p) => p.port === port);
      const noSuchService = !svc && parseServiceHost(host) !== undefined;
      return {
        host,
        port,
        weight: list.length === 1 ? 100 : (d.weight ?? 0),
        cluster: clusterName(target, port),
        ...(noSuchPort ? { noSuchPort: true as const } : {}),
        ...(noSuchService ? { noSuchService: true as const } : {}),
      };
    });
}

/**
 * The header routes recorded by hand for the table's Service that the request would meet were they in
 * force, but which the route kind cannot express (routing/table.ts NotRendered: routeKind HTTPRoute, a
 * prefix header): trace says so beside where the request does go. Conditions are read as the
 * VirtualService renderer writes them (exact, prefix, regex), on the route's port if it names one.
 */
export function notInForce(table: RoutingTable, req: Request): NotRendered[] {
  return table.notRendered.filter((r) => {
    if (r.port !== undefined && r.port !== req.port) return false;
    const headers = Object.fromEntries(r.headers.map((h) => [h.name.toLowerCase(), { [h.match]: h.value }]));
    return matches({ headers }, req);
  });
}

/** The FQDN a Host header names for a caller in `from`, as the cluster's DNS search path resolves it. */
export function hostFqdn(host: string, from: string): string {
  const h = host.replace(/:\d+$/, '').toLowerCase();
  const parts = h.split('.');
  if (parts.length === 1) return `${h}.${from}.${CLUSTER_DOMAIN}`;
  if (parts.length === 2) return `${h}.${CLUSTER_DOMAIN}`;
  if (parts.length === 3 && parts[2] === 'svc') return `${h}.cluster.local`;
  return h;
}

function aliasTarget(svc: Service): string | undefined {
  if (svc.spec?.type !== 'ExternalName' || typeof svc.spec.externalName !== 'string') return undefined;
  return parseServiceHost(svc.spec.externalName) ? hostFqdn(svc.spec.externalName, svc.metadata.namespace ?? 'default') : undefined;
}

interface WorldIndex {
  lookup: (fqdn: string) => Service | undefined;
  /** The VirtualServices that may name a host: those naming it exactly, and every wildcard one, in input order. */
  candidates: (fqdn: string) => readonly VirtualService[];
}

const indexes = new WeakMap<World, WorldIndex>();

/**
 * Services by host and VirtualServices by the hosts they name, built once per world object: status traces
 * a request per Service and namespace through one world, so no trace scans every object.
 */
function indexOf(world: World): WorldIndex {
  let index = indexes.get(world);
  if (index) return index;
  const byHost = new Map<string, Service>();
  for (const s of world.services) byHost.set(`${s.metadata.name}.${s.metadata.namespace}.${CLUSTER_DOMAIN}`, s);
  const generated = world.httpRoutes?.length ? meshVirtualServices(world.httpRoutes, world.services) : [];
  index = { lookup: (fqdn) => byHost.get(fqdn), candidates: hostIndex(generated.length ? [...world.virtualServices, ...generated] : world.virtualServices) };
  indexes.set(world, index);
  return index;
}

function ref(vs: VirtualService): { namespace: string; name: string } {
  return { namespace: vs.metadata.namespace ?? 'default', name: vs.metadata.name };
}
