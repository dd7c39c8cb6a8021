// npm run bench, watch part, against the test apiserver with `vsop watch` as a child process:
//   latency from a developer Service's creation to its route being written, p50 and p99 over 300 events
//     (targets: p50 <= 50 ms, p99 <= 250 ms), beside the apiserver's own round trip for a create
//   writes for a burst of 1,000 Service events (50 production Services x 20 developer namespaces, created
//     all at once): target at most one write per affected VirtualService
//   resident memory of vsop watch holding 10,000 Services: target <= 150 MB

import { KubeConfig } from '@kubernetes/client-node';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { stringify } from 'yaml';
import { KubeClient } from '../src/k8s/client.ts';
import type { VirtualService } from '../src/core/types.ts';
import { startCluster } from '../test/harness/cluster.ts';
import { createNamespace, kubeRequest, type Connection } from '../test/harness/kube.ts';
import { eventually, parseMetrics, startWatch } from '../test/helpers/watcher.ts';

async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

const svcBody = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { clusterIP: 'None', selector: { app: name }, ports: [{ port: 80 }] } });
async function createService(admin: Connection, ns: string, name: string) {
  const res = await kubeRequest(admin, 'POST', `/api/v1/namespaces/${ns}/services`, { body: svcBody(name) });
  if (res.status !== 201) throw new Error(`create ${ns}/${name}: ${res.status} ${res.text.slice(0, 200)}`);
}

async function config(admin: Connection, prod: string, devs: string[]): Promise<string> {
  const cfg = await createNamespace(admin, 'cfg');
  await kubeRequest(admin, 'POST', `/api/v1/namespaces/${cfg}/configmaps`, {
    body: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'virtualservice-operator-config' },
      data: { 'config.yaml': stringify({ defaultNamespace: prod, developerNamespaces: devs }) },
    },
  });
  return cfg;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
const rows: string[] = [];
let allOk = true;
const report = (ok: boolean, line: string) => {
  allOk &&= ok;
  rows.push(`${ok ? 'ok  ' : 'MISS'} ${line}`);
};

const cluster = await startCluster();
const admin = cluster.admin;
const kc = new KubeConfig();
kc.loadFromFile(cluster.adminKubeconfig);
const client = new KubeClient(kc);
try {
  // --- latency ---------------------------------------------------------------------------------------
  {
    const N = 300;
    const prod = await createNamespace(admin, 'prod');
    const dev = await createNamespace(admin, 'dev');
    const cfg = await config(admin, prod, [dev]);
    await forEachLimit(
      Array.from({ length: N }, (_, i) => i),
      16,
      (i) => createService(admin, prod, `l${i}`),
    );
    const watcher = await startWatch(['--config-namespace', cfg, 'watch'], { KUBECONFIG: cluster.adminKubeconfig });
    await eventually('ready', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200, 120_000).catch((err) => {
      console.error(
        watcher.logs
          .slice(0, 30)
          .map((l) => JSON.stringify(l))
          .join('\n'),
      );
      throw err;
    });
    // The bench watches the VirtualServices itself, to see each route the moment it is written.
    const routed = new Map<string, number>();
    const abort = new AbortController();
    const list = await client.list<VirtualService>({ resource: 'virtualservices', namespace: prod, apiVersion: 'networking.istio.io/v1beta1' });
    const stream = client
      .watch<VirtualService>(
        { resource: 'virtualservices', namespace: prod, apiVersion: 'networking.istio.io/v1beta1' },
        list.resourceVersion,
        (e) => {
          if (e.type === 'MODIFIED' && (e.object.spec.http?.length ?? 0) > 1) routed.set(e.object.metadata.name, performance.now());
        },
        abort.signal,
      )
      .catch(() => {});
    const latencies: number[] = [];
    const roundTrips: number[] = [];
    for (let i = 0; i < N; i++) {
      const t = performance.now();
      await createService(admin, dev, `l${i}`);
      roundTrips.push(performance.now() - t);
      const name = `l${i}-virtual-service`;
      await eventually(`route ${i}`, async () => routed.has(name), 10_000);
      latencies.push(routed.get(name)! - t);
    }
    abort.abort();
    await stream;
    await watcher.stop();
    const p50 = pct(latencies, 50);
    const p99 = pct(latencies, 99);
    report(
      p50 <= 50 && p99 <= 250,
      `latency, developer Service created -> route written (${N} events): p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms; the apiserver's own create round trip p50 ${pct(roundTrips, 50).toFixed(1)} ms; targets p50 <= 50, p99 <= 250`,
    );
  }

  // --- burst -----------------------------------------------------------------------------------------
  {
    const PROD = 50;
    const DEVS = 20;
    const prod = await createNamespace(admin, 'bprod');
    const devs = await Promise.all(Array.from({ length: DEVS }, (_, i) => createNamespace(admin, `bdev${i}`)));
    const cfg = await config(admin, prod, devs);
    await forEachLimit(
      Array.from({ length: PROD }, (_, i) => i),
      16,
      (i) => createService(admin, prod, `b${i}`),
    );
    const watcher = await startWatch(['--config-namespace', cfg, 'watch'], { KUBECONFIG: cluster.adminKubeconfig });
    await eventually('ready', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200, 120_000);
    const writesBefore = watcher.logs.filter((l) => l.msg === 'virtualservice updated').length;
    const events = devs.flatMap((d) => Array.from({ length: PROD }, (_, i) => ({ ns: d, name: `b${i}` })));
    const t = performance.now();
    await forEachLimit(events, 64, ({ ns, name }) => createService(admin, ns, name));
    const burstMs = performance.now() - t;
    await eventually(
      'every route',
      async () => {
        const vs = await client.listVirtualServices(prod, 'networking.istio.io/v1beta1');
        return vs.length === PROD && vs.every((v) => v.spec.http?.length === DEVS + 1);
      },
      60_000,
    );
    await new Promise((r) => setTimeout(r, 1000));
    const updates = watcher.logs.filter((l) => l.msg === 'virtualservice updated');
    const perVs = new Map<string, number>();
    for (const u of updates.slice(writesBefore)) perVs.set(String(u.virtualservice), (perVs.get(String(u.virtualservice)) ?? 0) + 1);
    const most = Math.max(...perVs.values());
    await watcher.stop();
    report(
      most <= 1,
      `burst of ${events.length} Service events over ${burstMs.toFixed(0)} ms for ${PROD} VirtualServices: ${updates.length - writesBefore} writes, at most ${most} per VirtualService; target at most 1`,
    );
  }

  // --- memory ----------------------------------------------------------------------------------------
  {
    const PROD = 2000;
    const DEVS = 4;
    const prod = await createNamespace(admin, 'mprod');
    const devs = await Promise.all(Array.from({ length: DEVS }, (_, i) => createNamespace(admin, `mdev${i}`)));
    const cfg = await config(admin, prod, devs);
    const all = [prod, ...devs].flatMap((ns) => Array.from({ length: PROD }, (_, i) => ({ ns, name: `m${i}` })));
    process.stderr.write(`bench: creating ${all.length} Services\n`);
    await forEachLimit(all, 32, ({ ns, name }) => createService(admin, ns, name));
    // With the Node flag the container image's entrypoint gives it (see Dockerfile).
    const watcher = await startWatch(['--config-namespace', cfg, 'watch'], { KUBECONFIG: cluster.adminKubeconfig, NODE_OPTIONS: '--max-semi-space-size=1' });
    await eventually('ready', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200, 300_000);
    await new Promise((r) => setTimeout(r, 3000));
    const m = parseMetrics((await watcher.get(`${watcher.metrics}/metrics`)).body);
    const rss = m.get('process_resident_memory_bytes')! / 2 ** 20;
    const heap = (m.get('nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20;
    process.stderr.write(
      `bench: ${[...m]
        .filter(([k]) => /^(nodejs_heap|nodejs_external|process_resident)/.test(k))
        .map(([k, v]) => `${k}=${(v / 2 ** 20).toFixed(1)}MB`)
        .join(' ')}\n`,
    );
    await watcher.stop();
    report(
      rss <= 150,
      `memory, vsop watch (as the image runs it) holding ${all.length.toLocaleString('en')} Services and ${PROD} VirtualServices: ${rss.toFixed(0)} MB resident (heap used ${heap.toFixed(0)} MB); target <= 150 MB`,
    );
  }
} finally {
  client.close();
  await cluster.stop();
}
console.log(`\nvsop watch against the test apiserver (${join('test', 'harness')})`);
for (const r of rows) console.log(r);
process.exitCode = allOk ? 0 : 1;
