// What `vsop status` says, as data: per production Service and developer namespace, where the routing
// header leads by the routing table (routing/table.ts), held to Istio's rules by witnesses traced through
// the objects as `vsop sync` leaves them (istio/verify.ts), and which other VirtualServices Istio uses for
// the host instead (plan findings). The differential test holds this view to trace, and trace to Istio.

import { takenRoutes, type Taken } from './istio/verify.ts';
import type { World } from './istio/trace.ts';
import type { Finding } from './plan.ts';
import type { Overrides } from './overrides.ts';
import type { NamespaceRouting, RoutingTable } from './routing/table.ts';
import type { VirtualService } from './types.ts';

export interface NamespaceStatus extends NamespaceRouting {
  /** Where header requests the table routes to a copy go instead, per port (another route, another VirtualService). */
  taken?: Taken[];
}

export interface ServiceStatus {
  service: string;
  /** vsop's VirtualService for it (namespace/name). */
  virtualService: string;
  /** Other VirtualServices Istio uses for the host, instead of vsop's, for requests from the production namespace. */
  shadowedBy: string[];
  /** Others that take the host only for requests from some developer namespaces. */
  shadowedFor: { other: string; callers: string[] }[];
  overrides: Overrides | null;
  namespaces: NamespaceStatus[];
}

export interface StatusInput {
  defaultNamespace: string;
  tables: readonly RoutingTable[];
  /** vsop's desired VirtualServices, in the tables' order. */
  virtualServices: readonly VirtualService[];
  findings: readonly Finding[];
  /** The objects as `vsop sync` would leave them (reconcile.ts worldAfter). */
  world: World;
}

export function statusView(input: StatusInput): ServiceStatus[] {
  const prod = input.defaultNamespace;
  const after = new Map(input.world.virtualServices.map((v) => [`${v.metadata.namespace}/${v.metadata.name}`, v]));
  const shadowing = new Map<string, Finding[]>();
  for (const f of input.findings) if (f.code === 'shadowed' && f.service && f.other) shadowing.set(f.service, [...(shadowing.get(f.service) ?? []), f]);
  return input.tables.map((table, i) => {
    const desired = input.virtualServices[i]!;
    const key = `${desired.metadata.namespace}/${desired.metadata.name}`;
    const live = after.get(key);
    const shadows = shadowing.get(table.service) ?? [];
    // table.namespaces: resolve with `routing` fills it in.
    const namespaces = table.namespaces.map((n): NamespaceStatus => {
      if (n.route.state !== 'route' && n.route.state !== 'fallback') return n;
      const taken = takenFrom(input.world, live, table, n.namespace, prod);
      return taken.length ? { ...n, taken } : n;
    });
    return {
      service: table.service,
      virtualService: key,
      shadowedBy: shadows.filter((f) => f.callers?.includes(prod)).map((f) => f.other!),
      shadowedFor: shadows.filter((f) => !f.callers?.includes(prod)).map((f) => ({ other: f.other!, callers: f.callers ?? [] })),
      overrides: table.overrides ?? null,
      namespaces,
    };
  });
}

/**
 * Routes someone else added to vsop's VirtualServices that take header requests vsop routes to a copy
 * (found as status finds them: witnesses traced through the objects as sync leaves them). vsop keeps such
 * routes where they are, so it says so: one `taken` warning per route, naming the namespaces it takes.
 * Only VirtualServices holding routes vsop did not render are looked at.
 */
export function takenFindings(input: Omit<StatusInput, 'findings'>): Finding[] {
  const prod = input.defaultNamespace;
  const after = new Map(input.world.virtualServices.map((v) => [`${v.metadata.namespace}/${v.metadata.name}`, v]));
  const out: Finding[] = [];
  input.tables.forEach((table, i) => {
    const desired = input.virtualServices[i]!;
    const key = `${desired.metadata.namespace}/${desired.metadata.name}`;
    const live = after.get(key);
    const ours = new Set((desired.spec.http ?? []).map((r) => r.name));
    const foreign = new Set((Array.isArray(live?.spec.http) ? live.spec.http : []).map((r) => r.name).filter((n) => !ours.has(n)));
    // A route added by hand for one namespace can come to take another's automatic route after the fact
    // (that namespace's route reset, or the namespace newly configured): route add alone cannot prevent it.
    const hand = new Map(table.rules.filter((r) => r.origin === 'hand').map((r) => [r.name, r.namespace]));
    if (!live || (foreign.size === 0 && hand.size === 0)) return;
    const byRoute = new Map<string, string[]>();
    const devs = new Set(table.rules.filter((r) => r.origin === 'automatic').map((r) => r.namespace));
    for (const ns of devs) {
      for (const t of takenFrom(input.world, live, table, ns, prod)) {
        const name = t.by.startsWith('route ') ? t.by.slice('route '.length) : undefined;
        if (name === undefined || !(foreign.has(name) || (hand.has(name) && hand.get(name) !== ns))) continue;
        const list = byRoute.get(name) ?? [];
        if (!list.includes(ns)) byRoute.set(name, [...list, ns]);
      }
    }
    for (const [name, namespaces] of byRoute) {
      const owner = hand.get(name);
      out.push({
        code: 'taken',
        severity: 'warning',
        namespace: desired.metadata.namespace!,
        name: desired.metadata.name,
        service: table.service,
        message:
          owner === undefined
            ? `route ${name}, which vsop did not render, takes the header requests vsop routes to ${namespaces.join(', ')} before vsop's routes see them; vsop leaves routes others add where they are: move it below vsop's routes or narrow its match`
            : `route ${name}, added by hand for ${owner}, takes the header requests of ${namespaces.join(', ')}'s automatic route: take it away with vsop route reset ${table.service} -n ${owner}, or give ${namespaces.join(', ')} another header value`,
      });
    }
  });
  return out;
}

/** Where a namespace's automatic routes lose its header requests, traced from the production namespace. */
function takenFrom(world: World, live: VirtualService | undefined, table: RoutingTable, namespace: string, prod: string): Taken[] {
  const rules = table.rules.filter((r) => r.origin === 'automatic' && r.namespace === namespace).map((r) => ({ name: r.name, backend: r.backend.namespace }));
  return takenRoutes(world, live, rules, table.service, prod, prod, table.ports);
}
