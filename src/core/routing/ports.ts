// Ports, and the one rule that says whether a route to a developer's copy reaches it.

import type { Service } from '../types.ts';

/** A Service's ports, each once, ascending. */
export function distinctPorts(svc: Service): number[] {
  const ports = (svc.spec?.ports ?? []).map((p) => p.port).filter((p) => Number.isInteger(p));
  return [...new Set(ports)].sort((a, b) => a - b);
}

/**
 * The port a request on `listenerPort` reaches at a destination Service: the destination's explicit port
 * if the route names one, else the Service's only port if it has exactly one, else the listener's port.
 * Source: istio pilot/pkg/networking/core/route/route.go GetDestinationCluster.
 */
export function destinationPort(copyPorts: readonly number[], listenerPort: number, explicit?: number): number {
  if (explicit !== undefined) return explicit;
  if (copyPorts.length === 1) return copyPorts[0]!;
  return listenerPort;
}

/**
 * Whether a route to a copy with `copyPorts` reaches a port the copy has, for requests on `listenerPort`
 * (see destinationPort). Automatic and hand routes both render only when this holds, so a route never
 * sends requests to a port the copy does not serve.
 */
export function reaches(copyPorts: readonly number[], listenerPort: number, explicit?: number): boolean {
  return copyPorts.includes(destinationPort(copyPorts, listenerPort, explicit));
}
