// Overrides through the whole pipeline: the resolver renders them, the planner keeps them (and drops the
// annotation on a reset), planSnapshot applies a command's edit, and apply's conflict retry never loses
// an override someone else recorded meanwhile.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { applyPlan } from '../../src/apply.ts';
import { addRoute, clearRoutes, resetOverrides } from '../../src/core/edit.ts';
import type { Overrides } from '../../src/core/overrides.ts';
import { plan, planPurge } from '../../src/core/plan.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { Service, VirtualService } from '../../src/core/types.ts';
import { ConflictError, InputError } from '../../src/errors.ts';
import { planSnapshot, type ReconcileOptions } from '../../src/reconcile.ts';
import { FakePort } from '../helpers/fake-port.ts';
import { config, defaultRoute, devRoute, headerRoute, overrides, seedVirtualService, service, withOverrides } from '../helpers/fixtures.ts';

const seed = () => [service('default', 'my-app'), service('dev-alice', 'my-app'), service('staging', 'my-app')];

function render(o: Overrides | undefined, services: Service[] = seed(), cfg = config()) {
  return resolve(cfg.config, cfg.template, services, { routing: true, overrides: () => o });
}

const route = (name: string, header: string, host: string, port?: number) => {
  const [h, v] = header.split('=') as [string, string];
  return {
    name,
    match: [{ ...(port ? { port } : {}), headers: { [h]: { exact: v } } }],
    route: [{ destination: { host, ...(port ? { port: { number: port } } : {}) } }],
  };
};

describe('resolve with overrides', () => {
  it('puts header routes, named vsop-route-<namespace>-<n>, before the automatic routes', () => {
    const o = overrides({ routes: [headerRoute('staging', 'x-cid=qa'), headerRoute('dev-alice', 'x-cid=alice'), headerRoute('staging', 'x-team=pay', { match: 'prefix' })] });
    const vs = render(o).virtualServices[0]!;
    assert.deepEqual(vs.spec.http, [
      route('vsop-route-staging-1', 'x-cid=qa', 'my-app.staging.svc.cluster.local'),
      route('vsop-route-dev-alice-1', 'x-cid=alice', 'my-app.dev-alice.svc.cluster.local'),
      { name: 'vsop-route-staging-2', match: [{ headers: { 'x-team': { prefix: 'pay' } } }], route: [{ destination: { host: 'my-app.staging.svc.cluster.local' } }] },
      devRoute('my-app', 'dev-alice'),
      devRoute('my-app', 'staging'),
      defaultRoute('my-app'),
    ]);
    assert.equal(
      vs.metadata.annotations!['vsop.io/overrides'],
      '{"version":1,"routes":[{"namespace":"staging","id":1,"headers":[{"name":"x-cid","value":"qa","match":"exact"}]},{"namespace":"dev-alice","id":1,"headers":[{"name":"x-cid","value":"alice","match":"exact"}]},{"namespace":"staging","id":2,"headers":[{"name":"x-team","value":"pay","match":"prefix"}]}],"weights":[],"removed":[],"cleared":false}',
    );
  });

  it('renders no annotation at all when there is nothing recorded: exactly the automatic state', () => {
    const plain = resolve(config().config, config().template, seed()).virtualServices;
    assert.deepEqual(render(overrides()).virtualServices, plain);
    assert.deepEqual(render(undefined).virtualServices, plain);
    assert.deepEqual(plain[0], seedVirtualService('my-app', ['dev-alice', 'staging']));
  });

  it('splits the catch-all route by weight: production keeps 100 minus the sum, namespaces in config order', () => {
    const vs = render(
      overrides({
        weights: [
          { namespace: 'staging', percent: 5 },
          { namespace: 'dev-alice', percent: 20 },
        ],
      }),
    ).virtualServices[0]!;
    assert.deepEqual(vs.spec.http!.at(-1), {
      name: 'vsop-default',
      route: [
        { destination: { host: 'my-app.default.svc.cluster.local' }, weight: 75 },
        { destination: { host: 'my-app.dev-alice.svc.cluster.local' }, weight: 20 },
        { destination: { host: 'my-app.staging.svc.cluster.local' }, weight: 5 },
      ],
    });
    const all = render(overrides({ weights: [{ namespace: 'dev-alice', percent: 100 }] })).virtualServices[0]!;
    assert.deepEqual(all.spec.http!.at(-1)!.route, [{ destination: { host: 'my-app.dev-alice.svc.cluster.local' }, weight: 100 }], 'a zero share is left out');
  });

  it('splits a template route that says weight: 100, keeping its destination port for the copies', () => {
    const cfg = config({
      virtualServiceTemplate:
        'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n  name: "${serviceName}-vs"\nspec:\n  http:\n  - route:\n    - destination: {host: "${serviceName}", port: {number: 80}}\n      weight: 100\n',
    });
    const vs = render(overrides({ weights: [{ namespace: 'dev-alice', percent: 10 }] }), seed(), cfg).virtualServices[0]!;
    assert.deepEqual(vs.spec.http!.at(-1)!.route, [
      { destination: { host: 'my-app', port: { number: 80 } }, weight: 90 },
      { destination: { host: 'my-app.dev-alice.svc.cluster.local', port: { number: 80 } }, weight: 10 },
    ]);
  });

  it('takes automatic routes away: route rm per namespace, clear for all; added routes still count after a clear', () => {
    const removed = render(overrides({ removed: ['dev-alice'] }));
    assert.deepEqual(
      removed.virtualServices[0]!.spec.http!.map((r) => r.name),
      ['vsop-dev-staging', 'vsop-default'],
    );
    assert.deepEqual(
      removed.tables[0]!.namespaces.map((n) => n.route.state),
      ['removed', 'missing', 'route'],
    );
    const cleared = render(overrides({ cleared: true, routes: [headerRoute('dev-alice', 'x-cid=alice')] }));
    assert.deepEqual(
      cleared.virtualServices[0]!.spec.http!.map((r) => r.name),
      ['vsop-route-dev-alice-1', 'vsop-default'],
    );
    assert.deepEqual(
      cleared.tables[0]!.namespaces.map((n) => [n.route.state, n.overrides?.headerRoutes ?? 0]),
      [
        ['cleared', 1],
        ['cleared', 0],
        ['cleared', 0],
      ],
    );
  });

  it('routes a multi-port Service per port the copy has, or only the port asked for', () => {
    const services = [service('default', 'pay', { ports: [80, 9090] }), service('dev-alice', 'pay', { ports: [80, 9090] }), service('staging', 'pay', { ports: [80] })];
    const o = overrides({ routes: [headerRoute('dev-alice', 'x-cid=a'), headerRoute('staging', 'x-cid=s'), headerRoute('dev-alice', 'x-grpc=1', { port: 9090 })] });
    const http = render(o, services).virtualServices[0]!.spec.http!;
    assert.deepEqual(http.slice(0, 4), [
      route('vsop-route-dev-alice-1-80', 'x-cid=a', 'pay.dev-alice.svc.cluster.local', 80),
      route('vsop-route-dev-alice-1-9090', 'x-cid=a', 'pay.dev-alice.svc.cluster.local', 9090),
      route('vsop-route-staging-1-80', 'x-cid=s', 'pay.staging.svc.cluster.local', 80),
      route('vsop-route-dev-alice-2', 'x-grpc=1', 'pay.dev-alice.svc.cluster.local', 9090),
    ]);
  });

  it('keeps overrides that cannot be rendered now recorded, renders nothing for them, and says why', () => {
    const o = overrides({
      routes: [headerRoute('dev-bob', 'x-cid=bob'), headerRoute('dev-carol', 'x-cid=carol'), headerRoute('dev-alice', 'x-cid=a', { port: 8080 })],
      weights: [{ namespace: 'dev-bob', percent: 30 }],
    });
    const r = render(o);
    assert.deepEqual(
      r.virtualServices[0]!.spec.http!.map((h) => h.name),
      ['vsop-dev-dev-alice', 'vsop-dev-staging', 'vsop-default'],
    );
    assert.deepEqual(r.virtualServices[0]!.spec.http!.at(-1), defaultRoute('my-app'), 'no share of production traffic goes to a missing copy');
    assert.deepEqual(
      r.warnings.map((w) => w.message),
      [
        'routes to dev-bob wait for service dev-bob/my-app, which does not exist (or is only a placeholder)',
        'header route vsop-route-dev-carol-1 is not rendered: "dev-carol" is not a developer namespace in the configuration (vsop route reset my-app -n dev-carol drops it)',
        'header route vsop-route-dev-alice-1 is not rendered: service default/my-app has no port 8080',
      ],
    );
    assert.ok(r.warnings.every((w) => w.source === 'virtualservice default/my-app-virtual-service' && w.path === 'annotation vsop.io/overrides'));
    assert.deepEqual(r.tables[0]!.namespaces[1], {
      namespace: 'dev-bob',
      placeholder: false,
      route: { state: 'missing' },
      overrides: { headerRoutes: 1, weight: 30, waiting: true },
    });
    // The copy arrives: the recorded routes start working, with no command run.
    const later = render(o, [...seed(), service('dev-bob', 'my-app')]);
    assert.deepEqual(later.virtualServices[0]!.spec.http![0], route('vsop-route-dev-bob-1', 'x-cid=bob', 'my-app.dev-bob.svc.cluster.local'));
    assert.equal(later.virtualServices[0]!.spec.http!.at(-1)!.route!.length, 2);
  });

  it('renders forced overrides without a copy', () => {
    const r = render(overrides({ routes: [headerRoute('dev-bob', 'x-cid=bob', { force: true })], weights: [{ namespace: 'dev-bob', percent: 10, force: true }] }));
    assert.equal(r.virtualServices[0]!.spec.http![0]!.name, 'vsop-route-dev-bob-1');
    assert.deepEqual(
      r.virtualServices[0]!.spec.http!.at(-1)!.route!.map((d) => d.weight),
      [90, 10],
    );
    assert.deepEqual(r.warnings, []);
  });

  it("points a placeholder at production once the namespace's route to a parent is taken away", () => {
    const cfg = config({ enablePlaceholderServices: true, developerNamespaces: ['team', { name: 'feature', parent: 'team' }] });
    const services = [service('default', 'api'), service('team', 'api')];
    const target = (o: Overrides | undefined) => render(o, services, cfg).placeholders.map((p) => p.spec!.externalName);
    assert.deepEqual(target(undefined), ['api.team.svc.cluster.local']);
    assert.deepEqual(target(overrides({ removed: ['feature'] })), ['api.default.svc.cluster.local']);
  });
});

describe('plan with overrides', () => {
  const o = overrides({ removed: ['staging'] });

  it("drops the overrides annotation on a reset, keeping everyone else's annotations", () => {
    const live = withOverrides(seedVirtualService('my-app', ['dev-alice']), o);
    live.metadata.annotations!['team'] = 'checkout';
    const [action] = plan([seedVirtualService('my-app', ['dev-alice'])], [live], { defaultNamespace: 'default' }).actions;
    assert.equal(action!.type, 'update');
    assert.deepEqual(action!.after!.metadata.annotations, { 'vsop.io/service': 'my-app', team: 'checkout' });
  });

  it('leaves an object carrying exactly the desired overrides alone', () => {
    const want = withOverrides(seedVirtualService('my-app', ['dev-alice']), o);
    assert.deepEqual(
      plan([want], [structuredClone(want)], { defaultNamespace: 'default' }).actions.map((a) => a.type),
      ['unchanged'],
    );
  });

  it('blocks an object whose overrides cannot be read: a finding, never a write or a delete', () => {
    const p = plan([seedVirtualService('my-app', [])], [withOverrides(seedVirtualService('my-app', []), '{')], {
      defaultNamespace: 'default',
      blocked: new Map([
        ['default/my-app-virtual-service', { service: 'my-app', message: 'virtualservice default/my-app-virtual-service: annotation vsop.io/overrides: is not valid JSON' }],
      ]),
    });
    assert.deepEqual(p.actions, []);
    assert.deepEqual(
      p.findings.map((f) => [f.code, f.severity, f.name]),
      [['invalid-overrides', 'error', 'my-app-virtual-service']],
    );
  });

  it('plans the purge: every managed VirtualService of production and every placeholder, nothing else', () => {
    const made = { ...service('dev-bob', 'my-app', { placeholder: true }), spec: { type: 'ExternalName', externalName: 'x', selector: { app: 'x' } } };
    const p = planPurge(
      [seedVirtualService('a', []), seedVirtualService('b', [], 'other'), { ...seedVirtualService('c', []), metadata: { name: 'c-virtual-service', namespace: 'default' } }],
      [service('default', 'a'), service('dev-alice', 'a', { placeholder: true }), made],
      config().config,
    );
    assert.deepEqual(
      p.actions.map((a) => `${a.type} ${a.kind} ${a.namespace}/${a.name}`),
      ['delete VirtualService default/a-virtual-service', 'delete Service dev-alice/a'],
    );
  });
});

const configText = stringify({ defaultNamespace: 'default', developerNamespaces: ['dev-alice', 'dev-bob', 'staging'] });
const snapshot = (virtualServices: VirtualService[], services = seed()) => ({ config: { text: configText, source: 'test' }, services, virtualServices });

describe('planSnapshot with an edit', () => {
  const alice = addRoute({ namespace: 'dev-alice', headers: headerRoute('dev-alice', 'x-cid=alice').headers });

  it('applies the edit to what the live object records, only for the Services in scope', () => {
    const live = [withOverrides(seedVirtualService('my-app', ['dev-alice', 'staging']), overrides({ removed: ['dev-bob'] }))];
    const r = planSnapshot(snapshot(live), { services: ['my-app'], edit: alice });
    const after = r.plan.actions[0]!.after as VirtualService;
    assert.equal(
      after.metadata.annotations!['vsop.io/overrides'],
      '{"version":1,"routes":[{"namespace":"dev-alice","id":1,"headers":[{"name":"x-cid","value":"alice","match":"exact"}]}],"weights":[],"removed":["dev-bob"],"cleared":false}',
    );
    // Without the edit (a sync), the same object is rendered from what it records: nothing to do.
    const again = planSnapshot(snapshot([{ ...after, metadata: { ...after.metadata, resourceVersion: '2' } }]));
    assert.deepEqual(
      again.plan.actions.map((a) => a.type),
      ['unchanged'],
    );
  });

  it('refuses to edit unreadable overrides, blocks them in a sync, and lets a full reset or a clear replace them', () => {
    const live = [withOverrides(seedVirtualService('my-app', ['dev-alice', 'staging']), '{"version":1,"cleared":"yes"}')];
    assert.throws(
      () => planSnapshot(snapshot(live), { services: ['my-app'], edit: alice }),
      (err: unknown) => {
        assert.ok(err instanceof InputError);
        assert.equal(
          err.message,
          'cannot change the overrides of service default/my-app:\n  virtualservice default/my-app-virtual-service: annotation vsop.io/overrides: cleared: must be true or false, not "yes"',
        );
        return true;
      },
    );
    assert.deepEqual(
      planSnapshot(snapshot(live)).plan.findings.map((f) => f.code),
      ['invalid-overrides'],
    );
    for (const edit of [resetOverrides(), clearRoutes]) {
      const r = planSnapshot(snapshot(live), { services: ['my-app'], edit });
      assert.deepEqual([r.plan.findings, r.plan.actions.map((a) => a.type)], [[], ['update']]);
    }
  });
});

describe('apply with overrides', () => {
  const fast = { retry: { retries: 3, minTimeout: 1, factor: 1, maxTimeout: 1, randomize: false } };
  const meddle = (port: FakePort, o: Overrides) => {
    port.beforeWrite = (verb) => {
      if (verb !== 'update') return;
      port.beforeWrite = undefined; // someone records an override between vsop's read and its write
      port.put(withOverrides(port.get('VirtualService', 'default', 'my-app-virtual-service') as VirtualService, o));
    };
  };

  const run = async (port: FakePort, opts: ReconcileOptions, withDesire: boolean) => {
    const r = planSnapshot(snapshot(await port.listVirtualServices('default')), opts);
    return applyPlan(
      r.plan.actions.filter((a) => a.type !== 'unchanged'),
      port,
      { ...fast, ...(withDesire ? { desire: r.desire } : {}) },
    );
  };

  it("re-applies a route command's edit to the fresh overrides on a conflict, so neither change is lost", async () => {
    const port = new FakePort();
    port.put(seedVirtualService('my-app', ['dev-alice', 'staging']));
    meddle(port, overrides({ weights: [{ namespace: 'staging', percent: 10 }] }));
    const results = await run(port, { services: ['my-app'], edit: addRoute({ namespace: 'dev-alice', headers: [], weight: 20 }) }, true);
    assert.deepEqual(
      results.map((r) => [r.result, r.attempts]),
      [['updated', 2]],
    );
    const stored = port.get('VirtualService', 'default', 'my-app-virtual-service') as VirtualService;
    assert.equal(
      stored.metadata.annotations!['vsop.io/overrides'],
      '{"version":1,"routes":[],"weights":[{"namespace":"staging","percent":10},{"namespace":"dev-alice","percent":20}],"removed":[],"cleared":false}',
    );
    assert.deepEqual(
      stored.spec.http!.at(-1)!.route!.map((d) => d.weight),
      [70, 20, 10],
    );
  });

  it("a sync racing a route command keeps the route command's overrides", async () => {
    const port = new FakePort();
    port.put(seedVirtualService('my-app', ['dev-alice']));
    meddle(port, overrides({ removed: ['staging'] }));
    await run(port, {}, true); // the sync wants to add staging's route; meanwhile staging's route is taken away
    const stored = port.get('VirtualService', 'default', 'my-app-virtual-service') as VirtualService;
    assert.equal(stored.metadata.annotations!['vsop.io/overrides'], '{"version":1,"routes":[],"weights":[],"removed":["staging"],"cleared":false}');
    assert.deepEqual(
      stored.spec.http!.map((r) => r.name),
      ['vsop-dev-dev-alice', 'vsop-default'],
    );
  });

  it('without a way to re-resolve, fails the object rather than overwrite overrides that changed', async () => {
    const port = new FakePort();
    port.put(seedVirtualService('my-app', ['dev-alice']));
    meddle(port, overrides({ removed: ['staging'] }));
    await assert.rejects(
      run(port, {}, false),
      (err: unknown) => err instanceof ConflictError && /its overrides \(vsop\.io\/overrides\) changed since it was read/.test(err.message),
    );
    assert.equal(
      (port.get('VirtualService', 'default', 'my-app-virtual-service') as VirtualService).metadata.annotations!['vsop.io/overrides'],
      '{"version":1,"routes":[],"weights":[],"removed":["staging"],"cleared":false}',
    );
  });
});
