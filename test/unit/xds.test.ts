// The xDS renderer (src/core/render/xds.ts): the same decision as the VirtualService, route for route and
// in the same order, checked against the VirtualService renderer (itself checked against Istio's
// simulation in test/integration/routing-truth.test.ts); endpoints from EndpointSlices, ready ones only.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Overrides } from '../../src/core/overrides.ts';
import { renderXds, TYPE_URL, type XdsResource } from '../../src/core/render/xds.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { EndpointSlice, Service } from '../../src/core/types.ts';
import { config, dns, headerRoute, overrides, service } from '../helpers/fixtures.ts';
import { runVsop } from '../helpers/run.ts';
import { envoyBootstrap } from '../../src/xds/bootstrap.ts';

function slice(
  namespace: string,
  svc: string,
  endpoints: { ip: string; ready?: boolean }[],
  opts: { portName?: string; port?: number; addressType?: string; name?: string } = {},
): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: opts.name ?? `${svc}-x`, namespace, labels: { 'kubernetes.io/service-name': svc } },
    addressType: opts.addressType ?? 'IPv4',
    ports: [{ ...(opts.portName ? { name: opts.portName } : {}), port: opts.port ?? 8080 }],
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], ...(e.ready === undefined ? {} : { conditions: { ready: e.ready } }) })),
  };
}

const HIERARCHY = config({ developerNamespaces: ['staging', { name: 'dev-alice', parent: 'staging' }, { name: 'dev-bob', parent: 'staging' }] });

function world(services: Service[], o?: Overrides, slices: EndpointSlice[] = [], cfg = HIERARCHY) {
  const r = resolve(cfg.config, cfg.template, services, { overrides: () => o });
  return { vs: r.virtualServices, xds: renderXds({ tables: r.tables, services, endpointSlices: slices, namespace: 'default' }) };
}

type Route = {
  name: string;
  match: { headers?: { name: string; string_match: Record<string, unknown> }[] };
  route: { cluster?: string; weighted_clusters?: { clusters: { name: string; weight: number }[] } };
};

function routesOf(r: XdsResource): Route[] {
  return (r.virtual_hosts as { routes: Route[] }[])[0]!.routes;
}

/** A route as (name, header conditions, destinations with weights), read from either output. */
function fromXds(r: Route) {
  const dest = r.route.cluster ? [[r.route.cluster, undefined]] : r.route.weighted_clusters!.clusters.map((c) => [c.name, c.weight]);
  return { name: r.name, headers: (r.match.headers ?? []).map((h) => `${h.name}:${JSON.stringify(h.string_match)}`), dest };
}

function fromVirtualService(
  r: { name?: string; match?: Record<string, unknown>[]; route?: { destination: { host: string; port?: { number: number } }; weight?: number }[] },
  port: number,
) {
  const headers = Object.entries((r.match?.[0]?.headers ?? {}) as Record<string, Record<string, string>>).map(([name, m]) => {
    const [kind, value] = Object.entries(m)[0]!;
    return `${name.toLowerCase()}:${JSON.stringify(kind === 'regex' ? { safe_regex: { regex: value } } : { [kind]: value })}`;
  });
  const dest = (r.route ?? []).map((d) => [`outbound|${d.destination.port?.number ?? port}||${d.destination.host}`, d.weight]);
  return { name: r.name, headers, dest };
}

describe('renderXds', () => {
  const cases: { name: string; services: Service[]; o?: Overrides }[] = [
    { name: 'automatic routes with hierarchical fallback', services: [service('default', 'my-app'), service('staging', 'my-app'), service('dev-alice', 'my-app')] },
    {
      name: 'hand routes before automatic ones, and weights on the catch-all',
      services: [service('default', 'my-app'), service('staging', 'my-app'), service('dev-alice', 'my-app')],
      o: overrides({
        routes: [headerRoute('dev-alice', 'X-Cid=alice'), headerRoute('staging', 'x-team=pay', { match: 'prefix' }), headerRoute('dev-alice', 'x-v=^v[0-9]+$', { match: 'regex' })],
        weights: [
          { namespace: 'staging', percent: 20 },
          { namespace: 'dev-alice', percent: 10 },
        ],
      }),
    },
    {
      name: 'every request weighed away from production',
      services: [service('default', 'my-app'), service('staging', 'my-app')],
      o: overrides({ weights: [{ namespace: 'staging', percent: 100 }] }),
    },
    { name: 'a removed namespace and no copies at all', services: [service('default', 'my-app'), service('dev-alice', 'my-app')], o: overrides({ removed: ['dev-alice'] }) },
  ];
  for (const c of cases) {
    it(`routes as the VirtualService does, in its order: ${c.name}`, () => {
      const { vs, xds } = world(c.services, c.o);
      assert.equal(xds.resources.route.length, 1);
      const got = routesOf(xds.resources.route[0]!).map(fromXds);
      const want = vs[0]!.spec.http!.map((r) => fromVirtualService(r, 80));
      assert.deepEqual(got, want);
    });
  }

  it('gives each port of a multi-port Service its listener, routes (port-scoped rules only there) and clusters', () => {
    const services = [service('default', 'my-app', { ports: [80, 9090] }), service('dev-alice', 'my-app', { ports: [80, 9090] }), service('staging', 'my-app', { ports: [80] })];
    const { xds } = world(services, overrides({ routes: [headerRoute('dev-alice', 'x-grpc=1', { port: 9090 })] }));
    assert.deepEqual(
      xds.resources.listener.map((l) => l.name),
      ['my-app.default.svc.cluster.local:80', 'my-app.default.svc.cluster.local:9090'],
    );
    const [r80, r9090] = xds.resources.route.map((r) => routesOf(r).map((x) => `${x.name}->${x.route.cluster}`));
    assert.deepEqual(r80, [
      'vsop-dev-staging-80->outbound|80||my-app.staging.svc.cluster.local',
      'vsop-dev-dev-alice-80->outbound|80||my-app.dev-alice.svc.cluster.local',
      'vsop-dev-dev-bob-80->outbound|80||my-app.staging.svc.cluster.local',
      'vsop-default->outbound|80||my-app.default.svc.cluster.local',
    ]);
    // Staging has no 9090: dev-bob's header stays with production there, dev-alice's reaches her copy.
    assert.deepEqual(r9090, [
      'vsop-route-dev-alice-1->outbound|9090||my-app.dev-alice.svc.cluster.local',
      'vsop-dev-dev-alice-9090->outbound|9090||my-app.dev-alice.svc.cluster.local',
      'vsop-default->outbound|9090||my-app.default.svc.cluster.local',
    ]);
    assert.deepEqual(
      xds.resources.cluster.map((c) => c.name),
      [
        'outbound|80||my-app.default.svc.cluster.local',
        'outbound|80||my-app.dev-alice.svc.cluster.local',
        'outbound|80||my-app.staging.svc.cluster.local',
        'outbound|9090||my-app.default.svc.cluster.local',
        'outbound|9090||my-app.dev-alice.svc.cluster.local',
      ],
    );
    assert.ok(xds.resources.cluster.every((c) => c['@type'] === TYPE_URL.cluster && c.type === 'EDS'));
  });

  it('serves ready endpoints only (unknown counts as ready), on the slice port named as the Service port, each once, sorted', () => {
    const prod: Service = {
      ...service('default', 'my-app'),
      spec: {
        ports: [
          { name: 'grpc', port: 80 },
          { name: 'admin', port: 81 },
        ],
      },
    };
    const slices = [
      slice('default', 'my-app', [{ ip: '10.0.0.9' }, { ip: '10.0.0.2', ready: true }, { ip: '10.0.0.3', ready: false }], { portName: 'grpc', port: 8080 }),
      slice('default', 'my-app', [{ ip: '10.0.0.2', ready: true }], { portName: 'grpc', port: 8080, name: 'my-app-y' }),
      slice('default', 'my-app', [{ ip: '10.0.0.4' }], { portName: 'admin', port: 9000, name: 'my-app-admin' }),
      slice('default', 'other', [{ ip: '10.9.9.9' }]),
      slice('default', 'my-app', [{ ip: 'db.example.com' }], { addressType: 'FQDN', name: 'my-app-fqdn' }),
    ];
    const { xds } = world([prod], undefined, slices);
    const cla = Object.fromEntries(
      xds.resources.endpoint.map((e) => [
        e.cluster_name,
        (e.endpoints as { lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[] }[]).flatMap((l) =>
          l.lb_endpoints.map((x) => `${x.endpoint.address.socket_address.address}:${x.endpoint.address.socket_address.port_value}`),
        ),
      ]),
    );
    assert.deepEqual(cla, {
      'outbound|80||my-app.default.svc.cluster.local': ['10.0.0.2:8080', '10.0.0.9:8080'],
      'outbound|81||my-app.default.svc.cluster.local': ['10.0.0.4:9000'],
    });
    assert.deepEqual(
      xds.warnings.map((w) => `${w.source}: ${w.message}`),
      ['endpointslice default/my-app-fqdn: FQDN endpoints are not served over EDS'],
    );
  });

  it('gives a copy without endpoints an empty assignment, and every locality a weight (gRPC drops those without)', () => {
    const { xds } = world([service('default', 'my-app'), service('staging', 'my-app')], undefined, [slice('default', 'my-app', [{ ip: '10.0.0.1' }])]);
    const staging = xds.resources.endpoint.find((e) => e.cluster_name === 'outbound|80||my-app.staging.svc.cluster.local')!;
    assert.deepEqual(staging.endpoints, []);
    // The fixture's Service port is unnamed: the slice port without a name serves it.
    const prod = xds.resources.endpoint.find((e) => e.cluster_name === 'outbound|80||my-app.default.svc.cluster.local')!;
    assert.equal((prod.endpoints as { load_balancing_weight: number }[])[0]!.load_balancing_weight, 1);
  });

  it('names the listener, its route configuration and the virtual host as the xds:/// target host:port', () => {
    const { xds } = world([service('default', 'my-app')]);
    const listener = xds.resources.listener[0]!;
    const hcm = (listener.api_listener as { api_listener: { '@type': string; rds: { route_config_name: string } } }).api_listener;
    assert.equal(hcm.rds.route_config_name, 'my-app.default.svc.cluster.local:80');
    assert.equal(xds.resources.route[0]!.name, 'my-app.default.svc.cluster.local:80');
    assert.ok((xds.resources.route[0]!.virtual_hosts as { domains: string[] }[])[0]!.domains.includes('my-app.default.svc.cluster.local:80'));
  });
});

describe('renderXds: TCP ports only', () => {
  it('serves no Listener, route or Cluster for a UDP or SCTP port (protocol absent is TCP); a number served over both is TCP, its endpoints those of the TCP port', () => {
    const ports = [
      { name: 'dns', port: 53, protocol: 'UDP' },
      { name: 'http', port: 8080 },
      { name: 'sig', port: 9000, protocol: 'SCTP' },
      { name: 'mdns-udp', port: 5353, protocol: 'UDP' },
      { name: 'mdns-tcp', port: 5353, protocol: 'TCP' },
    ];
    const svc = (namespace: string): Service => ({ ...service(namespace, 'my-app'), spec: { ports } });
    const mdns = {
      ...slice('default', 'my-app', [{ ip: '10.0.0.1' }]),
      ports: [
        { name: 'mdns-udp', port: 15353, protocol: 'UDP' },
        { name: 'mdns-tcp', port: 25353, protocol: 'TCP' },
      ],
    };
    const { xds } = world([svc('default'), svc('dev-alice')], undefined, [mdns]);
    const names = (kind: 'listener' | 'route' | 'cluster') => xds.resources[kind].map((r) => r.name);
    assert.deepEqual(names('listener'), ['my-app.default.svc.cluster.local:5353', 'my-app.default.svc.cluster.local:8080']);
    assert.deepEqual(names('route'), names('listener'));
    assert.deepEqual(names('cluster'), [
      'outbound|5353||my-app.default.svc.cluster.local',
      'outbound|5353||my-app.dev-alice.svc.cluster.local',
      'outbound|8080||my-app.default.svc.cluster.local',
      'outbound|8080||my-app.dev-alice.svc.cluster.local',
    ]);
    const cla = xds.resources.endpoint.find((e) => e.cluster_name === 'outbound|5353||my-app.default.svc.cluster.local')!;
    assert.equal(
      (cla.endpoints as { lb_endpoints: { endpoint: { address: { socket_address: { port_value: number } } } }[] }[])[0]!.lb_endpoints[0]!.endpoint.address.socket_address
        .port_value,
      25353,
    );
  });
});

describe('a developer copy whose port is only UDP is no destination (Istio builds no cluster for it)', () => {
  // Production serves 53 over TCP and UDP; the copies serve it over UDP alone (dev-alice) or over TCP (staging).
  const prod: Service = dns.production();
  const { udpOnly, tcp } = dns;
  const destinations = (w: ReturnType<typeof world>) => ({
    vs: (w.vs[0]!.spec.http as { name: string; route: { destination: { host: string } }[] }[]).map((r) => `${r.name} ${r.route[0]!.destination.host}`),
    xds: routesOf(w.xds.resources.route[0]!).map((r) => `${r.name} ${r.route.cluster}`),
  });

  it('gets no automatic route: its header falls back (to the parent, else production), in the VirtualService and over xDS alike', () => {
    const alone = destinations(world([prod, udpOnly('dev-alice')], undefined, [], config({ developerNamespaces: ['dev-alice'] })));
    assert.deepEqual(alone.vs, ['vsop-default dns.default.svc.cluster.local']);
    assert.deepEqual(alone.xds, ['vsop-default outbound|53||dns.default.svc.cluster.local']);
    const parent = destinations(world([prod, udpOnly('dev-alice'), tcp('staging')]));
    assert.deepEqual(parent.vs, [
      'vsop-dev-staging dns.staging.svc.cluster.local',
      'vsop-dev-dev-alice dns.staging.svc.cluster.local',
      'vsop-dev-dev-bob dns.staging.svc.cluster.local',
      'vsop-default dns.default.svc.cluster.local',
    ]);
    assert.deepEqual(parent.xds, [
      'vsop-dev-staging outbound|53||dns.staging.svc.cluster.local',
      'vsop-dev-dev-alice outbound|53||dns.staging.svc.cluster.local',
      'vsop-dev-dev-bob outbound|53||dns.staging.svc.cluster.local',
      'vsop-default outbound|53||dns.default.svc.cluster.local',
    ]);
  });

  it('takes no hand route or weight either: they wait for the copy to serve the port over TCP', () => {
    const o = overrides({ routes: [headerRoute('dev-alice', 'x-cid=alice')], weights: [{ namespace: 'dev-alice', percent: 10 }] });
    const r = resolve(config({ developerNamespaces: ['dev-alice'] }).config, config({ developerNamespaces: ['dev-alice'] }).template, [prod, udpOnly('dev-alice')], {
      overrides: () => o,
    });
    assert.deepEqual(r.tables[0]!.rules, []);
    assert.deepEqual(r.tables[0]!.weights, []);
    assert.ok(r.tables[0]!.warnings.some((w) => /waits for service dev-alice\/dns to have port 53/.test(w.message)));
  });
});

describe('virtual host domains: the Host a client sends finds the Service', () => {
  // Envoy picks a virtual host by the Host (:authority) header whole, port included
  // (RouteConfiguration.ignore_port_in_host_matching is off by default), unless the connection manager
  // strips the port first (HttpConnectionManager.strip_any_host_port); an exact domain first, then
  // wildcards, which vsop serves none of; no match is a 404 (route.v3.VirtualHost.domains). Host names are
  // compared without case. gRPC (gRFC A27) matches the channel's authority, the xds:/// target's host:port,
  // by the same rule, with no stripping. Written here because no Envoy runs in these tests.
  const matches = (domains: string[], host: string, strip: boolean) => {
    assert.ok(
      domains.every((d) => !d.includes('*')),
      'exact domains only: the exact rule is the whole rule',
    );
    return domains.includes((strip ? host.replace(/:\d+$/, '') : host).toLowerCase());
  };
  const svc: Service = { ...service('default', 'my-app'), spec: { ports: [{ name: 'http', port: 8080 }] } };
  const { xds } = world([svc]);
  const domains = (xds.resources.route[0]!.virtual_hosts as { domains: string[] }[])[0]!.domains;

  it("gRPC's authority, the listener's name, matches", () => {
    assert.ok(matches(domains, 'my-app.default.svc.cluster.local:8080', false));
  });

  it("what Envoy's listener is sent matches, with or without a port, whichever port Envoy listens on: the bootstrap strips it", () => {
    const b = envoyBootstrap({ server: 'xds.example:18000', nodeId: 'n', route: 'my-app.default.svc.cluster.local:8080', listenPort: 10000 });
    const hcm = (b as { static_resources: { listeners: { filter_chains: { filters: { typed_config: Record<string, unknown> }[] }[] }[] } }).static_resources.listeners[0]!
      .filter_chains[0]!.filters[0]!.typed_config;
    const strip = hcm.strip_any_host_port === true;
    for (const host of [
      'my-app',
      'my-app:10000',
      'my-app:8080',
      'My-App.default:10000',
      'my-app.default.svc:10000',
      'my-app.default.svc.cluster.local',
      'my-app.default.svc.cluster.local:10000',
    ]) {
      assert.ok(matches(domains, host, strip), host);
    }
    assert.equal(matches(domains, 'other:10000', strip), false, 'another host is no request for this Service (404)');
  });
});

describe('vsop xds bootstrap', () => {
  it("prints gRPC's bootstrap (its client reads it in test/integration/xds.test.ts), and refuses to guess the client kind", async () => {
    const grpc = await runVsop(['xds', 'bootstrap', '--grpc', '--server', '127.0.0.1:18000', '--node-id', 'n1']);
    assert.equal(grpc.code, 0, grpc.stderr);
    assert.deepEqual(JSON.parse(grpc.stdout), {
      xds_servers: [{ server_uri: '127.0.0.1:18000', channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'n1', locality: {} },
    });
  });

  it('refuses bad flags with exit 2, nothing printed, every problem named by its flag', async () => {
    const cases: [string[], RegExp[]][] = [
      [[], [/--grpc or --envoy is required/]],
      [['--grpc', '--envoy', '--route', 'a.b.svc.cluster.local:80'], [/--grpc and --envoy: give one/]],
      [['--envoy'], [/--envoy needs --route/]],
      [['--grpc', '--server', 'no-port'], [/--server "no-port" is not HOST:PORT/]],
      [['--grpc', '--server', 'xds.example:0'], [/--server "xds.example:0" port 0 is not from 1 to 65535/]],
      [['--grpc', '--server', 'xds.example:65536'], [/--server "xds.example:65536" port 65536/]],
      [['--grpc', '--server', 'bad host:80'], [/--server "bad host:80" host "bad host" is not a DNS name/]],
      [['--grpc', '--server', '2001:db8::1:18000'], [/--server "2001:db8::1:18000" is not HOST:PORT \(an IPv6 address goes in brackets/]],
      [['--grpc', '--server', '1.2.3:80'], [/host "1.2.3" is not/]],
      [['--grpc', '--node-id', 'a b'], [/--node-id "a b" must be 1 to 256 printable ASCII characters/]],
      [['--grpc', '--node-id', ''], [/--node-id ""/]],
      [['--envoy', '--route', 'my-app'], [/--route "my-app" is not a Service port as vsop xds names its routes/]],
      [['--envoy', '--route', 'my-app.default.svc.cluster.local:0'], [/--route .* port 0/]],
      [['--grpc', '--route', 'my-app.default.svc.cluster.local:80'], [/--route is for --envoy/]],
      [['--grpc', '--config-namespace', 'Not_A_Name'], [/--config-namespace \(in the default --server\)/]],
      [['--grpc', '--listen-port', '5'], [/--listen-port is for --envoy/]],
      // Flags of the cluster's that bootstrap reads nothing by: refused, not ignored.
      [['--grpc', '--config-name', 'foo'], [/--config-name does nothing for vsop xds bootstrap/]],
      [['--grpc', '--context', 'nope', '--kubeconfig', '/x'], [/--kubeconfig, --context do nothing for vsop xds bootstrap/]],
      // All at once: each problem, one error; both kinds given is the one problem of the kind (not also "--envoy needs --route").
      [
        ['--grpc', '--envoy', '--server', ':1', '--node-id', ''],
        [/--grpc and --envoy/, /--server ":1"/, /--node-id ""/, /^(?![\s\S]*needs --route)/],
      ],
    ];
    for (const [args, messages] of cases) {
      const r = await runVsop(['xds', 'bootstrap', ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', args.join(' '));
      for (const m of messages) assert.match(r.stderr, m, args.join(' '));
    }
    for (const server of ['[2001:db8::1]:18000', '10.0.0.1:1', 'vsop-xds.vsop-system.svc.cluster.local.:65535']) {
      const r = await runVsop(['xds', 'bootstrap', '--grpc', '--server', server]);
      assert.equal(r.code, 0, `${server}: ${r.stderr}`);
    }
  });

  it('refuses an inherited flag the command does not use (exit 2, named, nothing printed); one from the environment is no flag', async () => {
    for (const [args, message] of [
      [['xds', 'render', '-f', 'examples/xds', '--address', ':1'], /--address does nothing for vsop xds render/],
      [['xds', 'render', '-f', 'examples/xds', '--log-level', 'debug'], /--log-level does nothing for vsop xds render/],
      [['xds', '--log-format', 'console', 'render', '-f', 'examples/xds'], /--log-format does nothing for vsop xds render/],
    ] as const) {
      const r = await runVsop([...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message);
    }
    const fromEnv = await runVsop(['xds', 'bootstrap', '--grpc'], { env: { VSOP_CONFIG_NAME: 'foo' } });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    const heeded = await runVsop(['xds', 'render', '-f', 'examples/xds', '--no-color', '--request-timeout', '5s']);
    assert.equal(heeded.code, 0, heeded.stderr);
  });

  it("each xds command's help lists the inherited flags it heeds, and no others", async () => {
    const globals = async (args: string[]) => {
      const r = await runVsop([...args, '--help'], { env: { COLUMNS: '200' } });
      assert.equal(r.code, 0, r.stderr);
      return [...(r.stdout.split('Global Options:')[1] ?? '').split(/\n\n/)[0]!.matchAll(/^ {2}(--[\w-]+)/gm)].map((m) => m[1]);
    };
    const cluster = ['--config-namespace', '--config-name', '--kubeconfig', '--context', '--request-timeout'];
    assert.deepEqual(await globals(['xds']), cluster);
    assert.deepEqual(await globals(['xds', 'bootstrap']), ['--config-namespace']);
    assert.deepEqual(await globals(['xds', 'render']), [...cluster, '--no-color']);
  });

  it("points Envoy's ADS at the server and its static listener's RDS at the route given", async () => {
    const r = await runVsop(['xds', 'bootstrap', '--envoy', '--route', 'my-app.default.svc.cluster.local:80', '--server', 'xds.example:18000', '--listen-port', '8080']);
    assert.equal(r.code, 0, r.stderr);
    const b = JSON.parse(r.stdout);
    assert.deepEqual(b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address, { address: 'xds.example', port_value: 18000 });
    const hcm = b.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
    assert.equal(hcm.rds.route_config_name, 'my-app.default.svc.cluster.local:80');
    assert.equal(b.static_resources.listeners[0].address.socket_address.port_value, 8080);
  });
});
