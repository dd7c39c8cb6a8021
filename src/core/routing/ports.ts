// Ports, and the one rule that says whether a route to a developer's copy reaches it.

import type { Service } from '../types.ts';

/** A Service's ports, each once, ascending. */
export function distinctPorts(svc: Service): number[] {
  const ports = (svc.spec?.ports ?? []).map((p) => p.port).filter((p) => Number.isInteger(p));
  return [...new Set(ports)].sort((a, b) => a - b);
}

/**
 * The ports a route can reach on a Service (a developer's copy), each once, ascending: every port but one
 * served only over UDP. Istio builds no outbound cluster for a UDP port (its kube Service conversion gives
 * the port protocol UDP, and the sidecar's cluster builder skips those), so a route to a copy whose port
 * is only UDP names a cluster that does not exist and Envoy answers 503; checked against Istio's
 * simulation (test/integration/xds-udp-copy.test.ts: missingClusters). A number served over TCP and UDP
 * (DNS's 53) counts; SCTP counts too, as Istio builds its cluster.
 */
export function routablePorts(svc: Service): number[] {
  const ports = (svc.spec?.ports ?? [])
    .filter((p) => p.protocol !== 'UDP')
    .map((p) => p.port)
    .filter((p) => Number.isInteger(p));
  return [...new Set(ports)].sort((a, b) => a - b);
}

/**
 * The port a request on `listenerPort` reaches at a destination Service, for sidecars: the destination's
 * explicit port if the route names one, else the listener's port. Istio's GetDestinationCluster
 * (pilot/pkg/networking/core/route/route.go) would take a Service's only port, but for sidecar routes it
 * is handed only the Services that have the listener's port (pilot/pkg/networking/core/httproute.go,
 * servicesByName), so a copy on another port gets the listener's port, a cluster it does not serve
 * (checked against Istio's simulation in test/integration/routing-truth.test.ts).
 */
export function destinationPort(listenerPort: number, explicit?: number): number {
  return explicit ?? listenerPort;
}

/**
 * Whether a route to a copy with `copyPorts` reaches a port the copy serves, for requests on
 * `listenerPort` (see destinationPort). Automatic and hand routes both render only when this holds, so a
 * route never sends requests to a port the copy does not serve.
 */
export function reaches(copyPorts: readonly number[], listenerPort: number, explicit?: number): boolean {
  return copyPorts.includes(destinationPort(listenerPort, explicit));
}

/**
 * Why a template destination of the production Service cannot be reached, or undefined: it names `port`
 * explicitly and the Service (`namespace/service`, with `ports`, distinctPorts) has no such port. Istio
 * builds no outbound cluster for a port the Service lacks, so Envoy answers 503 to every request the route
 * takes (istio/trace.ts noSuchPort, which `vsop trace` prints); its developer variants carry the port too.
 */
export function templatePortProblem(port: number, service: string, namespace: string, ports: readonly number[]): string | undefined {
  if (ports.includes(port)) return undefined;
  const has = ports.length === 0 ? 'no port' : `port${ports.length === 1 ? '' : 's'} ${ports.join(', ')}`;
  return `sends to port ${port} of service ${namespace}/${service}, which has ${has}: Istio builds no cluster for it, so Envoy answers 503 to every request this route takes (see vsop trace)`;
}
