// npm run bench, xds part: `vsop xds` and `vsop watch` side by side on one test apiserver, fed by the same
// events, each figure beside the other's from the same run.
//   world: 1,000 production Services x 10 developer namespaces, copies of half (6,000 Services), each
//     Service with an EndpointSlice; `vsop watch` writes 1,000 VirtualServices, `vsop xds` serves 1,000
//     Listeners and RouteConfigurations and 6,000 Clusters and ClusterLoadAssignments
//   latency, 200 samples, one at a time, the next 100 ms after the last was seen: a developer Service and
//     its EndpointSlice created -> (xds) calls with the routing header reach the developer backend through
//     a real xDS client, @grpc/grpc-js-xds in this process, which calls until they do; (watch) its route
//     written, seen by a watch of the bench's own (bench/peer.ts Observer); both from the same instant, the
//     Service's create. Then both deleted -> header calls back on production, and the route gone.
//   resident memory and CPU seconds of both processes with 10,000 Services (4,000 more production
//     Services with their EndpointSlices: 5,000 served, 20,000 xDS resources), 3 s and 15 s after the work;
//     then the peak (VmHWM) once a new ConfigMap has had every Service rendered again (xds) and reconciled
//     (watch), the most memory deployments/xds.yaml's limit must allow
// The client dials what EndpointSlices say: the backends listen on this host's first non-loopback IPv4
// address (the apiserver refuses loopback and link-local addresses in EndpointSlices).
// VSOP_BENCH_XDS_SAMPLES and VSOP_BENCH_XDS_SIZE change the number of samples and of Services.

import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import * as xdsClient from '@grpc/grpc-js-xds';
import { stringify } from 'yaml';
import { startCluster } from '../test/harness/cluster.ts';
import { createNamespace } from '../test/harness/kube.ts';
import { freePort } from '../test/harness/processes.ts';
import { echoBackend, who } from '../test/helpers/echo.ts';
import { parseMetrics, startWatch } from '../test/helpers/watcher.ts';
import { TYPE_URL } from '../src/core/render/xds.ts';
import { decodeResource, decodeResponse, encodeRequest, type Response } from '../src/xds/protos.ts';
import { idle, Observer, processStats, vsop as watchTool } from './peer.ts';
import { forEachLimit, must, pct, sleep } from './util.ts';

const PROD = 1000;
const DEVS = 10;
const SAMPLES = Number(process.env.VSOP_BENCH_XDS_SAMPLES ?? 200);
const PACE_MS = 100;
const SIZE = Number(process.env.VSOP_BENCH_XDS_SIZE ?? 10_000);

const hasCopy = (s: number, d: number) => (s + d) % 2 === 0;
const vsName = (s: number) => `svc-${s}-virtual-service`;

/** This host's first IPv4 address that is neither loopback nor link-local. */
function hostAddress(): string {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal && !a.address.startsWith('169.254.')) return a.address;
  }
  throw new Error('no non-loopback IPv4 address on this host: EndpointSlices cannot name a backend here');
}

const service = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { clusterIP: 'None', selector: { app: name }, ports: [{ port: 80 }] } });
const endpointSlice = (name: string, address: string, port: number) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: `${name}-1`, labels: { 'kubernetes.io/service-name': name } },
  addressType: 'IPv4',
  ports: [{ port, protocol: 'TCP' }],
  endpoints: [{ addresses: [address], conditions: { ready: true } }],
});

/** Calls until `want` answers; resolves with when it first did (ms), or fails after `timeoutMs`. */
async function callsReach(client: grpc.Client, want: string, developer: string | undefined, timeoutMs: number): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if ((await who(client, developer, 5000).catch((e: grpc.ServiceError) => `error: ${e.code}`)) === want) return performance.now();
    if (performance.now() > deadline) throw new Error(`calls${developer ? ` with x-developer: ${developer}` : ''} did not reach ${want} within ${timeoutMs} ms`);
  }
}

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/**
 * What the server sends, seen on the wire: an ADS stream of the bench's own (protobufjs with the server's
 * descriptor, ACKing each response) subscribed to the sampled Services' RouteConfigurations and to their
 * developer copies' ClusterLoadAssignments. `until` resolves with the arrival time of the response after
 * which a Service's route sends to a cluster (or not) and that cluster has endpoints (or the route is gone).
 */
class Wire {
  private readonly routes = new Map<string, Set<string>>();
  private readonly endpoints = new Map<string, number>();
  private waiters: { check: () => boolean; resolve: (at: number) => void }[] = [];
  private readonly client: grpc.Client;

  constructor(address: string, names: { route: string[]; endpoint: string[] }) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure());
    const call = this.client.makeBidiStreamRequest(ADS_PATH, encodeRequest, decodeResponse);
    const ask = (type: 'route' | 'endpoint', r?: Response) =>
      call.write({
        node: { id: 'vsop-bench-wire' },
        type_url: TYPE_URL[type],
        resource_names: names[type],
        ...(r ? { version_info: r.version_info, response_nonce: r.nonce } : {}),
      });
    call.on('data', (r: Response) => {
      const at = performance.now();
      const type = r.type_url === TYPE_URL.route ? 'route' : 'endpoint';
      for (const any of r.resources ?? []) {
        const res = decodeResource(any) as {
          name?: string;
          cluster_name?: string;
          virtual_hosts?: { routes?: { route?: { cluster?: string } }[] }[];
          endpoints?: { lb_endpoints?: unknown[] }[];
        };
        if (type === 'route') this.routes.set(res.name!, new Set((res.virtual_hosts?.[0]?.routes ?? []).map((x) => x.route?.cluster ?? '')));
        else this.endpoints.set(res.cluster_name!, res.endpoints?.[0]?.lb_endpoints?.length ?? 0);
      }
      ask(type, r);
      this.waiters = this.waiters.filter((w) => !(w.check() && (w.resolve(at), true)));
    });
    call.on('error', () => {});
    ask('route');
    ask('endpoint');
  }

  until(route: string, cluster: string, present: boolean, timeoutMs: number): Promise<number> {
    const check = () => (this.routes.get(route)?.has(cluster) ?? false) === present && (!present || (this.endpoints.get(cluster) ?? 0) > 0);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${route}: ${present ? 'no route to' : 'still a route to'} ${cluster} after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ check, resolve: (at) => (clearTimeout(timer), resolve(at)) });
    });
  }

  close(): void {
    this.client.close();
  }
}

const cluster = await startCluster();
const admin = cluster.admin;
const clients: grpc.Client[] = [];
let backends: { port: number; server: grpc.Server }[] = [];
try {
  const address = hostAddress();
  backends = await Promise.all([echoBackend('production', '0.0.0.0'), echoBackend('developer', '0.0.0.0')]);
  const [prodPort, devPort] = backends.map((b) => b.port) as [number, number];
  const prod = await createNamespace(admin, 'prod');
  const devs = await Promise.all(Array.from({ length: DEVS }, (_, i) => createNamespace(admin, `dev${i}`)));
  const cfg = await createNamespace(admin, 'cfg');
  await must(admin, 'POST', `/api/v1/namespaces/${cfg}/configmaps`, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'virtualservice-operator-config' },
    data: { 'config.yaml': stringify({ defaultNamespace: prod, developerNamespaces: devs }) },
  });
  const create = (ns: string, name: string, port: number) =>
    must(admin, 'POST', `/api/v1/namespaces/${ns}/services`, service(name)).then(() =>
      must(admin, 'POST', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, endpointSlice(name, address, port)),
    );
  const world: { ns: string; name: string; port: number }[] = [];
  const expected = new Map<string, string[]>();
  for (let s = 0; s < PROD; s++) {
    world.push({ ns: prod, name: `svc-${s}`, port: prodPort });
    const copies = devs.filter((_, d) => hasCopy(s, d));
    for (const ns of copies) world.push({ ns, name: `svc-${s}`, port: devPort });
    expected.set(vsName(s), [...copies, prod]);
  }
  process.stderr.write(`bench: creating ${world.length} Services and their EndpointSlices\n`);
  await forEachLimit(world, 16, ({ ns, name, port }) => create(ns, name, port));

  const observer = new Observer(admin, prod);
  await observer.start();
  observer.expect(expected);
  const watch = await watchTool.start(cluster.adminKubeconfig, cfg);
  const adsPort = await freePort();
  const xds = await startWatch(['--config-namespace', cfg, 'xds', '--address', `127.0.0.1:${adsPort}`], {
    KUBECONFIG: cluster.adminKubeconfig,
    // As the image runs it (Dockerfile: the Node flag and ENV MALLOC_ARENA_MAX), as bench/peer.ts runs watch.
    NODE_OPTIONS: '--max-semi-space-size=1',
    MALLOC_ARENA_MAX: '2',
  });
  const xdsMetrics = async () => parseMetrics((await xds.get(`${xds.metrics}/metrics`)).body);
  try {
    const deadline = performance.now() + 600_000;
    while (!observer.converged || (await xds.get(`${xds.health}/readyz`)).status !== 200) {
      if (performance.now() > deadline) throw new Error('neither converged nor ready within 10 min');
      await sleep(200);
    }
    await idle(watch, 3000, 600_000);

    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${adsPort}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'vsop-bench', locality: {} },
    });
    xdsClient.register();
    const samples = Array.from({ length: SAMPLES }, (_, i) => {
      const s = (i * 5) % PROD;
      // A namespace without a copy of svc-s.
      const d = 2 * (i % 5) + (s % 2 === 0 ? 1 : 0);
      return { s, ns: devs[d]! };
    });
    process.stderr.write(`bench: ${SAMPLES} xDS channels, each to production first\n`);
    const channel = new Map<number, grpc.Client>();
    for (const { s } of samples) {
      if (channel.has(s)) continue;
      const c = new grpc.Client(`xds:///svc-${s}.${prod}.svc.cluster.local:80`, grpc.credentials.createInsecure());
      clients.push(c);
      channel.set(s, c);
      await callsReach(c, 'production', undefined, 30_000);
    }

    const routeOf = (s: number) => `svc-${s}.${prod}.svc.cluster.local:80`;
    const copyOf = (s: number, ns: string) => `outbound|80||svc-${s}.${ns}.svc.cluster.local`;
    const wire = new Wire(`127.0.0.1:${adsPort}`, { route: samples.map(({ s }) => routeOf(s)), endpoint: samples.map(({ s, ns }) => copyOf(s, ns)) });
    await sleep(1000);

    process.stderr.write('bench: latency\n');
    const lat = {
      xdsCreate: [] as number[],
      wireCreate: [] as number[],
      watchCreate: [] as number[],
      xdsDelete: [] as number[],
      wireDelete: [] as number[],
      watchDelete: [] as number[],
      floor: [] as number[],
    };
    for (const { s, ns } of samples) {
      const c = channel.get(s)!;
      let t = performance.now();
      const routed = observer.until(vsName(s), (r) => r?.includes(ns) ?? false, 60_000);
      const sent = wire.until(routeOf(s), copyOf(s, ns), true, 60_000);
      const reached = callsReach(c, 'developer', ns, 60_000);
      await create(ns, `svc-${s}`, devPort);
      lat.floor.push(performance.now() - t);
      lat.xdsCreate.push((await reached) - t);
      lat.wireCreate.push((await sent) - t);
      lat.watchCreate.push((await routed) - t);
      await sleep(PACE_MS);
      t = performance.now();
      const unrouted = observer.until(vsName(s), (r) => r !== undefined && !r.includes(ns), 60_000);
      const unsent = wire.until(routeOf(s), copyOf(s, ns), false, 60_000);
      const back = callsReach(c, 'production', ns, 60_000);
      await must(admin, 'DELETE', `/api/v1/namespaces/${ns}/services/svc-${s}`);
      await must(admin, 'DELETE', `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices/svc-${s}-1`);
      lat.xdsDelete.push((await back) - t);
      lat.wireDelete.push((await unsent) - t);
      lat.watchDelete.push((await unrouted) - t);
      await sleep(PACE_MS);
    }
    wire.close();
    const nacks = [...(await xdsMetrics())].filter(([k]) => k.startsWith('vsop_xds_nacks_total{')).reduce((n, [, v]) => n + v, 0);

    process.stderr.write(`bench: growing to ${SIZE} Services\n`);
    const more = Array.from({ length: SIZE - world.length }, (_, i) => ({ ns: prod, name: `svc-${PROD + i}`, port: prodPort }));
    await forEachLimit(more, 16, ({ ns, name, port }) => create(ns, name, port));
    const served = PROD + more.length;
    for (;;) {
      const m = await xdsMetrics();
      if (m.get('vsop_xds_resources{type="listener"}') === served) break;
      await sleep(500);
    }
    await idle(watch, 3000, 900_000);
    await sleep(3000);
    const early = { xds: processStats(xds.child.pid!).rssMB, watch: processStats(watch.pid).rssMB };
    await sleep(12_000);
    const late = { xds: processStats(xds.child.pid!).rssMB, watch: processStats(watch.pid).rssMB };
    const heapOf = async (url: string) => ((await fetch(url).then(async (r) => parseMetrics(await r.text()))).get('nodejs_heap_size_used_bytes') ?? 0) / 1048576;
    const heap = { xds: await heapOf(`${xds.metrics}/metrics`), watch: await heapOf(watch.metrics) };
    const resources = [...(await xdsMetrics())].filter(([k]) => k.startsWith('vsop_xds_resources{')).reduce((n, [, v]) => n + v, 0);
    const cpu = { xds: processStats(xds.child.pid!).cpuSeconds, watch: processStats(watch.pid).cpuSeconds };

    // The most memory either holds: a new ConfigMap (the same settings, one more comment line) renders every
    // Service again in one snapshot (watch reconciles every one), as a start with every Service there does.
    // What deployments/xds.yaml's limit must allow.
    const renderedBefore = (await xdsMetrics()).get('vsop_xds_services_rendered_total') ?? 0;
    await must(admin, 'PUT', `/api/v1/namespaces/${cfg}/configmaps/virtualservice-operator-config`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'virtualservice-operator-config', namespace: cfg },
      data: { 'config.yaml': `# every Service rendered again\n${stringify({ defaultNamespace: prod, developerNamespaces: devs })}` },
    });
    while (((await xdsMetrics()).get('vsop_xds_services_rendered_total') ?? 0) < renderedBefore + served) await sleep(500);
    await idle(watch, 3000, 900_000);
    const peak = { xds: processStats(xds.child.pid!).peakMB, watch: processStats(watch.pid).peakMB };

    const ms = (x: number) => `${x.toFixed(1)} ms`;
    const row = (xs: number[]) => `p50 ${ms(pct(xs, 50))}, p99 ${ms(pct(xs, 99))}`;
    console.log(`\nvsop xds beside vsop watch, one test apiserver, the same events (${SAMPLES} samples each way)`);
    console.log('| measure | vsop xds: sent (on the wire) | vsop xds: a grpc-js-xds client sees it | vsop watch: its write seen |\n| --- | --- | --- | --- |');
    console.log(
      `| a developer Service and its EndpointSlice created -> route and endpoints sent / header calls reach the copy / its route written; the apiserver's two creates: p50 ${ms(pct(lat.floor, 50))} | ${row(lat.wireCreate)} | ${row(lat.xdsCreate)} | ${row(lat.watchCreate)} |`,
    );
    console.log(
      `| both deleted -> the route without the copy sent / header calls back on production / the route gone | ${row(lat.wireDelete)} | ${row(lat.xdsDelete)} | ${row(lat.watchDelete)} |`,
    );
    console.log(
      `| resident memory with ${SIZE.toLocaleString('en')} Services (and as many EndpointSlices; xds: ${served.toLocaleString('en')} Services served, ${resources.toLocaleString('en')} resources), 3 s after the work (15 s after); heap in use | | ${early.xds.toFixed(0)} MB (${late.xds.toFixed(0)} MB); ${heap.xds.toFixed(0)} MB | ${early.watch.toFixed(0)} MB (${late.watch.toFixed(0)} MB); ${heap.watch.toFixed(0)} MB |`,
    );
    console.log(`| peak resident memory (VmHWM), the whole run and a new ConfigMap that renders every Service again | | ${peak.xds.toFixed(0)} MB | ${peak.watch.toFixed(0)} MB |`);
    console.log(`| CPU seconds, the whole run before the new ConfigMap | | ${cpu.xds.toFixed(1)} s | ${cpu.watch.toFixed(1)} s |`);
    console.log(`NACKs: ${nacks}`);
    process.exitCode = nacks === 0 ? 0 : 1;
  } finally {
    await observer.stop();
    await watch.stop();
    await xds.stop();
  }
} finally {
  for (const c of clients) c.close();
  for (const b of backends) b.server.forceShutdown();
  await cluster.stop();
}
// grpc-js-xds keeps its ADS stream open once registered, with no call to close it: end here.
process.exit();
