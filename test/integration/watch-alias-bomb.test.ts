// vsop watch and a YAML alias bomb in its ConfigMap (issue 11, item 1), on the real apiserver: started
// on one (in config.yaml), it waits not ready, alive (it used to exit 70 after 2 s), with an InvalidConfig
// Event on the ConfigMap naming the limit and vsop_config_valid 0, and starts once the ConfigMap is fixed;
// one arriving by hot reload (in the template) is rejected the same way while the last good config stays
// in force. The bomb: nine levels of nine aliases, 9^9 nodes expanded (vsop stops at 100,000).
// Run: npm run build && node test/harness/run-integration.ts test/integration/watch-alias-bomb.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { eventually, parseMetrics, startWatch, type Watcher } from '../helpers/watcher.ts';
import { type Cluster, get, makeWorld, routesOf, type World } from '../helpers/world.ts';

const skip = skipReason();
const CONFIG = 'virtualservice-operator-config';

/** Nine levels of nine aliases under `key`, indented by `indent`: 387,420,489 nodes once expanded. */
function bomb(key: string, indent = ''): string {
  const lines = [`${indent}${key}0: &${key}0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`];
  for (let i = 1; i < 9; i++)
    lines.push(
      `${indent}${key}${i}: &${key}${i} [${Array(9)
        .fill(`*${key}${i - 1}`)
        .join(',')}]`,
    );
  return `${lines.join('\n')}\n`;
}

/** Replaces the ConfigMap's config.yaml with `text`, as written (no YAML round trip). */
async function putConfig(w: World, text: string): Promise<void> {
  const path = `/api/v1/namespaces/${w.configNamespace}/configmaps/${CONFIG}`;
  const cur = await get(w.admin, path);
  const res = await kubeRequest(w.admin, 'PUT', path, {
    body: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: CONFIG, namespace: w.configNamespace, resourceVersion: cur.body.metadata.resourceVersion },
      data: { 'config.yaml': text },
    },
  });
  assert.equal(res.status, 200, summary(res));
}

async function invalidConfigEvents(w: World): Promise<{ message: string; involvedObject: { name: string } }[]> {
  const res = await get(w.admin, `/api/v1/namespaces/${w.configNamespace}/events`);
  return (res.body.items as { reason: string; message: string; involvedObject: { name: string } }[]).filter((e) => e.reason === 'InvalidConfig');
}

const configValid = async (watcher: Watcher) => parseMetrics((await watcher.get(`${watcher.metrics}/metrics`)).body).get('vsop_config_valid');

describe('vsop watch and an alias bomb in its ConfigMap (real apiserver)', { skip }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await testCluster();
  });
  after(async () => cluster?.release());

  it('started on one: waits not ready and alive, with an Event and the gauge at 0; starts once it is fixed', async () => {
    const w = await makeWorld(cluster, 'wbomb', { devs: 1 });
    await w.service(w.prod, 'api');
    await putConfig(w, `defaultNamespace: ${w.prod}\n${bomb('l')}`);
    const watcher = await startWatch(['--config-namespace', w.configNamespace, 'watch', '--retry-base', '50ms'], { KUBECONFIG: cluster.adminKubeconfig });
    try {
      const events = await eventually('an InvalidConfig Event on the ConfigMap', async () => {
        const found = await invalidConfigEvents(w);
        return found.length > 0 ? found : undefined;
      });
      assert.equal(events[0]!.involvedObject.name, CONFIG);
      assert.match(events[0]!.message, /aliases expand past 100,000 nodes/);
      assert.equal(await configValid(watcher), 0);
      // Past the 2 s after which it used to exit 70: still running, still not ready, live.
      await new Promise((r) => setTimeout(r, 4000));
      assert.equal(watcher.child.exitCode, null, `exited ${watcher.child.exitCode}; log:\n${watcher.logs.map((l) => JSON.stringify(l)).join('\n')}`);
      assert.equal((await watcher.get(`${watcher.health}/readyz`)).status, 503);
      assert.equal((await watcher.get(`${watcher.health}/healthz`)).status, 200);
      assert.equal(await w.virtualService('api-virtual-service'), undefined, 'nothing written');
      // One problem, one Event: the same ConfigMap seen again (a relist, leadership won) is not news.
      assert.equal((await invalidConfigEvents(w)).length, 1, JSON.stringify(await invalidConfigEvents(w)));

      await putConfig(w, `defaultNamespace: ${w.prod}\n`);
      await eventually('ready', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
      await eventually('the VirtualService', async () => (await w.virtualService('api-virtual-service')) !== undefined);
      assert.equal(await configValid(watcher), 1);
    } finally {
      assert.equal((await watcher.stop()).code, 0);
    }
  });

  it('arriving by hot reload (in the template): rejected, reported and counted; the last good config stays in force', async () => {
    const w = await makeWorld(cluster, 'wbombr', { devs: 1 });
    const [a] = w.devs as [string];
    await Promise.all([w.service(w.prod, 'shop'), w.service(a, 'shop')]);
    const watcher = await startWatch(['--config-namespace', w.configNamespace, 'watch', '--retry-base', '50ms'], { KUBECONFIG: cluster.adminKubeconfig });
    try {
      await eventually('ready', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
      const expected = (s: string) => [`vsop-dev-${a} -> ${s}.${a}.svc.cluster.local`, `vsop-default -> ${s}.${w.prod}.svc.cluster.local`];
      await eventually('routes', async () => JSON.stringify(routesOf(await w.virtualService('shop-virtual-service'))) === JSON.stringify(expected('shop')));
      assert.equal(await configValid(watcher), 1);

      const template = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: "\${serviceName}-virtual-service"
spec:
  hosts: [\${serviceName}]
  http:
  - route:
    - destination:
        host: \${serviceName}.\${defaultNamespace}.svc.cluster.local
${bomb('x')}`;
      await putConfig(w, `defaultNamespace: ${w.prod}\ndeveloperNamespaces: [${a}]\nvirtualServiceTemplate: |\n${template.replace(/^/gm, '  ')}`);
      await eventually('the gauge to say invalid', async () => (await configValid(watcher)) === 0);
      const events = await eventually('an InvalidConfig Event', async () => {
        const found = await invalidConfigEvents(w);
        return found.length > 0 ? found : undefined;
      });
      assert.match(events[0]!.message, /virtualServiceTemplate.*aliases expand past 100,000 nodes/s);
      assert.ok(watcher.logs.some((l) => l.msg === 'config rejected, keeping the last valid one' && String(l.error).includes('aliases expand')));
      // The last good config is in force: a new Service gets its routes by it.
      await Promise.all([w.service(w.prod, 'cart'), w.service(a, 'cart')]);
      await eventually('routes by the old config', async () => {
        const vs = await w.virtualService('cart-virtual-service');
        return vs !== undefined && JSON.stringify(routesOf(vs)) === JSON.stringify(expected('cart'));
      });
      assert.equal(watcher.child.exitCode, null);
      assert.equal((await watcher.get(`${watcher.health}/readyz`)).status, 200, 'still ready: it serves the last good config');
    } finally {
      assert.equal((await watcher.stop()).code, 0);
    }
  });
});
