// vsop version against the real test API server, with vsop's own rights (the RBAC fixture's): the server's
// version as GET /version answers it, and Istio's from an istiod Service labelled as Istio 1.27's istiod
// Helm chart labels it. Run alone with
//   node test/harness/run-integration.ts test/integration/version.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { testCluster } from '../harness/cluster.ts';
import { createNamespace, createObject } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { spawned } from '../cli/spawn.ts';

const skip = skipReason();

describe('vsop version (real apiserver)', { skip }, () => {
  it("prints the server's version and Istio's, reading as the vsop user", async () => {
    const cluster: Awaited<ReturnType<typeof testCluster>> = await (await import('../harness/cluster.ts')).testCluster();
    const namespace = await createNamespace(cluster.admin, 'istio-system');
    await createObject(cluster.admin, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'istiod',
        namespace,
        // manifests/charts/istio-control/istio-discovery/templates/service.yaml, with its "istio.labels".
        labels: {
          app: 'istiod',
          istio: 'pilot',
          'istio.io/rev': 'default',
          'operator.istio.io/component': 'Pilot',
          release: 'istiod',
          'app.kubernetes.io/name': 'istiod',
          'app.kubernetes.io/managed-by': 'Helm',
          'app.kubernetes.io/instance': 'istiod',
          'app.kubernetes.io/part-of': 'istio',
          'app.kubernetes.io/version': '1.27.9',
          'helm.sh/chart': 'istiod-1.27.9',
        },
      },
      spec: { clusterIP: 'None', selector: { app: 'istiod', istio: 'pilot' }, ports: [{ name: 'grpc-xds', port: 15010 }] },
    });
    const env = { KUBECONFIG: cluster.vsopKubeconfig };
    const json = await spawned(['version', '-o', 'json'], undefined, env);
    assert.equal(json.code, 0, json.stderr);
    const v = JSON.parse(json.stdout);
    assert.equal(v.serverVersion.major, '1');
    assert.match(v.serverVersion.gitVersion, /^v1\.33\.\d+/);
    assert.deepEqual(v.istioVersions, [{ revision: 'default', version: '1.27.9', service: `${namespace}/istiod` }]);
    const text = await spawned(['version'], undefined, env);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\nServer Version: v1\.33\.\d+\nIstio Version: 1\.27\.9\n$/);
  });
});
