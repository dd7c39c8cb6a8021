// The examples of issue #9 ("routing truth"), each checked against Istio itself: vsop's pipeline runs
// offline on the example (as `vsop sync` would), the objects it would leave go through Istio's own config
// generation (test/istio simulate), and for every request three answers must agree: the cluster written
// here by hand from the example's intent, the cluster Istio's generated Envoy config picks, and vsop's own
// `trace` (src/core/istio). The hand-written value is the claim; Istio is the referee.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { traceRequest, type TraceAnswer } from '../../src/core/istio/trace.ts';
import { toYamlStream } from '../../src/core/render.ts';
import type { HttpRoute, Service, VirtualService } from '../../src/core/types.ts';
import { addRoute } from '../../src/core/edit.ts';
import { NotFoundError } from '../../src/errors.ts';
import { statusView } from '../../src/core/status.ts';
import { planSnapshot, worldAfter, type Reconciled, type ReconcileOptions } from '../../src/reconcile.ts';
import { simulate, type Call } from '../harness/istio.ts';
import { skipReason } from '../harness/require.ts';
import { service } from '../helpers/fixtures.ts';

const skip = skipReason();
const PROD = 'default';
const DEVS = ['dev-alice', 'dev-bob'];
const LATER = '2030-01-01T00:00:00Z';

interface Example {
  template?: string;
  services: Service[];
  virtualServices?: VirtualService[];
}

function reconcile(e: Example & { edit?: ReconcileOptions['edit'] }): Reconciled {
  const config = { defaultNamespace: PROD, developerNamespaces: DEVS, ...(e.template ? { virtualServiceTemplate: e.template } : {}) };
  const snapshot = { config: { text: stringify(config), source: 'test' }, services: e.services, virtualServices: e.virtualServices ?? [] };
  return planSnapshot(snapshot, { routing: true, ...(e.edit ? { edit: e.edit, services: ['my-app'] } : {}) });
}

/**
 * Asks Istio and vsop's trace where each call goes in the state `vsop sync` would leave, and checks both
 * against the expected cluster (or "no route matched", or "a 60, b 40" for a split). Objects vsop is about
 * to create get a creation time after every existing one, as the apiserver would give them.
 */
async function expectRoutes(r: Reconciled, table: [Call, string][]): Promise<void> {
  const world = worldAfter(r);
  const stamped = world.virtualServices.map((vs) => (vs.metadata.creationTimestamp ? vs : { ...vs, metadata: { ...vs.metadata, creationTimestamp: LATER } }));
  const results = await simulate({ services: toYamlStream(world.services), virtualServices: toYamlStream(stamped), calls: table.map(([c]) => c) });
  const show = (a: { cluster: string; error?: string; weights?: { cluster: string; weight: number }[] }) =>
    a.error ?? (a.weights?.length ? a.weights.map((w) => `${w.cluster} ${w.weight}`).join(', ') : a.cluster);
  const line = (c: Call, answer: string) => `${c.from ?? PROD} → ${c.host}:${c.port}${c.path ?? '/'} ${JSON.stringify(c.headers ?? {})}: ${answer}`;
  const expected = table.map(([c, want]) => line(c, want));
  assert.deepEqual(
    results.map((res, i) => line(table[i]![0], show(res))),
    expected,
    'Istio (the referee) disagrees with the expected value',
  );
  const traced = table.map(
    ([c]): TraceAnswer => traceRequest(world, { host: c.host, port: c.port, path: c.path ?? '/', method: 'GET', headers: c.headers ?? {}, from: c.from ?? PROD }),
  );
  assert.deepEqual(
    traced.map((t, i) => line(table[i]![0], show(t))),
    expected,
    'vsop trace disagrees with Istio',
  );
}

const cluster = (name: string, ns: string, port = 80) => `outbound|${port}||${name}.${ns}.svc.cluster.local`;
const host = 'my-app.default.svc.cluster.local';
const alice = { 'x-developer': 'dev-alice' };

describe('routing truth: the issue #9 examples, with Istio as the referee', { skip }, () => {
  it('1. template routes with their own matches: each route to production gets a developer variant right before it', async () => {
    const template = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: "\${serviceName}"
spec:
  hosts: ["\${serviceName}"]
  http:
  # Developer routes will be injected here
  - name: legacy-api
    match: [{uri: {prefix: /v1/legacy}}]
    route: [{destination: {host: legacy-gateway.default.svc.cluster.local}}]
  - name: main
    match: [{uri: {prefix: /api/}}]
    rewrite: {uri: /}
    timeout: 5s
    retries: {attempts: 3, perTryTimeout: 2s}
    route: [{destination: {host: \${serviceName}.\${defaultNamespace}.svc.cluster.local}}]
`;
    const r = reconcile({ template, services: [service(PROD, 'my-app'), service('dev-alice', 'my-app'), service(PROD, 'legacy-gateway')] });
    const vs = r.resolution.virtualServices.find((v) => v.metadata.name === 'my-app')!;
    assert.deepEqual(
      vs.spec.http!.map((h) => h.name),
      ['legacy-api', 'vsop-dev-dev-alice', 'main'],
    );
    const variant = vs.spec.http![1]!;
    assert.deepEqual(
      [variant.rewrite, variant.timeout, variant.retries],
      [{ uri: '/' }, '5s', { attempts: 3, perTryTimeout: '2s' }],
      "the variant keeps the route's rewrite, timeout and retries",
    );
    await expectRoutes(r, [
      [{ host, port: 80, path: '/v1/legacy/x', headers: alice }, cluster('legacy-gateway', PROD)],
      [{ host, port: 80, path: '/api/orders', headers: alice }, cluster('my-app', 'dev-alice')],
      [{ host, port: 80, path: '/api/orders' }, cluster('my-app', PROD)],
      [{ host, port: 80, path: '/other', headers: alice }, 'no route matched'],
      [{ host, port: 80, path: '/other' }, 'no route matched'],
      [{ host, port: 80, path: '/api/orders', headers: { 'x-developer': 'dev-bob' } }, cluster('my-app', PROD)],
    ]);
  });

  const catchAlls: [string, Record<string, unknown>[] | undefined][] = [
    ['uri prefix "/"', [{ uri: { prefix: '/' } }]],
    ['uri regex ".*"', [{ uri: { regex: '.*' } }]],
    ['no match', undefined],
  ];
  for (const [label, match] of catchAlls) {
    it(`2. a foreign catch-all (${label}) above vsop's header routes moves below them`, async () => {
      const first = reconcile({ services: [service(PROD, 'my-app'), service('dev-alice', 'my-app')] });
      const desired = first.resolution.virtualServices[0]!;
      const foreign = { name: 'team-catch-all', ...(match ? { match } : {}), route: [{ destination: { host } }] };
      const live: VirtualService = {
        ...desired,
        metadata: { ...desired.metadata, creationTimestamp: '2025-01-01T00:00:00Z' },
        spec: { ...desired.spec, http: [foreign, ...desired.spec.http!] },
      };
      const before = reconcile({ services: first.snapshot.services, virtualServices: [live] });
      assert.equal(before.plan.actions.find((a) => a.kind === 'VirtualService')!.type, 'update', 'a shadowing catch-all is a change to make, not "unchanged"');
      // As it is, Istio sends header requests to production: vsop's trace of the live state says so too.
      await expectRoutes({ ...before, plan: { ...before.plan, actions: [] } }, [[{ host, port: 80, headers: alice }, cluster('my-app', PROD)]]);
      await expectRoutes(before, [
        [{ host, port: 80, headers: alice }, cluster('my-app', 'dev-alice')],
        [{ host, port: 80, path: '/anything' }, cluster('my-app', PROD)],
      ]);
    });
  }

  it("3a. a VirtualService bound only to an ingress gateway is no conflict, and sidecars still follow vsop's", async () => {
    const gatewayOnly: VirtualService = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'public', namespace: PROD, creationTimestamp: '2020-01-01T00:00:00Z' },
      spec: { hosts: [host], gateways: ['istio-system/public-gw'], http: [{ route: [{ destination: { host } }] }] },
    };
    const r = reconcile({ services: [service(PROD, 'my-app'), service('dev-alice', 'my-app')], virtualServices: [gatewayOnly] });
    assert.deepEqual(r.plan.findings, []);
    await expectRoutes(r, [[{ host, port: 80, headers: alice }, cluster('my-app', 'dev-alice')]]);
  });

  it('3b. an older VirtualService for the same host wins for sidecars: shadowed, and trace says so', async () => {
    const flagger: VirtualService = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'my-app', namespace: PROD, creationTimestamp: '2020-01-01T00:00:00Z' },
      spec: { hosts: ['my-app'], http: [{ route: [{ destination: { host: 'my-app' } }] }] },
    };
    const r = reconcile({ services: [service(PROD, 'my-app'), service('dev-alice', 'my-app')], virtualServices: [flagger] });
    assert.deepEqual(
      r.plan.findings.map((f) => [f.code, f.name]),
      [['shadowed', 'my-app-virtual-service']],
    );
    await expectRoutes(r, [
      [{ host, port: 80, headers: alice }, cluster('my-app', PROD)],
      [{ host: 'my-app', port: 80, headers: alice }, cluster('my-app', PROD)],
    ]);
  });

  it('3c. exportTo ".": a VirtualService in a developer namespace shadows vsop\'s only for callers there', async () => {
    const local: VirtualService = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'pin-prod', namespace: 'dev-bob', creationTimestamp: '2030-06-01T00:00:00Z' },
      spec: { hosts: [host], exportTo: ['.'], http: [{ route: [{ destination: { host } }] }] },
    };
    const r = reconcile({ services: [service(PROD, 'my-app'), service('dev-alice', 'my-app'), service('dev-bob', 'client')], virtualServices: [local] });
    const shadowed = r.plan.findings.filter((f) => f.code === 'shadowed');
    assert.equal(shadowed.length, 1);
    assert.match(shadowed[0]!.message, /for requests from namespace dev-bob /);
    await expectRoutes(r, [
      [{ host, port: 80, headers: alice, from: PROD }, cluster('my-app', 'dev-alice')],
      [{ host, port: 80, headers: alice, from: 'dev-bob' }, cluster('my-app', PROD)],
    ]);
  });

  it('4. header routes by hand with RE2 regexes match as Envoy matches them', async () => {
    const first = reconcile({ services: [service(PROD, 'my-app'), service('dev-alice', 'my-app')] });
    const desired = first.resolution.virtualServices[0]!;
    const overrides = {
      version: 1,
      routes: [{ namespace: 'dev-alice', headers: [{ name: 'x-cid', value: '(?i)alice', match: 'regex' }] }],
      weights: [],
      removed: [],
      cleared: false,
    };
    const live = { ...desired, metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, 'vsop.io/overrides': JSON.stringify(overrides) } } };
    const r = reconcile({ services: first.snapshot.services, virtualServices: [live] });
    await expectRoutes(r, [
      [{ host, port: 80, headers: { 'x-cid': 'ALICE' } }, cluster('my-app', 'dev-alice')],
      [{ host, port: 80, headers: { 'x-cid': 'Alice' } }, cluster('my-app', 'dev-alice')],
      [{ host, port: 80, headers: { 'x-cid': 'alice2' } }, cluster('my-app', PROD)],
    ]);
  });

  it('5. one port rule: a copy that lacks the port gets neither automatic nor hand routes, and route add refuses', async () => {
    // The issue expected Istio to use the copy's only port; Istio's simulation says sidecars send to the
    // port called (outbound|80||…dev-alice, a cluster the copy does not serve): so neither route renders.
    const services = [service(PROD, 'my-app', { ports: [80] }), service('dev-alice', 'my-app', { ports: [8080] })];
    const first = reconcile({ services });
    const desired = first.resolution.virtualServices[0]!;
    assert.deepEqual(
      desired.spec.http!.map((h) => h.name),
      ['vsop-default'],
    );
    // As Istio would send it if vsop did render the seed operator's route: to port 80 of the copy.
    const naive = {
      ...desired,
      spec: {
        ...desired.spec,
        http: [
          { name: 'naive', match: [{ headers: { 'x-developer': { exact: 'dev-alice' } } }], route: [{ destination: { host: 'my-app.dev-alice.svc.cluster.local' } }] },
          ...desired.spec.http!,
        ],
      },
    };
    await expectRoutes({ ...first, plan: { ...first.plan, actions: [{ ...first.plan.actions[0]!, after: naive } as never] } }, [
      [{ host, port: 80, headers: alice }, cluster('my-app', 'dev-alice', 80)],
    ]);
    // route add refuses instead of recording a route that would never render.
    assert.throws(
      () => reconcile({ services, edit: addRoute({ namespace: 'dev-alice', headers: [{ name: 'x-cid', value: 'alice', match: 'exact' }] }) }),
      (err: Error) => err instanceof NotFoundError && /has no port 80/.test(err.message),
    );
    // An override recorded before (or by hand) waits, and says why.
    const overrides = { version: 1, routes: [{ namespace: 'dev-alice', headers: [{ name: 'x-cid', value: 'alice', match: 'exact' }] }], weights: [], removed: [], cleared: false };
    const live = { ...desired, metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, 'vsop.io/overrides': JSON.stringify(overrides) } } };
    const r = reconcile({ services, virtualServices: [live] });
    assert.match(r.warnings.map((w) => w.message).join('\n'), /waits for service dev-alice\/my-app to have port 80/);
    await expectRoutes(r, [
      [{ host, port: 80, headers: { 'x-cid': 'alice' } }, cluster('my-app', PROD)],
      [{ host, port: 80, headers: alice }, cluster('my-app', PROD)],
    ]);
  });

  it('5b. a copy with the port is reached on it by automatic and hand routes alike', async () => {
    const services = [service(PROD, 'my-app', { ports: [80] }), service('dev-alice', 'my-app', { ports: [80, 8080] })];
    const first = reconcile({ services });
    const desired = first.resolution.virtualServices[0]!;
    const overrides = { version: 1, routes: [{ namespace: 'dev-alice', headers: [{ name: 'x-cid', value: 'alice', match: 'exact' }] }], weights: [], removed: [], cleared: false };
    const live = { ...desired, metadata: { ...desired.metadata, annotations: { ...desired.metadata.annotations, 'vsop.io/overrides': JSON.stringify(overrides) } } };
    const r = reconcile({ services, virtualServices: [live] });
    assert.deepEqual(r.warnings, []);
    await expectRoutes(r, [
      [{ host, port: 80, headers: { 'x-cid': 'alice' } }, cluster('my-app', 'dev-alice')],
      [{ host, port: 80, headers: alice }, cluster('my-app', 'dev-alice')],
      [{ host, port: 80 }, cluster('my-app', PROD)],
    ]);
  });

  // status (src/core/status.ts) must not call a namespace routed where Istio sends its header requests elsewhere.
  const statusOf = (r: Reconciled) =>
    statusView({ defaultNamespace: PROD, tables: r.resolution.tables, virtualServices: r.resolution.virtualServices, findings: r.plan.findings, world: worldAfter(r) })[0]!;
  const claims = (r: Reconciled) =>
    Object.fromEntries(statusOf(r).namespaces.map((n) => [n.namespace, n.taken ? `taken by ${n.taken.map((t) => t.by).join(', ')}` : n.route.state]));
  const withRoutes = (r: Reconciled, http: HttpRoute[]): VirtualService => {
    const vs = r.resolution.virtualServices[0]!;
    return { ...vs, metadata: { ...vs.metadata, creationTimestamp: '2023-01-01T00:00:00Z' }, spec: { ...vs.spec, http } };
  };
  const services = [service(PROD, 'my-app'), service('dev-alice', 'my-app')];

  it("status: a foreign route above that catches every request (not a catch-all by Istio's rule) takes the header's requests", async () => {
    const first = reconcile({ services });
    for (const match of [[{ uri: { regex: '(.*)' } }], [{ method: { regex: '.*' } }], [{ uri: { prefix: '/' }, withoutHeaders: { 'x-foo': { exact: 'a' } } }]]) {
      const canary = { name: 'canary', match, route: [{ destination: { host } }] };
      const r = reconcile({ services, virtualServices: [withRoutes(first, [canary, ...first.resolution.virtualServices[0]!.spec.http!])] });
      assert.deepEqual(claims(r), { 'dev-alice': 'taken by route canary', 'dev-bob': 'missing' }, JSON.stringify(match));
      await expectRoutes(r, [[{ host, port: 80, headers: alice }, cluster('my-app', PROD)]]);
    }
  });

  it('status: a template bound only to a gateway routes nothing for sidecars', async () => {
    const template = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: "\${serviceName}"}
spec:
  hosts: ["\${serviceName}"]
  gateways: [istio-system/public-gw]
  http:
  - route: [{destination: {host: "\${serviceName}.\${defaultNamespace}.svc.cluster.local"}}]
`;
    const r = reconcile({ template, services });
    assert.deepEqual(claims(r), { 'dev-alice': "taken by the Service's default route", 'dev-bob': 'missing' });
    await expectRoutes(r, [[{ host, port: 80, headers: alice }, cluster('my-app', PROD)]]);
  });

  it('status: a VirtualService exported only to dev-bob takes the host there alone, and says so', async () => {
    const pin: VirtualService = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'pin', namespace: 'dev-bob', creationTimestamp: '2020-01-01T00:00:00Z' },
      spec: { hosts: [host], exportTo: ['.'], http: [{ route: [{ destination: { host } }] }] },
    };
    const r = reconcile({ services: [...services, service('dev-bob', 'client')], virtualServices: [pin] });
    const view = statusOf(r);
    assert.deepEqual([view.shadowedBy, view.shadowedFor], [[], [{ other: 'dev-bob/pin', callers: ['dev-bob'] }]]);
    assert.equal(claims(r)['dev-alice'], 'route');
    await expectRoutes(r, [
      [{ host, port: 80, headers: alice }, cluster('my-app', 'dev-alice')],
      [{ host, port: 80, headers: alice, from: 'dev-bob' }, cluster('my-app', PROD)],
    ]);
  });
});
