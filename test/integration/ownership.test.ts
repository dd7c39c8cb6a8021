// Who owns what in a managed VirtualService, on the real apiserver, each case under `vsop sync` and under a
// running `vsop watch` (issue 10, items 1 and 5):
// - kubectl's rule, field by field: what a person adds (gateways, exportTo, tcp, tls, a label, an annotation)
//   stays; what vsop's template set and no longer sets goes; a hand edit of what vsop renders is put back;
// - the takeover from the seed operator (built from the anchors directory and run against the same
//   apiserver): vsop's first pass leaves every VirtualService as vsop renders it on a fresh cluster, the
//   operator's unnamed routes gone (stale ones too) and a person's routes kept, and later changes leave no
//   route behind.
// Every VirtualService vsop wrote passes Istio's validation; the takeover's routing is checked with Istio's
// own xDS generation. Run alone with
//   node test/harness/run-integration.ts test/integration/ownership.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import { anchorsDir, startOperator } from '../harness/anchors.ts';
import { testCluster } from '../harness/cluster.ts';
import { simulate, type Call } from '../harness/istio.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { withoutServerFields } from '../../src/core/normalize.ts';
import { toYamlStream } from '../../src/core/render.ts';
import type { HttpRoute, VirtualService } from '../../src/core/types.ts';
import { runVsop } from '../helpers/run.ts';
import { eventually, startWatch } from '../helpers/watcher.ts';
import { get, makeWorld, routesOf, writtenByVsop, type Cluster, type World, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const anchors = anchorsDir();
const written = writtenByVsop();
const cluster = useTestCluster(skip, () => written.assertValid({ strict: true }));

const FAST = ['--retry-base', '20ms'];
const MODES = ['sync', 'watch'] as const;
type Mode = (typeof MODES)[number];

const vsName = (service: string) => `${service}-virtual-service`;
const host = (service: string, ns: string) => `${service}.${ns}.svc.cluster.local`;
const vsPath = (w: World, name: string) => `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices/${name}`;

/** A person's edit of a live object: read, change, write back, reading again after a 409 as kubectl edit makes one do. */
async function edit(w: World, name: string, change: (vs: VirtualService) => void): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const cur = await get(w.admin, vsPath(w, name));
    assert.equal(cur.status, 200, summary(cur));
    change(cur.body as VirtualService);
    const res = await kubeRequest(w.admin, 'PUT', vsPath(w, name), { body: cur.body });
    if (res.status === 200) return;
    if (res.status !== 409 || attempt === 10) assert.fail(`editing ${name} by hand: ${summary(res)}`);
  }
}

async function live(w: World, service: string): Promise<VirtualService> {
  const vs = await w.virtualService(vsName(service));
  assert.ok(vs, `${vsName(service)} missing`);
  return vs;
}

interface Driver {
  /** Lets vsop act, then holds it to `check`: one `vsop sync` (and a second that writes nothing), or the running watch. */
  settle(what: string, check: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

async function drive(mode: Mode, w: World): Promise<Driver> {
  if (mode === 'sync') {
    return {
      async settle(what, check) {
        const first = await w.vsop(['sync', ...FAST]);
        assert.equal(first.code, 0, `${what}: vsop sync: ${first.stderr}`);
        await check();
        const second = await w.vsop(['sync', ...FAST]);
        assert.equal(second.code, 0, second.stderr);
        assert.deepEqual(
          second.stdout.split('\n').filter((l) => l && !l.endsWith(' unchanged')),
          [],
          `${what}: a second sync wrote again`,
        );
      },
      stop: async () => {},
    };
  }
  const watcher = await startWatch(['--config-namespace', w.configNamespace, 'watch', ...FAST], { KUBECONFIG: cluster.adminKubeconfig });
  const versions = async () => (await w.virtualServices()).map((v) => `${v.metadata.name} ${v.metadata.resourceVersion}`);
  return {
    async settle(what, check) {
      await eventually(what, async () => {
        await check();
        return true;
      });
      // Settled, not passing through: nothing more is written, and the state holds.
      const seen = await versions();
      await new Promise((r) => setTimeout(r, 1500));
      assert.deepEqual(await versions(), seen, `${what}: the watch kept writing`);
      await check();
    },
    async stop() {
      const { code } = await watcher.stop();
      assert.equal(code, 0, watcher.logs.map((l) => JSON.stringify(l)).join('\n'));
    },
  };
}

/** What a person adds to a managed VirtualService: none of it is vsop's. */
const handAdded = (prod: string) => ({
  labels: { team: 'payments' },
  annotations: { 'example.com/owner': 'alice' },
  spec: {
    gateways: ['istio-system/public-gw', 'mesh'],
    exportTo: ['.'],
    tcp: [{ match: [{ port: 9000 }], route: [{ destination: { host: host('my-app', prod), port: { number: 9000 } } }] }],
    tls: [{ match: [{ port: 443, sniHosts: ['my-app'] }], route: [{ destination: { host: host('my-app', prod), port: { number: 443 } } }] }],
  },
});

function addByHand(vs: VirtualService, add: { labels: object; annotations: object; spec: object }): void {
  vs.metadata.labels = { ...vs.metadata.labels, ...add.labels };
  vs.metadata.annotations = { ...vs.metadata.annotations, ...add.annotations };
  Object.assign(vs.spec, add.spec);
}

/** The parts of `vs` that `add` names. */
function partsNamed(vs: VirtualService, add: { labels: object; annotations: object; spec: object }) {
  const pick = (from: Record<string, unknown> | undefined, keys: object) => Object.fromEntries(Object.keys(keys).map((k) => [k, from?.[k]]));
  return {
    labels: pick(vs.metadata.labels, add.labels),
    annotations: pick(vs.metadata.annotations, add.annotations),
    spec: pick(vs.spec, add.spec),
  };
}

/** A template that sets, beyond the seed's, a label, an annotation, gateways and exportTo. */
const TEMPLATE_WITH_EXTRAS = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: "\${serviceName}-virtual-service"
  namespace: "\${defaultNamespace}"
  labels:
    tier: backend
  annotations:
    example.com/template: v1
spec:
  hosts:
  - \${serviceName}
  gateways:
  - mesh
  exportTo:
  - "*"
  http:
  - route:
    - destination:
        host: \${serviceName}.\${defaultNamespace}.svc.cluster.local
`;

/** The same template without them. */
const TEMPLATE_PLAIN = TEMPLATE_WITH_EXTRAS.replace(/ {2}labels:\n.*\n {2}annotations:\n.*\n/, '').replace(/ {2}gateways:\n.*\n {2}exportTo:\n.*\n/, '');

describe('fields vsop never set stay, fields it stopped setting go, fields it sets are put back (real apiserver)', { skip }, () => {
  for (const mode of MODES) {
    it(`${mode}: gateways, exportTo, tcp, tls, a label and an annotation added by hand survive vsop writing the object`, async () => {
      const w = await makeWorld(cluster, `oadd-${mode}`, { devs: 2 });
      const [a, b] = w.devs as [string, string];
      await Promise.all([w.service(w.prod, 'my-app'), w.service(a, 'my-app')]);
      const d = await drive(mode, w);
      try {
        await d.settle('the automatic routes', async () => {
          assert.deepEqual(routesOf(await live(w, 'my-app')), [`vsop-dev-${a} -> ${host('my-app', a)}`, `vsop-default -> ${host('my-app', w.prod)}`]);
        });
        const hand = handAdded(w.prod);
        await edit(w, vsName('my-app'), (vs) => addByHand(vs, hand));
        await w.service(b, 'my-app'); // vsop has to write the object again: a route for b
        await d.settle("b's route, beside everything added by hand", async () => {
          const vs = await live(w, 'my-app');
          assert.deepEqual(routesOf(vs), [`vsop-dev-${a} -> ${host('my-app', a)}`, `vsop-dev-${b} -> ${host('my-app', b)}`, `vsop-default -> ${host('my-app', w.prod)}`]);
          assert.deepEqual(partsNamed(vs, hand), hand);
          assert.equal(vs.metadata.labels!['managed-by'], 'virtualservice-operator');
        });
        await written.collect(w);
      } finally {
        await d.stop();
      }
    });

    it(`${mode}: a label, an annotation, gateways and exportTo the template stops setting go; those added by hand stay`, async () => {
      const w = await makeWorld(cluster, `otpl-${mode}`, { devs: 1, config: { virtualServiceTemplate: TEMPLATE_WITH_EXTRAS } });
      const [a] = w.devs as [string];
      await Promise.all([w.service(w.prod, 'my-app'), w.service(a, 'my-app')]);
      const d = await drive(mode, w);
      try {
        await d.settle("the template's fields", async () => {
          const vs = await live(w, 'my-app');
          assert.equal(vs.metadata.labels?.tier, 'backend');
          assert.equal(vs.metadata.annotations?.['example.com/template'], 'v1');
          assert.deepEqual([vs.spec.gateways, vs.spec.exportTo], [['mesh'], ['*']]);
        });
        const rendered = await live(w, 'my-app');
        const hand = { labels: { team: 'payments' }, annotations: { 'example.com/owner': 'alice' }, spec: { tcp: handAdded(w.prod).spec.tcp } };
        await edit(w, vsName('my-app'), (vs) => addByHand(vs, hand));
        await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: w.devs, virtualServiceTemplate: TEMPLATE_PLAIN });
        await d.settle('the fields the template no longer sets gone, the hand-added ones kept', async () => {
          const vs = await live(w, 'my-app');
          assert.equal(vs.metadata.labels?.tier, undefined, 'label tier');
          assert.equal(vs.metadata.annotations?.['example.com/template'], undefined, 'annotation example.com/template');
          assert.deepEqual([vs.spec.gateways, vs.spec.exportTo], [undefined, undefined], 'gateways and exportTo');
          assert.deepEqual(partsNamed(vs, hand), hand);
          assert.deepEqual([vs.spec.hosts, vs.spec.http], [rendered.spec.hosts, rendered.spec.http]);
        });
        await written.collect(w);
      } finally {
        await d.stop();
      }
    });

    it(`${mode}: a hand edit of gateways, a label, a route or the hosts vsop renders is put back`, async () => {
      const w = await makeWorld(cluster, `oput-${mode}`, { devs: 1, config: { virtualServiceTemplate: TEMPLATE_WITH_EXTRAS } });
      const [a] = w.devs as [string];
      await Promise.all([w.service(w.prod, 'my-app'), w.service(a, 'my-app')]);
      const d = await drive(mode, w);
      try {
        await d.settle('the rendered object', async () => {
          assert.deepEqual(routesOf(await live(w, 'my-app')), [`vsop-dev-${a} -> ${host('my-app', a)}`, `vsop-default -> ${host('my-app', w.prod)}`]);
        });
        const rendered = await live(w, 'my-app');
        const restored = (extraLabels: Record<string, string> = {}) =>
          async function check() {
            const vs = await live(w, 'my-app');
            assert.deepEqual(
              { labels: vs.metadata.labels, annotations: vs.metadata.annotations, spec: vs.spec },
              { labels: { ...rendered.metadata.labels, ...extraLabels }, annotations: rendered.metadata.annotations, spec: rendered.spec },
            );
          };
        await edit(w, vsName('my-app'), (vs) => {
          vs.spec.gateways = ['istio-system/public-gw'];
          vs.metadata.labels!.tier = 'frontend';
          vs.metadata.labels!.team = 'payments'; // and a label of their own, which stays
          vs.spec.http![0]!.route![0]!.destination.host = 'elsewhere.example.com';
        });
        await d.settle('gateways, the label and the route put back', restored({ team: 'payments' }));
        await edit(w, vsName('my-app'), (vs) => {
          vs.spec.hosts = ['other-app'];
        });
        await d.settle('the hosts put back', restored({ team: 'payments' }));
        await written.collect(w);
      } finally {
        await d.stop();
      }
    });
  }
});

// The takeover. What is compared: each VirtualService's labels, the annotations vsop writes (vsop.io/*) and
// its spec, against `vsop render` of the same ConfigMap and Services with no VirtualService at all (a fresh
// cluster), once the routes a person added are set aside (they must be there, unchanged). Not compared:
// the operator's ownerReferences (to the production Service), which vsop never sets and so leaves in place,
// and server-set metadata.
describe('vsop takes over from the seed operator (real apiserver)', { skip: skip || anchors.missing || false }, () => {
  for (const mode of MODES) {
    it(`${mode}: every VirtualService ends as vsop renders it on a fresh cluster, the operator's routes gone and a person's routes kept`, async () => {
      const w = await makeWorld(cluster, `take-${mode}`, { devs: 3 });
      const [a, b, c] = w.devs as [string, string, string];
      await Promise.all([...['my-app', 'web'].map((s) => w.service(w.prod, s)), ...[a, b, c].map((ns) => w.service(ns, 'my-app')), w.service(a, 'web')]);

      const operator = await startOperator({ anchors: anchors.dir!, kubeconfig: cluster.adminKubeconfig, configNamespace: w.configNamespace });
      try {
        const unnamed = (service: string, devs: string[]) => [...devs.map((ns) => `(unnamed) -> ${host(service, ns)}`), `(unnamed) -> ${host(service, w.prod)}`];
        await eventually(
          'the seed operator to converge',
          async () => {
            assert.deepEqual(routesOf(await w.virtualService(vsName('my-app'))), unnamed('my-app', [a, b, c]));
            assert.deepEqual(routesOf(await w.virtualService(vsName('web'))), unnamed('web', [a]));
            return true;
          },
          60_000,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\nvs-operator log:\n${operator.logTail()}`);
      } finally {
        await operator.stop();
      }
      assert.ok(
        (await w.virtualServices()).every((vs) => vs.metadata.ownerReferences !== undefined && vs.metadata.labels?.['managed-by'] === 'virtualservice-operator'),
        "the operator's objects, with its label and ownerReferences",
      );

      // A person's routes before the operator's catch-all: one named, one unnamed but not of the operator's
      // shape. While no operator runs, a copy is deleted and a namespace leaves the config: the operator's
      // routes to them are stale when vsop arrives.
      const canary: HttpRoute = { name: 'canary', match: [{ headers: { 'x-canary': { exact: 'on' } } }], route: [{ destination: { host: host('my-app', b) } }] };
      const legacy: HttpRoute = { match: [{ uri: { prefix: '/legacy' } }], route: [{ destination: { host: host('web', w.prod) } }] };
      const hand = [canary, legacy];
      await edit(w, vsName('my-app'), (vs) => vs.spec.http!.splice(-1, 0, ...hand));
      await w.deleteService(a, 'web');
      await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [a, b] });

      const asFresh = (what: string) => async () => {
        const fresh = await freshRender(w);
        const now = await w.virtualServices();
        assert.deepEqual(
          now.map((vs) => vs.metadata.name),
          fresh.map((vs) => vs.metadata.name),
          `${what}: the VirtualServices`,
        );
        for (const [i, vs] of now.entries()) {
          const kept = (vs.spec.http ?? []).filter((r) => isOneOf(r, hand));
          assert.deepEqual(kept, vs.metadata.name === vsName('my-app') ? hand : [], `${what}: the routes a person added, in ${vs.metadata.name}`);
          assert.deepEqual(
            routesOf({ ...vs, spec: { http: (vs.spec.http ?? []).filter((r) => r.name === undefined && !isOneOf(r, hand)) } }),
            [],
            `${what}: the operator's unnamed routes are gone from ${vs.metadata.name}`,
          );
          assert.deepEqual(comparable(vs, hand), comparable(fresh[i]!, []), `${what}: ${vs.metadata.name} as on a fresh cluster`);
        }
      };

      const d = await drive(mode, w);
      try {
        await d.settle('the takeover', asFresh('after the takeover'));
        assert.deepEqual(await routesFor(w, c), [], `a route for ${c}, which left the config, is left`);
        const h = host('my-app', w.prod);
        await expectClusters(w, [
          [{ host: h, port: 80, headers: { 'x-developer': a } }, clusterOf('my-app', a)],
          [{ host: h, port: 80, headers: { 'x-developer': b } }, clusterOf('my-app', b)],
          [{ host: h, port: 80, headers: { 'x-developer': c } }, clusterOf('my-app', w.prod)],
          [{ host: h, port: 80, headers: { 'x-canary': 'on' } }, clusterOf('my-app', b)],
          [{ host: h, port: 80, path: '/legacy/x' }, clusterOf('web', w.prod)],
          [{ host: h, port: 80 }, clusterOf('my-app', w.prod)],
          [{ host: 'my-app', port: 80, from: w.prod }, clusterOf('my-app', w.prod)],
          [{ host: host('web', w.prod), port: 80, headers: { 'x-developer': a } }, clusterOf('web', w.prod)],
          [{ host: host('web', w.prod), port: 80 }, clusterOf('web', w.prod)],
        ]);
        await written.collect(w);

        await w.deleteService(a, 'my-app');
        await d.settle(`${a}'s copy deleted`, async () => {
          await asFresh(`${a}'s copy deleted`)();
          assert.deepEqual(await routesFor(w, a), [], `a route for ${a} is left`);
        });
        await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [a] });
        await d.settle(`${b} out of the config`, async () => {
          await asFresh(`${b} out of the config`)();
          // The person's route to b's copy is theirs and stays; no route of vsop's or the operator's does.
          assert.deepEqual(await routesFor(w, b), ['my-app-virtual-service canary'], `a route for ${b} is left`);
        });
        await expectClusters(w, [
          [{ host: h, port: 80, headers: { 'x-developer': a } }, clusterOf('my-app', w.prod)],
          [{ host: h, port: 80, headers: { 'x-developer': b } }, clusterOf('my-app', w.prod)],
          [{ host: h, port: 80, headers: { 'x-canary': 'on' } }, clusterOf('my-app', b)],
        ]);
        await written.collect(w);
      } finally {
        await d.stop();
      }
    });
  }
});

const isOneOf = (route: HttpRoute, routes: HttpRoute[]) => routes.some((r) => isDeepStrictEqual(r, route));

/** Labels, vsop's annotations and spec, with the routes in `foreign` set aside. */
function comparable(vs: VirtualService, foreign: HttpRoute[]) {
  const annotations = Object.entries(vs.metadata.annotations ?? {}).filter(([k]) => k.startsWith('vsop.io/'));
  const http = vs.spec.http?.filter((r) => !isOneOf(r, foreign));
  return { labels: vs.metadata.labels, annotations: Object.fromEntries(annotations), spec: { ...vs.spec, ...(http ? { http } : {}) } };
}

/** `vsop render` of the world's live ConfigMap and Services alone: what vsop writes on a fresh cluster. */
async function freshRender(w: World): Promise<VirtualService[]> {
  const cm = await get(w.admin, `/api/v1/namespaces/${w.configNamespace}/configmaps/virtualservice-operator-config`);
  assert.equal(cm.status, 200, summary(cm));
  const services = (await Promise.all([w.prod, ...w.devs].map((ns) => w.services(ns)))).flat().map((s) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.metadata.name, namespace: s.metadata.namespace, labels: s.metadata.labels, annotations: s.metadata.annotations },
    spec: s.spec,
  }));
  const input = [{ ...cm.body, apiVersion: 'v1', kind: 'ConfigMap' }, ...services].map((o) => stringify(o)).join('---\n');
  const r = await runVsop(['render', '--config-namespace', w.configNamespace, '-f', '-', '-o', 'json'], { stdin: input });
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout).items as VirtualService[]).sort((x, y) => (x.metadata.name < y.metadata.name ? -1 : 1));
}

/** "<virtualservice> <route>" for every route that matches ns's header value or sends to ns. */
async function routesFor(w: World, ns: string): Promise<string[]> {
  return (await w.virtualServices()).flatMap((vs) =>
    (vs.spec.http ?? [])
      .filter((r) => JSON.stringify(r.match ?? []).includes(`"exact":"${ns}"`) || (r.route ?? []).some((d) => d.destination.host.endsWith(`.${ns}.svc.cluster.local`)))
      .map((r) => `${vs.metadata.name} ${r.name ?? '(unnamed)'}`),
  );
}

const clusterOf = (service: string, ns: string, port = 80) => `outbound|${port}||${host(service, ns)}`;

/** Istio's xDS simulation over the world's Services and VirtualServices as they are in the cluster. */
async function expectClusters(w: World, table: [Call, string][]): Promise<void> {
  const services = (await Promise.all([w.prod, ...w.devs].map((ns) => w.services(ns)))).flat().map((s) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: s.metadata.name, namespace: s.metadata.namespace },
    spec: { ports: s.spec!.ports!.map((p) => ({ name: `http-${p.port}`, port: p.port })) },
  }));
  const virtualServices = (await w.virtualServices()).map(withoutServerFields);
  const results = await simulate({ services: toYamlStream(services), virtualServices: toYamlStream(virtualServices), calls: table.map(([c]) => c) });
  const show = (c: Call) => `${c.host} ${JSON.stringify(c.headers ?? {})}`;
  assert.deepEqual(
    results.map((r) => `${show(r.call)} -> ${r.error ?? r.cluster}`),
    table.map(([c, expected]) => `${show(c)} -> ${expected}`),
  );
}
