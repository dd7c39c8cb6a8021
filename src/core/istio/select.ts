// Which VirtualService Istio applies to a host for sidecar (mesh) traffic. Istio does not merge
// VirtualServices for one host on sidecars: of those visible to the caller's namespace that bind to the
// mesh and yield routes for the port, the first in Istio's order wins; the others are ignored (IST0109).
// Sources: istio pilot/pkg/model/push_context.go (initVirtualServices: exportTo → private, exported,
// public; VirtualServicesForGateway: that order), pilot/pkg/model/config.go (sortConfigByCreationTime:
// creation time, then name, then namespace), pilot/pkg/networking/core/httproute.go (a duplicate
// virtual host is dropped, so the first wins).

import type { VirtualService } from '../types.ts';
import { hostCovers, qualify } from './hosts.ts';
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
export function istioOrder(a: VirtualService, b: VirtualService): number {
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

/** Whether a VirtualService names the host (a Service's FQDN), after Istio's short-name qualification. */
export function namesHost(vs: VirtualService, fqdn: string): boolean {
  const ns = vs.metadata.namespace ?? 'default';
  return (vs.spec.hosts ?? []).some((h) => hostCovers(qualify(h.toLowerCase(), ns), fqdn));
}

/** The VirtualService a sidecar in namespace `from` uses for `fqdn` on `port`, and those it ignores. */
export function selectVirtualService(virtualServices: readonly VirtualService[], fqdn: string, port: number, from: string): Selection {
  const candidates: { vs: VirtualService; bucket: number }[] = [];
  for (const vs of virtualServices) {
    if (!bindsToMesh(vs) || !namesHost(vs, fqdn)) continue;
    const bucket = visibility(vs, from);
    if (bucket !== undefined) candidates.push({ vs, bucket });
  }
  candidates.sort((a, b) => a.bucket - b.bucket || istioOrder(a.vs, b.vs));
  const out: Selection = { ignored: [] };
  for (const { vs } of candidates) {
    const routes = effectiveRoutes(vs.spec.http, port, from);
    if (routes.length === 0) continue; // no route for this port: Istio skips it here
    if (out.winner) out.ignored.push(vs);
    else out.winner = { virtualService: vs, routes };
  }
  return out;
}
