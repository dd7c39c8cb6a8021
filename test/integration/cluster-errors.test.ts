// Every way the cluster can say no gives its message and exit code, and nothing is written; and vsop reads
// the cluster with O(namespaces) requests and writes exactly what the plan needs, nothing on a second run.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { writeKubeconfig } from '../harness/kubeconfig.ts';
import { skipReason } from '../harness/require.ts';
import { startProxy, type Proxy } from '../helpers/proxy.ts';
import { makeWorld, type Cluster } from '../helpers/world.ts';

const skip = skipReason();
let cluster: Cluster;
let proxy: Proxy;
const dir = mkdtempSync(join(tmpdir(), 'vsop-kc-'));

before(async () => {
  if (skip) return;
  cluster = await testCluster();
  proxy = await startProxy(cluster.admin, { tlsDir: join(cluster.dir, 'pki') });
});
after(async () => {
  await proxy?.stop();
  await cluster?.release();
});

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function kubeconfig(name: string, server: string, token: string): string {
  const path = join(dir, `${name}.kubeconfig`);
  writeKubeconfig(path, server, cluster.admin.ca, [{ context: name, token }]);
  return path;
}

describe('cluster errors (real apiserver)', { skip }, () => {
  it('an unreachable server: exit 5, naming the address', async () => {
    const w = await makeWorld(cluster, 'unreach', { devs: 1 });
    await w.service(w.prod, 'a');
    const port = await closedPort();
    const r = await w.vsop(['sync', '--request-timeout', '5s'], { kubeconfig: kubeconfig('closed', `https://127.0.0.1:${port}`, 'x') });
    assert.equal(r.code, 5, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`^error: cannot reach the API server at https://127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\) when trying to get configmaps .*\\nhint: check the server address`),
    );
    assert.equal(r.stdout, '');
  });

  it('rejected credentials: exit 6, 401 named', async () => {
    const w = await makeWorld(cluster, 'unauth', { devs: 1 });
    await w.service(w.prod, 'a');
    const r = await w.vsop(['sync'], { kubeconfig: kubeconfig('badtoken', cluster.server, 'not-a-token') });
    assert.equal(r.code, 6, r.stderr);
    assert.match(r.stderr, new RegExp(`refused the credentials \\(401 Unauthorized\\) when trying to get configmaps ${w.configNamespace}/virtualservice-operator-config`));
    assert.deepEqual(await w.virtualServices(), []);
  });

  it("missing rights: exit 6, naming the verb, resource and namespace, the apiserver's words (which name the user), and how to check", async () => {
    const w = await makeWorld(cluster, 'forbid', { devs: 1 });
    await w.service(w.prod, 'a');
    // The vsop user may read ConfigMaps only in virtualservice-operator-system.
    const r = await w.vsop(['sync'], { kubeconfig: cluster.vsopKubeconfig });
    assert.equal(r.code, 6, r.stderr);
    assert.equal(
      r.stderr,
      `error: forbidden: cannot get configmaps in namespace ${w.configNamespace}: configmaps "virtualservice-operator-config" is forbidden: User "${cluster.vsopUser}" cannot get resource "configmaps" in API group "" in the namespace "${w.configNamespace}"\n` +
        `hint: grant the user "get" on configmaps in namespace ${w.configNamespace} (check with: kubectl auth can-i get configmaps -n ${w.configNamespace})\n`,
    );
    assert.deepEqual(await w.virtualServices(), []);
  });

  it('no ConfigMap: exit 7 with a hint; a ConfigMap without config.yaml: exit 4; an invalid one: exit 3', async () => {
    const w = await makeWorld(cluster, 'nocfg', { devs: 1 });
    await w.service(w.prod, 'a');
    const missing = await w.vsop(['--config-name', 'nope', 'sync']);
    assert.equal(missing.code, 7, missing.stderr);
    assert.match(missing.stderr, new RegExp(`^error: configmap ${w.configNamespace}/nope not found\\nhint: create it`));

    const empty = await kubeRequest(w.admin, 'POST', `/api/v1/namespaces/${w.configNamespace}/configmaps`, {
      body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'empty' }, data: { 'other.yaml': 'x: 1' } },
    });
    assert.equal(empty.status, 201, summary(empty));
    const nokey = await w.vsop(['--config-name', 'empty', 'sync']);
    assert.equal(nokey.code, 4, nokey.stderr);
    assert.match(nokey.stderr, new RegExp(`configmap ${w.configNamespace}/empty: data\\["config.yaml"\\]: is missing \\(the ConfigMap has: other.yaml\\)`));

    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: ['Bad_Name'] });
    const invalid = await w.vsop(['sync']);
    assert.equal(invalid.code, 3, invalid.stderr);
    assert.match(invalid.stderr, /developerNamespaces\[0\]: "Bad_Name" is not a valid namespace name/);
    assert.deepEqual(await w.virtualServices(), []);
  });

  it('reads with one request per namespace, writes exactly the plan on reused connections, and nothing on a second run', async () => {
    const w = await makeWorld(cluster, 'count', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await Promise.all(
      Array.from({ length: 20 }, (_, i) => [w.service(w.prod, `s${i}`), ...(i % 4 === 0 ? [w.service(a, `s${i}`)] : []), ...(i % 5 === 0 ? [w.service(b, `s${i}`)] : [])]).flat(),
    );
    const kc = proxy.kubeconfig(dir, cluster.admin.token, 'count');
    const mine = (from: number) =>
      proxy.requests
        .slice(from)
        .filter(
          (r) =>
            r.path.includes(w.prod) ||
            r.path.includes(a) ||
            r.path.includes(b) ||
            r.path.includes(w.configNamespace) ||
            r.path.startsWith('/api/v1/services') ||
            r.path.startsWith('/apis/networking.istio.io/v1beta1/virtualservices'),
        );
    const shape = (from: number) => mine(from).map((r) => `${r.method} ${r.path.replace(/\?.*$/, '').replace(/\/s\d+-virtual-service$/, '/*')}`);

    let start = proxy.requests.length;
    const connections = proxy.connections;
    const first = await w.vsop(['sync'], { kubeconfig: kc });
    assert.equal(first.code, 0, first.stderr);
    // Connections are reused: at most one per concurrent read (6) and write (8), not one per request (26).
    assert.ok(proxy.connections - connections <= 14, `${proxy.connections - connections} TLS connections for 26 requests`);
    const reads = shape(start).filter((s) => s.startsWith('GET'));
    assert.deepEqual(
      reads.sort(),
      [
        `GET /api/v1/namespaces/${a}/services`,
        `GET /api/v1/namespaces/${b}/services`,
        `GET /api/v1/namespaces/${w.configNamespace}/configmaps/virtualservice-operator-config`,
        `GET /api/v1/namespaces/${w.prod}/services`,
        `GET /api/v1/services`,
        // VirtualServices of every namespace: any of them may take the production host (src/inputs.ts).
        `GET /apis/networking.istio.io/v1beta1/virtualservices`,
        // routeKind VirtualService still reads vsop's own HTTPRoutes (by label), to delete them after a switch
        // back (src/inputs.ts httpRoutes); its own ReferenceGrants are read cluster-wide, outside this filter.
        `GET /apis/gateway.networking.k8s.io/v1/namespaces/${w.prod}/httproutes`,
      ].sort(),
    );
    const writes = shape(start).filter((s) => !s.startsWith('GET'));
    assert.equal(writes.length, 20);
    assert.ok(
      writes.every((s) => s === `POST /apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices`),
      writes.join('\n'),
    );

    start = proxy.requests.length;
    const second = await w.vsop(['sync'], { kubeconfig: kc });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(shape(start).filter((s) => !s.startsWith('GET')).length, 0, 'second run: zero writes');
    assert.equal(shape(start).length, reads.length, 'second run: the same reads');
  });
});
