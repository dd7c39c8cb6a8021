import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolve } from '../../src/core/resolve.ts';
import { config, defaultRoute, devRoute, seedVirtualService, service } from '../helpers/fixtures.ts';

describe('resolve', () => {
  it('renders the seed README scenario exactly (dev-bob has no copy, so no route)', () => {
    const { config: c, template } = config();
    const r = resolve(c, template, [service('default', 'my-app'), service('dev-alice', 'my-app'), service('staging', 'my-app')]);
    assert.deepEqual(r.virtualServices, [seedVirtualService('my-app', ['dev-alice', 'staging'])]);
  });

  it('gives a production Service without developer copies only the default route', () => {
    const { config: c, template } = config();
    const r = resolve(c, template, [service('default', 'solo')]);
    assert.deepEqual(r.virtualServices[0]!.spec.http, [defaultRoute('solo')]);
  });

  it('creates nothing for Services that exist only in developer namespaces', () => {
    const { config: c, template } = config();
    assert.deepEqual(resolve(c, template, [service('dev-alice', 'my-app')]).virtualServices, []);
  });

  it('never counts a placeholder as the Service existing', () => {
    const { config: c, template } = config();
    const r = resolve(c, template, [service('default', 'my-app'), service('dev-alice', 'my-app', { placeholder: true })], { routing: true });
    assert.deepEqual(r.virtualServices[0]!.spec.http, [defaultRoute('my-app')]);
    assert.deepEqual(r.tables[0]!.namespaces[0], { namespace: 'dev-alice', placeholder: true, route: { state: 'missing' } });
  });

  it('recognises the seed operator placeholder annotation as well as the label', () => {
    const { config: c, template } = config();
    const annotated = service('dev-alice', 'my-app');
    annotated.metadata.annotations = { 'virtualservice-operator/placeholder-service': 'true' };
    const r = resolve(c, template, [service('default', 'my-app'), annotated]);
    assert.deepEqual(r.virtualServices[0]!.spec.http, [defaultRoute('my-app')]);
  });

  it('ignores Services in system namespaces and the apiserver Service', () => {
    const { config: c, template } = config({ defaultNamespace: 'default' });
    const r = resolve(c, template, [service('kube-system', 'kube-dns'), service('istio-system', 'istiod'), service('default', 'kubernetes'), service('default', 'web')]);
    assert.deepEqual(
      r.virtualServices.map((v) => v.metadata.name),
      ['web-virtual-service'],
    );
  });

  it('ignores Services in excluded namespaces from the config', () => {
    const { config: c, template } = config({ excludedNamespaces: ['monitoring'], developerNamespaces: ['dev-alice'] });
    const r = resolve(c, template, [service('default', 'web'), service('monitoring', 'web')]);
    assert.deepEqual(r.virtualServices[0]!.spec.http, [defaultRoute('web')]);
  });

  it('keeps routes in config order, not alphabetical order', () => {
    const { config: c, template } = config({ developerNamespaces: ['zeta', 'alpha'] });
    const r = resolve(c, template, [service('default', 'web'), service('alpha', 'web'), service('zeta', 'web')]);
    assert.deepEqual(
      r.virtualServices[0]!.spec.http!.map((h) => h.name),
      ['vsop-dev-zeta', 'vsop-dev-alpha', 'vsop-default'],
    );
  });

  it('uses the routing header and header values from the config', () => {
    const { config: c, template } = config({ routingHeader: 'x-env', developerNamespaces: [{ name: 'team-a', headerValue: 'a' }] });
    const r = resolve(c, template, [service('default', 'web'), service('team-a', 'web')]);
    assert.deepEqual(r.virtualServices[0]!.spec.http![0], devRoute('web', 'team-a', 'team-a', 'x-env', 'a'));
  });

  it('routes per port for multi-port Services, only to namespaces that have that port', () => {
    const { config: c, template } = config({ developerNamespaces: ['dev-a'] });
    const r = resolve(c, template, [service('default', 'pay', { ports: [9090, 80] }), service('dev-a', 'pay', { ports: [80] })]);
    assert.deepEqual(r.virtualServices[0]!.spec.http, [
      {
        name: 'vsop-dev-dev-a-80',
        match: [{ port: 80, headers: { 'x-developer': { exact: 'dev-a' } } }],
        route: [{ destination: { host: 'pay.dev-a.svc.cluster.local', port: { number: 80 } } }],
      },
      defaultRoute('pay'),
    ]);
  });

  it('follows a parent chain 3,000 namespaces deep to the one copy at its root (resolved in linear time)', () => {
    const devs = Array.from({ length: 3000 }, (_, i) => (i === 0 ? 'd0' : { name: `d${i}`, parent: `d${i - 1}` }));
    const { config: c, template } = config({ developerNamespaces: devs });
    const r = resolve(c, template, [service('default', 'web'), service('d0', 'web')], { routing: true });
    const states = r.tables[0]!.namespaces.map((n) => n.route);
    assert.deepEqual(states[0], { state: 'route', target: 'd0' });
    assert.ok(states.slice(1).every((s) => s.state === 'fallback' && s.target === 'd0'));
    assert.equal(r.virtualServices[0]!.spec.http!.length, 3001);
  });

  it('falls back along parents to the nearest namespace with the Service, then to production', () => {
    const { config: c, template } = config({
      developerNamespaces: ['integration', { name: 'team-a', parent: 'integration' }, { name: 'feature', headerValue: 'login', parent: 'team-a' }, 'team-b'],
    });
    const r = resolve(c, template, [service('default', 'auth'), service('integration', 'auth'), service('default', 'ui'), service('team-b', 'ui')], { routing: true });
    const auth = r.virtualServices.find((v) => v.metadata.name === 'auth-virtual-service')!;
    assert.deepEqual(auth.spec.http, [
      devRoute('auth', 'integration'),
      devRoute('auth', 'team-a', 'integration'),
      devRoute('auth', 'feature', 'integration', 'x-developer', 'login'),
      defaultRoute('auth'),
    ]);
    const ui = r.virtualServices.find((v) => v.metadata.name === 'ui-virtual-service')!;
    assert.deepEqual(ui.spec.http, [devRoute('ui', 'team-b'), defaultRoute('ui')]);
    assert.deepEqual(
      r.tables.find((x) => x.service === 'auth')!.namespaces.map((n) => n.route),
      [{ state: 'route', target: 'integration' }, { state: 'fallback', target: 'integration' }, { state: 'fallback', target: 'integration' }, { state: 'missing' }],
    );
  });

  it('injects developer routes where the template comment stands, keeping the template routes', () => {
    const tmpl = [
      'apiVersion: networking.istio.io/v1',
      'kind: VirtualService',
      'metadata:',
      '  name: ${serviceName}',
      '  labels: {team: web}',
      'spec:',
      '  hosts: ["${serviceName}", "${serviceName}.example.com"]',
      '  gateways: [mesh, public]',
      '  http:',
      '  - name: health',
      '    match: [{uri: {exact: /healthz}}]',
      '    route: [{destination: {host: "health.${defaultNamespace}.svc.cluster.local"}}]',
      '  # Developer routes will be injected here',
      '  - timeout: 5s',
      '    retries: {attempts: 3}',
      '    route: [{destination: {host: "${serviceName}.${defaultNamespace}.svc.cluster.local"}}]',
    ].join('\n');
    const { config: c, template } = config({ virtualServiceTemplate: tmpl, developerNamespaces: ['dev-a'] });
    const vs = resolve(c, template, [service('default', 'web'), service('dev-a', 'web')]).virtualServices[0]!;
    assert.equal(vs.apiVersion, 'networking.istio.io/v1');
    assert.deepEqual(vs.metadata, {
      name: 'web',
      namespace: 'default',
      labels: { team: 'web', 'managed-by': 'virtualservice-operator' },
      // What the template sets beyond vsop's baseline, for the three-way merge (render/merge.ts).
      annotations: { 'vsop.io/service': 'web', 'vsop.io/rendered': '{"labels":["team"],"spec":["gateways"],"routes":["health"]}' },
    });
    assert.deepEqual(vs.spec.gateways, ['mesh', 'public']);
    assert.deepEqual(vs.spec.hosts, ['web', 'web.example.com']);
    assert.deepEqual(vs.spec.http, [
      { name: 'health', match: [{ uri: { exact: '/healthz' } }], route: [{ destination: { host: 'health.default.svc.cluster.local' } }] },
      // The developer route stands in for the template route: its timeout and retries come along.
      { ...devRoute('web', 'dev-a'), timeout: '5s', retries: { attempts: 3 } },
      { name: 'vsop-default', timeout: '5s', retries: { attempts: 3 }, route: [{ destination: { host: 'web.default.svc.cluster.local' } }] },
    ]);
  });

  it('gives each template route to production a developer variant right before it, and routes to other hosts none', () => {
    const tmpl = [
      'apiVersion: networking.istio.io/v1alpha3',
      'kind: VirtualService',
      'metadata: {name: "${serviceName}-vs"}',
      'spec:',
      '  hosts: ["${serviceName}"]',
      '  http:',
      '  - match: [{uri: {prefix: /a}}, {uri: {exact: /b}}]',
      '    rewrite: {uri: /}',
      '    route: [{destination: {host: "${serviceName}"}}]',
      '  - match: [{uri: {prefix: /legacy}}]',
      '    route: [{destination: {host: legacy}}]',
      '  - route: [{destination: {host: "${serviceName}.${defaultNamespace}.svc.cluster.local"}}]',
    ].join('\n');
    const { config: c, template } = config({ virtualServiceTemplate: tmpl, developerNamespaces: ['dev-a'] });
    const vs = resolve(c, template, [service('default', 'web'), service('dev-a', 'web')]).virtualServices[0]!;
    assert.deepEqual(
      vs.spec.http!.map((h) => h.name),
      ['vsop-dev-dev-a-vsop-template-0', 'vsop-template-0', 'vsop-template-1', 'vsop-dev-dev-a', 'vsop-default'],
    );
    assert.deepEqual(vs.spec.http![0], {
      name: 'vsop-dev-dev-a-vsop-template-0',
      match: [
        { uri: { prefix: '/a' }, headers: { 'x-developer': { exact: 'dev-a' } } },
        { uri: { exact: '/b' }, headers: { 'x-developer': { exact: 'dev-a' } } },
      ],
      rewrite: { uri: '/' },
      route: [{ destination: { host: 'web.dev-a.svc.cluster.local' } }],
    });
  });

  it("keeps a template route's own port condition in its variants (found by the differential test)", () => {
    const tmpl = [
      'apiVersion: networking.istio.io/v1',
      'kind: VirtualService',
      'metadata: {name: "${serviceName}"}',
      'spec:',
      '  hosts: ["${serviceName}"]',
      '  http:',
      '  - name: grpc',
      '    match: [{port: 9090}]',
      '    route: [{destination: {host: "${serviceName}", port: {number: 9090}}}]',
      '  - route: [{destination: {host: "${serviceName}"}}]',
    ].join('\n');
    const { config: c, template } = config({ virtualServiceTemplate: tmpl, developerNamespaces: ['dev-a'] });
    const vs = resolve(c, template, [service('default', 'web', { ports: [80] }), service('dev-a', 'web', { ports: [80] })]).virtualServices[0]!;
    const grpc = vs.spec.http!.find((h) => h.name === 'vsop-dev-dev-a-grpc')!;
    assert.deepEqual(grpc.match, [{ port: 9090, headers: { 'x-developer': { exact: 'dev-a' } } }]);
  });

  it('is deterministic whatever order the Services arrive in', () => {
    const { config: c, template } = config();
    const svcs = [service('default', 'b'), service('staging', 'a'), service('default', 'a'), service('dev-alice', 'b')];
    const one = resolve(c, template, svcs);
    const two = resolve(c, template, [...svcs].reverse());
    assert.deepEqual(one, two);
    assert.deepEqual(
      one.virtualServices.map((v) => v.metadata.name),
      ['a-virtual-service', 'b-virtual-service'],
    );
  });
});
