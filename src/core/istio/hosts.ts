// Host names as Istio reads them. Source: istio pilot/pkg/model/virtualservice.go
// (resolveVirtualServiceShortnames) and pkg/config/host: a dot-less host in a VirtualService is short
// for a Service in the VirtualService's own namespace; anything with a dot, and "*", are taken as written.

export const CLUSTER_DOMAIN = 'svc.cluster.local';

/** A host as Istio reads it in an object of `namespace` ("my-app" in default → my-app.default.svc.cluster.local). */
export function qualify(host: string, namespace: string): string {
  if (host === '*' || host.includes('.')) return host;
  return `${host}.${namespace}.${CLUSTER_DOMAIN}`;
}

/** The cluster-local name of a Service. */
export function serviceHost(name: string, namespace: string): string {
  return `${name}.${namespace}.${CLUSTER_DOMAIN}`;
}

/**
 * Whether a VirtualService host (already qualified) covers a Service's host: equal, or a wildcard
 * ("*.default.svc.cluster.local", "*") whose suffix it ends with. Source: istio pkg/config/host Name.Matches.
 */
export function hostCovers(vsHost: string, host: string): boolean {
  if (vsHost === host || vsHost === '*') return true;
  return vsHost.startsWith('*') && host.endsWith(vsHost.slice(1));
}

/** The Service a cluster-local host names, or undefined for any other host. */
export function parseServiceHost(host: string): { name: string; namespace: string } | undefined {
  const parts = host.split('.');
  if (parts.length < 2) return undefined;
  const rest = parts.slice(2).join('.');
  if (parts.length > 2 && rest !== 'svc' && rest !== CLUSTER_DOMAIN) return undefined;
  return { name: parts[0]!, namespace: parts[1]! };
}

/** Envoy's name for the outbound cluster of a host and port: outbound|80||my-app.default.svc.cluster.local. */
export function clusterName(host: string, port: number, subset = ''): string {
  return `outbound|${port}|${subset}|${host}`;
}
