import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasChanges, plan } from '../../src/core/plan.ts';
import { mergeVirtualService } from '../../src/core/render/merge.ts';
import type { HttpRoute, VirtualService } from '../../src/core/types.ts';
import { defaultRoute, devRoute, seedVirtualService, service, virtualService } from '../helpers/fixtures.ts';

const opts = { defaultNamespace: 'default' };
const foreign = (name: string): HttpRoute => ({ name, match: [{ uri: { prefix: `/${name}` } }], route: [{ destination: { host: `${name}.tools.svc.cluster.local` } }] });
const served = (vs: VirtualService): VirtualService => ({
  ...vs,
  metadata: { ...vs.metadata, resourceVersion: '42', uid: 'u-1', generation: 3, creationTimestamp: '2026-01-01T00:00:00Z', managedFields: [{ manager: 'x' }] },
  status: { observedGeneration: 3 },
});

describe('plan', () => {
  it('creates what is missing', () => {
    const want = seedVirtualService('my-app', ['dev-alice']);
    const p = plan([want], [], opts);
    assert.deepEqual(
      p.actions.map((a) => [a.type, a.name, a.service]),
      [['create', 'my-app-virtual-service', 'my-app']],
    );
    assert.equal(p.actions[0]!.after, want);
    assert.ok(hasChanges(p));
  });

  it('leaves an object alone when only server-set fields, key order and empty lists differ', () => {
    const want = seedVirtualService('my-app', ['dev-alice']);
    const live = served(structuredClone(want));
    live.spec = { http: live.spec.http, gateways: [], hosts: live.spec.hosts } as VirtualService['spec'];
    live.apiVersion = 'networking.istio.io/v1';
    const p = plan([want], [live], opts);
    assert.deepEqual(
      p.actions.map((a) => a.type),
      ['unchanged'],
    );
    assert.equal(hasChanges(p), false);
  });

  it('updates when a route changed, keeping the live metadata (resourceVersion included)', () => {
    const want = seedVirtualService('my-app', ['dev-alice', 'staging']);
    const live = served(seedVirtualService('my-app', ['dev-alice']));
    const [action] = plan([want], [live], opts).actions;
    assert.equal(action!.type, 'update');
    assert.equal(action!.after!.metadata.resourceVersion, '42');
    assert.deepEqual((action!.after as VirtualService).spec.http, want.spec.http);
  });

  it('deletes a managed object whose production Service is gone, naming the reason', () => {
    const live = seedVirtualService('gone', []);
    const [action] = plan([], [live], opts).actions;
    assert.deepEqual([action!.type, action!.reason], ['delete', 'production Service default/gone is gone']);
  });

  it('never deletes unmanaged objects, or managed ones outside the production namespace', () => {
    const p = plan([], [virtualService('x', [], { managed: false }), virtualService('y', [], { namespace: 'other' })], opts);
    assert.deepEqual(p.actions, []);
  });

  it('reports a same-named unmanaged object as a conflict and plans nothing for it', () => {
    const want = seedVirtualService('my-app', []);
    const live = virtualService('my-app-virtual-service', [defaultRoute('my-app')], { managed: false, hosts: ['my-app'] });
    const p = plan([want], [live], opts);
    assert.deepEqual(p.actions, []);
    assert.deepEqual(
      p.findings.map((f) => [f.code, f.severity]),
      [['unmanaged-conflict', 'error']],
    );
  });

  it('adopts a same-named unmanaged object with --adopt, keeping its own routes', () => {
    const want = seedVirtualService('my-app', []);
    const live = virtualService('my-app-virtual-service', [foreign('legacy'), defaultRoute('my-app')], { managed: false, hosts: ['my-app'] });
    const [action] = plan([want], [live], { ...opts, adopt: true }).actions;
    assert.equal(action!.type, 'update');
    assert.deepEqual((action!.after as VirtualService).spec.http, [foreign('legacy'), defaultRoute('my-app')]);
    assert.equal(action!.after!.metadata.labels!['managed-by'], 'virtualservice-operator');
  });

  it('warns about another VirtualService on the same host (IST0109), short or fully qualified', () => {
    const want = seedVirtualService('my-app', []);
    const other = virtualService('team-routes', [], { managed: false, hosts: ['my-app.default.svc.cluster.local'] });
    const elsewhere = virtualService('mine', [], { managed: false, namespace: 'tools', hosts: ['my-app'] }); // means my-app.tools
    const wildcard = virtualService('all', [], { managed: false, namespace: 'ops', hosts: ['*.default.svc.cluster.local'] });
    const p = plan([want], [other, elsewhere, wildcard], opts);
    assert.deepEqual(
      p.findings.map((f) => f.message),
      [
        // Neither has an http route, so neither claims the host for the port: vsop's wins (istio/select.ts).
        'virtualservice default/team-routes also routes host my-app.default.svc.cluster.local for sidecars; Istio uses only one VirtualService per host (IST0109) and ignores default/team-routes where this one applies',
        'virtualservice ops/all also routes host my-app.default.svc.cluster.local for sidecars; Istio uses only one VirtualService per host (IST0109) and ignores ops/all where this one applies',
      ],
    );
    assert.ok(p.findings.every((f) => f.severity === 'warning'));
  });

  it('limits the plan to the named Services', () => {
    const p = plan([seedVirtualService('a', []), seedVirtualService('b', [])], [seedVirtualService('gone', [])], { ...opts, services: ['b'] });
    assert.deepEqual(
      p.actions.map((a) => `${a.type} ${a.name}`),
      ['create b-virtual-service'],
    );
  });
});

describe('merge keeps foreign routes in place', () => {
  const want = seedVirtualService('my-app', ['dev-alice', 'staging']);
  const cases: [string, HttpRoute[], (string | undefined)[]][] = [
    [
      'a foreign route at the top stays at the top',
      [foreign('canary'), devRoute('my-app', 'dev-alice'), defaultRoute('my-app')],
      ['canary', 'vsop-dev-dev-alice', 'vsop-dev-staging', 'vsop-default'],
    ],
    [
      'a foreign route between vsop routes stays after the route it followed',
      [devRoute('my-app', 'dev-alice'), foreign('canary'), defaultRoute('my-app')],
      ['vsop-dev-dev-alice', 'canary', 'vsop-dev-staging', 'vsop-default'],
    ],
    [
      'foreign routes keep their relative order',
      [foreign('b'), foreign('a'), devRoute('my-app', 'dev-alice'), foreign('c'), defaultRoute('my-app'), foreign('d')],
      ['b', 'a', 'vsop-dev-dev-alice', 'c', 'vsop-dev-staging', 'vsop-default', 'd'],
    ],
    [
      'a stale vsop route goes, and its follower moves up to the last surviving vsop route',
      [devRoute('my-app', 'dev-alice'), devRoute('my-app', 'old-ns'), foreign('after-old'), defaultRoute('my-app')],
      ['vsop-dev-dev-alice', 'after-old', 'vsop-dev-staging', 'vsop-default'],
    ],
    [
      'an unnamed route is foreign and kept',
      [{ match: [{ uri: { prefix: '/x' } }], route: [{ destination: { host: 'x' } }] }, defaultRoute('my-app')],
      [undefined, 'vsop-dev-dev-alice', 'vsop-dev-staging', 'vsop-default'],
    ],
    [
      'a foreign catch-all above the header routes moves down to just above the default route, so it shadows nothing',
      [{ name: 'everything', route: [{ destination: { host: 'x' } }] }, devRoute('my-app', 'dev-alice'), foreign('canary'), defaultRoute('my-app')],
      ['vsop-dev-dev-alice', 'canary', 'vsop-dev-staging', 'everything', 'vsop-default'],
    ],
  ];
  for (const [name, liveRoutes, expected] of cases) {
    it(name, () => {
      const live = virtualService('my-app-virtual-service', liveRoutes, { service: 'my-app', hosts: ['my-app'] });
      const merged = mergeVirtualService(want, live);
      assert.deepEqual(
        merged.spec.http!.map((r) => r.name),
        expected,
      );
      // And planning again on the result is a no-op: the foreign routes are where vsop now expects them.
      assert.deepEqual(
        plan([want], [merged], opts).actions.map((a) => a.type),
        ['unchanged'],
      );
    });
  }

  it('keeps labels and annotations that others set', () => {
    const live = seedVirtualService('my-app', ['dev-alice']);
    live.metadata.labels = { ...live.metadata.labels, team: 'payments' };
    live.metadata.annotations = { ...live.metadata.annotations, 'example.com/owner': 'ops' };
    const merged = mergeVirtualService(want, live);
    assert.equal(merged.metadata.labels!.team, 'payments');
    assert.equal(merged.metadata.annotations!['example.com/owner'], 'ops');
  });
});

describe('VirtualServices without a spec (stored by an apiserver with no Istio webhook)', () => {
  it('route nothing: a foreign one is no rival, and a managed one is brought in line', async () => {
    const { planSnapshot } = await import('../../src/reconcile.ts');
    const { stringify } = await import('yaml');
    const bare = (name: string, managed: boolean): VirtualService =>
      ({
        apiVersion: 'networking.istio.io/v1',
        kind: 'VirtualService',
        metadata: { name, namespace: 'default', ...(managed ? { labels: { 'managed-by': 'virtualservice-operator' } } : {}) },
      }) as unknown as VirtualService;
    const r = planSnapshot(
      {
        config: { text: stringify({ defaultNamespace: 'default', developerNamespaces: ['dev-alice'] }), source: 'test' },
        services: [service('default', 'my-app'), service('dev-alice', 'my-app')],
        virtualServices: [bare('other', false), bare('my-app-virtual-service', true)],
      },
      { routing: true },
    );
    assert.deepEqual(
      r.plan.actions.map((a) => `${a.type} ${a.name}`),
      ['update my-app-virtual-service'],
    );
    assert.deepEqual(r.plan.findings, []);
  });
});
