// vsop with exactly the rights deployments/deployment.yaml grants its ServiceAccount, and then those of the
// chart with rbac.namespaced=true (Services written only in the config's developer namespaces), each on a
// cluster of its own (this file changes cluster-wide objects): enough for sync, placeholders and watch, in
// routeKind HTTPRoute mode too; one verb less gives the 403 naming it; and a cluster without Istio's CRD
// says so.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CHART_DIR, DEFAULT_RELEASE } from '../../scripts/manifests.ts';
import { helmBinary } from '../harness/build.ts';
import { startCluster, type Cluster } from '../harness/cluster.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { runVsop } from '../helpers/run.ts';
import { eventually, startWatch } from '../helpers/watcher.ts';
import { get } from '../helpers/world.ts';

const skip = skipReason();
const MANIFESTS = fileURLToPath(new URL('../../deployments/deployment.yaml', import.meta.url));
const SA = 'system:serviceaccount:virtualservice-operator-system:virtualservice-operator';
const CONFIG_PATH = '/api/v1/namespaces/virtualservice-operator-system/configmaps';
const ROLE_PATH = '/apis/rbac.authorization.k8s.io/v1/namespaces/default/roles/virtualservice-operator-virtualservices';
let cluster: Cluster;

// The developer namespaces of the tests below, created with the manifests (the namespaced Roles need them).
const NAMESPACES = ['dev', 'other', 'wdev'];

/** The manifests to install, after Namespace objects for NAMESPACES, in a file of their own. */
function withNamespaces(manifests: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'vsop-rbac-')), 'manifests.yaml');
  writeFileSync(file, `${NAMESPACES.map((name) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n---\n`).join('')}${manifests}`);
  return file;
}

const VARIANTS = [
  { name: 'deployments/deployment.yaml', manifests: async () => readFileSync(MANIFESTS, 'utf8'), istio: true },
  {
    name: 'the chart with rbac.namespaced=true',
    manifests: async () =>
      execFileSync(
        await helmBinary(),
        [
          'template',
          DEFAULT_RELEASE.name,
          CHART_DIR,
          '--namespace',
          DEFAULT_RELEASE.namespace,
          '--set',
          `namespace.create=true,rbac.namespaced=true,config.developerNamespaces={${NAMESPACES.join(',')}}`,
        ],
        { encoding: 'utf8' },
      ),
    istio: false,
  },
];

const asVsop = (args: string[]) => runVsop(args, { env: { KUBECONFIG: cluster.vsopKubeconfig } });

async function create(path: string, body: unknown) {
  const res = await kubeRequest(cluster.admin, 'POST', path, { body });
  assert.equal(res.status, 201, summary(res));
}

const svc = (namespace: string, name: string) => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace },
  spec: { clusterIP: 'None', selector: { app: name }, ports: [{ port: 80 }] },
});

for (const variant of VARIANTS) {
  describe(`least privilege (${variant.name})`, { skip }, () => {
    before(async () => {
      cluster = await startCluster({ rbacFile: withNamespaces(await variant.manifests()), vsopUser: SA });
    });
    after(async () => cluster?.stop());

    it('is enough for sync, placeholders included; one verb less gives the 403 that names it, and nothing is written', async () => {
      const [dev, other] = ['dev', 'other'];
      // The manifests brought the seed ConfigMap; point it at this test's namespaces.
      const cm = (await get(cluster.admin, `${CONFIG_PATH}/virtualservice-operator-config`)).body;
      cm.data['config.yaml'] = `defaultNamespace: default\ndeveloperNamespaces: [${dev}, ${other}]\nenablePlaceholderServices: true\n`;
      assert.equal((await kubeRequest(cluster.admin, 'PUT', `${CONFIG_PATH}/virtualservice-operator-config`, { body: cm })).status, 200);
      await create('/api/v1/namespaces/default/services', svc('default', 'api'));
      await create(`/api/v1/namespaces/${dev}/services`, svc(dev, 'api'));

      const ok = await asVsop(['sync']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, `virtualservice default/api-virtual-service created\nservice ${other}/api created\n`);
      assert.equal((await asVsop(['status', '-o', 'json'])).code, 0);

      // Take "update" away from the Role on VirtualServices, then give vsop something to update.
      const role = (await get(cluster.admin, ROLE_PATH)).body;
      const full = structuredClone(role);
      role.rules[0].verbs = role.rules[0].verbs.filter((v: string) => v !== 'update');
      assert.equal((await kubeRequest(cluster.admin, 'PUT', ROLE_PATH, { body: role })).status, 200);
      await create(`/api/v1/namespaces/${other}/services`, svc(other, 'web'));
      await create('/api/v1/namespaces/default/services', svc('default', 'web'));
      await kubeRequest(cluster.admin, 'DELETE', `/api/v1/namespaces/${other}/services/api`);
      await create(`/api/v1/namespaces/${other}/services`, svc(other, 'api'));
      const before = (await get(cluster.admin, '/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices/api-virtual-service')).body;
      const denied = await asVsop(['sync', 'api']);
      assert.equal(denied.code, 6, denied.stderr);
      assert.match(
        denied.stderr,
        // The apiserver's own message stays in, as kubectl shows it: it names the user that was refused.
        /^error: forbidden: cannot update virtualservices\.networking\.istio\.io in namespace default: virtualservices\.networking\.istio\.io "api-virtual-service" is forbidden: User "system:serviceaccount:virtualservice-operator-system:virtualservice-operator" cannot update resource "virtualservices" in API group "networking\.istio\.io" in the namespace "default"\nhint: grant the user "update" on virtualservices\.networking\.istio\.io in namespace default/,
      );
      const afterDenied = (await get(cluster.admin, '/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices/api-virtual-service')).body;
      assert.equal(afterDenied.metadata.resourceVersion, before.metadata.resourceVersion, 'nothing written');

      full.metadata.resourceVersion = undefined;
      assert.equal((await kubeRequest(cluster.admin, 'PUT', ROLE_PATH, { body: full })).status, 200);
      const again = await asVsop(['sync']);
      assert.equal(again.code, 0, again.stderr);

      if (variant.istio) return;
      // Namespaced: a developer namespace the Roles do not cover gets no placeholder, and the 403 names it.
      await kubeRequest(cluster.admin, 'POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'extra' } } });
      const cm2 = (await get(cluster.admin, `${CONFIG_PATH}/virtualservice-operator-config`)).body;
      cm2.data['config.yaml'] = `defaultNamespace: default\ndeveloperNamespaces: [${dev}, ${other}, extra]\nenablePlaceholderServices: true\n`;
      assert.equal((await kubeRequest(cluster.admin, 'PUT', `${CONFIG_PATH}/virtualservice-operator-config`, { body: cm2 })).status, 200);
      const outside = await asVsop(['sync']);
      assert.equal(outside.code, 6, outside.stderr);
      assert.match(outside.stderr, /cannot create services in namespace extra/);
    });

    it('is enough for vsop watch with leader election, hot reload and its Event', async () => {
      const dev = 'wdev';
      const cm = (await get(cluster.admin, `${CONFIG_PATH}/virtualservice-operator-config`)).body;
      cm.data['config.yaml'] = `defaultNamespace: default\ndeveloperNamespaces: [${dev}]\n`;
      assert.equal((await kubeRequest(cluster.admin, 'PUT', `${CONFIG_PATH}/virtualservice-operator-config`, { body: cm })).status, 200);
      const watcher = await startWatch(['watch', '--leader-elect', '--retry-base', '50ms'], {
        KUBECONFIG: cluster.vsopKubeconfig,
        POD_NAMESPACE: 'virtualservice-operator-system',
        POD_NAME: 'vsop-0',
      });
      try {
        await eventually('leading', async () => watcher.logs.some((l) => l.msg === 'became leader'));
        await create('/api/v1/namespaces/default/services', svc('default', 'watched'));
        await create(`/api/v1/namespaces/${dev}/services`, svc(dev, 'watched'));
        await eventually('the route', async () => {
          const vs = (await get(cluster.admin, '/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices/watched-virtual-service')).body;
          return vs?.spec?.http?.length === 2;
        });
        const lease = (await get(cluster.admin, '/apis/coordination.k8s.io/v1/namespaces/virtualservice-operator-system/leases/virtualservice-operator')).body;
        assert.equal(lease.spec.holderIdentity, 'vsop-0');
        const bad = (await get(cluster.admin, `${CONFIG_PATH}/virtualservice-operator-config`)).body;
        bad.data['config.yaml'] = 'defaultNamespace: [oops]\n';
        assert.equal((await kubeRequest(cluster.admin, 'PUT', `${CONFIG_PATH}/virtualservice-operator-config`, { body: bad })).status, 200);
        await eventually('an Event recorded with these rights', async () => {
          const events = (await get(cluster.admin, '/api/v1/namespaces/virtualservice-operator-system/events')).body.items as { reason: string }[];
          return events.some((e) => e.reason === 'InvalidConfig');
        });
        assert.ok(!watcher.logs.some((l) => /forbidden/.test(String(l.error))), JSON.stringify(watcher.logs.filter((l) => l.error)));
      } finally {
        assert.equal((await watcher.stop()).code, 0);
        const cur = (await get(cluster.admin, `${CONFIG_PATH}/virtualservice-operator-config`)).body;
        cur.data['config.yaml'] = `defaultNamespace: default\ndeveloperNamespaces: [${dev}]\n`;
        await kubeRequest(cluster.admin, 'PUT', `${CONFIG_PATH}/virtualservice-operator-config`, { body: cur });
      }
      const released = (await get(cluster.admin, '/apis/coordination.k8s.io/v1/namespaces/virtualservice-operator-system/leases/virtualservice-operator')).body;
      assert.equal(released.spec.holderIdentity ?? null, null, 'the Lease is released on SIGTERM');
    });

    it('is enough for vsop watch in routeKind HTTPRoute mode; without update on ReferenceGrants the 403 names it and the route waits for its grant', async () => {
      const dev = 'wdev';
      const grantRights = variant.istio
        ? '/apis/rbac.authorization.k8s.io/v1/clusterroles/virtualservice-operator-referencegrants'
        : `/apis/rbac.authorization.k8s.io/v1/namespaces/${dev}/roles/virtualservice-operator-referencegrants`;
      const gw = (kind: 'httproutes' | 'referencegrants', namespace: string, name: string) =>
        `/apis/gateway.networking.k8s.io/${kind === 'httproutes' ? 'v1' : 'v1beta1'}/namespaces/${namespace}/${kind}/${name}`;
      const rules = async (name: string) => (await get(cluster.admin, gw('httproutes', 'default', name))).body?.spec?.rules?.length;
      const granted = async () => ((await get(cluster.admin, gw('referencegrants', dev, 'vsop-from-default'))).body?.spec?.to ?? []).map((t: { name: string }) => t.name).sort();
      const setConfig = async (text: string) => {
        const cm = (await get(cluster.admin, `${CONFIG_PATH}/virtualservice-operator-config`)).body;
        cm.data['config.yaml'] = text;
        assert.equal((await kubeRequest(cluster.admin, 'PUT', `${CONFIG_PATH}/virtualservice-operator-config`, { body: cm })).status, 200);
      };
      await setConfig(`defaultNamespace: default\ndeveloperNamespaces: [${dev}]\nrouteKind: HTTPRoute\n`);
      await create('/api/v1/namespaces/default/services', svc('default', 'gw'));
      await create('/api/v1/namespaces/default/services', svc('default', 'gw2'));
      await create(`/api/v1/namespaces/${dev}/services`, svc(dev, 'gw'));
      const watcher = await startWatch(['watch', '--leader-elect', '--retry-base', '50ms'], {
        KUBECONFIG: cluster.vsopKubeconfig,
        POD_NAMESPACE: 'virtualservice-operator-system',
        POD_NAME: 'vsop-0',
      });
      const full = (await get(cluster.admin, grantRights)).body;
      try {
        await eventually('the route and its grant', async () => (await rules('gw-routes')) === 2 && (await granted()).includes('gw'), 30_000).catch((err: Error) => {
          throw new Error(`${err.message}; the log:\n${watcher.logs.map((l) => JSON.stringify(l)).join('\n')}`);
        });
        assert.equal(await rules('gw2-routes'), 1);

        // Take "update" away from the rights on ReferenceGrants, then give vsop a grant to update.
        const less = structuredClone(full);
        less.rules[0].verbs = less.rules[0].verbs.filter((v: string) => v !== 'update');
        assert.equal((await kubeRequest(cluster.admin, 'PUT', grantRights, { body: less })).status, 200);
        await create(`/api/v1/namespaces/${dev}/services`, svc(dev, 'gw2'));
        await eventually(
          'the 403 in the log',
          async () => watcher.logs.some((l) => /cannot update referencegrants\.gateway\.networking\.k8s\.io in namespace wdev/.test(String(l.error))),
          30_000,
        );
        assert.equal(await rules('gw2-routes'), 1, 'no route to the copy before its grant');
        assert.ok(!(await granted()).includes('gw2'), 'the grant as it was');

        full.metadata.resourceVersion = undefined;
        assert.equal((await kubeRequest(cluster.admin, 'PUT', grantRights, { body: full })).status, 200);
        await eventually('the grant, then the route', async () => (await granted()).includes('gw2') && (await rules('gw2-routes')) === 2, 30_000);
        const refused = watcher.logs.filter((l) => /forbidden/.test(String(l.error)));
        assert.ok(
          refused.every((l) => /cannot update referencegrants/.test(String(l.error))),
          JSON.stringify(refused),
        );
      } finally {
        assert.equal((await watcher.stop()).code, 0);
        full.metadata.resourceVersion = undefined;
        await kubeRequest(cluster.admin, 'PUT', grantRights, { body: full });
        await setConfig(`defaultNamespace: default\ndeveloperNamespaces: [${dev}]\n`);
      }
    });

    it('reports a cluster without Istio: exit 7, naming networking.istio.io', { skip: !variant.istio && 'once is enough' }, async () => {
      const crd = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/virtualservices.networking.istio.io';
      assert.equal((await kubeRequest(cluster.admin, 'DELETE', crd)).status, 200);
      for (let i = 0; i < 50 && (await get(cluster.admin, crd)).status !== 404; i++) await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 50 && (await get(cluster.admin, '/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices')).status !== 404; i++) {
        await new Promise((r) => setTimeout(r, 200));
      }
      const r = await runVsop(['sync'], { env: { KUBECONFIG: cluster.adminKubeconfig } });
      assert.equal(r.code, 7, r.stderr);
      assert.match(
        r.stderr,
        /^error: the cluster does not serve virtualservices\.networking\.istio\.io at networking\.istio\.io\/v1beta1: networking\.istio\.io is not installed\nhint: install Istio/,
      );
      assert.equal(r.stdout, '');
    });
  });
}
