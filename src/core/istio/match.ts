// Which route of a VirtualService a request meets, by the rules Istio's config generation and Envoy's
// route matching apply. Sources: istio pilot/pkg/networking/core/route/route.go
// (BuildHTTPRoutesForVirtualService, TranslateRoute, sourceMatchHTTP, TranslateRouteMatch,
// translateHeaderMatch, canBeConvertedToPresentMatch, IsCatchAllRoute) and Envoy's RouteEntryImplBase
// matching (first match wins; headers, query parameters and path all must hold).

import type { HttpRoute } from '../types.ts';
import { fullMatch, regexProblem } from './regex.ts';

/** One HTTP request as a sidecar sees it. Header names in any case; the path may carry a query. */
export interface Request {
  /** Host (authority) header, as sent. */
  host: string;
  port: number;
  path: string;
  method: string;
  headers: Readonly<Record<string, string>>;
  /** The namespace of the calling workload's sidecar. */
  from: string;
}

// pathSeparatedPrefix: Envoy's path_separated_prefix, what Istio makes of a Gateway API PathPrefix (gateway.ts).
type StringMatch = { exact?: string; prefix?: string; regex?: string; pathSeparatedPrefix?: string };
type Match = Record<string, unknown>;

/** A route as Envoy receives it for one listener port: the VirtualService route and one of its matches. */
export interface EffectiveRoute {
  route: HttpRoute;
  /** Index of the route in spec.http. */
  index: number;
  /** The match entry (undefined: the route has none and takes every request). */
  match: Match | undefined;
}

/**
 * The routes Istio sends to a sidecar in namespace `from` for listener `port`, in order: matches for
 * another port, for gateways other than mesh, or for another source namespace or source labels are
 * dropped; nothing after the first catch-all is sent. Empty when no route applies (Istio then skips the
 * VirtualService for that port).
 */
export function effectiveRoutes(http: readonly HttpRoute[] | undefined, port: number, from: string): EffectiveRoute[] {
  const out: EffectiveRoute[] = [];
  for (const [index, route] of (Array.isArray(http) ? http : []).entries()) {
    if (typeof route !== 'object' || route === null) continue;
    if (!Array.isArray(route.match) || route.match.length === 0) {
      out.push({ route, index, match: undefined });
      return out;
    }
    for (const m of route.match) {
      if (typeof m !== 'object' || m === null || !applies(m, port, from)) continue;
      out.push({ route, index, match: m });
      if (isCatchAllMatch(m)) return out;
    }
  }
  return out;
}

/** Whether a match entry is sent to a sidecar at all (TranslateRoute's port and sourceMatchHTTP's checks). */
function applies(m: Match, port: number, from: string): boolean {
  if (typeof m.port === 'number' && m.port !== 0 && m.port !== port) return false;
  const gateways = m.gateways as string[] | undefined;
  if (Array.isArray(gateways) && gateways.length > 0) return gateways.includes('mesh');
  // A sidecar traced from outside has no labels: only an empty sourceLabels holds.
  const labels = m.sourceLabels as Record<string, string> | undefined;
  if (labels && Object.keys(labels).length > 0) return false;
  return m.sourceNamespace === undefined || m.sourceNamespace === '' || m.sourceNamespace === from;
}

/**
 * Istio's catch-all: a match that Envoy receives as path prefix "/" or regex ".*" with no header, query
 * or metadata condition (method, authority, scheme and withoutHeaders become header conditions). A route
 * with no match at all is one too. Nothing after a catch-all reaches Envoy.
 */
export function isCatchAllMatch(m: Match | undefined): boolean {
  if (m === undefined) return true;
  const uri = m.uri as StringMatch | undefined;
  const path = uri === undefined || uri.prefix === '/' || uri.regex === '.*';
  const none = (v: unknown) => v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0);
  return path && none(m.headers) && none(m.withoutHeaders) && none(m.queryParams) && m.method === undefined && m.authority === undefined && m.scheme === undefined;
}

/** True when a route, as Istio sends it, takes every request: no match, or a catch-all match among its matches. */
export function isCatchAllRoute(route: HttpRoute): boolean {
  return !Array.isArray(route.match) || route.match.length === 0 || route.match.some((m) => isCatchAllMatch(m));
}

/** The first effective route the request meets, or undefined (Envoy answers 404: no route matched). */
export function firstMatch(routes: readonly EffectiveRoute[], req: Request): EffectiveRoute | undefined {
  return routes.find((r) => r.match === undefined || matches(r.match, req));
}

/** Whether one match entry holds for a request, every condition together. */
export function matches(m: Match, req: Request): boolean {
  const [path, query] = splitPath(req.path);
  const uri = m.uri as StringMatch | undefined;
  if (uri && !stringMatches(uri, path, m.ignoreUriCase === true)) return false;
  const header = (name: string) => headerValue(req, name);
  for (const [name, sm] of Object.entries((m.headers ?? {}) as Record<string, StringMatch>)) {
    if (!presentOrMatches(sm, header(name))) return false;
  }
  for (const [name, sm] of Object.entries((m.withoutHeaders ?? {}) as Record<string, StringMatch>)) {
    // Inverted; a missing header counts as empty unless the condition is a presence test.
    const value = header(name);
    if (isPresence(sm)) {
      if (value !== undefined) return false;
    } else if (stringMatches(sm, value ?? '', false)) return false;
  }
  if (m.method !== undefined && !presentOrMatches(m.method as StringMatch, req.method)) return false;
  if (m.authority !== undefined && !presentOrMatches(m.authority as StringMatch, req.host)) return false;
  if (m.scheme !== undefined && !presentOrMatches(m.scheme as StringMatch, 'http')) return false;
  for (const [name, sm] of Object.entries((m.queryParams ?? {}) as Record<string, StringMatch>)) {
    if (!presentOrMatches(sm, query.get(name))) return false;
  }
  return true;
}

function headerValue(req: Request, name: string): string | undefined {
  const lower = name.toLowerCase();
  if (lower === ':authority' || lower === 'host') return req.host;
  if (lower === ':method') return req.method;
  if (lower === ':path') return req.path;
  if (lower === ':scheme') return 'http';
  for (const [k, v] of Object.entries(req.headers)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** An empty StringMatch, or regex "*", is a presence test (canBeConvertedToPresentMatch). */
function isPresence(sm: StringMatch): boolean {
  return sm.exact === undefined && sm.prefix === undefined && sm.pathSeparatedPrefix === undefined && (sm.regex === undefined || sm.regex === '*');
}

function presentOrMatches(sm: StringMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  return isPresence(sm) || stringMatches(sm, value, false);
}

function stringMatches(sm: StringMatch, value: string, ignoreCase: boolean): boolean {
  const fold = (s: string) => (ignoreCase ? s.toLowerCase() : s);
  if (sm.exact !== undefined) return fold(value) === fold(sm.exact);
  if (sm.prefix !== undefined) return fold(value).startsWith(fold(sm.prefix));
  // The whole path, or the prefix followed by a "/" (Envoy's path_separated_prefix).
  if (sm.pathSeparatedPrefix !== undefined) return fold(value) === fold(sm.pathSeparatedPrefix) || fold(value).startsWith(`${fold(sm.pathSeparatedPrefix)}/`);
  // Envoy ignores case folding for regexes. One Istio would refuse (regexProblem) never reaches Envoy
  // from a validated object; from an unvalidated one it is taken to match nothing rather than to fail.
  if (sm.regex !== undefined) return typeof sm.regex === 'string' && regexProblem(sm.regex) === undefined && fullMatch(sm.regex, value);
  return true;
}

function splitPath(path: string): [string, Map<string, string>] {
  const at = path.indexOf('?');
  if (at < 0) return [path, new Map()];
  const query = new Map<string, string>();
  for (const part of path.slice(at + 1).split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = eq < 0 ? part : part.slice(0, eq);
    if (!query.has(k)) query.set(k, eq < 0 ? '' : part.slice(eq + 1));
  }
  return [path.slice(0, at), query];
}
