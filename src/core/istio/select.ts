// Which VirtualService Istio applies to a host for sidecar (mesh) traffic. Istio does not merge
// VirtualServices for one host on sidecars: of those visible to the caller's namespace that bind to the
// mesh and yield routes for the port, the first in Istio's order wins; the others are ignored (IST0109).
// Sources: istio pilot/pkg/model/push_context.go (initVirtualServices: exportTo → private, exported,
// public; VirtualServicesForGateway: that order), pilot/pkg/model/config.go (sortConfigByCreationTime:
// creation time, then name, then namespace), pilot/pkg/networking/core/httproute.go (a duplicate
// virtual host is dropped, so the first wins). VirtualServices Istio generates from Gateway API routes
// (gateway.ts) are selected the same way, with SelectVirtualServices' preference for the caller's own
// namespace (model/virtualservice.go, gwExact) and route.go's rule that they apply only to callers in
// their namespace, unless that is the Service's (BuildSidecarVirtualHostWrapper).

import type { VirtualService } from '../types.ts';
import { usesGatewaySemantics } from './gateway.ts';
import { hostCovers, parseServiceHost, qualify } from './hosts.ts';
import { effectiveRoutes, type EffectiveRoute } from './match.ts';

export interface Selection {
  /** The VirtualService Istio uses, with the routes it sends for the port; undefined: the Service's default route. */
  winner?: { virtualService: VirtualService; routes: EffectiveRoute[] };
  /** VirtualServices that also name the host for this caller and port but are ignored, in Istio's order. */
  ignored: VirtualService[];
}

/** Whether a VirtualService applies to sidecars: no gateways, or "mesh" among them. */
export function bindsToMesh(vs: VirtualService): boolean {
  const gateways = vs.spec.gateways as string[] | undefined;
  return !Array.isArray(gateways) || gateways.length === 0 || gateways.includes('mesh');
}

/** 0: visible as private to the caller's namespace; 1: exported to it by name; 2: public; undefined: not visible. */
function visibility(vs: VirtualService, from: string): number | undefined {
  const ns = vs.metadata.namespace ?? 'default';
  const exportTo = vs.spec.exportTo as string[] | undefined;
  if (!Array.isArray(exportTo) || exportTo.length === 0 || exportTo.includes('*')) return 2;
  if (exportTo.includes('~')) return undefined;
  if (ns === from && exportTo.some((e) => e === '.' || e === ns)) return 0;
  if (exportTo.includes(from)) return 1;
  return undefined;
}

/**
 * Istio's order of VirtualServices: by creation time, then name, then namespace. An object with no
 * creationTimestamp is one vsop is about to create: it sorts after every existing one.
 */
function istioOrder(a: VirtualService, b: VirtualService): number {
  const ta = created(a);
  const tb = created(b);
  if (ta !== tb) return ta < tb ? -1 : 1;
  const na = a.metadata.name;
  const nb = b.metadata.name;
  if (na !== nb) return na < nb ? -1 : 1;
  const sa = a.metadata.namespace ?? '';
  const sb = b.metadata.namespace ?? '';
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function created(vs: VirtualService): number {
  const t = vs.metadata.creationTimestamp;
  if (typeof t !== 'string') return Number.POSITIVE_INFINITY;
  // Istio keeps whole seconds (Kubernetes timestamps), so equal seconds fall to the name.
  return Math.floor(Date.parse(t) / 1000);
}

/** The VirtualService's hosts, qualified in its own namespace and lower-cased; non-strings are skipped. */
function hostsOf(vs: VirtualService): string[] {
  const ns = vs.metadata.namespace ?? 'default';
  const hosts = Array.isArray(vs.spec.hosts) ? vs.spec.hosts : [];
  return hosts.filter((h): h is string => typeof h === 'string').map((h) => qualify(h.toLowerCase(), ns));
}

/** Whether a VirtualService names the host (a Service's FQDN), exactly or by a wildcard, after qualification. */
export function namesHost(vs: VirtualService, fqdn: string): boolean {
  return hostsOf(vs).some((h) => hostCovers(h, fqdn));
}

/**
 * The VirtualService a sidecar in namespace `from` uses for `fqdn` on `port`, and those it ignores. Those
 * naming the host exactly come first, and then no wildcard one applies; otherwise only the one with the
 * most specific wildcard host (the first in Istio's order holding it) may apply. Of the exact ones, the
 * first with a route for the port wins. Source: istio pilot/pkg/model/sidecar.go
 * computeWildcardHostVirtualServiceIndex, config.go MostSpecificHostMatch, and
 * pilot/pkg/networking/core/route/route.go separateVSHostsAndServices.
 */
export function selectVirtualService(virtualServices: readonly VirtualService[], fqdn: string, port: number, from: string): Selection {
  const visible: { vs: VirtualService; bucket: number; consumer: number; hosts: string[] }[] = [];
  const serviceNamespace = parseServiceHost(fqdn)?.namespace;
  for (const vs of virtualServices) {
    if (!bindsToMesh(vs)) continue;
    const hosts = hostsOf(vs).filter((h) => hostCovers(h, fqdn));
    if (hosts.length === 0) continue;
    // Gateway API routes apply to callers of their own namespace, or to all when they are the Service's.
    const gateway = usesGatewaySemantics(vs);
    if (gateway && vs.metadata.namespace !== serviceNamespace && vs.metadata.namespace !== from) continue;
    const bucket = visibility(vs, from);
    // Within a bucket the caller's own Gateway API routes come first (SelectVirtualServices, gwExact).
    if (bucket !== undefined) visible.push({ vs, bucket, consumer: gateway && vs.metadata.namespace === from ? 0 : 1, hosts });
  }
  visible.sort((a, b) => a.bucket - b.bucket || a.consumer - b.consumer || istioOrder(a.vs, b.vs));
  const exact = visible.filter((c) => c.hosts.includes(fqdn));
  let candidates: VirtualService[];
  if (exact.length > 0) candidates = exact.map((c) => c.vs);
  else {
    // The most specific wildcard: the longest; the first VirtualService in order that holds it.
    let best: { host: string; vs: VirtualService } | undefined;
    for (const c of visible) for (const h of c.hosts) if (!best || h.length > best.host.length) best = { host: h, vs: c.vs };
    candidates = best ? [best.vs] : [];
  }
  const out: Selection = { ignored: visible.map((c) => c.vs).filter((vs) => !candidates.includes(vs)) };
  for (const vs of candidates) {
    const routes = effectiveRoutes(vs.spec.http, port, from);
    if (routes.length === 0) continue; // no route for this port: Istio skips it here
    if (out.winner) out.ignored.push(vs);
    else out.winner = { virtualService: vs, routes };
  }
  return out;
}

/**
 * VirtualServices by the hosts they name (qualified in their own namespace), so that finding those that
 * may apply to one host does not scan them all: for a Service's host, those naming it exactly and every
 * wildcard one (selectVirtualService then decides), in input order. Built once per list.
 */
export function hostIndex(virtualServices: readonly VirtualService[]): (fqdn: string) => readonly VirtualService[] {
  const exact = new Map<string, VirtualService[]>();
  const wildcard: VirtualService[] = [];
  const position = new Map<VirtualService, number>();
  virtualServices.forEach((vs, i) => {
    position.set(vs, i);
    for (const h of new Set(hostsOf(vs))) {
      if (h.startsWith('*')) wildcard.push(vs);
      else exact.set(h, [...(exact.get(h) ?? []), vs]);
    }
  });
  return (fqdn) => {
    const named = exact.get(fqdn) ?? [];
    if (wildcard.length === 0) return named;
    return [...new Set([...named, ...wildcard])].sort((a, b) => position.get(a)! - position.get(b)!);
  };
}
