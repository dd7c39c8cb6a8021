// Changes to a Service's overrides, as route add / rm / reset and clear ask for them. Each is checked
// against the configuration and the Services that exist before anything is written, and is applied again
// to a fresh read when a write meets a conflict, so two people routing by hand never lose each other's
// change, nor does a sync running at the same time.

import { NotFoundError, UsageError } from '../errors.ts';
import { NO_OVERRIDES, type HeaderCondition, type HeaderRoute, type Overrides } from './overrides.ts';
import { destinationPort, distinctPorts, reaches } from './routing/ports.ts';
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
      const copyPorts = copy ? distinctPorts(copy) : [];
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
        routingHeaderProblem(req.headers, ns, ctx.config, current);
        const route: HeaderRoute = { namespace: ns, headers: req.headers, ...(req.port !== undefined ? { port: req.port } : {}), ...(req.force ? { force: true } : {}) };
        const same = routes.findIndex((r) => sameCondition(r, route));
        if (same >= 0 && routes[same]!.namespace !== ns) {
          throw new UsageError(`requests with ${describeHeaders(route.headers)} already go to ${routes[same]!.namespace}`, {
            hint: `take that route away first: vsop route reset ${ctx.service} -n ${routes[same]!.namespace}`,
          });
        }
        routes = same >= 0 ? routes.map((r, i) => (i === same ? route : r)) : [...routes, route];
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

/**
 * The routing header is the automatic routes' own: a hand route on it may only add a value no namespace
 * answers to (an exact one), or it would take another namespace's requests, or its own, away.
 */
function routingHeaderProblem(headers: readonly HeaderCondition[], ns: string, config: Config, current: Overrides): void {
  const h = headers.find((x) => x.name.toLowerCase() === config.routingHeader.toLowerCase());
  if (!h) return;
  if (h.match !== 'exact') {
    throw new UsageError(`--header ${h.name} with --match ${h.match} would take requests meant for other developer namespaces: ${config.routingHeader} is vsop's routing header`, {
      hint: `route by another header, or by an exact ${config.routingHeader} value no namespace uses`,
    });
  }
  const owner = config.developerNamespaces.find((d) => d.headerValue === h.value);
  // Once the owner's automatic route is taken away (route rm, clear), the value is free to route by hand.
  if (owner && !current.cleared && !current.removed.includes(owner.name)) {
    throw new UsageError(
      owner.name === ns
        ? `requests with ${config.routingHeader}: ${h.value} already go to ${ns} (its automatic route)`
        : `requests with ${config.routingHeader}: ${h.value} are ${owner.name}'s: its automatic route sends them there`,
      { hint: `route by another header or value; to take ${owner.name}'s automatic route away: vsop route rm SERVICE -n ${owner.name}` },
    );
  }
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
