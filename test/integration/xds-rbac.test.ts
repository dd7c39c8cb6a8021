// deployments/xds.yaml on a cluster of its own (this file changes a ClusterRole): vsop xds with exactly the
// rights it grants is ready and serves the config's Services; without the EndpointSlices rule it stays
// unready and its log carries the apiserver's 403; its pod is admitted where Pod Security is "restricted",
// as deployment.yaml's namespace enforces.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { startCluster, type Cluster } from '../harness/cluster.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { freePort } from '../harness/processes.ts';
import { skipReason } from '../harness/require.ts';
import { eventually, parseMetrics, startWatch, type Watcher } from '../helpers/watcher.ts';
import { get } from '../helpers/world.ts';

const skip = skipReason();
const MANIFESTS = fileURLToPath(new URL('../../deployments/xds.yaml', import.meta.url));
const SA = 'system:serviceaccount:virtualservice-operator-system:vsop-xds';
const SYSTEM = 'virtualservice-operator-system';
const ROLE_PATH = '/apis/rbac.authorization.k8s.io/v1/clusterroles/vsop-xds-read';
let cluster: Cluster;

async function create(path: string, body: unknown) {
  const res = await kubeRequest(cluster.admin, 'POST', path, { body });
  assert.equal(res.status, 201, summary(res));
}

const service = (namespace: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'api', namespace }, spec: { clusterIP: 'None', ports: [{ port: 80 }] } });
const slice = (namespace: string) => ({
  apiVersion: 'discovery.k8s.io/v1',
  kind: 'EndpointSlice',
  metadata: { name: 'api-1', namespace, labels: { 'kubernetes.io/service-name': 'api' } },
  addressType: 'IPv4',
  ports: [{ port: 8080 }],
  endpoints: [{ addresses: ['192.0.2.1'], conditions: { ready: true } }],
});

describe('least privilege (deployments/xds.yaml)', { skip }, () => {
  before(async () => {
    // The manifests go in the namespace of deployment.yaml, which they do not create; dev is the developer namespace.
    const file = join(mkdtempSync(join(tmpdir(), 'vsop-xds-rbac-')), 'manifests.yaml');
    const restricted = '\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n    pod-security.kubernetes.io/enforce-version: latest';
    const namespaces = [SYSTEM, 'dev'].map((name) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}${name === SYSTEM ? restricted : ''}\n---\n`).join('');
    writeFileSync(file, namespaces + readFileSync(MANIFESTS, 'utf8'));
    cluster = await startCluster({ rbacFile: file, vsopUser: SA });
    await create(`/api/v1/namespaces/${SYSTEM}/configmaps`, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'virtualservice-operator-config' },
      data: { 'config.yaml': 'defaultNamespace: default\ndeveloperNamespaces: [dev]\n' },
    });
    for (const ns of ['default', 'dev']) {
      await create(`/api/v1/namespaces/${ns}/services`, service(ns));
      await create(`/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`, slice(ns));
    }
  });
  after(async () => cluster?.stop());

  const start = async (): Promise<Watcher> => startWatch(['xds', '--address', `127.0.0.1:${await freePort()}`], { KUBECONFIG: cluster.vsopKubeconfig });
  const logText = (w: Watcher) => w.logs.map((l) => JSON.stringify(l)).join('\n');

  it('is enough for vsop xds: ready, serving both copies of the Service, no 403 and no fallback', async () => {
    const xds = await start();
    try {
      await eventually('/readyz 200', async () => (await xds.get(`${xds.health}/readyz`)).status === 200, 30_000).catch((err) => {
        throw new Error(`${(err as Error).message}; its log:\n${logText(xds)}`);
      });
      const metrics = parseMetrics((await xds.get(`${xds.metrics}/metrics`)).body);
      assert.equal(metrics.get('vsop_xds_resources{type="cluster"}'), 2);
      assert.equal(metrics.get('vsop_xds_resources{type="listener"}'), 1);
      assert.doesNotMatch(logText(xds), /forbidden|warning/i);
    } finally {
      assert.equal((await xds.stop()).code, 0);
    }
  });

  it('without the EndpointSlices rule: not ready, and the 403 in its log names them', async () => {
    const role = (await get(cluster.admin, ROLE_PATH)).body;
    const full = structuredClone(role);
    role.rules = role.rules.filter((r: { resources: string[] }) => !r.resources.includes('endpointslices'));
    assert.equal((await kubeRequest(cluster.admin, 'PUT', ROLE_PATH, { body: role })).status, 200);
    const xds = await start();
    try {
      await eventually('the 403 in the log', async () => /endpointslices.*forbidden|forbidden.*endpointslices/is.test(logText(xds)), 30_000);
      assert.equal((await xds.get(`${xds.health}/readyz`)).status, 503);
    } finally {
      assert.equal((await xds.stop()).code, 0);
      full.metadata.resourceVersion = undefined;
      assert.equal((await kubeRequest(cluster.admin, 'PUT', ROLE_PATH, { body: full })).status, 200);
    }
  });

  it("runs a pod that Pod Security admission lets into deployment.yaml's namespace ('restricted')", async () => {
    const docs = parseAllDocuments(readFileSync(MANIFESTS, 'utf8')).map(
      (d) => d.toJS() as { kind: string; spec: { template: { spec: { containers: Record<string, unknown>[] } } } },
    );
    const spec = docs.find((d) => d.kind === 'Deployment')!.spec.template.spec;
    const pod = (podSpec: unknown) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'psa-check', namespace: SYSTEM }, spec: podSpec });
    const admitted = await kubeRequest(cluster.admin, 'POST', `/api/v1/namespaces/${SYSTEM}/pods?dryRun=All`, { body: pod(spec) });
    assert.equal(admitted.status, 201, summary(admitted));
    // The same pod allowed to escalate privileges is refused: the label is enforced here.
    const loose = structuredClone(spec);
    (loose.containers[0]!.securityContext as Record<string, unknown>).allowPrivilegeEscalation = true;
    const refused = await kubeRequest(cluster.admin, 'POST', `/api/v1/namespaces/${SYSTEM}/pods?dryRun=All`, { body: pod(loose) });
    assert.equal(refused.status, 403, summary(refused));
    assert.match(summary(refused), /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });
});
