// vsop watch as a child process against the real apiserver: the timelines of the operator's behaviour,
// hot config reload, a rejected config, hand edits put back, metrics that move, and a clean SIGTERM.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import type { Service, VirtualService } from '../../src/core/types.ts';
import { startWatch, eventually, parseMetrics, type Watcher } from '../helpers/watcher.ts';
import { get, makeWorld, routesOf, type Cluster, type World, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

async function watching(w: World, extra: string[] = []): Promise<Watcher> {
  const watcher = await startWatch(['--config-namespace', w.configNamespace, 'watch', '--retry-base', '50ms', ...extra], { KUBECONFIG: cluster.adminKubeconfig });
  try {
    await eventually('/readyz to answer 200', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
  } catch (err) {
    await watcher.stop('SIGKILL');
    throw new Error(`${(err as Error).message}; its log:\n${watcher.logs.map((l) => JSON.stringify(l)).join('\n')}`);
  }
  return watcher;
}

const routes = (w: World, name: string) => async () => {
  const vs = await w.virtualService(name);
  return vs ? routesOf(vs) : undefined;
};

async function same(what: string, check: () => Promise<unknown>, expected: unknown): Promise<void> {
  await eventually(what, async () => JSON.stringify(await check()) === JSON.stringify(expected));
}

describe('vsop watch (real apiserver)', { skip }, () => {
  it("follows Services in production and developer namespaces, as the operator's README describes", async () => {
    const w = await makeWorld(cluster, 'wlife', { devs: 2 });
    const [a] = w.devs as [string];
    const watcher = await watching(w);
    try {
      await w.service(w.prod, 'api');
      await same('the VirtualService with its default route', routes(w, 'api-virtual-service'), [`vsop-default -> api.${w.prod}.svc.cluster.local`]);
      await w.service(a, 'api');
      await same("the developer's route", routes(w, 'api-virtual-service'), [`vsop-dev-${a} -> api.${a}.svc.cluster.local`, `vsop-default -> api.${w.prod}.svc.cluster.local`]);
      await w.deleteService(a, 'api');
      await same('the route gone', routes(w, 'api-virtual-service'), [`vsop-default -> api.${w.prod}.svc.cluster.local`]);
      await w.deleteService(w.prod, 'api');
      await eventually('the VirtualService gone', async () => (await w.virtualService('api-virtual-service')) === undefined);
      assert.ok(watcher.logs.some((l) => l.msg === 'virtualservice created' && l.service === 'api' && l.virtualservice === 'api-virtual-service' && l.namespace === w.prod));
    } finally {
      const { code, ms } = await watcher.stop();
      assert.equal(code, 0);
      assert.ok(ms < 10_000, `SIGTERM took ${ms} ms`);
    }
  });

  it('manages placeholders through their whole life', async () => {
    const w = await makeWorld(cluster, 'wph', { devs: 1, config: { enablePlaceholderServices: true } });
    const [a] = w.devs as [string];
    const watcher = await watching(w);
    const placeholder = async () => {
      const res = await get(w.admin, `/api/v1/namespaces/${a}/services/web`);
      return res.status === 200 ? (res.body as Service) : undefined;
    };
    try {
      await w.service(w.prod, 'web');
      await eventually('a placeholder', async () => (await placeholder())?.spec?.type === 'ExternalName');
      // A developer applies the real Service over it (kubectl apply without a type).
      const res = await kubeRequest(w.admin, 'PATCH', `/api/v1/namespaces/${a}/services/web`, {
        body: JSON.stringify({ spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } }),
        contentType: 'application/strategic-merge-patch+json',
      });
      assert.equal(res.status, 200, summary(res));
      await eventually('the hand-over', async () => {
        const s = await placeholder();
        return s?.spec?.type === 'ClusterIP' && !s.metadata.labels?.['virtualservice-operator/placeholder-service'];
      });
      await same('the route to the real Service', routes(w, 'web-virtual-service'), [
        `vsop-dev-${a} -> web.${a}.svc.cluster.local`,
        `vsop-default -> web.${w.prod}.svc.cluster.local`,
      ]);
      await w.deleteService(a, 'web');
      await eventually('a placeholder again', async () => (await placeholder())?.spec?.type === 'ExternalName');
      await w.deleteService(w.prod, 'web');
      await eventually('no placeholder once production is gone', async () => (await placeholder()) === undefined);
    } finally {
      assert.equal((await watcher.stop()).code, 0);
    }
  });

  it('reloads the ConfigMap without a restart; keeps the last good one when a change is invalid, with an Event and a gauge', async () => {
    const w = await makeWorld(cluster, 'wcfg', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'shop'), w.service(a, 'shop'), w.service(b, 'shop')]);
    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [a] });
    const watcher = await watching(w);
    try {
      await same('only a routed', routes(w, 'shop-virtual-service'), [`vsop-dev-${a} -> shop.${a}.svc.cluster.local`, `vsop-default -> shop.${w.prod}.svc.cluster.local`]);
      await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [a, b] });
      await same('b added', routes(w, 'shop-virtual-service'), [
        `vsop-dev-${a} -> shop.${a}.svc.cluster.local`,
        `vsop-dev-${b} -> shop.${b}.svc.cluster.local`,
        `vsop-default -> shop.${w.prod}.svc.cluster.local`,
      ]);
      assert.ok(
        watcher.logs.some((l) => l.msg === 'config reloaded'),
        'the guide greps for "config reloaded"',
      );
      await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [b] });
      await same('a removed, its stale route too', routes(w, 'shop-virtual-service'), [
        `vsop-dev-${b} -> shop.${b}.svc.cluster.local`,
        `vsop-default -> shop.${w.prod}.svc.cluster.local`,
      ]);

      await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: ['Not_Valid'] });
      await eventually('the gauge to say invalid', async () => parseMetrics((await watcher.get(`${watcher.metrics}/metrics`)).body).get('vsop_config_valid') === 0);
      const events = await eventually('an Event on the ConfigMap', async () => {
        const res = await get(w.admin, `/api/v1/namespaces/${w.configNamespace}/events`);
        const found = (res.body.items as { reason: string; message: string; involvedObject: { name: string } }[]).filter((e) => e.reason === 'InvalidConfig');
        return found.length > 0 ? found : undefined;
      });
      assert.equal(events[0]!.involvedObject.name, 'virtualservice-operator-config');
      assert.match(events[0]!.message, /developerNamespaces\[0\]: "Not_Valid" is not a valid namespace name/);
      assert.ok(watcher.logs.some((l) => l.msg === 'config rejected, keeping the last valid one' && String(l.error).includes('Not_Valid')));
      // The last good config is still in force: a new Service in b gets its route.
      await Promise.all([w.service(w.prod, 'cart'), w.service(b, 'cart')]);
      await same('routes by the old config', routes(w, 'cart-virtual-service'), [
        `vsop-dev-${b} -> cart.${b}.svc.cluster.local`,
        `vsop-default -> cart.${w.prod}.svc.cluster.local`,
      ]);
    } finally {
      assert.equal((await watcher.stop()).code, 0);
    }
  });

  it("puts back a hand edit of vsop's route and keeps a route a person added; its metrics move", async () => {
    const w = await makeWorld(cluster, 'wedit', { devs: 1 });
    const [a] = w.devs as [string];
    await Promise.all([w.service(w.prod, 'pay'), w.service(a, 'pay')]);
    const watcher = await watching(w);
    try {
      const expected = [`vsop-dev-${a} -> pay.${a}.svc.cluster.local`, `vsop-default -> pay.${w.prod}.svc.cluster.local`];
      await same('routes', routes(w, 'pay-virtual-service'), expected);
      const before = parseMetrics((await watcher.get(`${watcher.metrics}/metrics`)).body);
      const path = `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices/pay-virtual-service`;
      const vs = (await get(w.admin, path)).body as VirtualService;
      vs.spec.http![0]!.route![0]!.destination.host = 'somewhere-else.example.com'; // a person breaks vsop's route
      vs.spec.http!.unshift({ name: 'mine', match: [{ uri: { prefix: '/mine' } }], route: [{ destination: { host: 'mine' } }] }); // and adds their own
      assert.equal((await kubeRequest(w.admin, 'PUT', path, { body: vs })).status, 200);
      await same('restored, with the added route kept', routes(w, 'pay-virtual-service'), ['mine -> mine', ...expected]);
      const now = parseMetrics((await watcher.get(`${watcher.metrics}/metrics`)).body);
      const reconciles = 'controller_runtime_reconcile_total{controller="service",result="success"}';
      assert.ok(now.get(reconciles)! > before.get(reconciles)!, 'reconciles counted');
      assert.ok(now.get('workqueue_adds_total{name="service",controller="service"}')! > before.get('workqueue_adds_total{name="service",controller="service"}')!);
      for (const name of [
        'controller_runtime_reconcile_errors_total{controller="service"}',
        'controller_runtime_reconcile_time_seconds_count{controller="service"}',
        'workqueue_depth{name="service",controller="service"}',
        'workqueue_longest_running_processor_seconds{name="service",controller="service"}',
        'process_resident_memory_bytes',
        'process_cpu_seconds_total',
        'vsop_routes_managed',
        'vsop_config_valid',
        'vsop_last_successful_sync_timestamp_seconds',
      ]) {
        assert.ok(now.has(name), `${name} is exported`);
      }
      assert.ok(
        [...now.keys()].some((k) => k.startsWith('rest_client_requests_total{code="200",method="PUT"')),
        'the PUT that restored the route is counted',
      );
      assert.equal(now.get('vsop_routes_managed'), 2);
    } finally {
      assert.equal((await watcher.stop()).code, 0);
    }
  });

  it('a resync of a converged world plans nothing again (inputs fingerprinted), and a change after it is still planned', async () => {
    const w = await makeWorld(cluster, 'wsettle', { devs: 1 });
    const [a] = w.devs as [string];
    await Promise.all([w.service(w.prod, 'ink'), w.service(a, 'ink'), w.service(w.prod, 'pen')]);
    const watcher = await watching(w, ['--resync-period', '10s', '--log-level', 'debug']);
    try {
      const ink = [`vsop-dev-${a} -> ink.${a}.svc.cluster.local`, `vsop-default -> ink.${w.prod}.svc.cluster.local`];
      await same('routes', routes(w, 'ink-virtual-service'), ink);
      // The first pass plans each key; its writes' echoes plan each once more, finding nothing to change.
      // The resync 10 s later finds every input as it was: no plan at all.
      const planned = (key: string) => watcher.logs.filter((l) => l.msg === 'reconciling' && l.service === key).length;
      const skipped = (key: string) => watcher.logs.filter((l) => l.msg === 'unchanged since its last reconcile' && l.service === key).length;
      await eventually('the resync to skip both keys', async () => skipped('ink') > 0 && skipped('pen') > 0, 30_000);
      const before = planned('ink');
      // A hand edit after the resync changes an input (the VirtualService's resourceVersion): planned, put back.
      const path = `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices/ink-virtual-service`;
      const vs = (await get(w.admin, path)).body as VirtualService;
      vs.spec.http!.shift();
      assert.equal((await kubeRequest(w.admin, 'PUT', path, { body: vs })).status, 200);
      await same('the route put back', routes(w, 'ink-virtual-service'), ink);
      assert.ok(planned('ink') > before, 'the edited key was planned again');
    } finally {
      assert.equal((await watcher.stop()).code, 0);
    }
  });

  it('waits, not ready, for a ConfigMap that is not there yet, and starts when it comes', async () => {
    const w = await makeWorld(cluster, 'wlate', { devs: 1 });
    await w.service(w.prod, 'late');
    const watcher = await startWatch(['--config-namespace', w.configNamespace, '--config-name', 'later', 'watch', '--retry-base', '50ms'], { KUBECONFIG: cluster.adminKubeconfig });
    try {
      await eventually('the wait logged', async () => watcher.logs.some((l) => l.msg === 'waiting for a valid configuration'));
      assert.equal((await watcher.get(`${watcher.health}/readyz`)).status, 503);
      assert.equal((await watcher.get(`${watcher.health}/healthz`)).status, 200);
      const res = await kubeRequest(w.admin, 'POST', `/api/v1/namespaces/${w.configNamespace}/configmaps`, {
        body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'later' }, data: { 'config.yaml': `defaultNamespace: ${w.prod}\n` } },
      });
      assert.equal(res.status, 201, summary(res));
      await eventually('ready', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
      await eventually('the VirtualService', async () => (await w.virtualService('late-virtual-service')) !== undefined);
    } finally {
      assert.equal((await watcher.stop()).code, 0);
    }
  });

  it('takes the seed operator flags -zap-log-level and -zap-development', async () => {
    const w = await makeWorld(cluster, 'wzap', { devs: 1 });
    const watcher = await watching(w, ['-zap-log-level=debug']);
    try {
      await w.service(w.prod, 'z');
      await eventually('a debug line', async () => watcher.logs.some((l) => l.level === 'debug'));
    } finally {
      assert.equal((await watcher.stop()).code, 0);
    }
  });
});
