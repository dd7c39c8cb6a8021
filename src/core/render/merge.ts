// The three-way merge of a managed VirtualService: what vsop renders now (`want`), what is live (`have`),
// and what vsop rendered last time (the record on `have`). kubectl apply's rule, applied to every part of
// the object: a field vsop never set is someone else's and stays; a field vsop set and no longer renders
// goes; a field vsop renders takes vsop's value (a hand edit of it is put back).
//
// Server-side apply would do this for us but does not fit: Istio's CRD makes `spec.http` an atomic list,
// so a field manager owns all routes or none, and people add routes beside vsop's. So this is vsop's own
// merge, at the grain of the CRD's own top-level fields, labels and annotations (by key), and http routes
// (by name). It is pure; apply, the conflict retry and watch all reach it through plan.ts.
//
// HTTPRoutes and ReferenceGrants (routeKind HTTPRoute) get the same merge of metadata and top-level spec
// fields (mergeOwned), with their own baseline: an HTTPRoute's parentRefs and rules, a grant's from and
// to, are vsop's whole (Gateway API rules have no names to tell someone's own from vsop's).
//
// The record lists only what vsop renders beyond its baseline (hosts, http, the managed label and vsop's
// own annotations), so the seed template's objects carry none. An object without a record (written by the
// seed operator, by an older vsop, or adopted) is assumed to hold nothing of vsop's beyond the baseline and
// what vsop renders now: nothing else is removed, because vsop cannot show it ever set it.

import { isCatchAllRoute } from '../istio/match.ts';
import { DEFAULT_ROUTE_NAME, devRouteName, MANAGED_LABEL, OVERRIDES_ANNOTATION, RENDERED_ANNOTATION, ROUTE_PREFIX, SERVICE_ANNOTATION } from '../ownership.ts';
import type { HttpRoute, KubeObject, VirtualService } from '../types.ts';

/** What vsop rendered beyond its baseline: key names, per part of the object. Sorted, without duplicates. */
export interface RenderedRecord {
  /** metadata.labels keys. */
  labels: string[];
  /** metadata.annotations keys. */
  annotations: string[];
  /** Other metadata fields the template sets (finalizers, ownerReferences, …). */
  metadata: string[];
  /** spec fields (gateways, exportTo, tcp, tls, …). */
  spec: string[];
  /** Names of http routes that do not carry vsop's prefix (the template's own names). */
  routes: string[];
}

/** Always vsop's and never recorded: routes named with ROUTE_PREFIX are vsop's by name. */
const BASELINE = {
  labels: new Set([MANAGED_LABEL]),
  annotations: new Set([SERVICE_ANNOTATION, OVERRIDES_ANNOTATION, RENDERED_ANNOTATION]),
  metadata: new Set(['name', 'namespace', 'labels', 'annotations']),
  spec: new Set(['hosts', 'http']),
};

/** The spec fields vsop always renders, per kind: never recorded, always vsop's. */
const SPEC_BASELINE: Record<string, ReadonlySet<string>> = {
  VirtualService: BASELINE.spec,
  HTTPRoute: new Set(['parentRefs', 'rules']),
  ReferenceGrant: new Set(['from', 'to']),
};

function specBaseline(kind: string): ReadonlySet<string> {
  return SPEC_BASELINE[kind] ?? BASELINE.spec;
}

/** An object vsop renders: a VirtualService, an HTTPRoute or a ReferenceGrant. */
type Owned = KubeObject & { spec: Record<string, unknown> };

const PARTS = ['labels', 'annotations', 'metadata', 'spec', 'routes'] as const;

/** The metadata fields besides name, namespace, labels and annotations that a template may set. */
export const TEMPLATE_METADATA: ReadonlySet<string> = new Set(['finalizers', 'ownerReferences']);

/** The record of a rendered VirtualService: what it sets beyond the baseline, or undefined when nothing. */
export function recordOf(vs: Owned): RenderedRecord | undefined {
  const beyond = (keys: Iterable<string>, baseline: ReadonlySet<string>) => [...new Set([...keys].filter((k) => !baseline.has(k)))].sort();
  const { labels, annotations, ...meta } = vs.metadata;
  const record: RenderedRecord = {
    labels: beyond(Object.keys(labels ?? {}), BASELINE.labels),
    annotations: beyond(Object.keys(annotations ?? {}), BASELINE.annotations),
    metadata: beyond(
      Object.keys(meta).filter((k) => meta[k] !== undefined),
      BASELINE.metadata,
    ),
    spec: beyond(
      Object.keys(vs.spec).filter((k) => vs.spec[k] !== undefined),
      specBaseline(vs.kind),
    ),
    routes: [
      ...new Set(
        (((vs.kind === 'VirtualService' ? vs.spec.http : undefined) as HttpRoute[] | undefined) ?? []).flatMap((r) =>
          typeof r.name === 'string' && !r.name.startsWith(ROUTE_PREFIX) ? [r.name] : [],
        ),
      ),
    ].sort(),
  };
  return PARTS.some((p) => record[p].length > 0) ? record : undefined;
}

/** The record as the annotation's value: compact JSON with only the non-empty parts. */
export function serializeRecord(record: RenderedRecord): string {
  const out: Partial<RenderedRecord> = {};
  for (const p of PARTS) if (record[p].length > 0) out[p] = record[p];
  return JSON.stringify(out);
}

/**
 * The record a live object carries, or undefined when it has none. One that cannot be read (edited by
 * hand into something else) counts as none: vsop then removes nothing it cannot show it set.
 */
export function readRecord(vs: KubeObject): RenderedRecord | undefined {
  const text = vs.metadata.annotations?.[RENDERED_ANNOTATION];
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record: RenderedRecord = { labels: [], annotations: [], metadata: [], spec: [], routes: [] };
  for (const p of PARTS) {
    const list = (value as Record<string, unknown>)[p];
    if (list === undefined) continue;
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) return undefined;
    record[p] = list;
  }
  // Only what a template can render counts: a record edited to name the object's identity or the
  // server's fields (resourceVersion, uid, …) would have vsop remove them and every write refused.
  record.metadata = record.metadata.filter((k) => TEMPLATE_METADATA.has(k));
  record.labels = record.labels.filter((k) => !BASELINE.labels.has(k));
  record.annotations = record.annotations.filter((k) => !BASELINE.annotations.has(k));
  record.spec = record.spec.filter((k) => !specBaseline(vs.kind).has(k));
  return record;
}

/** The rendered object with its record annotation (none when it renders nothing beyond the baseline). */
export function withRecord<T extends Owned>(vs: T): T {
  const record = recordOf(vs);
  if (!record) return vs;
  return { ...vs, metadata: { ...vs.metadata, annotations: { ...vs.metadata.annotations, [RENDERED_ANNOTATION]: serializeRecord(record) } } };
}

/**
 * `want` laid onto `have` (both VirtualServices of one name): fields, labels, annotations and routes that
 * `have`'s record lists and `want` lacks go; what `want` sets wins; everything else of `have` stays.
 * Foreign routes stay right after the vsop route they followed (or at the top, if they led the list), and
 * a foreign catch-all above vsop's header routes moves down (see unshadow). On an object the seed
 * operator wrote (writtenBySeedOperator: managed, or being adopted with --adopt), routes of its shape
 * (isSeedOperatorRoute) are vsop's: they give way to vsop's own, and the foreign routes after them stay
 * after those. `have`'s resourceVersion and other
 * server fields are kept, so the result can be written as an update. Pure; never modifies its arguments.
 */
export function mergeVirtualService(want: VirtualService, have: VirtualService): VirtualService {
  const merged = mergeOwned(want, have);
  const haveSpec = (have.spec ?? {}) as VirtualService['spec'];
  const service = want.metadata.annotations?.[SERVICE_ANNOTATION];
  merged.spec.http = mergeRoutes(want, haveSpec.http ?? [], new Set(readRecord(have)?.routes ?? []), writtenBySeedOperator(have, service));
  return merged;
}

/**
 * `want` laid onto `have` (one object of any kind vsop renders), top-level fields only: metadata fields,
 * labels, annotations and spec fields that `have`'s record lists and `want` lacks go; what `want` sets
 * wins (a spec field whole); everything else of `have` stays, its resourceVersion and other server fields
 * included. Pure; never modifies its arguments.
 */
export function mergeOwned<T extends Owned>(want: T, have: T): T {
  const last = readRecord(have);
  const stale = (part: (typeof PARTS)[number], wanted: Iterable<string>) => {
    const keep = new Set(wanted);
    return new Set((last?.[part] ?? []).filter((k) => !keep.has(k)));
  };

  const { labels: haveLabels, annotations: haveAnnotations, ...haveMeta } = have.metadata;
  const { labels: wantLabels, annotations: wantAnnotations, ...wantMeta } = want.metadata;
  const labels = { ...without(haveLabels, stale('labels', Object.keys(wantLabels ?? {}))), ...wantLabels };
  // vsop's own annotations are vsop's alone: the overrides and the record go when not rendered.
  const annotations = {
    ...without(haveAnnotations, new Set([...stale('annotations', Object.keys(wantAnnotations ?? {})), OVERRIDES_ANNOTATION, RENDERED_ANNOTATION])),
    ...wantAnnotations,
  };
  // An empty map is left out, as the apiserver leaves it out: written, it would show as a change in every diff.
  const metadata = {
    ...without(haveMeta, stale('metadata', Object.keys(wantMeta))),
    ...wantMeta,
    ...(Object.keys(labels).length > 0 ? { labels } : {}),
    ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
  };

  const haveSpec = (have.spec ?? {}) as T['spec'];
  const spec = { ...without(haveSpec, stale('spec', Object.keys(want.spec))), ...want.spec };

  return {
    ...want,
    // The same object served at another version of the group is not a change.
    apiVersion: sameGroup(want.apiVersion, have.apiVersion) ? have.apiVersion : want.apiVersion,
    metadata: metadata as T['metadata'],
    spec,
  };
}

/**
 * The http routes: vsop's (named with its prefix, named as `want` names them, named in the last record,
 * or the seed operator's on a managed object) are replaced by `want`'s; every other route is foreign and
 * stays right after the vsop route it followed (a route vsop no longer renders hands its followers to the
 * last one that survives).
 */
function mergeRoutes(want: VirtualService, live: readonly HttpRoute[], recorded: ReadonlySet<string>, fromOperator: boolean): HttpRoute[] {
  const wanted = want.spec.http ?? [];
  const ours = new Set(wanted.map((r) => r.name).filter((n) => n !== undefined));
  const service = want.metadata.annotations?.[SERVICE_ANNOTATION];
  const namespace = want.metadata.namespace;
  const operators = (r: HttpRoute) => fromOperator && service !== undefined && namespace !== undefined && isSeedOperatorRoute(r, service, namespace);
  const isOurs = (r: HttpRoute) => (typeof r.name === 'string' && (r.name.startsWith(ROUTE_PREFIX) || ours.has(r.name) || recorded.has(r.name))) || operators(r);
  // Anchors are occurrences, not names: the k-th route named N in the live list stands for the k-th one
  // in the rendering. Names the rendering repeats (which vsop refuses in a template, and which generated
  // names could only repeat for namespaces named to collide) thus still anchor each foreign route once.
  const occurrence = () => {
    const seen = new Map<string, number>();
    return (name: string) => {
      const k = seen.get(name) ?? 0;
      seen.set(name, k + 1);
      return `${k}\u0000${name}`;
    };
  };
  const wantedAt = new Map<string, number>();
  const wantedKey = occurrence();
  wanted.forEach((r, i) => r.name !== undefined && wantedAt.set(wantedKey(r.name), i));
  const anchored = new Map<string | undefined, HttpRoute[]>();
  const liveKey = occurrence();
  let anchor: string | undefined;
  let anchorAt = -1;
  for (const r of live) {
    if (isOurs(r)) {
      // A route vsop still renders anchors the foreign routes after it; the seed operator's routes anchor
      // them to the routes that replace them (its header route for V to vsop's automatic route for V, its
      // catch-all to vsop's default route). Anchors only move down the rendering: a foreign route never
      // rises above a vsop route it was below, so one left dead behind a catch-all stays behind it (the
      // operator put later header routes after a route someone appended, past its own catch-all).
      const name = r.name ?? (operators(r) ? operatorCounterpart(r) : undefined);
      const key = name === undefined ? undefined : liveKey(name);
      const at = key === undefined ? undefined : wantedAt.get(key);
      if (at !== undefined && at > anchorAt) {
        anchor = key;
        anchorAt = at;
      }
      continue;
    }
    const list = anchored.get(anchor);
    if (list) list.push(r);
    else anchored.set(anchor, [r]);
  }
  const http: HttpRoute[] = [...(anchored.get(undefined) ?? [])];
  const key = occurrence();
  for (const r of wanted) {
    http.push(r);
    if (r.name !== undefined) http.push(...(anchored.get(key(r.name)) ?? []));
  }
  return unshadow(http, isOurs, wanted);
}

/**
 * The http routes of a managed VirtualService that vsop did not render, as mergeRoutes tells them: not
 * named with vsop's prefix, nor named in the object's record (the template's), nor the seed operator's.
 * Merging keeps them; deleting the object (a switch to routeKind HTTPRoute) would lose them.
 */
export function foreignRoutes(have: VirtualService): HttpRoute[] {
  const service = have.metadata.annotations?.[SERVICE_ANNOTATION];
  const namespace = have.metadata.namespace;
  const recorded = new Set(readRecord(have)?.routes ?? []);
  const fromOperator = writtenBySeedOperator(have, service);
  const http = (have.spec?.http ?? []) as HttpRoute[];
  return http.filter(
    (r) =>
      !(typeof r.name === 'string' && (r.name.startsWith(ROUTE_PREFIX) || recorded.has(r.name))) &&
      !(fromOperator && service !== undefined && namespace !== undefined && isSeedOperatorRoute(r, service, namespace)),
  );
}

/**
 * The top-level spec fields of a managed VirtualService that vsop did not render (gateways, tcp, tls,
 * exportTo, … that someone added), as mergeVirtualService tells them: not the baseline (hosts, http), nor
 * recorded as the template's. Merging keeps them; deleting the object (a switch to routeKind HTTPRoute)
 * would lose them. An object without a record holds none of the template's (merge.ts, the record), so
 * each such field counts. Sorted.
 */
export function foreignSpecFields(have: VirtualService): string[] {
  const recorded = new Set(readRecord(have)?.spec ?? []);
  const spec = (have.spec ?? {}) as Record<string, unknown>;
  return Object.keys(spec)
    .filter((k) => spec[k] !== undefined && !BASELINE.spec.has(k) && !recorded.has(k))
    .sort();
}

/** The route of vsop's that stands where a seed operator's route stood (see isSeedOperatorRoute). */
function operatorCounterpart(r: HttpRoute): string {
  const headers = r.match?.[0]?.headers as Record<string, { exact?: string }> | undefined;
  const value = headers?.['x-developer']?.exact;
  return value === undefined ? DEFAULT_ROUTE_NAME : devRouteName(value);
}

/**
 * Whether the seed operator wrote this object: it labels it managed and makes the production Service its
 * owner (anchors/vs-operator internal/utils/virtualservice.go, GenerateVirtualService: an ownerReference
 * of kind Service, apiVersion v1, named after the Service). vsop sets no ownerReference, so an object
 * someone else wrote keeps every route, however it looks, also when adopted with --adopt.
 */
export function writtenBySeedOperator(vs: VirtualService, service: string | undefined): boolean {
  const owners = vs.metadata.ownerReferences;
  return Array.isArray(owners) && owners.some((o) => o?.kind === 'Service' && o?.apiVersion === 'v1' && o?.name === service);
}

/**
 * A route of exactly the shape the seed operator writes (anchors/vs-operator internal/utils/
 * virtualservice.go: GenerateVirtualService and UpdateVirtualServiceRoutes): no name, and either no match
 * with one destination, the production Service (`<service>.<production>.svc.cluster.local`), or one match
 * of the single header `x-developer` (hard-coded there) exactly equal to a namespace V, with one
 * destination `<service>.V.svc.cluster.local`. Nothing else: a route with any other field, match,
 * header, weight or port is someone's own and stays.
 */
export function isSeedOperatorRoute(r: HttpRoute, service: string, production: string): boolean {
  if (r.name !== undefined || !onlyKeys(r, ['match', 'route'])) return false;
  const route = r.route;
  if (!Array.isArray(route) || route.length !== 1 || !onlyKeys(route[0], ['destination'])) return false;
  const destination = route[0]!.destination;
  if (!onlyKeys(destination, ['host']) || typeof destination.host !== 'string') return false;
  if (r.match === undefined) return destination.host === `${service}.${production}.svc.cluster.local`;
  if (!Array.isArray(r.match) || r.match.length !== 1 || !onlyKeys(r.match[0], ['headers'])) return false;
  const headers = r.match[0]!.headers as Record<string, unknown> | undefined;
  if (!headers || !onlyKeys(headers, ['x-developer'])) return false;
  const condition = headers['x-developer'] as Record<string, unknown> | undefined;
  if (!condition || !onlyKeys(condition, ['exact']) || typeof condition.exact !== 'string' || condition.exact === '') return false;
  return destination.host === `${service}.${condition.exact}.svc.cluster.local`;
}

/**
 * A foreign catch-all route above vsop's header routes would swallow their traffic: Istio sends Envoy
 * nothing after a catch-all (no match, uri prefix "/", uri regex ".*": istio/match.ts). It moves down to
 * just above the template's own catch-all, where it still serves everything else.
 */
function unshadow(http: HttpRoute[], isOurs: (r: HttpRoute) => boolean, wanted: readonly HttpRoute[]): HttpRoute[] {
  const lastHeaderRoute = http.findLastIndex((r) => isOurs(r) && !isCatchAllRoute(r));
  const shadowing = http.filter((r, i) => i < lastHeaderRoute && !isOurs(r) && isCatchAllRoute(r));
  if (shadowing.length === 0) return http;
  const rest = http.filter((r) => !shadowing.includes(r));
  const ownCatchAll = wanted.findLast((r) => isCatchAllRoute(r));
  const at = ownCatchAll ? rest.indexOf(ownCatchAll) : -1;
  rest.splice(at >= 0 ? at : rest.length, 0, ...shadowing);
  return rest;
}

function without<T extends Record<string, unknown>>(obj: T | undefined, keys: ReadonlySet<string>): T {
  const out = { ...obj } as Record<string, unknown>;
  for (const k of keys) delete out[k];
  return out as T;
}

/** An object whose keys (with a value) are all among `allowed`. */
function onlyKeys(v: unknown, allowed: readonly string[]): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  for (const k in v) if ((v as Record<string, unknown>)[k] !== undefined && !allowed.includes(k)) return false;
  return true;
}

export function sameGroup(a: string, b: string): boolean {
  return a.split('/')[0] === b.split('/')[0];
}
