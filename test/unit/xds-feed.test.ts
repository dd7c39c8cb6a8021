// vsop xds keeping up with changes (src/xds/feed.ts and src/xds/server.ts together): the feed's informers
// read an in-memory cluster (InMemoryCluster below: lists and watches filtered as the apiserver filters
// them), and an ADS client on loopback subscribes by name to the resources of three production Services,
// as a proxyless gRPC client does, ACKing every response. A change to one Service renders that Service
// alone (vsop_xds_services_rendered_total), and the client is sent only what changed for it:
// RouteConfigurations and ClusterLoadAssignments of that Service alone, Listeners and Clusters whole (the
// xDS protocol's rule for state of the world). The ADS client is written here on purpose: it sees every
// response as sent, which a real client does not show (test/unit/xds-server.test.ts and
// test/integration/xds.test.ts use real ones).
//
// Every response of a stream arrives in the order it was sent, so "nothing else was sent" is checked
// without waiting: a change to another Service follows, and its response must be the next one.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { stringify } from 'yaml';
import { serialize } from '../../src/core/overrides.ts';
import { listenerName, TYPE_URL, XDS_KINDS, type XdsKind } from '../../src/core/render/xds.ts';
import type { EndpointSlice, KubeObject } from '../../src/core/types.ts';
import { ApiError } from '../../src/errors.ts';
import type { Collection, ObjectList, WatchEvent, WatchPort } from '../../src/k8s/port.ts';
import { createLogger } from '../../src/watch/log.ts';
import { XdsFeed } from '../../src/xds/feed.ts';
import { XdsMetrics } from '../../src/xds/metrics.ts';
import { decodeResource, decodeResponse, encodeRequest, type Response } from '../../src/xds/protos.ts';
import { AdsServer } from '../../src/xds/server.ts';
import { headerRoute, overrides, service, virtualService, withOverrides } from '../helpers/fixtures.ts';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';
const KIND: Record<string, string> = { services: 'Service', configmaps: 'ConfigMap', endpointslices: 'EndpointSlice', virtualservices: 'VirtualService' };

/**
 * The apiserver's list and watch, in memory: objects filtered by kind, namespace, `key=value` labels and
 * `metadata.name=` fields; the Gateway API's kinds answer 404 (not installed), which
 * the inputs read as none when optional. `emit` stores a change and sends it to the watches that cover it.
 */
class InMemoryCluster {
  private readonly objects = new Map<string, KubeObject>();
  private readonly watches = new Set<{ c: Collection; on: (e: WatchEvent<KubeObject>) => void }>();
  private rv = 1;

  constructor(objects: KubeObject[]) {
    for (const o of objects) this.objects.set(id(o), { ...o, metadata: { ...o.metadata, resourceVersion: String(this.rv++) } });
  }

  readonly port = {
    list: async <T extends KubeObject>(c: Collection): Promise<ObjectList<T>> => {
      if (!KIND[c.resource]) throw new ApiError(`the server could not find the requested resource (${c.resource})`, 404, 'NotFound');
      return { items: structuredClone([...this.objects.values()].filter((o) => covers(c, o))) as T[], resourceVersion: String(this.rv) };
    },
    watch: <T extends KubeObject>(c: Collection, _rv: string, on: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> =>
      new Promise<void>((resolve) => {
        const w = { c, on: on as (e: WatchEvent<KubeObject>) => void };
        this.watches.add(w);
        signal.addEventListener('abort', () => (this.watches.delete(w), resolve()), { once: true });
      }),
  } as unknown as WatchPort;

  emit(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject): void {
    const stored = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(this.rv++) } };
    if (type === 'DELETED') this.objects.delete(id(obj));
    else this.objects.set(id(obj), stored);
    for (const w of this.watches) if (covers(w.c, stored)) w.on({ type, object: structuredClone(stored) });
  }
}

const id = (o: KubeObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;

function covers(c: Collection, o: KubeObject): boolean {
  if (o.kind !== KIND[c.resource] || (c.namespace && o.metadata.namespace !== c.namespace)) return false;
  const [lk, lv] = c.labelSelector?.split('=') ?? [];
  if (lk && o.metadata.labels?.[lk] !== lv) return false;
  return !c.fieldSelector || c.fieldSelector === `metadata.name=${o.metadata.name}`;
}

function slice(namespace: string, svc: string, address: string): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-1`, namespace, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ port: 8080 }],
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
  };
}

const cluster = (svc: string, ns: string) => `outbound|80||${svc}.${ns}.svc.cluster.local`;
const SERVICES = ['a', 'b', 'c'];

/** What the client asks for, per kind: each Service's Listener and RouteConfiguration, Clusters and endpoints of both copies. */
const SUBSCRIBED: Record<XdsKind, string[]> = {
  listener: SERVICES.map((s) => listenerName(s, 'default', 80)),
  route: SERVICES.map((s) => listenerName(s, 'default', 80)),
  cluster: SERVICES.flatMap((s) => [cluster(s, 'default'), cluster(s, 'dev-alice')]),
  endpoint: SERVICES.flatMap((s) => [cluster(s, 'default'), cluster(s, 'dev-alice')]),
};

/** An ADS stream that asks for SUBSCRIBED, ACKs each response, and hands the responses over in order. */
function adsClient(address: string, subscribed: Record<XdsKind, string[]> = SUBSCRIBED) {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(ADS_PATH, encodeRequest, decodeResponse);
  const got: Response[] = [];
  let wake: (() => void) | undefined;
  call.on('data', (r: Response) => {
    call.write({ node: { id: 'feed-test' }, type_url: r.type_url, resource_names: subscribed[kindOf(r)], version_info: r.version_info, response_nonce: r.nonce });
    got.push(r);
    wake?.();
  });
  call.on('error', () => {});
  for (const kind of ['listener', 'route', 'cluster', 'endpoint'] as const) call.write({ node: { id: 'feed-test' }, type_url: TYPE_URL[kind], resource_names: subscribed[kind] });
  return {
    /** The next response: its kind and the names of the resources it carries. */
    async next(): Promise<{ kind: XdsKind; names: string[]; response: Response }> {
      const deadline = Date.now() + 10_000;
      while (got.length === 0) {
        if (Date.now() > deadline) throw new Error('no response within 10 s');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
      const r = got.shift()!;
      return { kind: kindOf(r), names: r.resources.map((any) => nameOf(decodeResource(any))).sort(), response: r };
    },
    close() {
      call.end();
      client.close();
    },
  };
}

const kindOf = (r: Response) => Object.entries(TYPE_URL).find(([, url]) => url === r.type_url)![0] as XdsKind;
const nameOf = (r: Record<string, unknown>) => (r.name ?? r.cluster_name) as string;

describe('vsop xds: a change renders and sends only what it bears on', () => {
  const world = new InMemoryCluster([
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'virtualservice-operator-config', namespace: 'vsop-system' },
      data: { 'config.yaml': stringify({ defaultNamespace: 'default', developerNamespaces: ['dev-alice'] }) },
    } as KubeObject,
    ...SERVICES.flatMap((s, i) => [service('default', s), service('dev-alice', s), slice('default', s, `10.0.0.${i + 1}`), slice('dev-alice', s, `10.0.1.${i + 1}`)]),
  ]);
  const metrics = new XdsMetrics();
  const log = createLogger(() => {}, 'error');
  const ads = new AdsServer({ log, metrics });
  const feed = new XdsFeed({ port: world.port, location: { namespace: 'vsop-system', name: 'virtualservice-operator-config' }, log, metrics, serve: (c) => ads.patch(c) });
  let client: ReturnType<typeof adsClient>;
  const rendered = async () => (await metrics.rendered.get()).values[0]?.value ?? 0;

  before(async () => {
    const port = await ads.listen('127.0.0.1:0');
    await feed.start();
    client = adsClient(`127.0.0.1:${port}`);
  });
  after(async () => {
    client?.close();
    await feed.stop();
    await ads.stop();
  });

  it('serves every Service at first, each kind once', async () => {
    const first = [await client.next(), await client.next(), await client.next(), await client.next()];
    assert.deepEqual(first.map((r) => r.kind).sort(), ['cluster', 'endpoint', 'listener', 'route']);
    for (const r of first) assert.deepEqual(r.names, [...SUBSCRIBED[r.kind]].sort(), r.kind);
    assert.equal(await rendered(), 3);
  });

  it("an endpoint of b's developer copy moves: b alone is rendered, and only its ClusterLoadAssignment is sent", async () => {
    world.emit('MODIFIED', slice('dev-alice', 'b', '10.0.1.99'));
    const r = await client.next();
    assert.deepEqual([r.kind, r.names], ['endpoint', [cluster('b', 'dev-alice')]]);
    const [cla] = r.response.resources.map(decodeResource) as { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string } } } }[] }[] }[];
    assert.equal(cla!.endpoints[0]!.lb_endpoints[0]!.endpoint.address.socket_address.address, '10.0.1.99');
    assert.equal(await rendered(), 4);
    // The next change's response comes next: nothing else was sent for b's.
    world.emit('MODIFIED', slice('default', 'c', '10.0.0.99'));
    const sentinel = await client.next();
    assert.deepEqual([sentinel.kind, sentinel.names], ['endpoint', [cluster('c', 'default')]]);
    assert.equal(await rendered(), 5);
  });

  it('a change that renders the same resources (a new resourceVersion, the same content) sends nothing: versions are content', async () => {
    world.emit('MODIFIED', slice('dev-alice', 'b', '10.0.1.99'));
    world.emit('MODIFIED', service('default', 'a'));
    world.emit('MODIFIED', slice('default', 'c', '10.0.0.3'));
    const r = await client.next();
    assert.deepEqual([r.kind, r.names], ['endpoint', [cluster('c', 'default')]]);
    // a and b were rendered again (one snapshot for the three events), and nothing of theirs was sent.
    assert.equal(await rendered(), 8);
  });

  it("b's developer copy goes: b's RouteConfiguration alone, and the Clusters whole (state of the world); no Listener", async () => {
    world.emit('DELETED', service('dev-alice', 'b'));
    world.emit('DELETED', slice('dev-alice', 'b', '10.0.1.99'));
    const clusters = await client.next();
    assert.deepEqual([clusters.kind, clusters.names], ['cluster', SUBSCRIBED.cluster.filter((n) => n !== cluster('b', 'dev-alice')).sort()]);
    const routes = await client.next();
    assert.deepEqual([routes.kind, routes.names], ['route', [listenerName('b', 'default', 80)]]);
    world.emit('MODIFIED', slice('default', 'a', '10.0.0.42'));
    const sentinel = await client.next();
    assert.deepEqual([sentinel.kind, sentinel.names], ['endpoint', [cluster('a', 'default')]]);
  });

  it('a production Service that goes is served no more: its Listener leaves the Listeners sent', async () => {
    world.emit('DELETED', service('default', 'c'));
    const kinds = new Map<XdsKind, string[]>();
    for (let i = 0; i < 2; i++) {
      const r = await client.next();
      kinds.set(r.kind, r.names);
    }
    assert.deepEqual(kinds.get('cluster'), [cluster('a', 'default'), cluster('a', 'dev-alice'), cluster('b', 'default')]);
    assert.deepEqual(kinds.get('listener'), [listenerName('a', 'default', 80), listenerName('b', 'default', 80)]);
  });
});

describe('vsop xds: overrides that cannot be read keep what was served, as Istio keeps the VirtualService', () => {
  const CONFIG = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'virtualservice-operator-config', namespace: 'vsop-system' },
    data: { 'config.yaml': stringify({ defaultNamespace: 'default', developerNamespaces: ['dev-alice'] }) },
  } as KubeObject;
  /** a's managed VirtualService, recording a hand route (route add a -n dev-alice --header x-cid=alice), or `text` as its annotation. */
  const recorded = (text?: string) =>
    withOverrides(virtualService('a-virtual-service', [], { service: 'a', hosts: ['a'] }), text ?? overrides({ routes: [headerRoute('dev-alice', 'x-cid=alice')] }));
  const UNREADABLE = '{"version": 1, "routes": [{"namespace": ';
  const headersOf = (r: Response) =>
    (r.resources.map(decodeResource) as { name: string; virtual_hosts: { routes: { match: { headers?: { name: string }[] } }[] }[] }[])
      .filter((rc) => rc.name === listenerName('a', 'default', 80))
      .flatMap((rc) => rc.virtual_hosts[0]!.routes.flatMap((route) => (route.match.headers ?? []).map((h) => h.name)));

  const addressesOf = (r: Response) =>
    (r.resources.map(decodeResource) as { endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string } } } }[] }[] }[]).flatMap((cla) =>
      cla.endpoints.flatMap((l) => l.lb_endpoints.map((e) => e.endpoint.address.socket_address.address)),
    );

  async function start(objects: KubeObject[]) {
    const world = new InMemoryCluster([
      CONFIG,
      ...SERVICES.flatMap((s, i) => [service('default', s), service('dev-alice', s), slice('default', s, `10.0.0.${i + 1}`), slice('dev-alice', s, `10.0.1.${i + 1}`)]),
      ...objects,
    ]);
    const metrics = new XdsMetrics();
    const lines: string[] = [];
    const log = createLogger((l) => lines.push(l), 'info');
    const ads = new AdsServer({ log, metrics });
    const feed = new XdsFeed({ port: world.port, location: { namespace: 'vsop-system', name: 'virtualservice-operator-config' }, log, metrics, serve: (c) => ads.patch(c) });
    const port = await ads.listen('127.0.0.1:0');
    await feed.start();
    const client = adsClient(`127.0.0.1:${port}`);
    const first = new Map<XdsKind, Awaited<ReturnType<typeof client.next>>>();
    for (let i = 0; i < 4; i++) {
      const r = await client.next();
      first.set(r.kind, r);
    }
    const unreadable = async () => (await metrics.unreadable.get()).values[0]?.value ?? 0;
    const stop = async () => {
      client.close();
      await feed.stop();
      await ads.stop();
    };
    return { world, client, first, lines, unreadable, stop };
  }

  it("a's annotation turns unreadable: a's routing is held (its hand route stays served), its endpoints follow the EndpointSlices; logged and counted; fixed, a is served again", async () => {
    const { world, client, first, lines, unreadable, stop } = await start([recorded()]);
    try {
      assert.deepEqual(headersOf(first.get('route')!.response), ['x-cid', 'x-developer'], 'the hand route is served, then the automatic one');
      world.emit('MODIFIED', recorded(UNREADABLE));
      // The next change's response comes next: nothing was sent for a (a RouteConfiguration without the hand route, say).
      world.emit('MODIFIED', slice('default', 'c', '10.0.0.99'));
      const sentinel = await client.next();
      assert.deepEqual([sentinel.kind, sentinel.names], ['endpoint', [cluster('c', 'default')]]);
      assert.equal(await unreadable(), 1);
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.service === 'a');
      assert.equal(logged?.msg, 'overrides unreadable, holding the last routing of this Service (its endpoints stay current)');
      assert.match(logged?.error, /virtualservice default\/a-virtual-service: annotation vsop\.io\/overrides: /);
      // A rollout while it is unreadable: a's production endpoint moves, and its ClusterLoadAssignment alone is sent.
      world.emit('MODIFIED', slice('default', 'a', '10.0.0.77'));
      const moved = await client.next();
      assert.deepEqual([moved.kind, moved.names], ['endpoint', [cluster('a', 'default')]]);
      assert.deepEqual(addressesOf(moved.response), ['10.0.0.77']);
      assert.equal(await unreadable(), 2);
      // Another hand route recorded: a is served again, with it, and the recovery is logged.
      world.emit('MODIFIED', recorded(serialize(overrides({ routes: [headerRoute('dev-alice', 'x-cid=alice'), headerRoute('dev-alice', 'x-team=blue')] }))));
      const route = await client.next();
      assert.deepEqual([route.kind, route.names], ['route', [listenerName('a', 'default', 80)]]);
      assert.deepEqual(headersOf(route.response), ['x-cid', 'x-team', 'x-developer']);
      assert.ok(lines.some((l) => JSON.parse(l).msg === 'overrides readable again, serving them'));
    } finally {
      await stop();
    }
  });

  it('unreadable from the start (a restart): a is served without its hand routes (production and the automatic route), logged and counted; fixed, the hand route is served', async () => {
    const { world, client, first, lines, unreadable, stop } = await start([recorded(UNREADABLE)]);
    try {
      assert.deepEqual(first.get('listener')!.names, SUBSCRIBED.listener.slice().sort());
      assert.deepEqual(headersOf(first.get('route')!.response), ['x-developer']);
      assert.equal(await unreadable(), 1);
      const logged = lines.map((l) => JSON.parse(l)).find((l) => l.service === 'a');
      assert.equal(logged?.msg, 'overrides unreadable, serving this Service without them (hand routes fall to the automatic routing) until they are fixed');
      assert.match(logged?.error, /virtualservice default\/a-virtual-service: annotation vsop\.io\/overrides: /);
      world.emit('MODIFIED', recorded());
      const route = await client.next();
      assert.deepEqual([route.kind, route.names], ['route', [listenerName('a', 'default', 80)]]);
      assert.deepEqual(headersOf(route.response), ['x-cid', 'x-developer']);
      assert.ok(lines.some((l) => JSON.parse(l).msg === 'overrides readable again, serving them'));
    } finally {
      await stop();
    }
  });
});

describe("vsop xds: a template that cannot render one Service's object still serves its routing", () => {
  // A name of 60 characters (Services may have 63) makes the template's metadata.name longer than the
  // apiserver's 253: sync and watch refuse that Service's VirtualService; xDS serves the routing table and
  // never the object, so the Service stays served (a tester's finding: a restarted vsop xds dropped it).
  const LONG = 'l'.repeat(60);
  const template = (suffix: string) =>
    stringify({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: `\${serviceName}-${suffix}` },
      spec: { hosts: ['${serviceName}'], http: [{ route: [{ destination: { host: '${serviceName}' } }] }] },
    });
  const configMap = (suffix: string) =>
    ({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'virtualservice-operator-config', namespace: 'vsop-system' },
      data: { 'config.yaml': stringify({ defaultNamespace: 'default', developerNamespaces: ['dev-alice'], virtualServiceTemplate: template(suffix) }) },
    }) as KubeObject;
  const names = ['a', LONG];
  const subscribed: Record<XdsKind, string[]> = {
    listener: names.map((s) => listenerName(s, 'default', 80)),
    route: names.map((s) => listenerName(s, 'default', 80)),
    cluster: names.flatMap((s) => [cluster(s, 'default'), cluster(s, 'dev-alice')]),
    endpoint: names.flatMap((s) => [cluster(s, 'default'), cluster(s, 'dev-alice')]),
  };

  it('serves it from its routing table (the developer route included), warns once, and says so at info when the template renders it again', async () => {
    const world = new InMemoryCluster([
      configMap('x'.repeat(200)),
      ...names.flatMap((s, i) => [service('default', s), service('dev-alice', s), slice('default', s, `10.0.0.${i + 1}`), slice('dev-alice', s, `10.0.1.${i + 1}`)]),
    ]);
    const metrics = new XdsMetrics();
    const lines: string[] = [];
    const log = createLogger((l) => lines.push(l), 'info');
    const ads = new AdsServer({ log, metrics });
    const feed = new XdsFeed({ port: world.port, location: { namespace: 'vsop-system', name: 'virtualservice-operator-config' }, log, metrics, serve: (c) => ads.patch(c) });
    const client = adsClient(`127.0.0.1:${await ads.listen('127.0.0.1:0')}`, subscribed);
    const about = () => lines.map((l) => JSON.parse(l)).filter((l) => l.service === LONG);
    try {
      await feed.start();
      const first = new Map<XdsKind, Awaited<ReturnType<typeof client.next>>>();
      for (let i = 0; i < 4; i++) {
        const r = await client.next();
        first.set(r.kind, r);
      }
      for (const kind of XDS_KINDS) assert.deepEqual(first.get(kind)!.names, [...subscribed[kind]].sort(), kind);
      const route = (first.get('route')!.response.resources.map(decodeResource) as { name: string; virtual_hosts: { routes: { route: { cluster: string } }[] }[] }[]).find(
        (rc) => rc.name === listenerName(LONG, 'default', 80),
      )!;
      assert.deepEqual(
        route.virtual_hosts[0]!.routes.map((r) => r.route.cluster),
        [cluster(LONG, 'dev-alice'), cluster(LONG, 'default')],
      );
      const warned = about();
      assert.equal(warned.length, 1, JSON.stringify(warned));
      assert.equal(
        warned[0].msg,
        "warning: the template cannot render this Service's VirtualService; serving its routing over xDS all the same (xDS never uses the rendered object)",
      );
      assert.match(warned[0].error, /metadata\.name: .* is longer than 253 characters/);

      // Its endpoints follow the EndpointSlices, and the warning is not said again.
      world.emit('MODIFIED', slice('default', LONG, '10.0.0.77'));
      const moved = await client.next();
      assert.deepEqual([moved.kind, moved.names], ['endpoint', [cluster(LONG, 'default')]]);
      assert.equal(about().length, 1);

      // A template whose name fits: the same routing (nothing sent), and the recovery at info.
      world.emit('MODIFIED', configMap('routes'));
      world.emit('MODIFIED', slice('default', 'a', '10.0.0.99'));
      const sentinel = await client.next();
      assert.deepEqual([sentinel.kind, sentinel.names], ['endpoint', [cluster('a', 'default')]]);
      assert.deepEqual(
        about().map((l) => [l.level, l.msg]),
        [
          ['info', warned[0].msg],
          ['info', "the template renders this Service's VirtualService again"],
        ],
      );
    } finally {
      client.close();
      await feed.stop();
      await ads.stop();
    }
  });
});

describe('vsop_xds_acks_total counts each response accepted once', () => {
  it('a request that keeps the version with other resource names subscribes, it does not ACK again (xDS protocol: an ACK answers one response, by its nonce)', async () => {
    const metrics = new XdsMetrics();
    const ads = new AdsServer({ log: createLogger(() => {}, 'error'), metrics });
    const port = await ads.listen('127.0.0.1:0');
    ads.update({ listener: [], route: [], cluster: [], endpoint: [] });
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const call = client.makeBidiStreamRequest(ADS_PATH, encodeRequest, decodeResponse);
    const got: Response[] = [];
    call.on('data', (r: Response) => got.push(r));
    call.on('error', () => {});
    const acks = async () => (await metrics.acks.get()).values.reduce((n, v) => n + v.value, 0);
    const pushes = async () => (await metrics.pushes.get()).values.reduce((n, v) => n + v.value, 0);
    try {
      call.write({ node: { id: 'ack-test' }, type_url: TYPE_URL.listener, resource_names: [] });
      for (let i = 0; i < 100 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      const [first] = got;
      assert.ok(first, 'no response');
      const answer = (names: string[]) => call.write({ type_url: TYPE_URL.listener, resource_names: names, version_info: first.version_info, response_nonce: first.nonce });
      answer([]);
      answer(['my-app.default.svc.cluster.local:80']);
      answer(['my-app.default.svc.cluster.local:80', 'other.default.svc.cluster.local:80']);
      // The stream's requests are handled in order: a request for another kind, answered, comes after them.
      call.write({ type_url: TYPE_URL.cluster, resource_names: [] });
      for (let i = 0; i < 100 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(got.length, 2, 'the cluster response');
      assert.equal(await pushes(), 2);
      assert.equal(await acks(), 1);
    } finally {
      call.end();
      client.close();
      await ads.stop();
    }
  });
});
