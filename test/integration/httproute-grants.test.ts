// ReferenceGrants over the CRD's 16-entry limit (issue 14), on the real apiserver, which serves the
// standard-channel v1.3.0 ReferenceGrant CRD (spec.to maxItems 16) and is the referee: 40 production
// Services with a copy each in one developer namespace. vsop sync stores every grant (the single grant of
// 40 entries of earlier versions was refused: "spec.to: Too many: 40: must have at most 16 items"), each
// within 16 entries and each Service in exactly one; a second run plans nothing; `sync SERVICE` for a 41st
// copy leaves the grants off its bucket's path as they are; Istio's simulation of what was stored sends
// each header to its copy. Run alone with
//   node test/harness/run-integration.ts test/integration/httproute-grants.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withoutServerFields } from '../../src/core/normalize.ts';
import { toYamlStream } from '../../src/core/render.ts';
import type { KubeObject } from '../../src/core/types.ts';
import { gatewayApiPath } from '../harness/gateway-api.ts';
import { simulate } from '../harness/istio.ts';
import { summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { get, makeWorld, type Cluster, type World, useTestCluster, listGatewayObjects } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

const names = (g: KubeObject) => ((g.spec as { to: { name: string }[] }).to ?? []).map((t) => t.name);
const svc = (i: number) => `svc-${String(i).padStart(2, '0')}`;

/** The stored grants: each within 16 entries, each Service named in exactly one; grant name → resourceVersion. */
function checkGrants(grants: readonly KubeObject[], services: readonly string[]): Map<string, string> {
  const seen: string[] = [];
  for (const g of grants) {
    assert.ok(names(g).length >= 1 && names(g).length <= 16, `${g.metadata.name}: ${names(g).length} entries`);
    seen.push(...names(g));
  }
  assert.deepEqual(seen.sort(), [...services].sort());
  return new Map(grants.map((g) => [g.metadata.name, g.metadata.resourceVersion as string]));
}

describe('ReferenceGrants of 40 copies in one namespace (real apiserver)', { skip }, () => {
  it('sync stores grants of at most 16 entries, plans nothing after, and Istio sends each header to its copy', async () => {
    const w = await makeWorld(cluster, 'hrgrants', { devs: 1, config: { routeKind: 'HTTPRoute' } });
    const [a] = w.devs as [string];
    const services = Array.from({ length: 40 }, (_, i) => svc(i));
    for (const s of services) await Promise.all([w.service(w.prod, s), w.service(a, s)]);

    const first = await w.vsop(['sync']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stderr, '');
    const grants = await listGatewayObjects(w, 'ReferenceGrant', a);
    assert.ok(grants.length >= 3, grants.map((g) => g.metadata.name).join(' '));
    const before = checkGrants(grants, services);
    assert.equal((await listGatewayObjects(w, 'HTTPRoute', w.prod)).length, 40);

    const again = await w.vsop(['sync', '--diff']);
    assert.deepEqual([again.code, again.stdout], [0, ''], again.stderr);

    // A 41st copy, synced alone: the other Services' entries stay, the grants off its bucket's path too.
    const added = svc(40);
    await Promise.all([w.service(w.prod, added), w.service(a, added)]);
    const one = await w.vsop(['sync', added]);
    assert.equal(one.code, 0, one.stderr);
    const grown = await listGatewayObjects(w, 'ReferenceGrant', a);
    const after = checkGrants(grown, [...services, added]);
    const untouched = [...before].filter(([name, rv]) => after.get(name) === rv);
    assert.ok(untouched.length >= before.size - 1, `grants rewritten: ${[...before.keys()].filter((n) => after.get(n) !== before.get(n)).join(' ')}`);

    // Istio, given what the apiserver stored, sends each header to the copy and the rest to production.
    const svcs = await Promise.all([w.prod, a].map((ns) => w.services(ns)));
    const routes = await listGatewayObjects(w, 'HTTPRoute', w.prod);
    const calls = [svc(0), svc(17), svc(39), added].flatMap((s) => [
      { host: `${s}.${w.prod}.svc.cluster.local`, port: 80, from: w.prod, headers: { 'x-developer': a } },
      { host: `${s}.${w.prod}.svc.cluster.local`, port: 80, from: w.prod },
    ]);
    const results = await simulate({
      // The world's Services are headless (the test cluster's IP range is small); Istio routes by VIP.
      services: toYamlStream(
        svcs.flat().map((s) => {
          const { clusterIP: _ip, clusterIPs: _ips, ...spec } = s.spec ?? {};
          return withoutServerFields({ ...s, apiVersion: 'v1', kind: 'Service', spec });
        }),
      ),
      virtualServices: toYamlStream([...routes, ...grown].map(withoutServerFields)),
      calls,
    });
    assert.deepEqual(
      results.map((r) => r.error ?? r.cluster),
      calls.map((c) => `outbound|80||${c.host.split('.')[0]}.${c.headers ? a : w.prod}.svc.cluster.local`),
    );
  });
});
