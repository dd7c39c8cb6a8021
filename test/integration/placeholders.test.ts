// Placeholder Services against the real apiserver: created with the production Service's ports, never
// routed to, removed when no longer needed, and handed over cleanly when a developer deploys the real
// Service with `kubectl apply` or with Helm's --take-ownership. And the object scope (issue 10): a Service
// carrying the placeholder marker outside vsop's scope (a namespace not in the configuration, a system or
// excluded one, one vsop would render no placeholder for) is never written by sync, watch or
// clear --purge, only reported; nor is a VirtualService outside the production namespace or without the
// managed label.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { createNamespace, createObject, kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import type { Service, VirtualService } from '../../src/core/types.ts';
import { eventually, settle, startWatch } from '../helpers/watcher.ts';
import { get, makeWorld, routesOf, type Cluster, type World, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

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

  it('are removed when the production Service goes and when the feature is off, and left (reported) when their namespace leaves the config', async () => {
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
    const left = (await service(w, b, 'two'))!;
    const r = await w.vsop(['sync']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await service(w, b, 'two'))?.metadata.resourceVersion, left.metadata.resourceVersion, 'outside the configuration: never written');
    assert.ok(r.stderr.includes(`warning: ${foreign(b, 'two', `namespace ${b} is not a developer namespace of the configuration`)}\n`), r.stderr);
    assert.ok(await service(w, a, 'two'));

    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [a] });
    await syncOk(w);
    assert.equal(await service(w, a, 'two'), undefined);
  });
});

/** The warning for a marked Service vsop leaves alone (FindingCode foreign-placeholder). */
function foreign(ns: string, name: string, reason: string): string {
  return `service ${ns}/${name} carries the placeholder marker (${MARK}) but ${reason}: vsop leaves it alone (delete it by hand if it is a placeholder left behind, or remove the marker)`;
}

interface Planted {
  namespace: string;
  name: string;
  /** The warning vsop gives for it. */
  warning: string;
}

const VS_API = 'networking.istio.io/v1beta1';

interface ScopeWorld {
  w: World;
  /** Marked Services outside vsop's scope, one per case. */
  planted: Planted[];
  /** VirtualServices (namespace/name) vsop must not write. */
  virtualServices: string[];
  /** Creates them all; their resourceVersions as created (see versions). */
  plant(): Promise<Record<string, string>>;
}

/**
 * A world whose config has one developer namespace, placeholders on and one excluded namespace, with
 * production Service `api` (so vsop's own placeholder for it goes to the developer namespace), and the
 * objects outside vsop's scope, ready to be created.
 */
async function scopeWorld(prefix: string): Promise<ScopeWorld> {
  const w = await makeWorld(cluster, prefix, { devs: 1 });
  const [a] = w.devs as [string];
  const [other, excluded] = await Promise.all([createNamespace(w.admin, `${prefix}-other`), createNamespace(w.admin, `${prefix}-excl`)]);
  await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [a], enablePlaceholderServices: true, excludedNamespaces: [excluded] });
  await w.service(w.prod, 'api');
  const vsopLike = (name: string) => ({
    labels: { [MARK]: 'true', 'managed-by': 'virtualservice-operator' },
    annotations: { [MARK]: 'true', 'virtualservice-operator/source-service': `${w.prod}/${name}` },
  });
  const external = (namespace: string, name: string, meta: { labels?: Record<string, string>; annotations?: Record<string, string> }) =>
    createObject(w.admin, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace, ...meta },
      spec: { type: 'ExternalName', externalName: `${name}.${w.prod}.svc.cluster.local`, ports: [{ port: 80, protocol: 'TCP' }] },
    });
  // A managed-labelled VirtualService for `api` outside the production namespace, and one without the
  // label in it: neither is vsop's to write.
  const vs = (namespace: string, name: string, labels: Record<string, string>) =>
    createObject(w.admin, {
      apiVersion: VS_API,
      kind: 'VirtualService',
      metadata: { name, namespace, labels, annotations: { 'vsop.io/service': 'api' } },
      spec: { hosts: [`api.${w.prod}.svc.cluster.local`], http: [{ name: 'vsop-default', route: [{ destination: { host: `api.${w.prod}.svc.cluster.local` } }] }] },
    });
  const system = `ext-${w.prod}`;
  const notConfigured = `namespace ${other} is not a developer namespace of the configuration`;
  return {
    w,
    planted: [
      // A placeholder exactly as vsop renders one, in a namespace not in the configuration: was deleted.
      { namespace: other, name: 'api', warning: foreign(other, 'api', notConfigured) },
      // A real Service with the marker label there: was "handed over" (updated).
      { namespace: other, name: 'web', warning: foreign(other, 'web', notConfigured) },
      // The issue's ExternalName Service in kube-system: was deleted.
      { namespace: 'kube-system', name: system, warning: foreign('kube-system', system, 'namespace kube-system is a system namespace') },
      { namespace: excluded, name: 'api', warning: foreign(excluded, 'api', `namespace ${excluded} is excluded (excludedNamespaces)`) },
      // In the developer namespace, but no production Service `ghost` exists and it was not made for one: was deleted.
      {
        namespace: a,
        name: 'ghost',
        warning: foreign(
          a,
          'ghost',
          `is no placeholder vsop would render there (there is no production Service ${w.prod}/ghost, and its annotation virtualservice-operator/source-service does not name one)`,
        ),
      },
    ],
    virtualServices: [`${other}/api-virtual-service`, `${w.prod}/by-hand`],
    async plant() {
      const created = await Promise.all([
        external(other, 'api', vsopLike('api')).then((r) => r.body),
        w.service(other, 'web', { labels: { [MARK]: 'true' } }),
        external('kube-system', system, { labels: { [MARK]: 'true' } }).then((r) => r.body),
        external(excluded, 'api', vsopLike('api')).then((r) => r.body),
        external(a, 'ghost', { labels: { [MARK]: 'true' }, annotations: { [MARK]: 'true' } }).then((r) => r.body),
        vs(other, 'api-virtual-service', { 'managed-by': 'virtualservice-operator' }).then((r) => r.body),
        vs(w.prod, 'by-hand', {}).then((r) => r.body),
      ]);
      return Object.fromEntries(
        (created as (Service | VirtualService)[]).map((o) => [`${o.kind.toLowerCase()} ${o.metadata.namespace}/${o.metadata.name}`, o.metadata.resourceVersion!]),
      );
    },
  };
}

/** `kind namespace/name` → resourceVersion (or "gone"), of each object vsop must not write. */
async function versions(s: ScopeWorld): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of s.planted) out[`service ${p.namespace}/${p.name}`] = (await service(s.w, p.namespace, p.name))?.metadata.resourceVersion ?? 'gone';
  for (const key of s.virtualServices) {
    const [ns, name] = key.split('/') as [string, string];
    const res = await get(s.w.admin, `/apis/${VS_API}/namespaces/${ns}/virtualservices/${name}`);
    out[`virtualservice ${key}`] = res.status === 404 ? 'gone' : (res.body as VirtualService).metadata.resourceVersion!;
  }
  return out;
}

describe('object scope: what vsop never writes (real apiserver)', { skip }, () => {
  it('sync and clear --purge --all leave marked Services outside the scope alone, each named in a warning, and VirtualServices outside production or without the label', async () => {
    const s = await scopeWorld('scs');
    const { w } = s;
    const [a] = w.devs as [string];
    const before = await s.plant();

    const first = await w.vsop(['sync']);
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(await versions(s), before, first.stdout);
    assert.match(first.stdout, new RegExp(`^service ${a}/api created$`, 'm'), 'its own placeholder is still written');
    for (const p of s.planted) assert.ok(first.stderr.includes(`warning: ${p.warning}\n`), `${p.warning}\nnot in:\n${first.stderr}`);

    const second = await w.vsop(['sync', '--diff']);
    assert.equal(second.code, 0, `${second.stdout}${second.stderr}`);
    for (const p of s.planted) assert.ok(second.stderr.includes(`warning: ${p.warning}\n`), second.stderr);

    const purge = await w.vsop(['clear', '--purge', '--all', '--yes']);
    assert.equal(purge.code, 0, purge.stderr);
    assert.equal(purge.stdout, `service ${a}/api deleted\nvirtualservice ${w.prod}/api-virtual-service deleted\n`, "the purge deletes what is vsop's, nothing else");
    for (const p of s.planted) assert.ok(purge.stderr.includes(`warning: ${p.warning}\n`), purge.stderr);
    assert.deepEqual(await versions(s), before);
  });

  it('watch leaves them alone too, as they come and as they change, and logs each warning', async () => {
    const s = await scopeWorld('scw');
    const { w } = s;
    const [a] = w.devs as [string];
    const watcher = await startWatch(['--config-namespace', w.configNamespace, 'watch', '--retry-base', '50ms', '--log-level', 'debug'], { KUBECONFIG: cluster.adminKubeconfig });
    try {
      await eventually('/readyz', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200);
      await eventually('its own placeholder', async () => (await service(w, a, 'api')) !== undefined);
      // Created while watch runs: every object arrives as an event.
      const before = await s.plant();
      await settle(watcher);
      assert.deepEqual(await versions(s), before);
      for (const p of s.planted) {
        await eventually(`the warning for ${p.namespace}/${p.name}`, async () => watcher.logs.some((l) => l.msg === `warning: ${p.warning}`));
      }
      // A change to each brings its name round again.
      const mark = watcher.logs.length;
      for (const p of s.planted) await patch(w, p.namespace, p.name, { metadata: { labels: { touched: 'yes' } } }, 'application/merge-patch+json');
      const touched = await versions(s);
      assert.notDeepEqual(touched, before);
      for (const p of s.planted) {
        await eventually(`${p.name} reconciled again`, async () => watcher.logs.slice(mark).some((l) => l.msg === 'reconciling' && l.service === p.name));
      }
      await settle(watcher);
      assert.deepEqual(await versions(s), touched);
      const namespaces = new Set([...s.planted.map((p) => p.namespace), ...s.virtualServices.map((k) => k.split('/')[0])]);
      const written = watcher.logs.filter((l) => /^(service|virtualservice) (created|updated|deleted)$/.test(String(l.msg)) && namespaces.has(String(l.namespace)));
      assert.deepEqual(written.map((l) => `${l.msg} ${l.namespace}/${l.name ?? l.virtualservice}`).sort(), [
        `service created ${a}/api`,
        `virtualservice created ${w.prod}/api-virtual-service`,
      ]);
    } finally {
      await watcher.stop();
    }
  });
});
