// Istio's translation of Gateway API HTTPRoutes for sidecars (GAMMA: a route whose parentRef is a Service
// routes that Service's mesh traffic), so that trace and status follow HTTPRoutes by the same rules as
// VirtualServices. Istio turns the routes into VirtualServices of its own and then treats them as
// VirtualServices (select.ts, match.ts), with a few "gateway semantics" differences, marked here by an
// annotation on the generated object.
//
// The Gateway API's precedence (sigs.k8s.io/gateway-api v1.3.0 apis/v1/httproute_types.go, HTTPRouteRule
// Matches): "Across all rules specified on applicable Routes, precedence must be given to the match
// having: an Exact path match; a Prefix path match with the largest number of characters; a method match;
// the largest number of header matches; the largest number of query param matches. If ties still exist
// across multiple Routes: the oldest Route based on creation timestamp; the Route appearing first in
// alphabetical order by {namespace}/{name}. If ties still exist within an HTTPRoute, the FIRST matching
// rule (in list order)." (The precedence of RegularExpression paths is implementation-specific: Istio puts
// them after every Prefix path.)
//
// How Istio applies it (istio pilot/pkg/config/kube/gateway, route_collections.go HTTPRouteCollection and
// mergeHTTPRoutes, conversion.go convertHTTPRoute, sortHTTPRoutes, createURIMatch): each rule becomes one
// route per match, named <namespace>.<name>.<rule index>; a parentRef with a port adds that port to every
// match. Routes are merged by key <route namespace>[/<parentRef port>]/<Service host>: the HTTPRoutes of
// one key are ordered by creation time, then namespace, then name, their routes concatenated and
// stable-sorted by the precedence above. Different keys stay different VirtualServices for the host, of
// which a sidecar uses one (select.ts): the route namespace's own first for callers in that namespace
// (a consumer route), and one from another namespace than the Service's applies only to callers in its
// own namespace (pilot/pkg/networking/core/route/route.go, BuildSidecarVirtualHostWrapper). A parentRef to
// a Service that does not exist attaches nothing (NoMatchingParent). A PathPrefix other than "/" matches
// whole path segments (Envoy's path_separated_prefix). A rule whose backendRefs weigh nothing answers 500.

import { httpRouteSpecWithDefaults } from '../gateway/defaults.ts';
import type { HTTPRoute, HTTPRouteRule } from '../render/httproute.ts';
import type { HttpRoute, Service, VirtualService } from '../types.ts';
import { CLUSTER_DOMAIN, serviceHost } from './hosts.ts';

/** The annotation Istio puts on the VirtualServices it generates from Gateway API routes, and its value. */
export const ROUTE_SEMANTICS = 'internal.istio.io/route-semantics';
const GATEWAY = 'gateway';

/** Whether a VirtualService is one Istio generated from Gateway API routes (gateway semantics). */
export function usesGatewaySemantics(vs: VirtualService): boolean {
  return vs.metadata.annotations?.[ROUTE_SEMANTICS] === GATEWAY;
}

/** The HTTPRoute rule (and which of its matches) a generated route came from. */
export interface RuleOrigin {
  namespace: string;
  name: string;
  /** Index in spec.rules. */
  rule: number;
  /** Index in the rule's matches. */
  match: number;
}

const origins = new WeakMap<HttpRoute, RuleOrigin>();

/** Where a route of a generated VirtualService came from; undefined for a route of a real VirtualService. */
export function ruleOrigin(route: HttpRoute): RuleOrigin | undefined {
  return origins.get(route);
}

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * The VirtualServices Istio generates for sidecars from `httpRoutes` (any namespace), given the Services
 * that exist: one per key (see above), named as Istio names them (`<ns>~<host>`, `<ns>~<port>~<host>`),
 * in the routes' namespace, created when the oldest of its HTTPRoutes was (none: about to be created),
 * with the merged routes in the Gateway API's precedence. Routes are read with the CRD's defaults filled
 * in, as the apiserver stores them. Never throws for malformed input: what cannot be read is left out.
 */
export function meshVirtualServices(httpRoutes: readonly HTTPRoute[], services: readonly Service[]): VirtualService[] {
  const known = new Map(services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  const groups = new Map<string, { namespace: string; host: string; port?: number; members: HTTPRoute[] }>();
  for (const route of httpRoutes) {
    const ns = route.metadata.namespace ?? 'default';
    const parents = Array.isArray(route.spec?.parentRefs) ? route.spec.parentRefs : [];
    for (const p of parents) {
      if (!isMap(p) || (p.group ?? 'gateway.networking.k8s.io') !== '' || (p.kind ?? 'Gateway') !== 'Service' || typeof p.name !== 'string') continue;
      const pns = typeof p.namespace === 'string' ? p.namespace : ns;
      const svc = known.get(`${pns}/${p.name}`);
      if (!svc) continue; // NoMatchingParent
      const port = typeof p.port === 'number' ? p.port : undefined;
      if (port !== undefined && !(svc.spec?.ports ?? []).some((sp) => sp.port === port)) continue;
      const host = serviceHost(p.name, pns);
      const key = `${ns}${port === undefined ? '' : `/${port}`}/${host}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { namespace: ns, host, ...(port !== undefined ? { port } : {}), members: [] }));
      if (!g.members.includes(route)) g.members.push(route);
    }
  }
  const out: VirtualService[] = [];
  for (const [key, g] of groups) {
    const members = [...g.members].sort(routeOrder);
    const http = members.flatMap((r) => translate(r, g.port));
    sortByPrecedence(http);
    const created = members[0]!.metadata.creationTimestamp;
    out.push({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: {
        name: key.replaceAll('/', '~'),
        namespace: g.namespace,
        ...(typeof created === 'string' ? { creationTimestamp: created } : {}),
        annotations: { [ROUTE_SEMANTICS]: GATEWAY, 'internal.istio.io/parents': members.map((m) => `${m.metadata.namespace ?? 'default'}/${m.metadata.name}`).join(',') },
      },
      spec: { hosts: [g.host], gateways: ['mesh'], http },
    });
  }
  return out;
}

/** The HTTPRoutes a generated VirtualService merges, "namespace/name", oldest first. */
export function parentsOf(vs: VirtualService): string[] {
  const list = vs.metadata.annotations?.['internal.istio.io/parents'];
  return list ? list.split(',') : [];
}

/** The oldest first (no creationTimestamp: not created yet, last), then namespace, then name. */
function routeOrder(a: HTTPRoute, b: HTTPRoute): number {
  const ta = createdAt(a);
  const tb = createdAt(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = `${a.metadata.namespace ?? 'default'}/${a.metadata.name}`;
  const nb = `${b.metadata.namespace ?? 'default'}/${b.metadata.name}`;
  return na < nb ? -1 : na > nb ? 1 : 0;
}

function createdAt(r: HTTPRoute): number {
  const t = r.metadata.creationTimestamp;
  return typeof t === 'string' ? Math.floor(Date.parse(t) / 1000) : Number.POSITIVE_INFINITY;
}

/** One route per rule and match, as convertHTTPRoute makes them; `port`: the parentRef's. */
function translate(route: HTTPRoute, port: number | undefined): HttpRoute[] {
  const ns = route.metadata.namespace ?? 'default';
  const spec = isMap(route.spec) ? (httpRouteSpecWithDefaults(route.spec) as HTTPRoute['spec']) : { rules: [] };
  const out: HttpRoute[] = [];
  (Array.isArray(spec.rules) ? spec.rules : []).forEach((rule, n) => {
    if (!isMap(rule)) return;
    const matches = Array.isArray(rule.matches) && rule.matches.length > 0 ? rule.matches : [undefined];
    matches.forEach((m, j) => {
      const match = m === undefined ? undefined : isMap(m) ? translateMatch(m) : undefined;
      if (m !== undefined && match === undefined) return;
      if (match && port !== undefined) match.port = port;
      const r: HttpRoute = {
        name: `${ns}.${route.metadata.name}.${n}`,
        ...(match ? { match: [match] } : port !== undefined ? { match: [{ port }] } : {}),
        ...action(rule, ns),
      };
      origins.set(r, { namespace: ns, name: route.metadata.name, rule: n, match: j });
      out.push(r);
    });
  });
  return out;
}

/** A Gateway API match as Istio's HTTPMatchRequest (createURIMatch, createHeadersMatch, ...); undefined if unreadable. */
function translateMatch(m: Json): Json | undefined {
  const out: Json = {};
  const path = isMap(m.path) ? m.path : {};
  const type = path.type ?? 'PathPrefix';
  const value = typeof path.value === 'string' ? path.value : '/';
  if (type === 'PathPrefix') out.uri = value === '/' ? { prefix: '/' } : { pathSeparatedPrefix: value.replace(/\/$/, '') };
  else if (type === 'Exact') out.uri = { exact: value };
  else if (type === 'RegularExpression') out.uri = { regex: value };
  else return undefined;
  const headers = stringMatches(m.headers);
  const query = stringMatches(m.queryParams);
  if (headers === undefined || query === undefined) return undefined;
  if (Object.keys(headers).length) out.headers = headers;
  if (Object.keys(query).length) out.queryParams = query;
  if (typeof m.method === 'string') out.method = { exact: m.method };
  return out;
}

/** Header or query matches by name (a repeated name: the last), Exact or RegularExpression. */
function stringMatches(list: unknown): Record<string, Json> | undefined {
  const out: Record<string, Json> = {};
  for (const h of Array.isArray(list) ? list : []) {
    if (!isMap(h) || typeof h.name !== 'string' || typeof h.value !== 'string') return undefined;
    const type = h.type ?? 'Exact';
    if (type === 'Exact') out[h.name] = { exact: h.value };
    else if (type === 'RegularExpression') out[h.name] = { regex: h.value };
    else return undefined;
  }
  return out;
}

/** What the route does: redirect, answer 500 when no backend has weight, else send to the backends. */
function action(rule: HTTPRouteRule, ns: string): Json {
  const filters = Array.isArray(rule.filters) ? rule.filters : [];
  const redirect = filters.find((f) => isMap(f) && f.type === 'RequestRedirect');
  if (redirect) return { redirect: (redirect as Json).requestRedirect ?? {} };
  const refs = (Array.isArray(rule.backendRefs) ? rule.backendRefs : []).filter((b) => isMap(b) && (typeof b.weight === 'number' ? b.weight : 1) !== 0);
  if (refs.length === 0) return { directResponse: { status: 500 } };
  return {
    route: refs.map((b) => ({
      destination: {
        host: `${String(b.name)}.${typeof b.namespace === 'string' ? b.namespace : ns}.${CLUSTER_DOMAIN}`,
        ...(typeof b.port === 'number' ? { port: { number: b.port } } : {}),
      },
      // One backend: Istio writes no weight (all of it).
      ...(refs.length > 1 ? { weight: typeof b.weight === 'number' ? b.weight : 1 } : {}),
    })),
  };
}

/**
 * Istio's sortHTTPRoutes: a stable sort by the Gateway API's precedence, looking at each route's one
 * match: Exact path, then Prefix, then RegularExpression; the longer path; a method; more headers; more
 * query parameters. A route with no match goes last.
 */
function sortByPrecedence(http: HttpRoute[]): void {
  http.sort((a, b) => {
    const ma = a.match?.[0];
    const mb = b.match?.[0];
    if (!ma || !mb) return ma ? -1 : mb ? 1 : 0;
    const [ra, la] = uriRank(ma);
    const [rb, lb] = uriRank(mb);
    if (ra !== rb) return rb - ra;
    if (la !== lb) return lb - la;
    if ((ma.method === undefined) !== (mb.method === undefined)) return ma.method !== undefined ? -1 : 1;
    const ha = Object.keys((ma.headers ?? {}) as Json).length;
    const hb = Object.keys((mb.headers ?? {}) as Json).length;
    if (ha !== hb) return hb - ha;
    return Object.keys((mb.queryParams ?? {}) as Json).length - Object.keys((ma.queryParams ?? {}) as Json).length;
  });
}

/** Exact 3, Prefix 2, RegularExpression 1, none -1; and the length of the path (getURIRank, getURILength). */
function uriRank(m: Json): [number, number] {
  const uri = (m.uri ?? {}) as Record<string, string>;
  if (uri.exact !== undefined) return [3, uri.exact.length];
  if (uri.prefix !== undefined) return [2, uri.prefix.length];
  if (uri.pathSeparatedPrefix !== undefined) return [2, uri.pathSeparatedPrefix.length];
  if (uri.regex !== undefined) return [1, uri.regex.length];
  return [-1, 0];
}
