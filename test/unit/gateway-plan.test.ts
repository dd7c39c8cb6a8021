// The plan for HTTPRoutes and ReferenceGrants (routeKind HTTPRoute): ownership, the object scope of
// deletes, the CRD's defaults, and apply's order (creates before deletes).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPlan } from '../../src/apply.ts';
import { httpRouteSpecWithDefaults, withDefaults } from '../../src/core/gateway/defaults.ts';
import { planGateway, planGatewayObject } from '../../src/core/gateway/plan.ts';
import type { Action } from '../../src/core/plan.ts';
import type { HTTPRoute, ReferenceGrant } from '../../src/core/render/httproute.ts';
import { ApiError } from '../../src/errors.ts';
import { toVsopError } from '../../src/k8s/errors.ts';
import { HttpFailure } from '../../src/k8s/http.ts';
import { planSnapshot } from '../../src/reconcile.ts';
import { FakePort } from '../helpers/fake-port.ts';
import { service } from '../helpers/fixtures.ts';

const MANAGED = { 'managed-by': 'virtualservice-operator' };

function route(
  name: string,
  opts: { namespace?: string; managed?: boolean; service?: string; rules?: HTTPRoute['spec']['rules']; labels?: Record<string, string> } = {},
): HTTPRoute {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: {
      name,
      namespace: opts.namespace ?? 'prod',
      labels: { ...(opts.managed === false ? {} : MANAGED), ...opts.labels },
      annotations: { 'vsop.io/service': opts.service ?? 'web' },
    },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: opts.rules ?? [{ backendRefs: [{ name: 'web', port: 80 }] }] },
  };
}

function grant(namespace: string, name = 'vsop-from-prod', managed = true): ReferenceGrant {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1beta1',
    kind: 'ReferenceGrant',
    metadata: { name, namespace, ...(managed ? { labels: MANAGED } : {}) },
    spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'prod' }], to: [{ group: '', kind: 'Service', name: 'web' }] },
  };
}

/** The route as the apiserver stores it: the CRD's defaults filled in. */
const stored = (r: HTTPRoute): HTTPRoute => ({ ...r, spec: httpRouteSpecWithDefaults(r.spec) });

const ids = (actions: readonly { type: string; kind: string; namespace: string; name: string }[]) => actions.map((a) => `${a.type} ${a.kind} ${a.namespace}/${a.name}`);

describe('the CRD defaults', () => {
  it('fills in what the apiserver would, and nothing it would not', () => {
    const spec = httpRouteSpecWithDefaults({
      parentRefs: [{ name: 'gw' }, { group: '', kind: 'Service', name: 'web' }],
      rules: [{ matches: [{ headers: [{ name: 'x', value: 'y' }] }], backendRefs: [{ name: 'web', port: 80 }] }, { backendRefs: [{ name: 'web', port: 80, weight: 0 }] }],
    });
    assert.deepEqual(spec, {
      parentRefs: [
        { group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw' },
        { group: '', kind: 'Service', name: 'web' },
      ],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'x', value: 'y' }] }],
          backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 80, weight: 1 }],
        },
        { matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: [{ group: '', kind: 'Service', name: 'web', port: 80, weight: 0 }] },
      ],
    });
  });

  it('a default that is itself defaulted, and a value never changed in place', () => {
    const input = { rules: [{ matches: [{ path: { value: '/api' } }] }] };
    const copy = structuredClone(input);
    assert.deepEqual(httpRouteSpecWithDefaults(input), { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }] }] });
    assert.deepEqual(input, copy);
    assert.deepEqual(httpRouteSpecWithDefaults({}), { rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }] }] });
    assert.equal(withDefaults(undefined, {}), undefined);
  });
});

describe('planGateway', () => {
  it('a route stored with the defaults filled in is unchanged; a changed rule is an update that keeps what others set', () => {
    const want = route('web-routes');
    const stored = { ...route('web-routes', { labels: { team: 'web' } }), spec: httpRouteSpecWithDefaults(want.spec) };
    stored.metadata.resourceVersion = '7';
    assert.equal((planGatewayObject(want, stored, false) as Action).type, 'unchanged');
    const changed = planGatewayObject(route('web-routes', { rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }] }), stored, false) as Action;
    assert.equal(changed.type, 'update');
    assert.equal(changed.after!.metadata.labels!.team, 'web');
    assert.equal(changed.after!.metadata.resourceVersion, '7');
  });

  it('an object of its name without the label is a finding, unless adopted', () => {
    const foreign = route('web-routes', { managed: false });
    const outcome = planGatewayObject(route('web-routes'), foreign, false);
    assert.ok('code' in outcome);
    assert.equal(outcome.code, 'unmanaged-conflict');
    assert.equal(outcome.objectKind, 'HTTPRoute');
    assert.equal((planGatewayObject(route('web-routes'), foreign, true) as Action).type, 'update');
  });

  it("deletes only vsop's own: managed routes of the production namespace, managed grants of its name for this production namespace", () => {
    const live = {
      httpRoutes: [route('gone-routes'), route('foreign', { managed: false }), route('elsewhere', { namespace: 'dev-a' }), stored(route('web-routes'))],
      referenceGrants: [grant('dev-a'), grant('dev-b'), grant('dev-c', 'team-grant', false), grant('dev-d', 'vsop-from-other-prod'), grant('dev-e', 'vsop-from-prod', false)],
    };
    const p = planGateway({ httpRoutes: [route('web-routes')], referenceGrants: [grant('dev-a')] }, live, { defaultNamespace: 'prod' });
    assert.deepEqual(ids(p.actions), [
      'unchanged HTTPRoute prod/web-routes',
      'delete HTTPRoute prod/gone-routes',
      'unchanged ReferenceGrant dev-a/vsop-from-prod',
      'delete ReferenceGrant dev-b/vsop-from-prod',
    ]);
    assert.deepEqual(p.findings, []);
  });

  it('sync SERVICE: the routes of other Services are neither written nor deleted', () => {
    const live = { httpRoutes: [route('api-routes', { service: 'api' }), route('old-routes', { service: 'old' })], referenceGrants: [] };
    const p = planGateway({ httpRoutes: [route('web-routes'), route('api-routes', { service: 'api', rules: [] })], referenceGrants: [] }, live, {
      defaultNamespace: 'prod',
      services: ['web'],
    });
    assert.deepEqual(ids(p.actions), ['create HTTPRoute prod/web-routes']);
  });
});

describe('routeKind HTTPRoute, planned from a snapshot', () => {
  const config = { text: 'defaultNamespace: prod\nrouteKind: HTTPRoute\ndeveloperNamespaces: [dev-a]\n', source: 'test' };
  const services = [service('prod', 'web'), service('dev-a', 'web')];

  it("plans the routes and grants, and deletes vsop's VirtualServices (the switch)", () => {
    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'web-virtual-service', namespace: 'prod', labels: MANAGED, annotations: { 'vsop.io/service': 'web' } },
      spec: { hosts: ['web'], http: [{ route: [{ destination: { host: 'web.prod.svc.cluster.local' } }] }] },
    };
    const r = planSnapshot({ config, services, virtualServices: [vs] });
    assert.deepEqual(ids(r.plan.actions), ['create ReferenceGrant dev-a/vsop-from-prod', 'create HTTPRoute prod/web-routes', 'delete VirtualService prod/web-virtual-service']);
  });

  it('a delete in a switch of routeKind says the kind changed, both ways; a Service gone still says so', () => {
    const vs = (service: string) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: `${service}-virtual-service`, namespace: 'prod', labels: MANAGED, annotations: { 'vsop.io/service': service } },
      spec: { hosts: [service], http: [{ route: [{ destination: { host: `${service}.prod.svc.cluster.local` } }] }] },
    });
    const reasons = (r: ReturnType<typeof planSnapshot>) => r.plan.actions.filter((a) => a.type === 'delete').map((a) => `${a.kind} ${a.name}: ${a.reason}`);
    assert.deepEqual(reasons(planSnapshot({ config, services, virtualServices: [vs('web'), vs('old')] })), [
      'VirtualService old-virtual-service: production Service prod/old is gone',
      'VirtualService web-virtual-service: routeKind is HTTPRoute: vsop routes prod/web with HTTPRoutes now, which replace this VirtualService',
    ]);
    const back = { ...config, text: config.text.replace('routeKind: HTTPRoute', 'routeKind: VirtualService') };
    const routes = [stored(route('web-routes')), stored(route('old-routes', { service: 'old' }))];
    assert.deepEqual(reasons(planSnapshot({ config: back, services, virtualServices: [], httpRoutes: routes })), [
      'HTTPRoute old-routes: production Service prod/old is gone',
      'HTTPRoute web-routes: routeKind is VirtualService: vsop routes prod/web with VirtualServices now, which replace this HTTPRoute',
    ]);
  });

  it("warns when the managed VirtualService it deletes holds routes vsop did not render (a hand route): they are named; vsop's and the template's are not", () => {
    const http = [
      { name: 'vsop-dev-dev-a', match: [{ headers: { 'x-developer': { exact: 'dev-a' } } }], route: [{ destination: { host: 'web.dev-a.svc.cluster.local' } }] },
      { name: 'canary', route: [{ destination: { host: 'web-canary.prod.svc.cluster.local' } }] },
      { name: 'from-template', route: [{ destination: { host: 'web.prod.svc.cluster.local' } }] },
    ];
    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'web-virtual-service', namespace: 'prod', labels: MANAGED, annotations: { 'vsop.io/service': 'web', 'vsop.io/rendered': '{"routes":["from-template"]}' } },
      spec: { hosts: ['web'], http },
    };
    const r = planSnapshot({ config, services, virtualServices: [vs] });
    const found = r.plan.findings.filter((f) => f.code === 'foreign-routes-dropped');
    assert.equal(found.length, 1);
    assert.equal(found[0]!.severity, 'warning');
    assert.match(found[0]!.message, /virtualservice prod\/web-virtual-service holds 1 route vsop did not render \("canary"\)/);
    const clean = planSnapshot({ config, services, virtualServices: [{ ...vs, spec: { hosts: ['web'], http: [http[0]!, http[2]!] } }] });
    assert.deepEqual(clean.plan.findings, []);
  });

  // Issue 14, a tester's finding: fields others added (kept by the VirtualService merge) were dropped unsaid.
  it("warns of the spec fields vsop did not render (gateways, tcp, tls, exportTo) in the VirtualService it deletes, not of the template's recorded ones", () => {
    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'web-virtual-service', namespace: 'prod', labels: MANAGED, annotations: { 'vsop.io/service': 'web', 'vsop.io/rendered': '{"spec":["exportTo"]}' } },
      spec: {
        hosts: ['web'],
        http: [{ name: 'vsop-default', route: [{ destination: { host: 'web.prod.svc.cluster.local' } }] }],
        exportTo: ['.'],
        gateways: ['mesh', 'prod/public'],
        tcp: [{ route: [{ destination: { host: 'web.prod.svc.cluster.local' } }] }],
        tls: [{ match: [{ sniHosts: ['web.example.com'] }], route: [{ destination: { host: 'web.prod.svc.cluster.local' } }] }],
      },
    };
    const found = planSnapshot({ config, services, virtualServices: [vs] }).plan.findings.filter((f) => f.code === 'foreign-routes-dropped');
    assert.equal(found.length, 1, JSON.stringify(found));
    assert.match(
      found[0]!.message,
      /^virtualservice prod\/web-virtual-service holds fields vsop did not render \(spec\.gateways, spec\.tcp, spec\.tls\): deleting it for routeKind HTTPRoute drops them/,
    );
    const routeToo = {
      ...vs,
      spec: {
        ...vs.spec,
        http: [...vs.spec.http, { name: 'canary', route: [{ destination: { host: 'web-canary' } }] }],
        gateways: undefined,
        tcp: undefined,
        tls: undefined,
        exportTo: ['*'],
      },
    };
    const both = planSnapshot({ config, services, virtualServices: [routeToo] }).plan.findings.filter((f) => f.code === 'foreign-routes-dropped');
    assert.match(both[0]!.message, /holds 1 route vsop did not render \("canary"\): deleting it/, "exportTo is recorded as the template's");
  });

  it('a recorded route that cannot be rendered is a warning about the HTTPRoute, not a virtualservice', () => {
    const overrides = JSON.stringify({ version: 1, routes: [{ namespace: 'dev-gone', headers: [{ name: 'x-user', value: 'alice' }] }] });
    const live = stored(route('web-routes'));
    live.metadata.annotations = { ...live.metadata.annotations, 'vsop.io/overrides': overrides };
    const r = planSnapshot({ config, services, virtualServices: [], httpRoutes: [live] });
    const sources = r.warnings.filter((w) => w.message.includes('dev-gone')).map((w) => w.source);
    assert.deepEqual(sources, ['httproute prod/web-routes']);
  });

  it('carries the overrides recorded on the VirtualService over to the HTTPRoute', () => {
    const overrides = JSON.stringify({ version: 1, routes: [{ namespace: 'dev-a', headers: [{ name: 'x-user', value: 'alice' }] }] });
    const vs = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'web-virtual-service', namespace: 'prod', labels: MANAGED, annotations: { 'vsop.io/service': 'web', 'vsop.io/overrides': overrides } },
      spec: { hosts: ['web'], http: [] },
    };
    const r = planSnapshot({ config, services, virtualServices: [vs] });
    const created = r.plan.actions.find((a) => a.kind === 'HTTPRoute')!;
    assert.equal(created.after!.metadata.annotations!['vsop.io/overrides'], overrides);
    assert.ok(JSON.stringify(created.after!.spec).includes('"x-user"'), 'the hand route is rendered');
  });
});

describe('apply', () => {
  it('writes every create and update before any delete, a grant before the routes', async () => {
    const port = new FakePort();
    port.put(route('old-routes'));
    const actions: Action[] = [
      { type: 'delete', kind: 'HTTPRoute', namespace: 'prod', name: 'old-routes', service: 'web', live: port.get('HTTPRoute', 'prod', 'old-routes') as HTTPRoute },
      { type: 'create', kind: 'HTTPRoute', namespace: 'prod', name: 'web-routes', service: 'web', desired: route('web-routes'), after: route('web-routes') },
      { type: 'create', kind: 'ReferenceGrant', namespace: 'dev-a', name: 'vsop-from-prod', service: undefined, desired: grant('dev-a'), after: grant('dev-a') },
    ];
    const results = await applyPlan(actions, port, { concurrency: 8 });
    assert.deepEqual(
      results.map((r) => r.result),
      ['deleted', 'created', 'created'],
    );
    assert.deepEqual(port.writes(), ['create ReferenceGrant/dev-a/vsop-from-prod', 'create HTTPRoute/prod/web-routes', 'delete HTTPRoute/prod/old-routes']);
  });

  // Issue 14, a tester's finding: on a switch back (and clear --purge --all) grants were deleted beside the routes using them.
  it('deletes a grant after the routes that reference it are deleted', async () => {
    const port = new FakePort();
    const r = port.put(stored(route('web-routes', { rules: [{ backendRefs: [{ name: 'web', namespace: 'dev-a', port: 80 }] }] }))) as HTTPRoute;
    const g = port.put(grant('dev-a')) as ReferenceGrant;
    const p = planGateway({ httpRoutes: [], referenceGrants: [] }, { httpRoutes: [r], referenceGrants: [g] }, { defaultNamespace: 'prod' });
    // The route's delete takes a while to answer; the grant's must not be sent before it is done.
    let routeAtGrantDelete: unknown = 'never asked';
    port.beforeWrite = async (verb, key) => {
      if (key.startsWith('HTTPRoute/')) await new Promise((done) => setTimeout(done, 20));
      if (verb === 'delete' && key.startsWith('ReferenceGrant/')) routeAtGrantDelete = port.get('HTTPRoute', 'prod', 'web-routes');
    };
    await applyPlan(p.actions, port, { concurrency: 8 });
    assert.deepEqual(port.writes(), ['delete HTTPRoute/prod/web-routes', 'delete ReferenceGrant/dev-a/vsop-from-prod']);
    assert.equal(routeAtGrantDelete, undefined, 'the route was gone when the grant was deleted');
  });

  it('grant-first: entries are added before the routes are written and removed after, a grant that does both is written twice', async () => {
    const to = (g: ReferenceGrant, ...names: string[]) => ({ ...g, spec: { ...g.spec, to: names.map((name) => ({ group: '', kind: 'Service', name })) } });
    const sendsTo = (...namespaces: string[]) => [{ backendRefs: namespaces.map((namespace) => ({ name: 'web', namespace, port: 80 })) }];
    const port = new FakePort();
    const live = {
      httpRoutes: [port.put(stored(route('web-routes', { rules: sendsTo('dev-b', 'dev-c') }))) as HTTPRoute],
      referenceGrants: [to(grant('dev-a'), 'api'), to(grant('dev-b'), 'old', 'web'), to(grant('dev-c'), 'web')].map((g) => port.put(g) as ReferenceGrant),
    };
    const desired = {
      httpRoutes: [route('web-routes', { rules: sendsTo('dev-a', 'dev-b') })],
      referenceGrants: [to(grant('dev-a'), 'api', 'web'), to(grant('dev-b'), 'new', 'web')],
    };
    const p = planGateway(desired, live, { defaultNamespace: 'prod' });
    await applyPlan(p.actions, port, { concurrency: 8 });
    assert.deepEqual(port.writes(), [
      'update ReferenceGrant/dev-a/vsop-from-prod', // adds web: first
      'update ReferenceGrant/dev-b/vsop-from-prod', // adds new, keeps old for now
      'update HTTPRoute/prod/web-routes',
      'update ReferenceGrant/dev-b/vsop-from-prod', // then drops old
      'delete ReferenceGrant/dev-c/vsop-from-prod',
    ]);
    const names = (ns: string) => ((port.get('ReferenceGrant', ns, 'vsop-from-prod') as ReferenceGrant).spec.to as { name: string }[]).map((t) => t.name);
    assert.deepEqual(names('dev-b'), ['new', 'web']);
    assert.deepEqual(names('dev-a'), ['api', 'web']);
  });
});

describe('sync SERVICE and the grants', () => {
  it("changes a grant by the entries of the Services in scope alone: another Service's entries stay as they are, its new needs are not added", () => {
    const to = (g: ReferenceGrant, ...names: string[]) => ({ ...g, spec: { ...g.spec, to: names.map((name) => ({ group: '', kind: 'Service', name })) } });
    const sendsTo = (service: string, ...namespaces: string[]) => [{ backendRefs: namespaces.map((namespace) => ({ name: service, namespace, port: 80 })) }];
    const live = { httpRoutes: [], referenceGrants: [to(grant('dev-a'), 'api', 'web'), to(grant('dev-c'), 'web')] };
    const desired = {
      httpRoutes: [route('web-routes', { rules: sendsTo('web', 'dev-b') }), route('api-routes', { service: 'api', rules: sendsTo('api', 'dev-a', 'dev-x') })],
      referenceGrants: [to(grant('dev-a'), 'api'), to(grant('dev-b'), 'web'), to(grant('dev-x'), 'api')],
    };
    const p = planGateway(desired, live, { defaultNamespace: 'prod', services: ['web'] });
    assert.deepEqual(ids(p.actions), [
      'create HTTPRoute prod/web-routes',
      'update ReferenceGrant dev-a/vsop-from-prod',
      'create ReferenceGrant dev-b/vsop-from-prod',
      'delete ReferenceGrant dev-c/vsop-from-prod',
    ]);
    const update = p.actions.find((a) => a.type === 'update')!;
    assert.deepEqual(update.after!.spec.to, [{ group: '', kind: 'Service', name: 'api' }]);
  });
});

describe('a cluster without the Gateway API', () => {
  it('routeKind HTTPRoute: listing HTTPRoutes answered 404 says the Gateway API is not installed, and what to do', () => {
    const failure = new HttpFailure({
      status: 404,
      body: { kind: 'Status', reason: 'NotFound', message: 'the server could not find the requested resource' },
      headers: {},
    } as never);
    const err = toVsopError(failure, { verb: 'list', resource: 'httproutes.gateway.networking.k8s.io', apiVersion: 'gateway.networking.k8s.io/v1' }, 'https://k8s.invalid');
    assert.ok(err instanceof ApiError);
    assert.equal(err.status, 404);
    assert.equal(err.message, 'the cluster does not serve httproutes.gateway.networking.k8s.io at gateway.networking.k8s.io/v1: the Gateway API is not installed');
    assert.match(err.hint ?? '', /install the Gateway API CRDs/);
  });
});
