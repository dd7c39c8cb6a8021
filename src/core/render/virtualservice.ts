// The VirtualService renderer: a routing table plus the template (rendered for the Service) → the
// VirtualService vsop wants. Each template route that sends to the production Service gets, right
// before it, one variant per routing rule: the template route itself (its matches, rewrite, timeout,
// retries, headers, CORS, fault, mirror, everything) with the rule's conditions added to each of its
// matches and the production destination swapped for the developer's copy. A request with the header
// therefore meets exactly the route it would meet without it, sent to the copy. Template routes to other
// hosts get no variant. Weights split each template route that sends to production alone.

import type { Problem } from '../../errors.ts';
import { qualify, serviceHost } from '../istio/hosts.ts';
import { serialize } from '../overrides.ts';
import { DEFAULT_ROUTE_NAME, OVERRIDES_ANNOTATION, templateRouteName } from '../ownership.ts';
import type { HeaderCondition } from '../overrides.ts';
import { withRecord } from './merge.ts';
import { managedMetadata } from './metadata.ts';
import { templatePortProblem } from '../routing/ports.ts';
import type { RoutingRule, RoutingTable } from '../routing/table.ts';
import type { HttpRoute, VirtualService } from '../types.ts';

type Destination = NonNullable<HttpRoute['route']>[number];

/**
 * The desired VirtualService for one table. `base` is the template rendered for the Service (a fresh
 * object this function may take apart); `namespace` the production namespace. Warnings name template
 * routes that could not get a variant and weights that could not be rendered.
 */
export function renderVirtualService(base: VirtualService, table: RoutingTable, namespace: string): { virtualService: VirtualService; warnings: Problem[] } {
  const warnings: Problem[] = [];
  const source = `virtualservice ${namespace}/${base.metadata.name}`;
  const own = nameRoutes(base);
  const production = serviceHost(table.service, namespace);
  const toProduction = own.map((r) => (r.route ?? []).map((d) => qualify(d.destination.host, namespace) === production));
  const targets = own.flatMap((_r, i) => (toProduction[i]!.includes(true) ? [i] : []));
  // A template destination naming a port the production Service lacks.
  own.forEach((r, i) =>
    (r.route ?? []).forEach((d, j) => {
      const port = d.destination.port?.number;
      const why = toProduction[i]![j] && typeof port === 'number' ? templatePortProblem(port, table.service, namespace, table.ports) : undefined;
      if (why)
        warnings.push({ source: `service ${namespace}/${table.service}`, path: `virtualServiceTemplate: spec.http[${i}].route[${j}].destination.port.number`, message: why });
    }),
  );
  const last = targets.at(-1);
  const http: HttpRoute[] = [];
  own.forEach((r, i) => {
    if (targets.includes(i)) {
      const s = standIn(r, i === last ? '' : `-${r.name}`, toProduction[i]!);
      for (const rule of table.rules) {
        const v = variant(s, rule, table.service);
        if (typeof v === 'string') warnings.push({ source, path: `spec.http[${i}] (${r.name})`, message: v });
        else if (v) http.push(v);
      }
    }
    http.push(r);
  });
  // Header routes are HTTP routes placed before a template route to production: with none (a template of
  // tcp or tls routes alone, or http routes to other hosts) a developer's copy would get no route at all.
  if (targets.length === 0 && table.rules.length > 0) {
    warnings.push({
      source,
      path: 'spec.http',
      message: `no http route of the template sends to ${production}, so the header routes of ${[...new Set(table.rules.map((r) => r.namespace))].join(', ')} are not rendered: vsop routes HTTP by header, and tcp or tls routes cannot carry one`,
    });
  }
  if (table.weights.length > 0) {
    const split = targets.filter((i) => splitProblem(own[i]!, namespace, production) === undefined);
    if (split.length === 0) {
      warnings.push({ source, path: `annotation ${OVERRIDES_ANNOTATION}`, message: `weights are not rendered: ${weightProblem(base, table.service, namespace)}` });
    }
    for (const i of split) {
      const at = http.indexOf(own[i]!);
      http[at] = splitRoute(http[at]!, table);
    }
  }
  const overrides: Record<string, string> = table.overrides ? { [OVERRIDES_ANNOTATION]: serialize(table.overrides) } : {};
  const virtualService: VirtualService = withRecord({
    ...base,
    metadata: managedMetadata(base.metadata, base.metadata.name, namespace, table.service, overrides),
    // A template without http routes renders none (not an empty list it never had).
    spec: http.length === 0 && base.spec.http === undefined ? base.spec : { ...base.spec, http },
  });
  return { virtualService, warnings };
}

/** The template's routes, each with a name: its own, `vsop-default` for the last match-less one, else vsop-template-N. */
function nameRoutes(vs: VirtualService): HttpRoute[] {
  const own = Array.isArray(vs.spec.http) ? vs.spec.http : [];
  const lastCatchAll = own.findLastIndex((r) => r.match === undefined);
  return own.map((r, i) => (r.name !== undefined ? r : { name: i === lastCatchAll ? DEFAULT_ROUTE_NAME : templateRouteName(i), ...r }));
}

/** A template route taken apart once, for all of its variants. */
interface StandIn {
  match: HttpRoute['match'];
  /** Everything but name, match and route: rewrite, timeout, retries, headers, fault, mirror, … */
  rest: Omit<HttpRoute, 'name' | 'match' | 'route'>;
  destinations: NonNullable<HttpRoute['route']>;
  /** Which destinations are the production Service. */
  production: boolean[];
  suffix: string;
}

/** `production`: which of the route's destinations are the production Service. */
function standIn(r: HttpRoute, suffix: string, production: boolean[]): StandIn {
  const { name: _name, match, route, ...rest } = r;
  return { match, rest, destinations: route ?? [], production, suffix };
}

/**
 * The template route standing in for one rule: each of its matches (or none) AND the rule's headers and
 * port; the production destination swapped for the copy. A match that names another port cannot hold
 * together with the rule and is left out (undefined when none is left); one that already conditions the
 * same header cannot either, and is reported (the string returned).
 */
function variant(s: StandIn, rule: RoutingRule, service: string): HttpRoute | string | undefined {
  const wanted = headerMatches(rule.headers);
  let matches: Record<string, unknown>[];
  if (s.match === undefined && rule.port === undefined) matches = sharedMatchList(rule.headers, wanted);
  else {
    matches = [];
    for (const m of s.match ?? [{}]) {
      const port = m.port as number | undefined;
      if (rule.port !== undefined && port !== undefined && port !== rule.port) continue;
      const headers = (m.headers ?? {}) as Record<string, unknown>;
      const clash = rule.headers.find((h) => h.name in headers || h.name.toLowerCase() in headers);
      if (clash) return `matches on header ${clash.name} itself, so route ${rule.name}${s.suffix} cannot stand in for it`;
      const { port: _p, headers: _h, ...others } = m;
      const scope = rule.port ?? port;
      matches.push({ ...others, ...(scope !== undefined ? { port: scope } : {}), headers: { ...headers, ...wanted } });
    }
    if (matches.length === 0) return undefined;
  }
  const host = `${service}.${rule.backend.namespace}.svc.cluster.local`;
  const backendPort = rule.backend.port !== undefined ? { number: rule.backend.port } : undefined;
  const route = s.destinations.map((d, i): Destination => {
    if (!s.production[i]) return d;
    const port = d.destination.port ?? backendPort;
    return { ...d, destination: port ? { ...d.destination, host, port } : { ...d.destination, host } };
  });
  return { name: `${rule.name}${s.suffix}`, match: matches, ...s.rest, route };
}

const headerMatchCache = new WeakMap<readonly HeaderCondition[], Record<string, unknown>>();
const matchListCache = new WeakMap<readonly HeaderCondition[], Record<string, unknown>[]>();

/** A rule's conditions as a VirtualService `headers` map; frozen and shared when the rule's list is shared. */
function headerMatches(headers: readonly HeaderCondition[]): Record<string, unknown> {
  let m = headerMatchCache.get(headers);
  if (!m) {
    m = Object.freeze(Object.fromEntries(headers.map((h) => [h.name, Object.freeze({ [h.match]: h.value })])));
    if (Object.isFrozen(headers)) headerMatchCache.set(headers, m);
  }
  return m;
}

/**
 * `[{headers}]`, the whole match list of a variant of a match-less route, shared by every Service's
 * variant for the same rule conditions. Nothing may change a rendered route in place; the freeze makes any
 * attempt fail loudly.
 */
function sharedMatchList(headers: readonly HeaderCondition[], wanted: Record<string, unknown>): Record<string, unknown>[] {
  let list = matchListCache.get(headers);
  if (!list) {
    list = Object.freeze([Object.freeze({ headers: wanted })]) as unknown as Record<string, unknown>[];
    if (Object.isFrozen(headers)) matchListCache.set(headers, list);
  }
  return list;
}

/** Why weights cannot split this route, or undefined when they can: it must send to production alone. */
function splitProblem(r: HttpRoute, namespace: string, production: string): string | undefined {
  const dest = r.route ?? [];
  if (dest.length !== 1 || (dest[0]!.weight !== undefined && dest[0]!.weight !== 100)) return 'does not send to exactly one destination';
  if (qualify(dest[0]!.destination.host, namespace) !== production) return 'does not send to the production Service';
  return undefined;
}

/**
 * Why no route of the template (rendered for `service`) can be split by weight, or undefined when one
 * can: `route add --weight` refuses a weight that would never render.
 */
export function weightProblem(base: VirtualService, service: string, namespace: string): string | undefined {
  const production = serviceHost(service, namespace);
  if (nameRoutes(base).some((r) => splitProblem(r, namespace, production) === undefined)) return undefined;
  return 'the template has no route that sends to the production Service alone (one destination, no weight)';
}

/** The route with its production destination split: each namespace's share to its copy, production the rest. */
function splitRoute(r: HttpRoute, table: RoutingTable): HttpRoute {
  const production = r.route![0]!;
  const rest = 100 - table.weights.reduce((s, w) => s + w.percent, 0);
  const port = production.destination.port;
  return {
    ...r,
    route: [
      ...(rest > 0 ? [{ ...production, weight: rest }] : []),
      ...table.weights.map((w) => ({ destination: { host: `${table.service}.${w.namespace}.svc.cluster.local`, ...(port ? { port } : {}) }, weight: w.percent })),
    ],
  };
}
