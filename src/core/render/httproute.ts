// The HTTPRoute renderer (routeKind: HTTPRoute): a routing table plus the HTTPRoute template (rendered for
// the Service) → the Gateway API routes vsop wants, in the GAMMA shape (a route whose parent is the
// production Service applies to that Service's mesh traffic), and the ReferenceGrants their
// cross-namespace backendRefs need.
//
// Each template rule that sends to the production Service gets, right before it, one variant per routing
// rule: the template rule itself (its matches, filters, timeouts) with the rule's header conditions added
// to each of its matches and the production backendRef swapped for the developer's copy. The Gateway API
// orders rules by match precedence, not by position (GEP-1426 keeps the HTTPRoute rules' order of
// "Gateway API for Service Mesh"; Istio sorts them in pilot/pkg/config/kube/gateway conversion.go
// sortHTTPRoutes: path kind, path length, method, header count, query count, then position): a variant
// has the template rule's path and one header more, so it comes first for every request it matches.
//
// Ports: an HTTPRoute rule cannot match a port, and a Service backendRef needs one. A single-port Service
// gets one route with its port on each production backendRef; a multi-port Service one route per port
// (`<name>-<port>`, its parentRef naming the port), holding the rules for that port. Istio applies a route
// without a parentRef port to every port and sends them all to the backendRef's port, which is why.

import type { Problem } from '../../errors.ts';
import { grantBuckets, grantName } from '../gateway/buckets.ts';
import { httpRouteHeaderProblem, refersToService, withPort } from '../gateway/shape.ts';
import { serialize } from '../overrides.ts';
import { MANAGED_LABEL, MANAGED_VALUE, OVERRIDES_ANNOTATION } from '../ownership.ts';
import { withRecord } from './merge.ts';
import { managedMetadata } from './metadata.ts';
import { templatePortProblem } from '../routing/ports.ts';
import type { RoutingRule, RoutingTable } from '../routing/table.ts';
import type { KubeObject } from '../types.ts';

export interface BackendRef {
  group?: string;
  kind?: string;
  name: string;
  namespace?: string;
  port?: number;
  weight?: number;
  [key: string]: unknown;
}

export interface HTTPRouteRule {
  matches?: Record<string, unknown>[];
  backendRefs?: BackendRef[];
  [key: string]: unknown;
}

/** A Gateway API ReferenceGrant (v1beta1) as vsop renders and reads it: its spec holds from and to lists. */
export interface ReferenceGrant extends KubeObject {
  spec: Record<string, unknown>;
}

export interface HTTPRoute extends KubeObject {
  spec: {
    parentRefs?: Record<string, unknown>[];
    rules?: HTTPRouteRule[];
    [key: string]: unknown;
  };
}

/** The Gateway API's header match types for vsop's; a prefix has none (HTTPHeaderMatch: Exact, RegularExpression). */
const HEADER_TYPES = { exact: 'Exact', regex: 'RegularExpression' } as const;

/**
 * The HTTPRoutes for one table. `base` is the template rendered for the Service (a fresh object this
 * function may take apart); `namespace` the production namespace. Warnings name rules that could not be
 * rendered (a prefix header, a template match on the same header) and weights with nothing to split.
 */
export function renderHTTPRoutes(base: HTTPRoute, table: RoutingTable, namespace: string): { httpRoutes: HTTPRoute[]; warnings: Problem[] } {
  const warnings: Problem[] = [];
  const service = table.service;
  const ports = table.ports;
  const scopes: (number | undefined)[] = ports.length <= 1 ? [undefined] : ports;
  // Each route of the Service records its overrides (the route commands read the first one).
  // A template backendRef naming a port the production Service lacks (warned once, not per port's route).
  (base.spec.rules ?? []).forEach((r, i) =>
    (Array.isArray(r.backendRefs) ? r.backendRefs : []).forEach((b, j) => {
      if (typeof b?.port !== 'number' || !refersToService(b, service, namespace, 'backend')) return;
      const why = templatePortProblem(b.port, service, namespace, ports);
      if (why) warnings.push({ source: `service ${namespace}/${service}`, path: `httpRouteTemplate: spec.rules[${i}].backendRefs[${j}].port`, message: why });
    }),
  );
  const overrides: Record<string, string> = table.overrides ? { [OVERRIDES_ANNOTATION]: serialize(table.overrides) } : {};
  const httpRoutes = scopes.map((scope) => {
    const name = scope === undefined ? base.metadata.name : `${base.metadata.name}-${scope}`;
    const source = `httproute ${namespace}/${name}`;
    const port = scope ?? ports[0];
    const own = (base.spec.rules ?? []).map((r) => withPort(r, service, namespace, port));
    const rules: HTTPRouteRule[] = [];
    const split = new Set<HTTPRouteRule>();
    own.forEach((r, i) => {
      const production = (r.backendRefs ?? []).map((b) => refersToService(b, service, namespace, 'backend'));
      if (production.includes(true)) {
        for (const rule of table.rules) {
          if (rule.port !== undefined && rule.port !== scope) continue;
          const v = variant(r, production, rule, service);
          if (typeof v === 'string') warnings.push({ source, path: `spec.rules[${i}]`, message: v });
          else rules.push(v);
        }
        if (production.length === 1 && r.backendRefs![0]!.weight === undefined) split.add(r);
      }
      rules.push(r);
    });
    if (table.weights.length > 0) {
      if (split.size === 0)
        warnings.push({
          source,
          path: 'spec.rules',
          message: 'weights are not rendered: the template has no rule that sends to the production Service alone (one backendRef, no weight)',
        });
      for (const r of split) rules[rules.indexOf(r)] = splitRule(r, table, port);
    }
    const route: HTTPRoute = withRecord({
      ...base,
      metadata: managedMetadata(base.metadata, name, namespace, service, overrides),
      spec: {
        ...base.spec,
        parentRefs: (base.spec.parentRefs ?? []).map((p) => (scope === undefined ? p : { ...p, port: scope })),
        rules,
      },
    });
    return route;
  });
  return { httpRoutes, warnings };
}

/**
 * The template rule standing in for one routing rule: each of its matches (or the default one, every
 * path) AND the rule's headers; production backendRefs swapped for the copy. A string says why it cannot
 * be rendered.
 */
function variant(r: HTTPRouteRule, production: boolean[], rule: RoutingRule, service: string): HTTPRouteRule | string {
  const headers: Record<string, unknown>[] = [];
  for (const h of rule.headers) {
    const why = httpRouteHeaderProblem(h);
    if (why) return `route ${rule.name} is not rendered: ${why}`;
    headers.push({ type: HEADER_TYPES[h.match as 'exact' | 'regex'], name: h.name, value: h.value });
  }
  const matches: Record<string, unknown>[] = [];
  for (const m of r.matches ?? [{}]) {
    const own = (Array.isArray(m.headers) ? m.headers : []) as Record<string, unknown>[];
    const clash = rule.headers.find((h) => own.some((o) => typeof o.name === 'string' && o.name.toLowerCase() === h.name.toLowerCase()));
    if (clash) return `matches on header ${clash.name} itself, so route ${rule.name} cannot stand in for it`;
    // Written out as the apiserver stores it: a match without a path matches every path (the CRD's default).
    matches.push({ path: { type: 'PathPrefix', value: '/' }, ...m, headers: [...own, ...headers] });
  }
  const backendRefs = r.backendRefs!.map((b, i) => {
    if (!production[i]) return b;
    const { name: _name, namespace: _ns, port, ...rest } = b;
    return { name: service, namespace: rule.backend.namespace, port: rule.backend.port ?? port, ...rest };
  });
  const { matches: _m, backendRefs: _b, ...rest } = r;
  return { matches, ...rest, backendRefs };
}

/**
 * Why weights cannot split this template's routes, or undefined: the renderer splits only rules that send
 * to the production Service alone (one backendRef, no weight), as renderHTTPRoutes does.
 */
export function httpRouteWeightProblem(base: HTTPRoute, service: string, namespace: string): string | undefined {
  const alone = (r: HTTPRouteRule) => r.backendRefs?.length === 1 && r.backendRefs[0]!.weight === undefined && refersToService(r.backendRefs[0]!, service, namespace, 'backend');
  if ((base.spec.rules ?? []).some(alone)) return undefined;
  return 'the template has no rule that sends to the production Service alone (one backendRef, no weight)';
}

/** The rule with its production backendRef split: each namespace's share to its copy, production the rest. */
function splitRule(r: HTTPRouteRule, table: RoutingTable, port: number | undefined): HTTPRouteRule {
  const production = r.backendRefs![0]!;
  const rest = 100 - table.weights.reduce((s, w) => s + w.percent, 0);
  return {
    ...r,
    backendRefs: [
      ...(rest > 0 ? [{ ...production, weight: rest }] : []),
      ...table.weights.map((w) => ({ name: table.service, namespace: w.namespace, port: production.port ?? port, weight: w.percent })),
    ],
  };
}

/**
 * The ReferenceGrants the routes need: a backendRef into another namespace is allowed only when that
 * namespace grants it (Gateway API ReferenceGrant, v1beta1). Per developer namespace routed to, the
 * grants allowing HTTPRoutes of the production namespace to reach exactly the Services they send to there:
 * one, `vsop-from-<production>`, for up to 16 Services (the CRD's maxItems on spec.to), else one per hash
 * bucket of at most 16 (gateway/buckets.ts grantBuckets, `vsop-from-<production>.<bits>`). Istio does
 * not enforce grants for mesh routes (pilot/pkg/config/kube/
 * gateway route_collections.go converts them with enforceRefGrant off); other GAMMA meshes may.
 */
export function referenceGrants(routes: readonly HTTPRoute[], production: string): ReferenceGrant[] {
  const byNamespace = new Map<string, Set<string>>();
  for (const route of routes) {
    for (const rule of route.spec.rules ?? []) {
      for (const b of rule.backendRefs ?? []) {
        if (b.namespace === undefined || b.namespace === production || (b.group ?? '') !== '' || (b.kind ?? 'Service') !== 'Service') continue;
        let names = byNamespace.get(b.namespace);
        if (!names) byNamespace.set(b.namespace, (names = new Set()));
        names.add(b.name);
      }
    }
  }
  return grantsOf(byNamespace, production);
}

/**
 * The grants allowing the production namespace's HTTPRoutes to reach the Services named in each namespace:
 * one per hash bucket of at most 16 names (gateway/buckets.ts), so one for up to 16. Sorted by namespace,
 * then bucket; names sorted.
 */
export function grantsOf(byNamespace: ReadonlyMap<string, ReadonlySet<string>>, production: string): ReferenceGrant[] {
  return [...byNamespace]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .flatMap(([namespace, names]) =>
      [...grantBuckets(names)].map(([bucket, inBucket]) => ({
        apiVersion: 'gateway.networking.k8s.io/v1beta1',
        kind: 'ReferenceGrant',
        metadata: { name: grantName(production, bucket), namespace, labels: { [MANAGED_LABEL]: MANAGED_VALUE } },
        spec: {
          from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: production }],
          to: inBucket.map((name) => ({ group: '', kind: 'Service', name })),
        },
      })),
    );
}

/**
 * The HTTPRoute CRD's size limits that a rendered route can break (Gateway API v1.3.0, standard channel,
 * gateway.networking.k8s.io_httproutes.yaml, v1): spec.rules maxItems 16; per rule, matches maxItems 64
 * and backendRefs maxItems 16; per match, headers maxItems 16; and the CEL rule on spec.rules "the total
 * number of matches across all rules in a route must be less than 128" (its expression is `<= 128`, so
 * 128 is allowed). A rule without matches counts one: the CRD defaults it to one match (PathPrefix /)
 * before the rule is evaluated.
 */
export const HTTPROUTE_LIMITS = { rules: 16, matches: 128, matchesPerRule: 64, backendRefsPerRule: 16, headersPerMatch: 16 } as const;

/**
 * Where one rendered HTTPRoute breaks the CRD's size limits (HTTPROUTE_LIMITS), each as a problem whose
 * path is in the route (`spec.rules`, `spec.rules[3].backendRefs`) and whose message gives the count and
 * the limit; empty when the apiserver's schema admits its sizes. The rules vsop adds (a variant per
 * developer namespace routed to and per hand route, for each template rule to production; a backendRef
 * per weighted namespace) are what make a route grow, so the count is of the route as rendered.
 */
export function httpRouteLimitProblems(route: HTTPRoute): Problem[] {
  const source = `httproute ${route.metadata.namespace}/${route.metadata.name}`;
  const rules = route.spec.rules ?? [];
  const L = HTTPROUTE_LIMITS;
  const out: Problem[] = [];
  if (rules.length > L.rules) out.push({ source, path: 'spec.rules', message: `${rules.length} rules, the Gateway API allows at most ${L.rules} per HTTPRoute` });
  const matches = rules.reduce((n, r) => n + (r.matches === undefined ? 1 : r.matches.length), 0);
  if (matches > L.matches) out.push({ source, path: 'spec.rules', message: `${matches} matches in all, the Gateway API allows at most ${L.matches} per HTTPRoute` });
  rules.forEach((r, i) => {
    const path = `spec.rules[${i}]`;
    if ((r.matches?.length ?? 0) > L.matchesPerRule)
      out.push({ source, path: `${path}.matches`, message: `${r.matches!.length} matches, the Gateway API allows at most ${L.matchesPerRule} per rule` });
    if ((r.backendRefs?.length ?? 0) > L.backendRefsPerRule)
      out.push({ source, path: `${path}.backendRefs`, message: `${r.backendRefs!.length} backendRefs, the Gateway API allows at most ${L.backendRefsPerRule} per rule` });
    (r.matches ?? []).forEach((m, j) => {
      const headers = Array.isArray(m.headers) ? m.headers.length : 0;
      if (headers > L.headersPerMatch)
        out.push({ source, path: `${path}.matches[${j}].headers`, message: `${headers} header matches, the Gateway API allows at most ${L.headersPerMatch} per match` });
    });
  });
  return out;
}
