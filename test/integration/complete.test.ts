// `vsop __complete` reading names from the real test apiserver: production Services, developer
// namespaces, and the cluster that the line's --context chooses. (The time bound against servers that
// never answer is in test/cli/complete.test.ts; the shells in test/cli/completion.test.ts.) Run alone with
//   node test/harness/run-integration.ts test/integration/complete.test.ts

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { testCluster } from '../harness/cluster.ts';
import { skipReason } from '../harness/require.ts';
import { runVsop } from '../helpers/run.ts';
import { makeWorld, type Cluster, type World } from '../helpers/world.ts';

const skip = skipReason();
let cluster: Cluster;
let w: World;

before(async () => {
  if (skip) return;
  cluster = await testCluster();
  w = await makeWorld(cluster, 'complete', { devs: 2 });
  const [alice] = w.devs as [string, string];
  await Promise.all([
    w.service(w.prod, 'checkout'),
    w.service(w.prod, 'cart'),
    w.service(w.prod, 'payments'),
    // A copy, and a Service only a developer namespace has: neither is a production Service.
    w.service(alice, 'cart'),
    w.service(alice, 'experiment'),
  ]);
});
after(async () => {
  await cluster?.release();
});

/**
 * The candidates of `vsop __complete --config-namespace NS ...words` (the world's ConfigMap named on the
 * line, as a user would type it), the directive line checked and dropped.
 */
async function complete(words: string[], kubeconfig = cluster.adminKubeconfig): Promise<string[]> {
  // In-process, the first completion loads the Kubernetes client from source, which on a busy machine
  // takes longer than the default bound (the bound has its own test); the bound here is generous.
  const r = await runVsop(['__complete', '--config-namespace', w.configNamespace, ...words], { env: { KUBECONFIG: kubeconfig, VSOP_COMPLETION_TIMEOUT: '20s' } });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').slice(0, -1);
  assert.equal(lines.at(-1), ':4', r.stdout + r.stderr);
  return lines.slice(0, -1);
}

describe('vsop __complete (real apiserver)', { skip }, () => {
  it("offers the production namespace's Services, sorted, for every command that takes them", async () => {
    assert.deepEqual(await complete(['sync', '']), ['cart', 'checkout', 'payments']);
    assert.deepEqual(await complete(['status', 'c']), ['cart', 'checkout']);
    assert.deepEqual(await complete(['clear', 'cart', '']), ['checkout', 'payments']);
    assert.deepEqual(await complete(['route', 'add', 'p']), ['payments']);
    assert.deepEqual(await complete(['trace', '--live', '']), ['cart', 'checkout', 'payments']);
  });

  it("offers the ConfigMap's developer namespaces for -n, and the production namespace too for --from", async () => {
    assert.deepEqual(await complete(['route', 'add', 'cart', '-n', '']), w.devs);
    assert.deepEqual(await complete(['status', '--namespace', '']), w.devs);
    assert.deepEqual(await complete(['trace', 'cart', '--from', '']), [w.prod, ...w.devs]);
  });

  it("reads the cluster of the line's --context, and offers the kubeconfig's contexts", async (t) => {
    // The current context points at a port nothing listens on; "up" at the test apiserver.
    const dir = mkdtempSync(join(tmpdir(), 'vsop-complete-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const kubeconfig = join(dir, 'config');
    const ca = Buffer.from(cluster.admin.ca).toString('base64');
    writeFileSync(
      kubeconfig,
      stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [
          { name: 'test', cluster: { server: cluster.server, 'certificate-authority-data': ca } },
          { name: 'gone', cluster: { server: 'https://127.0.0.1:1', 'certificate-authority-data': ca } },
        ],
        users: [{ name: 'admin', user: { token: cluster.admin.token } }],
        contexts: [
          { name: 'down', context: { cluster: 'gone', user: 'admin' } },
          { name: 'up', context: { cluster: 'test', user: 'admin' } },
        ],
        'current-context': 'down',
      }),
    );
    assert.deepEqual(await complete(['sync', ''], kubeconfig), []);
    assert.deepEqual(await complete(['--context', 'up', 'sync', ''], kubeconfig), ['cart', 'checkout', 'payments']);
    assert.deepEqual(await complete(['sync', '--context=up', 'ch'], kubeconfig), ['checkout']);
    assert.deepEqual(await complete(['sync', '--context', ''], kubeconfig), ['down', 'up']);
  });

  it('reads the ConfigMap that --config-name names, and none when it is absent', async () => {
    assert.deepEqual(await complete(['--config-name', 'absent', 'sync', '']), []);
  });
});
