// src/inputs.ts: what vsop reads under a config, and which production Services an object bears on.
// The host cases' expected values are Istio's (test/integration/inputs.test.ts checks each against
// Istio's own xDS generation); the rest are vsop's own rules (its annotation, its template's naming).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/core/config.ts';
import {
  affectedByHTTPRoute,
  affectedByVirtualService,
  endpointSlices,
  fallbackMessage,
  httpRoutes,
  INPUTS,
  referenceGrants,
  services,
  virtualServices,
  XDS_INPUTS,
} from '../../src/inputs.ts';
import type { HTTPRoute } from '../../src/core/render/httproute.ts';
import type { EndpointSlice, VirtualService } from '../../src/core/types.ts';
import { planSnapshot } from '../../src/reconcile.ts';
import { service } from '../helpers/fixtures.ts';
import { AFFECT_CASES } from './inputs-cases.ts';

const loaded = loadConfig('defaultNamespace: default\ndeveloperNamespaces: [dev-alice, staging]\n', 'test');
const vs = (namespace: string, hosts: string[], extra: Partial<VirtualService['metadata']> = {}, gateways?: string[]): VirtualService => ({
  apiVersion: 'networking.istio.io/v1',
  kind: 'VirtualService',
  metadata: { name: 'x', namespace, ...extra },
  spec: { hosts, ...(gateways ? { gateways } : {}) },
});
const sorted = (a: readonly string[] | 'all') => (a === 'all' ? a : [...a].sort());

describe('inputs', () => {
  it('lists Services per namespace of the config and placeholders by label; VirtualServices cluster-wide, the production namespace as fallback', () => {
    assert.deepEqual(
      INPUTS.map((i) => i.field),
      ['services', 'virtualServices', 'httpRoutes', 'referenceGrants'],
    );
    assert.deepEqual(
      services.scopes(loaded).map((s) => [s.collection.namespace, s.collection.labelSelector ?? '']),
      [
        ['default', ''],
        ['dev-alice', ''],
        ['staging', ''],
        ['', 'virtualservice-operator/placeholder-service=true'],
      ],
    );
    const [scope, ...more] = virtualServices.scopes(loaded);
    assert.equal(more.length, 0);
    assert.deepEqual(scope!.collection, { resource: 'virtualservices', namespace: '', apiVersion: 'networking.istio.io/v1beta1' });
    assert.deepEqual(scope!.fallback!.collections, [{ resource: 'virtualservices', namespace: 'default', apiVersion: 'networking.istio.io/v1beta1' }]);
    assert.equal(
      fallbackMessage(scope!.fallback!, 'forbidden: cannot list virtualservices.networking.istio.io cluster-wide'),
      "forbidden: cannot list virtualservices.networking.istio.io cluster-wide; reading namespace default only: cannot see VirtualServices of other namespaces: a VirtualService elsewhere may shadow vsop's unseen (grant list and watch on virtualservices.networking.istio.io at cluster scope (a ClusterRole))",
    );
  });

  it("routeKind VirtualService: vsop's own HTTPRoutes and ReferenceGrants, and every HTTPRoute (Istio applies them before the VirtualService), all optional (the Gateway API may be absent)", () => {
    const managed = 'managed-by=virtualservice-operator';
    assert.deepEqual(httpRoutes.scopes(loaded), [
      { collection: { resource: 'httproutes', namespace: 'default', apiVersion: 'gateway.networking.k8s.io/v1', labelSelector: managed }, optional: true },
      { collection: { resource: 'httproutes', namespace: '', apiVersion: 'gateway.networking.k8s.io/v1' }, optional: true },
    ]);
    assert.deepEqual(referenceGrants.scopes(loaded), [
      { collection: { resource: 'referencegrants', namespace: '', apiVersion: 'gateway.networking.k8s.io/v1beta1', labelSelector: managed }, optional: true },
    ]);
  });

  it("routeKind HTTPRoute: HTTPRoutes cluster-wide (production as fallback), grants of the developer namespaces and vsop's own everywhere; VirtualServices only vsop's own", () => {
    const hr = loadConfig('defaultNamespace: default\nrouteKind: HTTPRoute\ndeveloperNamespaces: [dev-alice, staging]\n', 'test');
    const [routes, ...more] = httpRoutes.scopes(hr);
    assert.equal(more.length, 0);
    assert.deepEqual(routes!.collection, { resource: 'httproutes', namespace: '', apiVersion: 'gateway.networking.k8s.io/v1' });
    assert.deepEqual(routes!.fallback!.collections, [{ resource: 'httproutes', namespace: 'default', apiVersion: 'gateway.networking.k8s.io/v1' }]);
    assert.deepEqual(
      referenceGrants.scopes(hr).map((s) => [s.collection.namespace, s.collection.labelSelector ?? '', s.fallback ? 'fallback' : '']),
      [
        ['', 'managed-by=virtualservice-operator', 'fallback'],
        ['dev-alice', '', ''],
        ['staging', '', ''],
      ],
    );
    assert.deepEqual(virtualServices.scopes(hr), [
      {
        collection: { resource: 'virtualservices', namespace: 'default', apiVersion: 'networking.istio.io/v1', labelSelector: 'managed-by=virtualservice-operator' },
        optional: true,
      },
    ]);
  });

  it('an HTTPRoute bears on the production Services its parentRefs name, and on the one its annotation names', () => {
    const route = (namespace: string, parentRefs: Record<string, unknown>[], annotations?: Record<string, string>) =>
      ({
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'r', namespace, ...(annotations ? { annotations } : {}) },
        spec: { parentRefs },
      }) as HTTPRoute;
    assert.deepEqual(affectedByHTTPRoute(route('default', [{ group: '', kind: 'Service', name: 'web' }]), loaded), ['web']);
    // A consumer route in another namespace names the production namespace.
    assert.deepEqual(affectedByHTTPRoute(route('dev-alice', [{ group: '', kind: 'Service', name: 'web', namespace: 'default' }]), loaded), ['web']);
    assert.deepEqual(affectedByHTTPRoute(route('dev-alice', [{ group: '', kind: 'Service', name: 'web' }]), loaded), []);
    // A Gateway parent (the default group and kind) is not a Service.
    assert.deepEqual(affectedByHTTPRoute(route('default', [{ name: 'web' }]), loaded), []);
    assert.deepEqual(affectedByHTTPRoute(route('default', [], { 'vsop.io/service': 'api' }), loaded), ['api']);
  });

  it('a Service bears on the production Service of its name, in any namespace', () => {
    assert.deepEqual(services.affects(service('dev-alice', 'my-app'), loaded), ['my-app']);
  });

  it('EndpointSlices (vsop xds only): per namespace of the config, each bearing on the Service its kubernetes.io/service-name label names', () => {
    assert.deepEqual(
      XDS_INPUTS.map((i) => i.field),
      [...INPUTS.map((i) => i.field), 'endpointSlices'],
    );
    assert.deepEqual(
      endpointSlices.scopes(loaded).map((s) => s.collection),
      ['default', 'dev-alice', 'staging'].map((namespace) => ({ resource: 'endpointslices', namespace })),
    );
    const slice = (labels?: Record<string, string>): EndpointSlice => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'my-app-x7k2p', namespace: 'dev-alice', ...(labels ? { labels } : {}) },
      addressType: 'IPv4',
    });
    assert.deepEqual(endpointSlices.affects(slice({ 'kubernetes.io/service-name': 'my-app' }), loaded), ['my-app']);
    // A slice of no Service (managed by someone else, without the label) bears on none, not on its own name.
    assert.deepEqual(endpointSlices.affects(slice(), loaded), []);
  });

  for (const c of AFFECT_CASES) {
    it(`a VirtualService naming hosts: ${c.name}`, () => {
      assert.deepEqual(sorted(affectedByVirtualService(vs(c.namespace, c.hosts), loaded)), sorted(c.takes));
    });
  }

  it("in the production namespace, also the Service its annotation or its template's name names", () => {
    assert.deepEqual(affectedByVirtualService(vs('default', ['x.example.com'], { name: 'my-app-virtual-service' }), loaded), ['my-app']);
    assert.deepEqual(affectedByVirtualService(vs('default', [], { name: 'y', annotations: { 'vsop.io/service': 'web' } }), loaded), ['web']);
    assert.deepEqual(affectedByVirtualService(vs('other', [], { name: 'my-app-virtual-service', annotations: { 'vsop.io/service': 'web' } }), loaded), []);
  });

  it("follows the template: its name, and hosts it renders beyond the Service's own", () => {
    const custom = loadConfig(
      [
        'defaultNamespace: prod',
        'developerNamespaces: [dev]',
        'virtualServiceTemplate: |',
        '  apiVersion: networking.istio.io/v1',
        '  kind: VirtualService',
        '  metadata: {name: "vs-${serviceName}", namespace: "${defaultNamespace}"}',
        '  spec:',
        '    hosts: ["${serviceName}", "${serviceName}.example.com"]',
        '    http:',
        '    - route: [{destination: {host: "${serviceName}.${defaultNamespace}.svc.cluster.local"}}]',
        '',
      ].join('\n'),
      'test',
    );
    assert.deepEqual(affectedByVirtualService(vs('prod', [], { name: 'vs-api' }), custom), ['api']);
    assert.deepEqual(affectedByVirtualService(vs('prod', [], { name: 'api-virtual-service' }), custom), []);
    assert.deepEqual(affectedByVirtualService(vs('elsewhere', ['api.example.com']), custom), ['api']);
    assert.deepEqual(affectedByVirtualService(vs('elsewhere', ['*.example.com']), custom), 'all');
    assert.deepEqual(affectedByVirtualService(vs('elsewhere', ['api.prod.svc.cluster.local']), custom), ['api']);
    assert.deepEqual(affectedByVirtualService(vs('elsewhere', ['api.example.org']), custom), []);
  });

  it('counts a VirtualService bound only to a gateway (Istio ignores it for the mesh; the selection module decides)', () => {
    assert.deepEqual(affectedByVirtualService(vs('other', ['my-app.default.svc.cluster.local'], {}, ['istio-system/public-gw']), loaded), ['my-app']);
  });

  it('a snapshot with VirtualServices of every namespace: only the managed ones of the production namespace are ever planned', () => {
    const managed = (namespace: string) =>
      vs(namespace, ['ghost'], { name: 'ghost-virtual-service', labels: { 'managed-by': 'virtualservice-operator' }, annotations: { 'vsop.io/service': 'ghost' } });
    const r = planSnapshot({
      config: { text: 'defaultNamespace: default\ndeveloperNamespaces: [dev-alice]\n', source: 'test' },
      services: [],
      virtualServices: [managed('other'), managed('default')],
    });
    assert.deepEqual(
      r.plan.actions.map((a) => `${a.type} ${a.namespace}/${a.name}`),
      ['delete default/ghost-virtual-service'],
    );
    const purge = planSnapshot(
      { config: { text: 'defaultNamespace: default\n', source: 'test' }, services: [], virtualServices: [managed('other'), managed('default')] },
      { purge: true },
    );
    assert.deepEqual(
      purge.plan.actions.map((a) => `${a.type} ${a.namespace}/${a.name}`),
      ['delete default/ghost-virtual-service'],
    );
  });
});
