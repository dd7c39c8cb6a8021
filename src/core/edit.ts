// Changes to a Service's overrides, as route add / rm / reset and clear ask for them. Each is checked
// against the configuration and the Services that exist before anything is written, and is applied again
// to a fresh read when a write meets a conflict, so two people routing by hand never lose each other's
// change, nor does a sync running at the same time.

import { NotFoundError, UsageError } from '../errors.ts';
import { NO_OVERRIDES, type HeaderCondition, type HeaderRoute, type Overrides, routeIds } from './overrides.ts';
import { headerRouteName } from './ownership.ts';
import { httpRouteHeaderProblem } from './gateway/shape.ts';
import { HTTPROUTE_LIMITS } from './render/httproute.ts';
import { overlap, type RouteCondition, sharedHeaders, type Witness } from './routing/overlap.ts';
import { destinationPort, distinctPorts, reaches, routablePorts } from './routing/ports.ts';
import type { Config, Service } from './types.ts';

/** What an edit may look at: one production Service and the world around it. */
export interface OverrideContext {
  config: Config;
  service: string;
  production: Service;
  /** Real copies of the Service (placeholders excluded), by namespace. */
  copies: ReadonlyMap<string, Service>;
  /** Developer namespaces where only a placeholder stands in. */
  placeholders: ReadonlySet<string>;
  /** Why weights cannot split this Service's routes (its template has no route to split), or undefined; worked out only when asked. */
  weightProblem(): string | undefined;
}

export interface OverrideEdit {
  /** False when the result does not depend on the current overrides (so an unreadable annotation is no obstacle). */
  readsCurrent: boolean;
  apply(current: Overrides, ctx: OverrideContext): Overrides;
}

export interface RouteRequest {
  namespace: string;
  headers: HeaderCondition[];
  port?: number;
  weight?: number;
  force?: boolean;
}

/** route add: a header route, a weight, or both (as separate routes), for one developer namespace. */
export function addRoute(req: RouteRequest): OverrideEdit {
  return {
    readsCurrent: true,
    apply(current, ctx) {
      const ns = requireDeveloperNamespace(req.namespace, ctx.config);
      const label = `service ${ns}/${ctx.service}`;
      // Refused rather than rendered as something else: the rule could not be written as asked.
      if (ctx.config.routeKind === 'HTTPRoute') {
        for (const h of req.headers) {
          const why = httpRouteHeaderProblem(h);
          if (why) throw new UsageError(`--header ${h.name}=${h.value} --match ${h.match} cannot be routed with routeKind HTTPRoute: ${why}`);
        }
        // The CRD's limit per match (render/httproute.ts HTTPROUTE_LIMITS): the route's match could not be stored.
        const most = HTTPROUTE_LIMITS.headersPerMatch;
        if (req.headers.length > most) {
          throw new UsageError(`${req.headers.length} --header flags: at most ${most} header matches per route with routeKind HTTPRoute (the Gateway API's limit per match)`);
        }
      }
      const prodPorts = distinctPorts(ctx.production);
      const copy = ctx.copies.get(ns);
      if (!copy && !req.force) {
        throw new NotFoundError(ctx.placeholders.has(ns) ? `${label} is only a placeholder vsop created, not a real Service` : `${label} not found`, {
          hint: `deploy ${ctx.service} to ${ns} first, or pass --force to route there anyway (requests get errors until it exists)`,
        });
      }
      if (req.port !== undefined && !prodPorts.includes(req.port)) {
        throw new UsageError(`port ${req.port} is not a port of service ${ctx.config.defaultNamespace}/${ctx.service} (it has: ${prodPorts.join(', ') || 'none'})`);
      }
      // As the table renders (routing/ports.ts): a port the copy serves only over UDP is no port to route to.
      const copyPorts = copy ? routablePorts(copy) : [];
      if (copy && !req.force && req.port !== undefined && !copyPorts.includes(req.port)) {
        throw new NotFoundError(`${label} has no port ${req.port}`, { hint: 'pass --force to route there anyway' });
      }
      // The rule the table renders by (routing/ports.ts): a port the copy does not serve is never recorded.
      const scopes = prodPorts.length > 1 ? prodPorts : prodPorts.slice(0, 1);
      if (
        copy &&
        !req.force &&
        req.port === undefined &&
        req.headers.length > 0 &&
        scopes.length > 0 &&
        !scopes.some((p) => reaches(copyPorts, p, prodPorts.length > 1 ? p : undefined))
      ) {
        const wanted = [...new Set(scopes.map((p) => destinationPort(p, prodPorts.length > 1 ? p : undefined)))];
        throw new NotFoundError(`${label} has no port ${wanted.join(', ')}, where Istio would send these requests (it has: ${copyPorts.join(', ') || 'none'})`, {
          hint: 'give the copy that port, route one port with --port, or pass --force to route there anyway',
        });
      }
      let { routes, weights } = current;
      if (req.weight !== undefined) {
        const missing = prodPorts.filter((p) => !reaches(copyPorts, p, prodPorts.length > 1 ? p : undefined));
        if (copy && !req.force && missing.length > 0) {
          throw new NotFoundError(
            `${label} lacks port ${missing.join(', ')} of service ${ctx.config.defaultNamespace}/${ctx.service}, and a weight sends a share of every port's requests`,
            {
              hint: 'pass --force to send them anyway',
            },
          );
        }
        const why = ctx.weightProblem();
        if (why && req.weight > 0) throw new UsageError(`service ${ctx.config.defaultNamespace}/${ctx.service} cannot be split by weight: ${why}`);
        weights = weights.filter((w) => w.namespace !== ns);
        if (req.weight > 0) weights = [...weights, { namespace: ns, percent: req.weight, ...(req.force ? { force: true } : {}) }];
        const sum = weights.reduce((s, w) => s + w.percent, 0);
        if (sum > 100) {
          throw new UsageError(
            `weights for service ${ctx.config.defaultNamespace}/${ctx.service} would add up to ${sum}% (${weights.map((w) => `${w.namespace} ${w.percent}%`).join(', ')}); at most 100%`,
            {
              hint: "lower another namespace's weight first (route add --weight), or take it away (route reset -n NAMESPACE)",
            },
          );
        }
      }
      if (req.headers.length > 0) {
        const route: HeaderRoute = { namespace: ns, headers: req.headers, ...(req.port !== undefined ? { port: req.port } : {}), ...(req.force ? { force: true } : {}) };
        refuseTakenRequests(route, ctx, current);
        const same = routes.findIndex((r) => r.namespace === ns && sameCondition(r, route));
        // The same conditions again replace the route in place, keeping its number (and so its name).
        const keep = same >= 0 && routes[same]!.id !== undefined ? { id: routes[same]!.id } : {};
        routes = same >= 0 ? routes.map((r, i) => (i === same ? { ...route, ...keep } : r)) : [...routes, route];
      }
      return { ...current, routes, weights };
    },
  };
}

/** route rm: the namespace's header routes and weight go, and its automatic route is taken away. */
export function removeRoutes(namespace: string): OverrideEdit {
  return {
    readsCurrent: true,
    apply(current, ctx) {
      const ns = requireDeveloperNamespace(namespace, ctx.config);
      return {
        ...current,
        routes: current.routes.filter((r) => r.namespace !== ns),
        weights: current.weights.filter((w) => w.namespace !== ns),
        removed: current.removed.includes(ns) ? current.removed : [...current.removed, ns],
      };
    },
  };
}

/** route reset: back to automatic routing, for one namespace or the whole Service. */
export function resetOverrides(namespace?: string): OverrideEdit {
  if (namespace === undefined) return { readsCurrent: false, apply: () => NO_OVERRIDES };
  return {
    readsCurrent: true,
    apply(current, ctx) {
      const mentioned = current.routes.some((r) => r.namespace === namespace) || current.weights.some((w) => w.namespace === namespace) || current.removed.includes(namespace);
      // A namespace that left the config may still have overrides to drop; a typo has none.
      if (!mentioned) requireDeveloperNamespace(namespace, ctx.config);
      return {
        ...current,
        routes: current.routes.filter((r) => r.namespace !== namespace),
        weights: current.weights.filter((w) => w.namespace !== namespace),
        removed: current.removed.filter((n) => n !== namespace),
      };
    },
  };
}

/** clear: production only. Whatever was recorded before goes; routes added afterwards count again. */
export const clearRoutes: OverrideEdit = { readsCurrent: false, apply: () => ({ ...NO_OVERRIDES, cleared: true }) };

/** A route of another namespace that a new hand route must leave its requests to. */
interface Rival {
  namespace: string;
  condition: RouteCondition;
  /** Recorded by hand (undefined: the namespace's automatic route). */
  hand?: HeaderRoute;
  /** "dev-bob's route vsop-route-dev-bob-1 (x-cid equal to "bob")" */
  label: string;
  hint: string;
}

/**
 * A hand route must not take requests that another namespace's route catches, automatic or by hand, in
 * either order: refused when one request can match both (routing/overlap.ts, Istio's header rules) on a
 * header both test. Routes on different headers are not rivals, or no hand route could sit beside the
 * automatic ones: a request carrying both headers meets the one first in order (hand routes, in the
 * order added, before automatic ones). Two regexes that cannot be compared are refused unless forced.
 */
function refuseTakenRequests(route: HeaderRoute, ctx: OverrideContext, current: Overrides): void {
  const { config } = ctx;
  const ns = route.namespace;
  const own = config.developerNamespaces.find((d) => d.name === ns)!;
  const byHeader = routingValue(route, config);
  if (byHeader === own.headerValue && !current.cleared && !current.removed.includes(ns)) {
    throw new UsageError(`requests with ${config.routingHeader}: ${byHeader} already go to ${ns} (its automatic route)`, {
      hint: `route by another header or value; to take ${ns}'s automatic route away: vsop route rm ${ctx.service} -n ${ns}`,
    });
  }
  for (const rival of rivals(ns, ctx, current)) {
    if (sharedHeaders(route, rival.condition).length === 0) continue;
    const o = overlap(route, rival.condition);
    if (o.verdict === 'disjoint') continue;
    if (o.verdict === 'unknown') {
      if (route.force) continue;
      throw new UsageError(`cannot tell whether ${asFlags(route)} would take requests from ${rival.label}: ${o.reason}`, {
        hint: `pass --force to add it all the same (when you know no request can match both), or ${rival.hint}`,
      });
    }
    throw new UsageError(takenMessage(route, rival, o.witness, config), { hint: rival.hint });
  }
}

/** Other namespaces' hand routes (in the order recorded), then their automatic routes unless taken away. */
function rivals(ns: string, ctx: OverrideContext, current: Overrides): Rival[] {
  const out: Rival[] = [];
  const ids = routeIds(current.routes);
  for (const [i, r] of current.routes.entries()) {
    if (r.namespace === ns) continue;
    const port = r.port === undefined ? '' : `, port ${r.port}`;
    out.push({
      namespace: r.namespace,
      condition: r,
      hand: r,
      label: `${r.namespace}'s route ${headerRouteName(r.namespace, ids[i]!)} (${describeHeaders(r.headers)}${port})`,
      hint: `route by another header or value, or take ${r.namespace}'s routes away first: vsop route reset ${ctx.service} -n ${r.namespace}`,
    });
  }
  if (current.cleared) return out;
  for (const d of ctx.config.developerNamespaces) {
    if (d.name === ns || current.removed.includes(d.name)) continue;
    const headers: HeaderCondition[] = [{ name: ctx.config.routingHeader, value: d.headerValue, match: 'exact' }];
    out.push({
      namespace: d.name,
      condition: { headers },
      label: `${d.name}'s automatic route (${describeHeaders(headers)})`,
      hint: `route by another header or value; to take ${d.name}'s automatic route away: vsop route rm ${ctx.service} -n ${d.name}`,
    });
  }
  return out;
}

function takenMessage(route: HeaderRoute, rival: Rival, witness: Witness, config: Config): string {
  if (rival.hand && sameCondition(rival.hand, route)) return `requests with ${describeHeaders(route.headers)} already go to ${rival.namespace}`;
  const value = routingValue(route, config);
  if (!rival.hand && value !== undefined) return `requests with ${config.routingHeader}: ${value} are ${rival.namespace}'s: its automatic route sends them there`;
  const request = witness.map(([name, v]) => `${name}: ${JSON.stringify(v)}`).join(' and ');
  return `${asFlags(route)} would take requests meant for other developer namespaces: a request with ${request} would match both it and ${rival.label}`;
}

/** The exact value the route asks of the routing header, if any. */
function routingValue(route: HeaderRoute, config: Config): string | undefined {
  return route.headers.find((h) => h.match === 'exact' && h.name.toLowerCase() === config.routingHeader.toLowerCase())?.value;
}

/** The route as route add's flags ask for it. */
function asFlags(route: HeaderRoute): string {
  const match = route.headers[0]!.match;
  const port = route.port === undefined ? '' : ` --port ${route.port}`;
  if (route.headers.some((h) => h.match !== match)) return `the route with ${describeHeaders(route.headers)}${port}`;
  return `${route.headers.map((h) => `--header ${h.name}=${h.value}`).join(' ')}${match === 'exact' ? '' : ` with --match ${match}`}${port}`;
}

function requireDeveloperNamespace(ns: string, config: Config): string {
  if (config.developerNamespaces.some((d) => d.name === ns)) return ns;
  const names = config.developerNamespaces.map((d) => d.name);
  throw new UsageError(
    ns === config.defaultNamespace
      ? `namespace "${ns}" is the production namespace, not a developer namespace`
      : `namespace "${ns}" is not a developer namespace in the configuration`,
    { hint: names.length ? `developer namespaces: ${names.join(', ')} (add one to developerNamespaces in config.yaml)` : 'the configuration lists no developerNamespaces' },
  );
}

function sameCondition(a: HeaderRoute, b: HeaderRoute): boolean {
  const key = (r: HeaderRoute) => JSON.stringify([r.port ?? null, [...r.headers].sort((x, y) => (x.name < y.name ? -1 : 1)).map((h) => [h.name, h.match, h.value])]);
  return key(a) === key(b);
}

export function describeHeaders(headers: readonly HeaderCondition[]): string {
  const how = { exact: 'equal to', prefix: 'starting with', regex: 'matching' } as const;
  return headers.map((h) => `${h.name} ${how[h.match]} ${JSON.stringify(h.value)}`).join(' and ');
}
