// Placeholder Services against the real apiserver: created with the production Service's ports, never
// routed to, removed when no longer needed, and handed over cleanly when a developer deploys the real
// Service with `kubectl apply` or with Helm's --take-ownership.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import type { Service } from '../../src/core/types.ts';
import { get, makeWorld, routesOf, type Cluster, type World } from '../helpers/world.ts';

const skip = skipReason();
let cluster: Cluster;
before(async () => {
  if (!skip) cluster = await testCluster();
});
after(async () => cluster?.release());

const MARK = 'virtualservice-operator/placeholder-service';

async function service(w: World, ns: string, name: string): Promise<Service | undefined> {
  const res = await get(w.admin, `/api/v1/namespaces/${ns}/services/${name}`);
  return res.status === 404 ? undefined : (res.body as Service);
}

async function patch(w: World, ns: string, name: string, body: unknown, contentType: string) {
  const res = await kubeRequest(w.admin, 'PATCH', `/api/v1/namespaces/${ns}/services/${name}`, { body: JSON.stringify(body), contentType });
  assert.equal(res.status, 200, summary(res));
}

async function syncOk(w: World) {
  const r = await w.vsop(['sync']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('placeholder Services (real apiserver)', { skip }, () => {
  it('are created with the production ports, never routed to, and left alone on the next run', async () => {
    const w = await makeWorld(cluster, 'ph', { devs: 2, config: { enablePlaceholderServices: true } });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'api', { ports: [80, 9090] }), w.service(b, 'api', { ports: [80, 9090] })]);
    const out = await syncOk(w);
    assert.match(out, new RegExp(`^service ${a}/api created$`, 'm'));
    const ph = (await service(w, a, 'api'))!;
    assert.equal(ph.spec!.type, 'ExternalName');
    assert.equal(ph.spec!.externalName, `api.${w.prod}.svc.cluster.local`);
    assert.deepEqual(
      ph.spec!.ports!.map((p) => p.port),
      [80, 9090],
    );
    assert.equal(ph.metadata.labels![MARK], 'true');
    assert.equal(ph.metadata.annotations!['virtualservice-operator/source-service'], `${w.prod}/api`);
    assert.ok(!routesOf(await w.virtualService('api-virtual-service')).some((r) => r.includes(`.${a}.`)), 'no route to a placeholder');
    assert.equal(await service(w, b, 'api').then((s) => s!.metadata.labels?.[MARK]), undefined, 'the real copy is untouched');

    const again = await w.vsop(['sync', '-o', 'json']);
    assert.ok(
      (JSON.parse(again.stdout).results as { result: string }[]).every((r) => r.result === 'unchanged'),
      again.stdout,
    );
  });

  it('hand over to a real Service applied over them with kubectl apply (no type in the manifest)', async () => {
    const w = await makeWorld(cluster, 'phk', { devs: 1, config: { enablePlaceholderServices: true } });
    const [a] = w.devs as [string];
    await w.service(w.prod, 'web');
    await syncOk(w);
    // What `kubectl apply` sends for an object it did not create: a strategic merge patch of the manifest.
    await patch(
      w,
      a,
      'web',
      { metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}' } }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] } },
      'application/strategic-merge-patch+json',
    );
    const out = await syncOk(w);
    assert.match(out, new RegExp(`^service ${a}/web updated$`, 'm'));
    const real = (await service(w, a, 'web'))!;
    assert.equal(real.spec!.type, 'ClusterIP');
    assert.equal(real.spec!.externalName, undefined);
    assert.deepEqual(real.spec!.selector, { app: 'web' });
    assert.equal(real.metadata.labels?.[MARK], undefined);
    assert.deepEqual(routesOf(await w.virtualService('web-virtual-service')), [`vsop-dev-${a} -> web.${a}.svc.cluster.local`, `vsop-default -> web.${w.prod}.svc.cluster.local`]);
    const third = await w.vsop(['sync', '-o', 'json']);
    assert.ok(
      (JSON.parse(third.stdout).results as { result: string }[]).every((r) => r.result === 'unchanged'),
      third.stdout,
    );
  });

  it('hand over to a Helm release that takes ownership of them (helm install --take-ownership)', async () => {
    const w = await makeWorld(cluster, 'phh', { devs: 1, config: { enablePlaceholderServices: true } });
    const [a] = w.devs as [string];
    await w.service(w.prod, 'cart');
    await syncOk(w);
    // Helm's take-ownership: its labels and annotations, and its manifest's spec, patched onto the object.
    await patch(
      w,
      a,
      'cart',
      {
        metadata: { labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': 'cart', 'meta.helm.sh/release-namespace': a } },
        spec: { type: 'ClusterIP', externalName: null, selector: { app: 'cart' }, ports: [{ port: 80, targetPort: 8080 }] },
      },
      'application/merge-patch+json',
    );
    await syncOk(w);
    const real = (await service(w, a, 'cart'))!;
    assert.equal(real.metadata.labels?.[MARK], undefined);
    assert.equal(real.metadata.labels?.['app.kubernetes.io/managed-by'], 'Helm', "Helm's ownership is kept");
    assert.equal(real.metadata.annotations?.['meta.helm.sh/release-name'], 'cart');
    assert.deepEqual(routesOf(await w.virtualService('cart-virtual-service'))[0], `vsop-dev-${a} -> cart.${a}.svc.cluster.local`);
  });

  it('are removed when the production Service goes, when the namespace leaves the config, and when the feature is off', async () => {
    const w = await makeWorld(cluster, 'phd', { devs: 2, config: { enablePlaceholderServices: true } });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'one'), w.service(w.prod, 'two')]);
    await syncOk(w);
    assert.ok(await service(w, a, 'one'));
    assert.ok(await service(w, b, 'two'));

    await w.deleteService(w.prod, 'one');
    await syncOk(w);
    assert.equal(await service(w, a, 'one'), undefined);
    assert.equal(await service(w, b, 'one'), undefined);
    assert.equal(await w.virtualService('one-virtual-service'), undefined);

    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [a], enablePlaceholderServices: true });
    await syncOk(w);
    assert.equal(await service(w, b, 'two'), undefined, 'the namespace that left the config loses its placeholders');
    assert.ok(await service(w, a, 'two'));

    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [a] });
    await syncOk(w);
    assert.equal(await service(w, a, 'two'), undefined);
  });
});
