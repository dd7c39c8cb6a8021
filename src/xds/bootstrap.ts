// Bootstraps pointing xDS clients at `vsop xds` (`vsop xds bootstrap`). Plain JSON, no gRPC code.
//
// - gRPC (proxyless): the bootstrap file grpc-go, grpc-java and @grpc/grpc-js-xds read from
//   GRPC_XDS_BOOTSTRAP (a path) or GRPC_XDS_BOOTSTRAP_CONFIG (the JSON itself), gRFC A27's format: the
//   server, insecure channel credentials (vsop xds serves without TLS), xds_v3, and the node id. The
//   client then asks for the Listener named by its `xds:///host:port` target.
// - Envoy: ADS for clusters, endpoints and routes from vsop xds, and one static listener whose HTTP
//   connection manager takes the RouteConfiguration of one Service port over RDS. vsop serves gRPC's API
//   listeners, which Envoy does not take over LDS, so Envoy's listener lives in its bootstrap. Checked
//   against Envoy's API (go-control-plane's types and validation rules) in test/integration/xds-envoy.test.ts.

import { isIPv4, isIPv6 } from 'node:net';

/** A DNS name as RFC 1123 has it: labels of letters, digits and inner hyphens, at most 63 each, 253 in all. */
const DNS_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$/i;

/**
 * Why `text` is no address a client can dial: HOST:PORT, HOST a DNS name, an IPv4 address or an IPv6
 * one in brackets ([2001:db8::1]:18000, RFC 3986's form, which gRPC's target and Envoy's cluster take
 * apart the same way), PORT 1 to 65535. Undefined when it is one.
 */
export function serverProblem(text: string): string | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d+)$/.exec(text);
  if (!m) return 'is not HOST:PORT (an IPv6 address goes in brackets: [2001:db8::1]:18000)';
  const [, v6, host] = m;
  if (v6 !== undefined ? !isIPv6(v6) : !(isIPv4(host!) || (DNS_NAME.test(host!) && !/^[\d.]+$/.test(host!))))
    return `host ${JSON.stringify(v6 ?? host)} is not a DNS name, an IPv4 address or an IPv6 address in brackets`;
  return portProblem(m[3]!);
}

/** The RouteConfiguration names vsop xds serves: SERVICE.NAMESPACE.svc.cluster.local:PORT (core/render/xds.ts listenerName). */
const ROUTE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.svc\.cluster\.local:(\d+)$/;

/** Why `text` is no RouteConfiguration name vsop xds serves, or undefined. */
export function routeProblem(text: string): string | undefined {
  const m = ROUTE_NAME.exec(text);
  if (!m) return 'is not a Service port as vsop xds names its routes: SERVICE.NAMESPACE.svc.cluster.local:PORT (vsop xds render lists them)';
  return portProblem(m[3]!);
}

/**
 * Why `text` is no node id, or undefined: one or more printable ASCII characters, no white space. gRPC
 * and Envoy take any string, but the id ends up in logs, metrics and Envoy's stats, where a space or a
 * control character splits or garbles it.
 */
export function nodeIdProblem(text: string): string | undefined {
  return /^[\x21-\x7e]{1,256}$/.test(text) ? undefined : 'must be 1 to 256 printable ASCII characters, no white space';
}

function portProblem(digits: string): string | undefined {
  const port = Number(digits);
  return port >= 1 && port <= 65535 && !/^0\d/.test(digits) ? undefined : `port ${digits} is not from 1 to 65535`;
}

export interface BootstrapOptions {
  /** host:port of vsop xds. */
  server: string;
  nodeId: string;
}

export function grpcBootstrap(o: BootstrapOptions): Record<string, unknown> {
  return {
    xds_servers: [{ server_uri: o.server, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
    node: { id: o.nodeId, locality: {} },
  };
}

/** `route`: the RouteConfiguration (a Service's host:port, as vsop xds render names it); `listenPort`: where Envoy listens for it. */
export function envoyBootstrap(o: BootstrapOptions & { route: string; listenPort: number }): Record<string, unknown> {
  const at = o.server.lastIndexOf(':');
  const [host, port] = [o.server.slice(0, at).replace(/^\[(.*)\]$/, '$1'), Number(o.server.slice(at + 1))];
  const ads = { ads: {}, resource_api_version: 'V3' };
  return {
    node: { id: o.nodeId, cluster: o.nodeId },
    dynamic_resources: {
      ads_config: { api_type: 'GRPC', transport_api_version: 'V3', grpc_services: [{ envoy_grpc: { cluster_name: 'vsop-xds' } }] },
      cds_config: ads,
    },
    static_resources: {
      listeners: [
        {
          name: `vsop-${o.listenPort}`,
          address: { socket_address: { address: '0.0.0.0', port_value: o.listenPort } },
          filter_chains: [
            {
              filters: [
                {
                  name: 'envoy.filters.network.http_connection_manager',
                  typed_config: {
                    '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                    stat_prefix: `vsop-${o.listenPort}`,
                    // Envoy picks the virtual host by the whole Host header, port included (VirtualHost.domains):
                    // a client calling this listener sends `my-app:10000`, which no domain of the Service's
                    // names. Without the port, every name of the Service matches, whichever port was called.
                    strip_any_host_port: true,
                    rds: { config_source: ads, route_config_name: o.route },
                    http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router' } }],
                  },
                },
              ],
            },
          ],
        },
      ],
      clusters: [
        {
          name: 'vsop-xds',
          type: 'STRICT_DNS',
          // ADS is gRPC: HTTP/2 to vsop xds.
          typed_extension_protocol_options: {
            'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
              '@type': 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
              explicit_http_config: { http2_protocol_options: {} },
            },
          },
          load_assignment: { cluster_name: 'vsop-xds', endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: host, port_value: port } } } }] }] },
        },
      ],
    },
  };
}
