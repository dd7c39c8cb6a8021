// What vsop reads (src/inputs.ts), on the real apiserver and against Istio's own xDS generation:
// - the host table of test/unit/inputs-cases.ts (which production Services a VirtualService of some
//   namespace takes traffic from) is what Istio does;
// - a VirtualService of another namespace naming the production host is in sync's snapshot and in watch's
//   cache, and a change to it makes watch reconcile that production Service (and not another);
// - with exactly deployments/deployment.yaml's RBAC minus the ClusterRole that lists VirtualServices
//   cluster-wide, sync and watch say once what they cannot see, and still work (a cluster of its own:
//   this part changes cluster-wide RBAC).

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { connect } from '../../src/k8s/connect.ts';
import { clusterSource } from '../../src/k8s/source.ts';
import { startCluster, testCluster } from '../harness/cluster.ts';
import { simulate } from '../harness/istio.ts';
import { createNamespace, createObject, kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { eventually, settle, startWatch } from '../helpers/watcher.ts';
import { get, makeWorld, routesOf, type Cluster } from '../helpers/world.ts';
import { AFFECT_CASES, PRODUCTION_SERVICES } from '../unit/inputs-cases.ts';

const skip = skipReason();
const VS_API = 'networking.istio.io/v1beta1';

const shadow = (namespace: string, name: string, hosts: string[], to: string) => ({
  apiVersion: VS_API,
  kind: 'VirtualService',
  metadata: { name, namespace },
  spec: { hosts, http: [{ route: [{ destination: { host: to } }] }] },
});

describe('the host table is what Istio does (xDS generation)', { skip }, () => {
  for (const c of AFFECT_CASES) {
    it(c.name, async () => {
      const svc = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ name: 'http', port: 80 }] } });
      const results = await simulate({
        services: [...PRODUCTION_SERVICES.map((n) => svc('default', n)), svc('other', 'shadow'), svc('other', 'my-app')].map((o) => stringify(o)).join('---\n'),
        virtualServices: stringify(shadow(c.namespace, 'probe', c.hosts, 'shadow.other.svc.cluster.local')),
        calls: PRODUCTION_SERVICES.map((n) => ({ host: `${n}.default.svc.cluster.local`, port: 80, from: 'default' })),
      });
      const taken = PRODUCTION_SERVICES.filter((_, i) => results[i]!.cluster === 'outbound|80||shadow.other.svc.cluster.local');
      assert.deepEqual(taken, c.takes === 'all' ? [...PRODUCTION_SERVICES] : [...c.takes], JSON.stringify(results));
    });
  }
});

describe('VirtualServices of other namespaces (real apiserver)', { skip }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await testCluster();
  });
  after(async () => cluster?.release());

  it("are in sync's snapshot, read-only, and nothing of theirs is planned", async () => {
    const w = await makeWorld(cluster, 'insync', { devs: 1 });
    const other = await createNamespace(cluster.admin, 'insync-other');
    await w.service(w.prod, 'api');
    await createObject(cluster.admin, shadow(other, 'shadow', [`api.${w.prod}.svc.cluster.local`], `api.${w.prod}.svc.cluster.local`));
    const port = connect({ env: { KUBECONFIG: cluster.adminKubeconfig }, requestTimeout: 10_000 });
    try {
      const snapshot = await clusterSource(port, { namespace: w.configNamespace, name: 'virtualservice-operator-config' }).read();
      const names = snapshot.virtualServices.map((vs) => `${vs.metadata.namespace}/${vs.metadata.name}`);
      assert.ok(names.includes(`${other}/shadow`), names.join(', '));
      assert.equal(snapshot.warnings, undefined);
    } finally {
      port.close?.();
    }
    const run = await w.vsop(['sync', '-o', 'json']);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout, new RegExp(other), 'nothing planned in the other namespace');
    assert.equal((await get(cluster.admin, `/apis/${VS_API}/namespaces/${other}/virtualservices/shadow`)).body.metadata.generation, 1);
  });

  it("are in watch's cache, and a change to one requeues the production Service whose host it names", async () => {
    const w = await makeWorld(cluster, 'inwatch', { devs: 1 });
    const other = await createNamespace(cluster.admin, 'inwatch-other');
    await w.service(w.prod, 'api');
    await w.service(w.prod, 'web');
    const path = `/apis/${VS_API}/namespaces/${other}/virtualservices`;
    await createObject(cluster.admin, shadow(other, 'shadow', [`api.${w.prod}.svc.cluster.local`], `api.${w.prod}.svc.cluster.local`));
    const watcher = await startWatch(['--config-namespace', w.configNamespace, 'watch', '--log-level', 'debug'], { KUBECONFIG: cluster.adminKubeconfig });
    try {
      await eventually('/readyz', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
      await eventually('both VirtualServices', async () => (await w.virtualServices()).length === 2);
      // In the cache: api's reconcile read it (the plan reports the other VirtualService on api's host).
      const apiLines = (from = 0) => watcher.logs.slice(from).filter((l) => l.service === 'api');
      assert.ok(
        apiLines().some((l) => JSON.stringify(l).includes(`${other}/shadow`)),
        JSON.stringify(apiLines()),
      );
      await settle(watcher, 800);

      const mark = watcher.logs.length;
      const current = (await get(cluster.admin, `${path}/shadow`)).body;
      current.spec.http[0].timeout = '3s';
      const res = await kubeRequest(cluster.admin, 'PUT', `${path}/shadow`, { body: current });
      assert.equal(res.status, 200, summary(res));
      await eventually('api reconciled again', async () => watcher.logs.slice(mark).some((l) => l.msg === 'reconciling' && l.service === 'api'));
      await settle(watcher, 800);
      const reconciled = watcher.logs
        .slice(mark)
        .filter((l) => l.msg === 'reconciling')
        .map((l) => l.service);
      assert.deepEqual([...new Set(reconciled)], ['api'], 'only the Service whose host it names');
      assert.deepEqual(routesOf(await w.virtualService('api-virtual-service')), [`vsop-default -> api.${w.prod}.svc.cluster.local`]);
    } finally {
      await watcher.stop();
    }
  });
});

describe("without the right to list VirtualServices cluster-wide (deployments/deployment.yaml's RBAC minus its ClusterRole)", { skip }, () => {
  const MANIFESTS = fileURLToPath(new URL('../../deployments/deployment.yaml', import.meta.url));
  const SA = 'system:serviceaccount:virtualservice-operator-system:virtualservice-operator';
  const CONFIG = '/api/v1/namespaces/virtualservice-operator-system/configmaps/virtualservice-operator-config';
  const BINDING = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/virtualservice-operator-virtualservices-read';
  const WARNING =
    `warning: forbidden: cannot list virtualservices.networking.istio.io cluster-wide: virtualservices.networking.istio.io is forbidden: User "${SA}" cannot list resource "virtualservices" in API group "networking.istio.io" at the cluster scope; ` +
    "reading namespace default only: cannot see VirtualServices of other namespaces: a VirtualService elsewhere may shadow vsop's unseen (grant list and watch on virtualservices.networking.istio.io at cluster scope (a ClusterRole))\n";
  let cluster: Awaited<ReturnType<typeof startCluster>>;
  before(async () => {
    cluster = await startCluster({ rbacFile: MANIFESTS, vsopUser: SA });
  });
  after(async () => cluster?.stop());

  it('sync and watch say once what they cannot see, and still bring the production namespace in line', async () => {
    const { admin } = cluster;
    const dev = await createNamespace(admin, 'dev');
    const cm = (await get(admin, CONFIG)).body;
    cm.data['config.yaml'] = `defaultNamespace: default\ndeveloperNamespaces: [${dev}]\n`;
    assert.equal((await kubeRequest(admin, 'PUT', CONFIG, { body: cm })).status, 200);
    const svc = (namespace: string, name: string) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace },
      spec: { clusterIP: 'None', selector: { app: name }, ports: [{ port: 80 }] },
    });
    await createObject(admin, svc('default', 'api'));
    await createObject(admin, svc(dev, 'api'));
    const env = { KUBECONFIG: cluster.vsopKubeconfig };
    const { runVsop } = await import('../helpers/run.ts');

    // With the whole of deployment.yaml: no warning.
    const full = await runVsop(['sync', '--diff'], { env });
    assert.equal(full.code, 1, full.stderr);
    assert.doesNotMatch(full.stderr, /warning/);

    assert.equal((await kubeRequest(admin, 'DELETE', BINDING)).status, 200);
    await eventually('the right gone', async () => (await runVsop(['sync', '--diff'], { env })).stderr.includes('warning'));
    const synced = await runVsop(['sync'], { env });
    assert.equal(synced.code, 0, synced.stderr);
    assert.equal(synced.stderr, WARNING);
    assert.equal(synced.stdout, 'virtualservice default/api-virtual-service created\n');

    await createObject(admin, svc('default', 'web'));
    const watcher = await startWatch(['watch'], env);
    try {
      await eventually('/readyz', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
      await eventually('web routed', async () => (await get(admin, `/apis/${VS_API}/namespaces/default/virtualservices/web-virtual-service`)).status === 200);
      const warnings = watcher.logs.filter((l) => String(l.msg).startsWith('warning:'));
      assert.deepEqual(
        warnings.map((l) => `${l.msg}\n`),
        [WARNING],
      );
      assert.equal(watcher.logs.filter((l) => l.level === 'error').length, 0, JSON.stringify(watcher.logs));
    } finally {
      await watcher.stop();
    }
  });
});
