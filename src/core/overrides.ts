// Routing by hand (route add/rm/reset, clear), recorded in the managed VirtualService itself as the
// annotation vsop.io/overrides: versioned JSON that the resolver reads back on every run, so sync and
// watch render hand-made routes instead of undoing them. Editing that object already takes write rights
// in the production namespace, which a developer's own namespace does not grant: no one can pull
// production traffic to themselves by labelling their own Service.

import type { Problem } from '../errors.ts';
import { headerNameProblem, headerValueProblem, namespaceNameProblem } from './names.ts';
import { regexProblem } from './istio/regex.ts';
import { isManaged, OVERRIDES_ANNOTATION, SERVICE_ANNOTATION } from './ownership.ts';
import { isRecord } from './template.ts';
import type { VirtualService } from './types.ts';

export const OVERRIDES_VERSION = 1;
export const MATCH_TYPES = ['exact', 'prefix', 'regex'] as const;
export type MatchType = (typeof MATCH_TYPES)[number];

export interface HeaderCondition {
  name: string;
  value: string;
  match: MatchType;
}

/** Requests carrying every one of `headers` go to `namespace`'s copy of the Service. */
export interface HeaderRoute {
  namespace: string;
  headers: HeaderCondition[];
  /** Only requests to this port of the Service (and to the same port of the copy); all ports without it. */
  port?: number;
  /** Rendered even while the namespace lacks a real copy of the Service. */
  force?: boolean;
  /**
   * The route's number within its namespace, fixed when it is first written (routeIds): its name
   * `vsop-route-<namespace>-<id>` stays when other routes go. Absent until then.
   */
  id?: number;
}

/** That share of the requests no header route catches goes to `namespace`'s copy. */
export interface Weight {
  namespace: string;
  percent: number;
  force?: boolean;
}

export interface Overrides {
  version: typeof OVERRIDES_VERSION;
  routes: HeaderRoute[];
  weights: Weight[];
  /** Namespaces whose automatic route (the routing header's) is taken away. */
  removed: string[];
  /** Production only: no automatic route at all (istiops "clear"); routes and weights added since still count. */
  cleared: boolean;
}

export const NO_OVERRIDES: Overrides = Object.freeze({ version: OVERRIDES_VERSION, routes: [], weights: [], removed: [], cleared: false }) as Overrides;

export function isEmpty(o: Overrides): boolean {
  return o.routes.length === 0 && o.weights.length === 0 && o.removed.length === 0 && !o.cleared;
}

/** The text each parsed Overrides was read from (parseOverrides); an edit makes a new object, without one. */
const readText = new WeakMap<Overrides, string>();

/** The annotation's text: compact JSON with a fixed key order, so equal overrides are equal strings. */
export function serialize(o: Overrides): string {
  // Overrides read and not changed keep the text they were read from, so an annotation written before
  // route numbers were (or by hand, in another key order) is no change to write back.
  const read = readText.get(o);
  if (read !== undefined) return read;
  // Every route's number is written: a person removing one route by hand (kubectl edit) then renames
  // none of the others.
  const ids = routeIds(o.routes);
  const route = (r: HeaderRoute, i: number) => ({
    namespace: r.namespace,
    id: ids[i],
    headers: r.headers.map((h) => ({ name: h.name, value: h.value, match: h.match })),
    ...(r.port !== undefined ? { port: r.port } : {}),
    ...(r.force ? { force: true } : {}),
  });
  const weight = (w: Weight) => ({ namespace: w.namespace, percent: w.percent, ...(w.force ? { force: true } : {}) });
  return JSON.stringify({ version: OVERRIDES_VERSION, routes: o.routes.map(route), weights: o.weights.map(weight), removed: o.removed, cleared: o.cleared });
}

/**
 * Each route's number within its namespace: its own id, or, for a route without one, one more than the
 * highest of its namespace before it in the list. Routes are only ever appended, so a list recorded
 * before ids existed keeps the positional numbers it was rendered with, and a new route gets a number no
 * route of its namespace holds. Same order and length as `routes`.
 */
export function routeIds(routes: readonly HeaderRoute[]): number[] {
  const highest = new Map<string, number>();
  return routes.map((r) => {
    const id = r.id ?? (highest.get(r.namespace) ?? 0) + 1;
    highest.set(r.namespace, Math.max(highest.get(r.namespace) ?? 0, id));
    return id;
  });
}

/** Parses and checks the annotation's text; every problem is reported, with its path in the JSON. */
export function parseOverrides(text: string): { overrides?: Overrides; problems: Problem[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return { problems: [{ path: '', message: `is not valid JSON: ${(err as Error).message}` }] };
  }
  const problems: Problem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });
  if (!isRecord(raw)) return { problems: [{ path: '', message: 'must be a JSON object' }] };
  if (raw.version !== OVERRIDES_VERSION) {
    const newer = typeof raw.version === 'number' && raw.version > OVERRIDES_VERSION;
    problem(
      'version',
      newer
        ? `${raw.version} is newer than this vsop understands (${OVERRIDES_VERSION}): upgrade vsop`
        : `must be ${OVERRIDES_VERSION}, not ${JSON.stringify(raw.version ?? null)}`,
    );
    return { problems };
  }
  unknownKeys(raw, ['version', 'routes', 'weights', 'removed', 'cleared'], '', problem);

  const routes = list(raw.routes, 'routes', problem).flatMap((item, i): HeaderRoute[] => {
    const path = `routes[${i}]`;
    if (!isRecord(item)) return (problem(path, 'must be an object'), []);
    unknownKeys(item, ['namespace', 'id', 'headers', 'port', 'force'], path, problem);
    const ok = [
      namespaceOk(item.namespace, `${path}.namespace`, problem),
      idOk(item.id, `${path}.id`, problem),
      portOk(item.port, `${path}.port`, problem),
      booleanOk(item.force, `${path}.force`, problem),
    ];
    if (item.headers === undefined || (Array.isArray(item.headers) && item.headers.length === 0)) problem(`${path}.headers`, 'must hold at least one header');
    const headers = list(item.headers, `${path}.headers`, problem).flatMap((h, j) => header(h, `${path}.headers[${j}]`, problem));
    if (!Array.isArray(item.headers) || headers.length !== item.headers.length || headers.length === 0 || ok.includes(false)) return [];
    const dup = duplicate(headers.map((h) => h.name));
    if (dup) return (problem(`${path}.headers`, `header "${dup}" appears twice`), []);
    return [
      {
        namespace: item.namespace as string,
        headers,
        ...(item.port !== undefined ? { port: item.port as number } : {}),
        ...(item.force === true ? { force: true } : {}),
        ...(item.id !== undefined ? { id: item.id as number } : {}),
      },
    ];
  });
  // Each route carries its number from here on, so edits that drop routes keep the others' names.
  routeIds(routes).forEach((id, i) => (routes[i]!.id = id));
  const dupId = duplicate(routes.map((r) => `${r.namespace} ${r.id}`));
  if (dupId) problem('routes', `two routes of namespace ${dupId.split(' ')[0]} are numbered ${dupId.split(' ')[1]}`);

  const weights = list(raw.weights, 'weights', problem).flatMap((item, i): Weight[] => {
    const path = `weights[${i}]`;
    if (!isRecord(item)) return (problem(path, 'must be an object'), []);
    unknownKeys(item, ['namespace', 'percent', 'force'], path, problem);
    const ok = [namespaceOk(item.namespace, `${path}.namespace`, problem), booleanOk(item.force, `${path}.force`, problem)];
    const p = item.percent;
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p > 100) {
      problem(`${path}.percent`, `must be a whole number from 0 to 100, not ${JSON.stringify(p ?? null)}`);
      return [];
    }
    return ok.includes(false) ? [] : [{ namespace: item.namespace as string, percent: p, ...(item.force === true ? { force: true } : {}) }];
  });
  const dupWeight = duplicate(weights.map((w) => w.namespace));
  if (dupWeight) problem('weights', `namespace "${dupWeight}" has two weights`);
  const sum = weights.reduce((s, w) => s + w.percent, 0);
  if (sum > 100) problem('weights', `add up to ${sum}%, more than 100%`);

  const removed = list(raw.removed, 'removed', problem).filter((ns, i) => namespaceOk(ns, `removed[${i}]`, problem)) as string[];
  const dupRemoved = duplicate(removed);
  if (dupRemoved) problem('removed', `names "${dupRemoved}" twice`);
  if (!booleanOk(raw.cleared, 'cleared', problem)) return { problems };
  if (problems.length > 0) return { problems };
  const overrides: Overrides = { version: OVERRIDES_VERSION, routes, weights, removed, cleared: raw.cleared === true };
  readText.set(overrides, text);
  return { overrides, problems };
}

/** Why a header value cannot be matched this way, or undefined. */
export function headerConditionProblem(h: HeaderCondition): string | undefined {
  // A regex is RE2, checked as Istio checks it (not with JavaScript's engine, which refuses (?i) and
  // accepts a{1001}); it must also be a header value vsop can write.
  if (h.match === 'regex') return regexProblem(h.value) ?? headerValueProblem(h.value);
  return headerValueProblem(h.value);
}

export interface InvalidOverrides {
  service: string;
  /** Every problem with the annotation, as one Problem naming the object. */
  problem: Problem;
}

/** "virtualservice default/x: annotation vsop.io/overrides: routes[0].port: ..." (or "httproute default/x: …") */
export function invalidMessage(i: InvalidOverrides): string {
  return `${i.problem.source}: ${i.problem.path}: ${i.problem.message}`;
}

export interface LiveOverrides {
  /** Per production Service, what its managed VirtualService records. */
  byService: Map<string, Overrides>;
  /** Managed VirtualServices whose annotation cannot be read, by namespace/name. */
  invalid: Map<string, InvalidOverrides>;
}

/**
 * The overrides each production Service's managed VirtualService records. Objects vsop does not manage
 * carry none (vsop never reads intent from what it may not write). When two managed objects claim one
 * Service (the template's name changed), the one named as the template names it now wins.
 */
export function readOverrides(live: readonly VirtualService[], defaultNamespace: string, nameFor: (service: string) => string): LiveOverrides {
  const byService = new Map<string, Overrides>();
  const invalid = new Map<string, InvalidOverrides>();
  const from = new Map<string, string>();
  for (const vs of live) {
    const text = vs.metadata.annotations?.[OVERRIDES_ANNOTATION];
    const service = vs.metadata.annotations?.[SERVICE_ANNOTATION];
    if (text === undefined || service === undefined || vs.metadata.namespace !== defaultNamespace || !isManaged(vs)) continue;
    const key = `${vs.metadata.namespace}/${vs.metadata.name}`;
    const parsed = parseOverrides(text);
    if (!parsed.overrides) {
      const detail = parsed.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ');
      // Named by its kind: readOverrides reads vsop's HTTPRoutes too (routeKind HTTPRoute).
      invalid.set(key, { service, problem: { source: `${(vs.kind ?? 'VirtualService').toLowerCase()} ${key}`, path: `annotation ${OVERRIDES_ANNOTATION}`, message: detail } });
      continue;
    }
    if (from.has(service) && vs.metadata.name !== nameFor(service)) continue;
    byService.set(service, parsed.overrides);
    from.set(service, vs.metadata.name);
  }
  return { byService, invalid };
}

type Report = (path: string, message: string) => void;

function list(v: unknown, path: string, problem: Report): unknown[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) return (problem(path, 'must be a list'), []);
  return v;
}

function header(h: unknown, path: string, problem: Report): HeaderCondition[] {
  if (!isRecord(h)) return (problem(path, 'must be an object {name, value, match}'), []);
  unknownKeys(h, ['name', 'value', 'match'], path, problem);
  const { name, value } = h;
  const match = h.match ?? 'exact';
  const nameProblem = typeof name === 'string' ? headerNameProblem(name) : 'must be a header name';
  if (nameProblem) return (problem(`${path}.name`, `${JSON.stringify(name ?? null)} ${nameProblem}`), []);
  if (!(MATCH_TYPES as readonly unknown[]).includes(match)) return (problem(`${path}.match`, `must be one of ${MATCH_TYPES.join(', ')}, not ${JSON.stringify(match)}`), []);
  if (typeof value !== 'string') return (problem(`${path}.value`, 'must be a string'), []);
  const condition = { name: name as string, value, match: match as MatchType };
  const valueProblem = headerConditionProblem(condition);
  if (valueProblem) return (problem(`${path}.value`, `${JSON.stringify(value)} ${valueProblem}`), []);
  return [condition];
}

function namespaceOk(ns: unknown, path: string, problem: Report): boolean {
  const p = typeof ns === 'string' ? namespaceNameProblem(ns) : 'must be a namespace name';
  if (p) problem(path, `${JSON.stringify(ns ?? null)} ${p}`);
  return p === undefined;
}

function portOk(port: unknown, path: string, problem: Report): boolean {
  if (port === undefined || (typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535)) return true;
  problem(path, `must be a port number from 1 to 65535, not ${JSON.stringify(port)}`);
  return false;
}

function idOk(id: unknown, path: string, problem: Report): boolean {
  if (id === undefined || (typeof id === 'number' && Number.isInteger(id) && id >= 1 && id <= 1_000_000)) return true;
  problem(path, `must be a whole number from 1 to 1000000, not ${JSON.stringify(id)}`);
  return false;
}

function booleanOk(v: unknown, path: string, problem: Report): boolean {
  if (v === undefined || typeof v === 'boolean') return true;
  problem(path, `must be true or false, not ${JSON.stringify(v)}`);
  return false;
}

function unknownKeys(o: Record<string, unknown>, known: readonly string[], path: string, problem: Report): void {
  for (const k of Object.keys(o)) if (!known.includes(k)) problem(path ? `${path}.${k}` : k, 'is not a known field');
}

function duplicate(values: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const v of values) {
    if (seen.has(v)) return v;
    seen.add(v);
  }
  return undefined;
}
