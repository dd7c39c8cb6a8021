// vsop watch through faults, on a cluster of its own (the apiserver is stopped here): an apiserver restart,
// connections cut under it, and two replicas with leader election, the leader killed.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startCluster, type Cluster } from '../harness/cluster.ts';
import { kubeRequest } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { startProxy, type Proxy } from '../helpers/proxy.ts';
import { eventually, parseMetrics, startWatch, type Watcher } from '../helpers/watcher.ts';
import { makeWorld, routesOf, type World } from '../helpers/world.ts';

const skip = skipReason();
let cluster: Cluster;
let proxy: Proxy;
before(async () => {
  if (skip) return;
  cluster = await startCluster();
  proxy = await startProxy(cluster.admin, { tlsDir: join(cluster.dir, 'pki') });
});
after(async () => {
  await proxy?.stop();
  await cluster?.stop();
});

const world = (prefix: string, devs = 1) => makeWorld({ ...cluster, release: async () => {} }, prefix, { devs });

async function watching(w: World, kubeconfig: string, extra: string[] = []): Promise<Watcher> {
  const watcher = await startWatch(['--config-namespace', w.configNamespace, 'watch', '--retry-base', '50ms', ...extra], { KUBECONFIG: kubeconfig });
  return watcher;
}

const hasVirtualService = (w: World, name: string) => async () => (await w.virtualService(name)) !== undefined;

describe('vsop watch through faults (a cluster of its own)', { skip }, () => {
  // A tester's finding: a replica that lost the Lease and won it back started a second set of workers and a
  // second resync timer, so every key was resynced twice per period from then on.
  it('leading again after the Lease was taken and given back keeps one resync timer (one resync per key per period)', async () => {
    const w = await world('relead');
    await w.service(w.prod, 'ink');
    const one = await watching(w, cluster.adminKubeconfig, [
      ...['--leader-elect', '--leader-election-namespace', w.configNamespace, '--leader-election-id', 'relead'],
      ...['--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms', '--resync-period', '10s', '--log-level', 'debug'],
    ]);
    try {
      await eventually('it leads', async () => one.logs.some((l) => l.msg === 'became leader'));
      await eventually('the VirtualService', hasVirtualService(w, 'ink-virtual-service'));
      // Someone else holds the Lease for a moment: it steps down, and takes the Lease again once it expires.
      const path = `/apis/coordination.k8s.io/v1/namespaces/${w.configNamespace}/leases/relead`;
      const lease = (await kubeRequest(cluster.admin, 'GET', path)).body as { spec: Record<string, unknown> };
      lease.spec.holderIdentity = 'thief';
      lease.spec.renewTime = new Date().toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
      assert.equal((await kubeRequest(cluster.admin, 'PUT', path, { body: lease })).status, 200);
      await eventually('it steps down', async () => one.logs.some((l) => l.msg === 'lost leadership: no more writes'), 15_000);
      await eventually('it leads again', async () => one.logs.filter((l) => l.msg === 'became leader').length === 2, 20_000);
      const from = one.logs.length;
      await new Promise((r) => setTimeout(r, 15_000));
      // One resync timer: the key is skipped (its inputs unchanged) once in these 15 s; two timers: twice.
      const resyncs = one.logs.slice(from).filter((l) => l.msg === 'unchanged since its last reconcile' && l.service === 'ink').length;
      assert.equal(
        resyncs,
        1,
        one.logs
          .slice(from)
          .map((l) => JSON.stringify(l))
          .join('\n'),
      );
    } finally {
      assert.equal((await one.stop()).code, 0);
    }
  });

  it('reconnects after the apiserver restarts and converges; /healthz stays truthful throughout', async () => {
    const w = await world('restart');
    const watcher = await watching(w, cluster.adminKubeconfig);
    const probes: number[] = [];
    let probing: NodeJS.Timeout | undefined;
    try {
      await eventually('ready', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
      probing = setInterval(() => void watcher.get(`${watcher.health}/healthz`).then((r) => probes.push(r.status)), 200);
      await w.service(w.prod, 'before');
      await eventually('a VirtualService before the restart', hasVirtualService(w, 'before-virtual-service'));
      await cluster.stopApiserver();
      await new Promise((r) => setTimeout(r, 2000));
      await cluster.startApiserver();
      await w.service(w.prod, 'after');
      await w.service(w.devs[0]!, 'before');
      await eventually('a VirtualService after the restart', hasVirtualService(w, 'after-virtual-service'), 45_000);
      await eventually('a route after the restart', async () => routesOf(await w.virtualService('before-virtual-service')).length === 2, 45_000);
      assert.ok(probes.length > 10 && probes.every((s) => s === 200), `liveness answered ${JSON.stringify([...new Set(probes)])}`);
      assert.ok(
        watcher.logs.some((l) => l.msg === 'watch interrupted, resuming'),
        'the break was noticed and logged',
      );
      const metrics = parseMetrics((await watcher.get(`${watcher.metrics}/metrics`)).body);
      assert.ok([...metrics.keys()].some((k) => k.startsWith('vsop_watch_restarts_total')));
    } finally {
      clearInterval(probing);
      assert.equal((await watcher.stop()).code, 0);
    }
  });

  it('recovers when every connection is cut under it, losing nothing', async () => {
    const w = await world('cut');
    const kubeconfig = proxy.kubeconfig(mkdtempSync(join(tmpdir(), 'vsop-cut-')), cluster.admin.token, 'cut');
    const watcher = await watching(w, kubeconfig);
    try {
      await eventually('ready', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
      for (let i = 0; i < 3; i++) {
        proxy.cut();
        await w.service(w.prod, `s${i}`);
        await w.service(w.devs[0]!, `s${i}`);
      }
      for (let i = 0; i < 3; i++) {
        await eventually(
          `s${i} routed`,
          async () => (await w.virtualService(`s${i}-virtual-service`)) && routesOf(await w.virtualService(`s${i}-virtual-service`)).length === 2,
          45_000,
        );
      }
    } finally {
      assert.equal((await watcher.stop()).code, 0);
    }
  });

  it('with two replicas only the leader writes; killing it hands over within the lease; both stop cleanly', async () => {
    const w = await world('leader');
    const lease = ['--leader-elect', '--leader-election-namespace', w.configNamespace, '--lease-duration', '4s', '--renew-deadline', '3s', '--retry-period', '500ms'];
    const one = await watching(w, cluster.adminKubeconfig, lease);
    await eventually('one leads', async () => one.logs.some((l) => l.msg === 'became leader'));
    const two = await watching(w, cluster.adminKubeconfig, lease);
    try {
      await eventually('the standby ready too', async () => (await two.get(`${two.health}/readyz`)).status === 200);
      for (let i = 0; i < 5; i++) await w.service(w.prod, `a${i}`);
      for (let i = 0; i < 5; i++) await eventually(`a${i}`, hasVirtualService(w, `a${i}-virtual-service`));
      const writes = (wt: Watcher) => wt.logs.filter((l) => l.msg === 'virtualservice created').length;
      // The log line follows the write: an object can be read back before its line arrives.
      await eventually('the leader logged every write', async () => writes(one) === 5);
      assert.equal(writes(two), 0, 'the standby wrote nothing');
      const standby = parseMetrics((await two.get(`${two.metrics}/metrics`)).body);
      assert.ok(![...standby.keys()].some((k) => /rest_client_requests_total\{code="20[01]",method="(POST|PUT|DELETE)"/.test(k)), 'no write request from the standby');
      assert.equal(standby.get('vsop_leader'), 0);

      const killedAt = performance.now();
      one.child.kill('SIGKILL');
      await eventually('the standby takes over', async () => two.logs.some((l) => l.msg === 'became leader'), 15_000);
      const takeover = performance.now() - killedAt;
      assert.ok(takeover < 4000 + 2000, `take-over after ${takeover} ms (lease 4 s, retry 0.5 s)`);
      await w.service(w.prod, 'later');
      await eventually('the new leader writes', hasVirtualService(w, 'later-virtual-service'));
    } finally {
      const stopped = await two.stop();
      assert.equal(stopped.code, 0);
      assert.ok(stopped.ms < 10_000, `SIGTERM took ${stopped.ms} ms`);
      one.child.kill('SIGKILL');
    }
  });
});
