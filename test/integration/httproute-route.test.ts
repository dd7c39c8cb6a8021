// vsop route add | rm | reset and clear in routeKind HTTPRoute mode (issue 14, step 4), on the real
// apiserver with the Gateway API CRDs: the overrides are recorded on the managed HTTPRoute, each stored
// route passes strict validation, and Istio's simulation of what was stored (the referee) sends each
// request where the command said, and where `vsop trace` says; a prefix header match, which the Gateway
// API cannot express, is refused with exit 2 and nothing written. Run alone with
//   node test/harness/run-integration.ts test/integration/httproute-route.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { withoutServerFields } from '../../src/core/normalize.ts';
import { toYamlStream } from '../../src/core/render.ts';
import type { KubeObject } from '../../src/core/types.ts';
import { gatewayApiPath } from '../harness/gateway-api.ts';
import { simulate, type Call } from '../harness/istio.ts';
import { kubeRequest, objectPath, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { get, makeWorld, type Cluster, type World, useTestCluster, listGatewayObjects } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

/** Every HTTPRoute of production and grant of the developer namespaces, as stored. */
async function stored(w: World): Promise<KubeObject[]> {
  const grants = await Promise.all(w.devs.map((d) => listGatewayObjects(w, 'ReferenceGrant', d)));
  return [...(await listGatewayObjects(w, 'HTTPRoute', w.prod)), ...grants.flat()];
}

/** Istio's answer for each call, given the stored objects: a cluster, or the weights. */
async function istio(w: World, objects: KubeObject[], calls: Call[]): Promise<string[]> {
  const services = (await Promise.all([w.prod, ...w.devs].map((ns) => w.services(ns)))).flat();
  const results = await simulate({
    // The world's Services are headless (the test cluster's IP range is small); Istio routes by VIP.
    services: toYamlStream(
      services.map((svc) => {
        const { clusterIP: _ip, clusterIPs: _ips, ...spec } = svc.spec ?? {};
        return withoutServerFields({ ...svc, apiVersion: 'v1', kind: 'Service', spec });
      }),
    ),
    virtualServices: toYamlStream(objects.map(withoutServerFields)),
    calls,
  });
  return results.map((r) => r.error ?? (r.weights?.length ? r.weights.map((x) => `${x.cluster} ${x.weight}`).join(', ') : r.cluster));
}

/** vsop trace's answer for the same calls, from the cluster as it is (--live). */
async function trace(w: World, calls: Call[]): Promise<string[]> {
  const out: string[] = [];
  for (const c of calls) {
    const args = ['trace', 'my-app', '--live', '--from', c.from ?? w.prod, '-o', 'json', ...Object.entries(c.headers ?? {}).map(([k, v]) => `-H=${k}=${v}`)];
    const r = await w.vsop(args);
    assert.equal(r.code, 0, r.stderr);
    const a = JSON.parse(r.stdout) as { cluster: string; weights?: { cluster: string; weight: number }[]; error?: string };
    out.push(a.error ?? (a.weights?.length ? a.weights.map((x) => `${x.cluster} ${x.weight}`).join(', ') : a.cluster));
  }
  return out;
}

const cluster80 = (ns: string) => `outbound|80||my-app.${ns}.svc.cluster.local`;

describe('vsop route and clear, routeKind HTTPRoute (real apiserver, Istio as referee)', { skip }, () => {
  it('route add records the override on the HTTPRoute and Istio routes by it; a prefix match is refused with nothing written; rm, clear and purge undo it', async () => {
    const w = await makeWorld(cluster, 'hrroute', { devs: 2, config: { routeKind: 'HTTPRoute' } });
    const [a, b] = w.devs as [string, string];
    await w.service(w.prod, 'my-app');
    await w.service(a, 'my-app');
    await w.service(b, 'my-app');
    assert.equal((await w.vsop(['sync'])).code, 0);
    const host = `my-app.${w.prod}.svc.cluster.local`;
    const calls: Call[] = [
      { host, port: 80, from: w.prod, headers: { 'x-cid': 'alice' } },
      { host, port: 80, from: w.prod, headers: { 'x-developer': b } },
      { host, port: 80, from: w.prod },
    ];

    const add = await w.vsop(['route', 'add', 'my-app', '-n', a, '--header', 'x-cid=alice']);
    assert.equal(add.code, 0, add.stderr);
    let objects = await stored(w);
    const route = objects.find((o) => o.kind === 'HTTPRoute')!;
    assert.match(route.metadata.annotations?.['vsop.io/overrides'] ?? '', /"namespace":"[^"]+","id":1,"headers":\[\{"name":"x-cid","value":"alice","match":"exact"\}\]/);
    for (const o of objects) {
      const res = await kubeRequest(w.admin, 'PUT', `${objectPath(o as never)}?fieldValidation=Strict&dryRun=All`, { body: o });
      assert.equal(res.status, 200, `${o.kind} ${o.metadata.namespace}/${o.metadata.name}: ${summary(res)}`);
    }
    const expected = [cluster80(a), cluster80(b), cluster80(w.prod)];
    assert.deepEqual(await istio(w, objects, calls), expected, 'Istio (the referee)');
    assert.deepEqual(await trace(w, calls), expected, 'vsop trace');

    // A prefix header match cannot be an HTTPRoute match: exit 2, the reason, nothing written.
    const before = objects.map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`);
    const prefix = await w.vsop(['route', 'add', 'my-app', '-n', b, '--header', 'x-cid=bo', '--match', 'prefix']);
    assert.equal(prefix.code, 2, prefix.stderr);
    assert.match(prefix.stderr, /no prefix match for headers \(only Exact and RegularExpression\): use --match regex with "bo\.\*"/);
    assert.equal(prefix.stdout, '');
    assert.deepEqual(
      (await stored(w)).map((o) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`),
      before,
    );

    // A weight: Istio splits production's rule 70/30.
    assert.equal((await w.vsop(['route', 'add', 'my-app', '-n', b, '--weight', '30'])).code, 0);
    objects = await stored(w);
    const split = `${cluster80(w.prod)} 70, ${cluster80(b)} 30`;
    assert.deepEqual(await istio(w, objects, calls), [cluster80(a), cluster80(b), split]);
    assert.deepEqual(await trace(w, calls), [cluster80(a), cluster80(b), split]);

    // rm takes a's hand route away; reset b's weight.
    assert.equal((await w.vsop(['route', 'rm', 'my-app', '-n', a])).code, 0);
    assert.equal((await w.vsop(['route', 'reset', 'my-app', '-n', b])).code, 0);
    objects = await stored(w);
    assert.deepEqual(await istio(w, objects, calls), [cluster80(w.prod), cluster80(b), cluster80(w.prod)]);

    // clear: production only, and the grants go with the developer rules.
    assert.equal((await w.vsop(['clear', 'my-app'])).code, 0);
    objects = await stored(w);
    assert.deepEqual(
      objects.map((o) => o.kind),
      ['HTTPRoute'],
    );
    assert.deepEqual(await istio(w, objects, calls), [cluster80(w.prod), cluster80(w.prod), cluster80(w.prod)]);
    const status = await w.vsop(['status', '-o', 'json']);
    assert.equal(status.code, 0, status.stderr);
    const doc = JSON.parse(status.stdout) as { services: { httpRoutes: { state: string }[]; namespaces: Record<string, { state: string }> }[] };
    assert.deepEqual(
      Object.values(doc.services[0]!.namespaces).map((n) => n.state),
      ['cleared', 'cleared'],
    );
    assert.deepEqual(
      doc.services[0]!.httpRoutes.map((r) => r.state),
      ['in sync'],
    );

    // reset, then purge: every HTTPRoute and grant of vsop goes.
    assert.equal((await w.vsop(['route', 'reset', 'my-app'])).code, 0);
    assert.equal((await stored(w)).length, 3);
    const purge = await w.vsop(['clear', '--purge', '--all', '--yes']);
    assert.equal(purge.code, 0, purge.stderr);
    assert.deepEqual(await stored(w), []);
  });
});
