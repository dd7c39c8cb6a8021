// /healthz of vsop watch reports a stuck controller: a TCP relay in front of the real apiserver holds
// back everything vsop sends (answers and watch events still come through), so the reconcile a new
// Service starts waits on a request that goes nowhere. Past --stuck-after, /healthz fails; once the relay
// lets the bytes through, the write lands and /healthz is 200 again.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { writeKubeconfig } from '../harness/kubeconfig.ts';
import { skipReason } from '../harness/require.ts';
import { eventually, startWatch } from '../helpers/watcher.ts';
import { makeWorld, type Cluster, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

/** Forwards TCP to `port`; while frozen, what the client sends is held (in order) instead of forwarded. */
async function startRelay(port: number): Promise<{ port: number; freeze(): void; thaw(): void; stop(): void }> {
  let frozen = false;
  const held: (() => void)[] = [];
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    upstream.pipe(client);
    client.on('data', (chunk) => (frozen ? held.push(() => upstream.write(chunk)) : upstream.write(chunk)));
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => (frozen = true),
    thaw: () => {
      frozen = false;
      for (const write of held.splice(0)) write();
    },
    stop: () => server.close(),
  };
}

describe('vsop watch /healthz (real apiserver)', { skip }, () => {
  it('fails while a worker is stuck past --stuck-after, and recovers when it is freed', async () => {
    const w = await makeWorld(cluster, 'hstuck', { devs: 1 });
    const relay = await startRelay(Number(new URL(cluster.server).port));
    const kubeconfig = join(mkdtempSync(join(tmpdir(), 'vsop-relay-')), 'kubeconfig');
    writeKubeconfig(kubeconfig, `https://127.0.0.1:${relay.port}`, cluster.ca, [{ context: 'admin', token: cluster.admin.token }]);
    const watcher = await startWatch(['--config-namespace', w.configNamespace, '--request-timeout', '10m', 'watch', '--stuck-after', '10s'], { KUBECONFIG: kubeconfig });
    try {
      await eventually('/readyz 200', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
      assert.equal((await watcher.get(`${watcher.health}/healthz`)).status, 200);
      relay.freeze();
      await w.service(w.prod, 'api'); // by the admin, straight to the apiserver; vsop hears of it, and its write hangs
      const stuck = await eventually(
        '/healthz 500',
        async () => {
          const r = await watcher.get(`${watcher.health}/healthz`);
          return r.status === 500 && r;
        },
        30_000,
      );
      assert.match(stuck.body, /^stuck: a worker has held one Service for 1\d s \(--stuck-after 10 s\)\n$/);
      assert.equal(await w.virtualService('api-virtual-service'), undefined, 'the write is still held');
      relay.thaw();
      await eventually('the VirtualService written', async () => (await w.virtualService('api-virtual-service')) !== undefined);
      await eventually('/healthz 200 again', async () => (await watcher.get(`${watcher.health}/healthz`)).status === 200);
    } finally {
      relay.thaw();
      assert.equal((await watcher.stop()).code, 0);
      relay.stop();
    }
  });
});
