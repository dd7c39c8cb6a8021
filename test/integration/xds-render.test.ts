// `vsop xds render` against the cluster (no -f) reads what `vsop xds` reads (src/inputs.ts XDS_INPUTS):
// the EndpointSlices too, so the ClusterLoadAssignments it prints carry the endpoints of the slices on the
// real apiserver, as the server would serve them (a tester's finding: it read the plain INPUTS, and printed
// every ClusterLoadAssignment with `"endpoints": []`).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { type Cluster, makeWorld, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

const PORT = 50051;

/** A ready endpoint at `address`, serving the world's port p50051 on `port`. */
function endpointSlice(namespace: string, address: string, port: number) {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'greeter-1', namespace, labels: { 'kubernetes.io/service-name': 'greeter' } },
    addressType: 'IPv4',
    ports: [{ name: `p${PORT}`, port, protocol: 'TCP' }],
    endpoints: [{ addresses: [address], conditions: { ready: true } }],
  };
}

interface Assignment {
  cluster_name: string;
  endpoints: { lb_endpoints: { endpoint: { address: { socket_address: { address: string; port_value: number } } } }[] }[];
}

describe('vsop xds render against the cluster (real apiserver)', { skip }, () => {
  it("prints each ClusterLoadAssignment with the endpoints of the Service's EndpointSlices in that namespace", async () => {
    const w = await makeWorld(cluster, 'xdsrender', { devs: 1 });
    const dev = w.devs[0]!;
    // Documentation addresses (RFC 5737): the apiserver refuses loopback ones in a slice.
    const slices = [
      { namespace: w.prod, address: '192.0.2.10', port: 9001 },
      { namespace: dev, address: '198.51.100.20', port: 9002 },
    ];
    for (const s of slices) {
      await w.service(s.namespace, 'greeter', { ports: [PORT] });
      const res = await kubeRequest(w.admin, 'POST', `/apis/discovery.k8s.io/v1/namespaces/${s.namespace}/endpointslices`, {
        body: endpointSlice(s.namespace, s.address, s.port),
      });
      assert.equal(res.status, 201, summary(res));
    }
    const out = await w.vsop(['xds', 'render']);
    assert.equal(out.code, 0, out.stderr);
    const assignments = (JSON.parse(out.stdout).resources as Record<string, unknown>[]).filter(
      (r) => r['@type'] === 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
    ) as unknown as Assignment[];
    const got = Object.fromEntries(
      assignments.map((a) => [
        a.cluster_name,
        a.endpoints.flatMap((l) => l.lb_endpoints.map((e) => `${e.endpoint.address.socket_address.address}:${e.endpoint.address.socket_address.port_value}`)),
      ]),
    );
    assert.deepEqual(got, Object.fromEntries(slices.map((s) => [`outbound|${PORT}||greeter.${s.namespace}.svc.cluster.local`, [`${s.address}:${s.port}`]])));
  });
});
