// Holding the routing table's claims to Istio's rules: for each automatic route the table decides, a
// request built to meet it (a witness) is traced (trace.ts) through the objects as `vsop sync` leaves
// them. Where the witness meets another route or another VirtualService (a foreign route above that
// catches it, a VirtualService that shadows vsop's, a template bound only to a gateway, an object vsop
// could not write), the claim does not hold, and status says so instead of "route".

import { serviceHost } from './hosts.ts';
import { matches, type Request } from './match.ts';
import { traceRequest, type World } from './trace.ts';
import type { HttpRoute, VirtualService } from '../types.ts';

type StringMatch = { exact?: string; prefix?: string; regex?: string; pathSeparatedPrefix?: string };

/** Where a witness went instead of the route it was built for. */
export interface Taken {
  port: number;
  /**
   * "route catch-everything" (of vsop's VirtualService), "default/flagger-my-app" (another VirtualService),
   * "httproute default/canary rule 0", "httproute default/api (no rule matches)", or "no route".
   */
  by: string;
  /** The kind of the object `by` names when it is not vsop's: someone's HTTPRoute, or another VirtualService. */
  kind?: 'HTTPRoute' | 'VirtualService';
}

/**
 * Traces a witness for each rule's route (by name) of VirtualService `vs`, as a request from `from` to
 * the production Service `service` of `namespace`, and returns where each that could be built went instead
 * of the rule's backend (the copy in that namespace); empty when every witness reached it (or none could
 * be built: a regex or presence condition gives no value to send).
 */
export function takenRoutes(
  world: World,
  vs: VirtualService | undefined,
  rules: readonly { name: string; backend: string }[],
  service: string,
  namespace: string,
  from: string,
  ports: readonly number[],
): Taken[] {
  const http = vs && Array.isArray(vs.spec.http) ? vs.spec.http : [];
  const out: Taken[] = [];
  const host = serviceHost(service, namespace);
  for (const { name, backend } of rules) {
    const route = http.find((r) => r.name === name);
    if (!route) continue;
    const copy = serviceHost(service, backend);
    for (const port of portsOf(route, ports)) {
      const req = witness(route, { host, port, path: '/', method: 'GET', headers: {}, from });
      if (!req) continue;
      const a = traceRequest(world, req);
      // The claim holds when the witness reaches the copy, by this route or another variant of it.
      if (a.destinations?.length === 1 && a.destinations[0]!.host === copy) continue;
      const mine = a.virtualService && vs && a.virtualService.namespace === vs.metadata.namespace && a.virtualService.name === vs.metadata.name;
      const where = a.virtualService ? `${a.virtualService.namespace}/${a.virtualService.name}` : "the Service's default route";
      // A rule of an HTTPRoute is named by its route and index, whichever VirtualService Istio made of it;
      // a VirtualService Istio generated whose rules all miss, by the HTTPRoutes it merges (the user's objects).
      const rule = a.httpRoute
        ? `httproute ${a.httpRoute.namespace}/${a.httpRoute.name} rule ${a.httpRoute.rule}`
        : a.httpRoutes && a.httpRoutes.length > 0
          ? `httproute ${a.httpRoutes.join(', ')} (no rule matches)`
          : undefined;
      const other = !rule && !mine && a.virtualService ? { kind: 'VirtualService' as const } : {};
      out.push({
        port,
        by: rule ?? (mine ? `route ${a.route?.name ?? `#${a.route?.index ?? '?'}`}` : a.error && !a.virtualService ? a.error : where),
        ...(rule ? { kind: 'HTTPRoute' as const } : other),
      });
    }
  }
  return out;
}

/** The ports a route's witness is sent on: its match's port, else each of the Service's. */
function portsOf(route: HttpRoute, ports: readonly number[]): readonly number[] {
  const p = route.match?.[0]?.port;
  return typeof p === 'number' ? [p] : ports;
}

/**
 * A request that meets the route's first match, from its exact and prefix conditions, or undefined when
 * one cannot be built (a regex or presence-only condition whose value cannot be read off).
 */
function witness(route: HttpRoute, base: Request): Request | undefined {
  const m = route.match?.[0];
  if (!m) return base;
  const value = (sm: StringMatch | undefined): string | undefined => sm?.exact ?? sm?.prefix ?? sm?.pathSeparatedPrefix;
  const headers: Record<string, string> = {};
  for (const [name, sm] of Object.entries((m.headers ?? {}) as Record<string, StringMatch>)) {
    const v = value(sm);
    if (v === undefined) return undefined;
    headers[name] = v;
  }
  let path = value(m.uri as StringMatch | undefined) ?? base.path;
  const query = Object.entries((m.queryParams ?? {}) as Record<string, StringMatch>).map(([k, sm]) => `${k}=${value(sm) ?? ''}`);
  if (query.length) path += `?${query.join('&')}`;
  const method = value(m.method as StringMatch | undefined) ?? base.method;
  const req: Request = { ...base, path, method, headers };
  return matches(m, req) ? req : undefined;
}
