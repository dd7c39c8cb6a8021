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

// Istio's rules for a VirtualService's hosts (pkg/config/validation/validation.go ValidateVirtualService,
// agent/validation.go ValidateWildcardDomain and ValidateDNS1123Labels, labels/instance.go): at most 255
// characters; a wildcard only as the first label ("*", "*.example.com", "*-foo"); every other label a
// DNS-1123 label (upper case allowed), a last label not all digits, an empty last label allowed
// ("istio.io."); an IP address is taken as is; "*" alone is refused on a VirtualService bound to the
// mesh (no gateways, or "mesh" among them). Hosts overlapping each other (host.Name.Matches) in one
// VirtualService are refused too.

const ISTIO_LABEL = /^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$/;
const ISTIO_WILDCARD_LABEL = /^(\*|(\*|\*-)?[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?)$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether Go's netip.ParseAddr takes `host` (IPv4 without leading zeros, or IPv6, with an optional zone). */
function isIpAddress(host: string): boolean {
  if (IPV4.test(host)) return true;
  if (!host.includes(':')) return false;
  try {
    new URL(`http://[${host.replace(/%.*$/, '')}]`); // WHATWG's IPv6 parser; a zone (%eth0) is Go's extra
    return true;
  } catch {
    return false;
  }
}

/** Why Istio refuses `host` in a VirtualService's hosts, in Istio's words, or undefined. */
export function virtualServiceHostProblem(host: string, boundToMesh: boolean): string | undefined {
  const why = wildcardDomainProblem(host);
  if (why !== undefined) return isIpAddress(host) ? undefined : why;
  if (boundToMesh && host === '*') return 'wildcard host * is not allowed for virtual services bound to the mesh gateway';
  return undefined;
}

function wildcardDomainProblem(domain: string): string | undefined {
  if (domain.length > 255) return `domain name ${JSON.stringify(domain)} too long (max 255)`;
  if (domain.length === 0) return 'empty domain name not allowed';
  const dot = domain.indexOf('.');
  const first = dot < 0 ? domain : domain.slice(0, dot);
  if (first.length > 63 || !ISTIO_WILDCARD_LABEL.test(first)) return `domain name ${JSON.stringify(domain)} invalid (label ${JSON.stringify(first)} invalid)`;
  if (dot < 0) return undefined;
  const parts = domain.slice(dot + 1).split('.');
  const top = parts.at(-1)!;
  if (/^[+-]?\d+$/.test(top)) return `domain name ${JSON.stringify(domain)} invalid (top level domain ${JSON.stringify(top)} cannot be all-numeric)`;
  for (const [i, label] of parts.entries()) {
    if (i === parts.length - 1 && label === '') return undefined;
    if (label.length > 63 || !ISTIO_LABEL.test(label)) return `domain name ${JSON.stringify(domain)} invalid (label ${JSON.stringify(label)} invalid)`;
  }
  return undefined;
}

/** Whether two hosts overlap, as Istio's host.Name.Matches says ("*.com" and "foo.com" do; "*.foo.com" and "foo.com" do not). */
export function hostsOverlap(a: string, b: string): boolean {
  const aw = a.startsWith('*');
  const bw = b.startsWith('*');
  if (aw && bw) return a.length < b.length ? b.slice(1).endsWith(a.slice(1)) : a.slice(1).endsWith(b.slice(1));
  if (aw) return b.endsWith(a.slice(1));
  if (bw) return a.endsWith(b.slice(1));
  return a === b;
}
