// vsop xds end to end, with a real xDS client nobody here wrote: grpc-go's (test/xds, built from Go
// modules), resolving `xds:///greeter.<prod>.svc.cluster.local:50051` through a bootstrap that points at
// `vsop xds`, which reads the real apiserver. The "production" and developer backends are gRPC servers on
// loopback run by the same program; vsop learns their ports from EndpointSlices created here (the test
// cluster runs no EndpointSlice controller; the apiserver refuses loopback addresses in them, so they say
// 192.0.2.1, a documentation address the client dials as 127.0.0.1). The client keeps running while Services come and go.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { renderXds, type XdsResources } from '../../src/core/render/xds.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { EndpointSlice, Service } from '../../src/core/types.ts';
import { createLogger } from '../../src/watch/log.ts';
import { XdsMetrics } from '../../src/xds/metrics.ts';
import { AdsServer } from '../../src/xds/server.ts';
import { xdsClientBinary } from '../harness/build.ts';
import { testCluster } from '../harness/cluster.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { freePort } from '../harness/processes.ts';
import { skipReason } from '../harness/require.ts';
import { config, service } from '../helpers/fixtures.ts';
import { runVsop } from '../helpers/run.ts';
import { eventually, parseMetrics, startWatch, type Watcher } from '../helpers/watcher.ts';
import { type Cluster, makeWorld, type World, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

const PORT = 50051;

/** The Go program: its backends' ports, and `call` answering with where the calls went. */
async function goClient(adsPort: number, backends: string[]) {
  const printed = await runVsop(['xds', 'bootstrap', '--grpc', '--server', `127.0.0.1:${adsPort}`, '--node-id', 'xds-e2e']);
  assert.equal(printed.code, 0, printed.stderr);
  const bootstrap = printed.stdout;
  const child: ChildProcess = spawn(await xdsClientBinary(), ['-backends', backends.join(',')], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      PATH: process.env.PATH ?? '',
      // The bootstrap vsop prints for gRPC clients: grpc-go reading it is its test.
      GRPC_XDS_BOOTSTRAP_CONFIG: bootstrap,
    },
  });
  process.once('exit', () => child.kill('SIGKILL'));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const ports = new Map<string, number>();
  for (;;) {
    const { value, done } = await lines.next();
    if (done) throw new Error('xds-client ended before it was ready');
    if (value === 'ready') break;
    const [, name, port] = (value as string).split(' ');
    ports.set(name!, Number(port));
  }
  return {
    ports,
    /** `n` calls through the long-lived channel; how many each backend answered, and the errors. */
    async call(n: number, target: string, header?: string): Promise<{ counts: Record<string, number>; errors: Record<string, number> }> {
      child.stdin!.write(`call ${n} ${target}${header ? ` ${header}` : ''}\n`);
      const { value } = await lines.next();
      return JSON.parse(value as string);
    },
    stop: () => child.kill('SIGTERM'),
  };
}

function endpointSlice(namespace: string, service: string, port: number) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-1`, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    // The world's Services name their ports p<port>; the slice port of the same name serves it.
    ports: [{ name: `p${PORT}`, port, protocol: 'TCP' }],
    // The apiserver refuses loopback addresses here: TEST-NET-1 (RFC 5737), which xds-client dials as 127.0.0.1.
    endpoints: [{ addresses: ['192.0.2.1'], conditions: { ready: true } }],
  };
}

describe('vsop xds with grpc-go as the client (real apiserver)', { skip }, () => {
  let w: World;
  let dev: string;
  let client: Awaited<ReturnType<typeof goClient>>;
  let server: Watcher;
  let target: string;

  const slices = (ns: string) => `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`;
  const createSlice = async (ns: string, backend: string) => {
    const res = await kubeRequest(w.admin, 'POST', slices(ns), { body: endpointSlice(ns, 'greeter', client.ports.get(backend)!) });
    assert.equal(res.status, 201, summary(res));
  };
  const deleteSlice = async (ns: string) => {
    const res = await kubeRequest(w.admin, 'DELETE', `${slices(ns)}/greeter-1`);
    assert.equal(res.status, 200, summary(res));
  };
  /** Calls until all `n` land on `backend` (the change reaches a running client asynchronously). */
  const reaches = (backend: string, header?: string, n = 20) =>
    eventually(`${n} calls${header ? ` with ${header}` : ''} to reach ${backend}`, async () => (await client.call(n, target, header)).counts[backend] === n, 30_000);
  const metric = async (name: string) => {
    const series = parseMetrics((await server.get(`${server.metrics}/metrics`)).body);
    return [...series].filter(([k]) => k === name || k.startsWith(`${name}{`)).reduce((s, [, v]) => s + v, 0);
  };

  before(async () => {
    if (skip) return;
    w = await makeWorld(cluster, 'xds', { devs: 1 });
    dev = w.devs[0]!;
    target = `xds:///greeter.${w.prod}.svc.cluster.local:${PORT}`;
    const adsPort = await freePort();
    client = await goClient(adsPort, ['production', 'developer', 'moved']);
    await w.service(w.prod, 'greeter', { ports: [PORT] });
    await createSlice(w.prod, 'production');
    await w.service(dev, 'greeter', { ports: [PORT] });
    await createSlice(dev, 'developer');
    server = await startWatch(['--config-namespace', w.configNamespace, 'xds', '--address', `127.0.0.1:${adsPort}`, '--log-level', 'debug'], {
      KUBECONFIG: cluster.adminKubeconfig,
    });
    await eventually('vsop xds /readyz to answer 200', async () => (await server.get(`${server.health}/readyz`)).status === 200, 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}; its log:\n${server.logs.map((l) => JSON.stringify(l)).join('\n')}`);
    });
  });

  after(async () => {
    client?.stop();
    if (server) assert.equal((await server.stop()).code, 0);
  });

  it('sends calls with the routing header to the developer copy, the others to production', async () => {
    const plain = await client.call(20, target);
    assert.deepEqual(plain, { counts: { production: 20 }, errors: {} });
    assert.deepEqual(await client.call(20, target, `x-developer=${dev}`), { counts: { developer: 20 }, errors: {} });
    assert.deepEqual(await client.call(20, target, 'x-developer=someone-else'), { counts: { production: 20 }, errors: {} });
  });

  it('moves the header calls to production when the developer Service goes, and back when it returns, while the client runs', async () => {
    await w.deleteService(dev, 'greeter');
    await deleteSlice(dev);
    await reaches('production', `x-developer=${dev}`);
    await w.service(dev, 'greeter', { ports: [PORT] });
    await createSlice(dev, 'developer');
    await reaches('developer', `x-developer=${dev}`);
    assert.deepEqual((await client.call(10, target)).counts, { production: 10 });
  });

  it('splits the calls without the header by the weight route add records', async () => {
    const added = await w.vsop(['route', 'add', 'greeter', '-n', dev, '--weight', '30']);
    assert.equal(added.code, 0, added.stderr);
    await eventually('a call without the header to reach the developer copy', async () => ((await client.call(20, target)).counts.developer ?? 0) > 0, 30_000);
    const n = 400;
    const got = await client.call(n, target);
    assert.deepEqual(got.errors, {});
    // 30% of 400 is 120; the standard deviation is √(400·0.3·0.7) ≈ 9.2: ±5σ.
    const share = got.counts.developer ?? 0;
    assert.ok(share >= 74 && share <= 166, `${share} of ${n} calls reached the developer copy, 120 expected`);
    const reset = await w.vsop(['route', 'reset', 'greeter']);
    assert.equal(reset.code, 0, reset.stderr);
    await reaches('production');
  });

  it('holds the routing of a Service whose record turns unreadable (as Istio keeps the VirtualService sync leaves alone) while its endpoints follow a rollout; a restarted vsop xds serves it without the hand routes; fixed, they come back', async () => {
    const added = await w.vsop(['route', 'add', 'greeter', '-n', dev, '--header', 'x-cid=alice']);
    assert.equal(added.code, 0, added.stderr);
    await reaches('developer', 'x-cid=alice');
    const vsPath = `/apis/networking.istio.io/v1/namespaces/${w.prod}/virtualservices/greeter-virtual-service`;
    const annotate = async (value: string) => {
      const patched = await kubeRequest(w.admin, 'PATCH', vsPath, {
        body: JSON.stringify({ metadata: { annotations: { 'vsop.io/overrides': value } } }),
        contentType: 'application/merge-patch+json',
      });
      assert.equal(patched.status, 200, summary(patched));
    };
    const read = await kubeRequest(w.admin, 'GET', vsPath);
    const recorded = (read.body as { metadata: { annotations: Record<string, string> } }).metadata.annotations['vsop.io/overrides'] as string;
    await annotate('{"version": 1, "routes": [');
    // sync leaves the VirtualService alone (exit 4), and so Istio keeps routing by it.
    const synced = await w.vsop(['sync', '--diff']);
    assert.equal(synced.code, 4, synced.stderr);
    assert.match(synced.stderr, /invalid overrides/);
    await eventually('vsop xds to find greeter unreadable (counted)', async () => (await metric('vsop_xds_unreadable_overrides_total')) >= 1, 30_000).catch((err) => {
      throw new Error(`${(err as Error).message}; its log:\n${server.logs.map((l) => JSON.stringify(l)).join('\n')}`);
    });
    assert.ok(server.logs.some((l) => l.msg === 'overrides unreadable, holding the last routing of this Service (its endpoints stay current)' && l.service === 'greeter'));
    for (let i = 0; i < 3; i++) assert.deepEqual(await client.call(20, target, 'x-cid=alice'), { counts: { developer: 20 }, errors: {} });

    // A rollout while it is unreadable: production's endpoint moves to another backend, and the calls follow it.
    const moved = await kubeRequest(w.admin, 'PATCH', `${slices(w.prod)}/greeter-1`, {
      body: JSON.stringify({ ports: [{ name: `p${PORT}`, port: client.ports.get('moved')!, protocol: 'TCP' }] }),
      contentType: 'application/merge-patch+json',
    });
    assert.equal(moved.status, 200, summary(moved));
    await reaches('moved');
    assert.deepEqual(await client.call(20, target, 'x-cid=alice'), { counts: { developer: 20 }, errors: {} }, 'the hand route is held');

    // A vsop xds started now (a restart, a second replica) holds nothing: it serves greeter without the hand
    // route, so production calls and the automatic route work and x-cid calls fall to production.
    const adsPort = await freePort();
    // Its own client, with no backends of its own: the slices lead it to the first client's.
    const fresh = await goClient(adsPort, []);
    const restarted = await startWatch(['--config-namespace', w.configNamespace, 'xds', '--address', `127.0.0.1:${adsPort}`], { KUBECONFIG: cluster.adminKubeconfig });
    try {
      await eventually('the restarted vsop xds to be ready', async () => (await restarted.get(`${restarted.health}/readyz`)).status === 200, 30_000);
      assert.deepEqual(await fresh.call(5, target), { counts: { moved: 5 }, errors: {} });
      assert.deepEqual(await fresh.call(5, target, `x-developer=${dev}`), { counts: { developer: 5 }, errors: {} });
      assert.deepEqual(await fresh.call(5, target, 'x-cid=alice'), { counts: { moved: 5 }, errors: {} });
      const line = restarted.logs.find((l) => l.service === 'greeter');
      assert.equal(line?.msg, 'overrides unreadable, serving this Service without them (hand routes fall to the automatic routing) until they are fixed');
      assert.match(String(line?.error), /virtualservice .*\/greeter-virtual-service: annotation vsop\.io\/overrides: /);
      assert.equal(line?.level, 'error');
      assert.ok((await restarted.get(`${restarted.metrics}/metrics`)).body.includes('vsop_xds_unreadable_overrides_total 1'));
    } finally {
      fresh.stop();
      assert.equal((await restarted.stop()).code, 0);
    }

    // Fixed by hand: the hand route comes back, and the recovery is logged.
    await annotate(recorded);
    await reaches('developer', 'x-cid=alice');
    assert.ok(server.logs.some((l) => l.msg === 'overrides readable again, serving them' && l.service === 'greeter'));
    const reset = await w.vsop(['route', 'reset', 'greeter']);
    assert.equal(reset.code, 0, reset.stderr);
    await reaches('moved', 'x-cid=alice');
  });

  it('had every response accepted: ACKs counted, no NACK', async () => {
    assert.equal(await metric('vsop_xds_nacks_total'), 0, server.logs.map((l) => JSON.stringify(l)).join('\n'));
    assert.ok((await metric('vsop_xds_acks_total')) > 0);
    assert.ok(server.logs.some((l) => l.msg === 'xds client connected' && l.node === 'xds-e2e'));
  });
});

// A NACK needs a resource grpc-go refuses, which vsop does not render from any cluster state: the server
// runs in this process and is handed one (a Cluster of type STATIC: grpc-go takes EDS, LOGICAL_DNS and
// aggregate clusters only, xdsresource/unmarshal_cds.go), through AdsServer.update, which the feed never
// calls. Everything else is as served: resources rendered by the renderer, the real grpc-go client.
describe('grpc-go NACKs an invalid resource and keeps working on the last good version', { skip }, () => {
  const logs: Record<string, unknown>[] = [];
  const metrics = new XdsMetrics();
  const ads = new AdsServer({ log: createLogger((l) => logs.push(JSON.parse(l)), 'debug'), metrics });
  const target = `xds:///greeter.default.svc.cluster.local:${PORT}`;
  let client: Awaited<ReturnType<typeof goClient>>;
  const nacks = async () => (await metrics.nacks.get()).values.reduce((n, v) => n + v.value, 0);
  const render = (withCopy: boolean): XdsResources => {
    const cfg = config({ developerNamespaces: ['dev-alice'] });
    const slice = (namespace: string, backend: string): EndpointSlice => ({
      ...endpointSlice(namespace, 'greeter', client.ports.get(backend)!),
      metadata: { name: 'greeter-1', namespace, labels: { 'kubernetes.io/service-name': 'greeter' } },
    });
    const services: Service[] = [service('default', 'greeter', { ports: [PORT] }), ...(withCopy ? [service('dev-alice', 'greeter', { ports: [PORT] })] : [])].map((s) => ({
      ...s,
      spec: { ports: [{ name: `p${PORT}`, port: PORT }] },
    }));
    const tables = resolve(cfg.config, cfg.template, services).tables;
    return renderXds({ tables, services, endpointSlices: [slice('default', 'production'), ...(withCopy ? [slice('dev-alice', 'developer')] : [])], namespace: 'default' })
      .resources;
  };

  before(async () => {
    if (skip) return;
    const port = await ads.listen('127.0.0.1:0');
    client = await goClient(port, ['production', 'developer']);
  });
  after(async () => {
    client?.stop();
    await ads.stop();
  });

  it('takes a good version, NACKs the bad one with its reason, keeps routing by the good one, and takes the next good one', async () => {
    const good = render(true);
    ads.update(good);
    assert.deepEqual(await client.call(10, target, 'x-developer=dev-alice'), { counts: { developer: 10 }, errors: {} });
    assert.equal(await nacks(), 0);

    const bad = { ...good, cluster: good.cluster.map((c) => ({ ...c, type: 'STATIC' })) };
    ads.update(bad);
    await eventually('a NACK from grpc-go', async () => (await nacks()) >= 1, 15_000);
    const line = logs.find((l) => typeof l.msg === 'string' && l.msg.includes('NACK'))!;
    assert.equal(line.type, 'cluster');
    // grpc-go's own words, and the version it keeps is the good one it ACKed.
    assert.match(String(line.error), /unsupported cluster type \(STATIC/);
    assert.notEqual(line.kept, '');
    assert.notEqual(line.kept, line.version);
    assert.deepEqual(await client.call(20, target, 'x-developer=dev-alice'), { counts: { developer: 20 }, errors: {} });
    assert.deepEqual(await client.call(20, target), { counts: { production: 20 }, errors: {} });
    const counted = await nacks();
    ads.update(bad);
    assert.equal(await nacks(), counted, 'the refused version was sent again');

    // The next good version (the copy gone) is taken: the header calls move to production.
    ads.update(render(false));
    await eventually('header calls to reach production', async () => (await client.call(10, target, 'x-developer=dev-alice')).counts.production === 10, 30_000);
    assert.equal(await nacks(), counted);
  });
});
