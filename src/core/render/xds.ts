// The xDS renderer: the routing tables (routing/table.ts) plus the Services and EndpointSlices that exist →
// the Envoy v3 resources `vsop xds` serves, in the proto3 JSON mapping with original (snake_case) field
// names and each resource's type URL as `@type`. One more rendering of the same table as the
// VirtualService and HTTPRoute renderers: no second resolver.
//
// Per production Service and TCP port (`<service>.<namespace>.svc.cluster.local:<port>`, the host:port a
// proxyless gRPC client names in `xds:///…`, which is the Listener it asks for; UDP and SCTP ports carry no
// HTTP, and get nothing):
// - a Listener with an API listener (gRPC's proxyless shape, gRFC A27): an HttpConnectionManager whose
//   route configuration comes over ADS (RDS) under the same name;
// - a RouteConfiguration with one virtual host for the Service's names: the table's rules in their order
//   (hand header routes, then each developer namespace's routing header, hierarchical fallback already
//   decided), each to the developer copy's cluster, then a catch-all to production, split by the weights;
//   the same order as the VirtualService the template's catch-all route gets;
// - a Cluster (EDS over ADS) per Service, namespace and port that a route sends to, named as Istio names
//   its outbound clusters (outbound|<port>||<host>);
// - a ClusterLoadAssignment per Cluster from the EndpointSlices of that Service (ready endpoints only).
//
// Not translated (yet): the rest of the template's routes (rewrites, timeouts, retries, routes to other
// hosts); only the table's decision is. Pure: no I/O, no protobuf code (the server encodes).

import type { Problem } from '../../errors.ts';
import { clusterName, serviceHost } from '../istio/hosts.ts';
import type { HeaderCondition } from '../overrides.ts';
import { DEFAULT_ROUTE_NAME } from '../ownership.ts';
import type { RoutingTable } from '../routing/table.ts';
import type { EndpointSlice, Service } from '../types.ts';

/** The type URL of each kind of resource served, as ADS requests name them. */
export const TYPE_URL = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoint: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;

export type XdsKind = keyof typeof TYPE_URL;
export const XDS_KINDS: readonly XdsKind[] = ['listener', 'route', 'cluster', 'endpoint'];

const HCM_TYPE = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER_TYPE = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';
/** The EndpointSlice label naming its Service (discovery.k8s.io/v1 LabelServiceName). */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** One resource in the proto3 JSON mapping: `@type` its type URL, the rest its fields (snake_case). */
export interface XdsResource {
  '@type': string;
  [field: string]: unknown;
}

/** Every resource to serve, per kind, each list sorted by resource name. */
export type XdsResources = Record<XdsKind, XdsResource[]>;

/** What the renderer reads of a routing table: the decision, which a running `vsop xds` may hold (src/xds/feed.ts). */
export type XdsRouting = Pick<RoutingTable, 'service' | 'ports' | 'rules' | 'weights'>;

export interface XdsInput {
  tables: readonly XdsRouting[];
  /** Every Service read (production and copies): the copies' port names lead to their EndpointSlices' ports. */
  services: readonly Service[];
  endpointSlices: readonly EndpointSlice[];
  /** The production namespace. */
  namespace: string;
}

/** The name ADS knows a resource by: `name`, or `cluster_name` for a ClusterLoadAssignment. */
export function resourceName(r: XdsResource): string {
  return (r.name ?? r.cluster_name) as string;
}

/** The Listener (and RouteConfiguration) name of a Service's port: the `xds:///` target's host:port. */
export function listenerName(service: string, namespace: string, port: number): string {
  return `${serviceHost(service, namespace)}:${port}`;
}

/**
 * The resources for every table. Deterministic: lists sorted by name, endpoints by address and port.
 * Warnings name EndpointSlices whose endpoints cannot be served (addressType FQDN, which gRPC and EDS
 * cannot take as a socket address).
 */
export function renderXds(input: XdsInput): { resources: XdsResources; warnings: Problem[] } {
  const { tables, namespace } = input;
  const warnings: Problem[] = [];
  const listeners: XdsResource[] = [];
  const routes: XdsResource[] = [];
  /** Cluster name → the Service copy and port it stands for. */
  const clusters = new Map<string, { service: string; namespace: string; port: number }>();
  const cluster = (service: string, ns: string, port: number) => {
    const name = clusterName(serviceHost(service, ns), port);
    if (!clusters.has(name)) clusters.set(name, { service, namespace: ns, port });
    return name;
  };
  const services = new Map(input.services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
  for (const table of tables) {
    const production = services.get(`${namespace}/${table.service}`);
    for (const port of table.ports) {
      if (production && !servesTcp(production, port)) continue;
      const name = listenerName(table.service, namespace, port);
      const toProduction = cluster(table.service, namespace, port);
      const http: XdsResource[] = [];
      for (const rule of table.rules) {
        if (rule.port !== undefined && rule.port !== port) continue;
        // Istio sends a rule without an explicit port to the port called (routing/ports.ts destinationPort).
        const to = cluster(table.service, rule.backend.namespace, rule.backend.port ?? port);
        http.push({ name: rule.name, match: { prefix: '/', headers: rule.headers.map(headerMatcher) }, route: { cluster: to } } as unknown as XdsResource);
      }
      http.push({ name: DEFAULT_ROUTE_NAME, match: { prefix: '/' }, route: defaultAction(table, toProduction, port, cluster) } as unknown as XdsResource);
      listeners.push(listener(name));
      routes.push({
        '@type': TYPE_URL.route,
        name,
        virtual_hosts: [{ name, domains: domains(table.service, namespace, port), routes: http }],
      });
    }
  }
  const endpoints = endpointIndex(input, services, warnings);
  const clusterList: XdsResource[] = [];
  const loadAssignments: XdsResource[] = [];
  for (const [name, c] of clusters) {
    clusterList.push({
      '@type': TYPE_URL.cluster,
      name,
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: name },
      lb_policy: 'ROUND_ROBIN',
    });
    loadAssignments.push(loadAssignment(name, endpoints(c.service, c.namespace, c.port)));
  }
  const byName = (a: XdsResource, b: XdsResource) => compare(resourceName(a), resourceName(b));
  return {
    resources: { listener: listeners.sort(byName), route: routes.sort(byName), cluster: clusterList.sort(byName), endpoint: loadAssignments.sort(byName) },
    warnings,
  };
}

/**
 * Whether a Service port number is served over TCP: a port's protocol is TCP when absent (core/v1
 * ServicePort). HTTP, and so every route, listener and cluster served here, runs over TCP; a UDP or SCTP
 * port gets none, as Istio builds no HTTP listener (nor applies a VirtualService's http routes) for it.
 * A number served over both (DNS's 53) counts as TCP.
 */
function servesTcp(svc: Service, port: number): boolean {
  return (svc.spec?.ports ?? []).some((p) => p.port === port && isTcp(p));
}

function isTcp(p: { protocol?: string }): boolean {
  return (p.protocol ?? 'TCP') === 'TCP';
}

/** The proxyless gRPC Listener: an API listener whose HttpConnectionManager takes its routes over ADS. */
function listener(name: string): XdsResource {
  return {
    '@type': TYPE_URL.listener,
    name,
    api_listener: {
      api_listener: {
        '@type': HCM_TYPE,
        stat_prefix: name,
        rds: { config_source: { ads: {}, resource_api_version: 'V3' }, route_config_name: name },
        http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': ROUTER_TYPE } }],
      },
    },
  };
}

/** What no rule catches: production, or the weights' split with production keeping the rest. */
function defaultAction(table: XdsRouting, production: string, port: number, cluster: (s: string, ns: string, p: number) => string): Record<string, unknown> {
  if (table.weights.length === 0) return { cluster: production };
  const rest = 100 - table.weights.reduce((s, w) => s + w.percent, 0);
  return {
    weighted_clusters: {
      clusters: [
        ...(rest > 0 ? [{ name: production, weight: rest }] : []),
        // A weight keeps the production destination's port, as the VirtualService's split does.
        ...table.weights.map((w) => ({ name: cluster(table.service, w.namespace, port), weight: w.percent })),
      ],
    },
  };
}

/**
 * A rule's condition as Envoy's HeaderMatcher. Header names are lower-cased: HTTP/2 and gRPC metadata
 * carry them so, and both Envoy and gRPC compare names that way. Regexes are RE2 and match the whole
 * value, as Istio's do (StringMatcher.safe_regex).
 */
function headerMatcher(h: HeaderCondition): Record<string, unknown> {
  const match = h.match === 'exact' ? { exact: h.value } : h.match === 'prefix' ? { prefix: h.value } : { safe_regex: { regex: h.value } };
  return { name: h.name.toLowerCase(), string_match: match };
}

/** The names a request may give the Service by, as Istio lists them for a virtual host: short to fully qualified, each with and without the port. */
function domains(service: string, namespace: string, port: number): string[] {
  const names = [service, `${service}.${namespace}`, `${service}.${namespace}.svc`, serviceHost(service, namespace)];
  return names.flatMap((n) => [n, `${n}:${port}`]);
}

interface Endpoint {
  address: string;
  port: number;
}

/**
 * The ready endpoints of a Service's port: the EndpointSlices labelled with the Service's name in its
 * namespace, their port of the same name as the Service port (discovery.k8s.io/v1: an EndpointSlice port's
 * name is the Service port's), each endpoint's first address (the addresses of one endpoint are fungible;
 * kube-proxy takes the first), those not ready left out. A Service or port that does not exist has none.
 */
function endpointIndex(input: XdsInput, services: ReadonlyMap<string, Service>, warnings: Problem[]): (service: string, namespace: string, port: number) => Endpoint[] {
  const slices = new Map<string, EndpointSlice[]>();
  for (const slice of input.endpointSlices) {
    const owner = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    if (!owner) continue;
    if (slice.addressType === 'FQDN') {
      warnings.push({ source: `endpointslice ${slice.metadata.namespace}/${slice.metadata.name}`, path: 'addressType', message: 'FQDN endpoints are not served over EDS' });
      continue;
    }
    const key = `${slice.metadata.namespace}/${owner}`;
    let list = slices.get(key);
    if (!list) slices.set(key, (list = []));
    list.push(slice);
  }
  return (service, namespace, port) => {
    const key = `${namespace}/${service}`;
    const servicePort = services.get(key)?.spec?.ports?.find((p) => p.port === port && isTcp(p));
    if (!servicePort) return [];
    const portName = servicePort.name ?? '';
    const seen = new Set<string>();
    const out: Endpoint[] = [];
    for (const slice of slices.get(key) ?? []) {
      const target = slice.ports?.find((p) => (p.name ?? '') === portName)?.port;
      if (target === undefined) continue;
      for (const e of slice.endpoints ?? []) {
        const address = e.addresses?.[0];
        if (address === undefined || e.conditions?.ready === false) continue;
        const id = `${address}|${target}`;
        if (seen.has(id)) continue;
        seen.add(id);
        out.push({ address, port: target });
      }
    }
    return out.sort((a, b) => compare(a.address, b.address) || a.port - b.port);
  };
}

/**
 * One ClusterLoadAssignment: the endpoints in one locality of weight 1 (gRPC leaves out localities without
 * a weight, gRFC A27), none when the copy has no ready endpoint.
 */
function loadAssignment(name: string, endpoints: readonly Endpoint[]): XdsResource {
  return {
    '@type': TYPE_URL.endpoint,
    cluster_name: name,
    endpoints:
      endpoints.length === 0
        ? []
        : [
            {
              locality: {},
              load_balancing_weight: 1,
              lb_endpoints: endpoints.map((e) => ({
                endpoint: { address: { socket_address: { address: e.address, port_value: e.port } } },
                health_status: 'HEALTHY',
              })),
            },
          ],
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
