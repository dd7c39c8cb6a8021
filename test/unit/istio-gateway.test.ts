// src/core/istio/gateway.ts alone: the order Istio gives the rules of every HTTPRoute attached to a Service,
// written here by hand from the Gateway API's rule (apis/v1/httproute_types.go, HTTPRouteRule.Matches):
// exact path, longer prefix, method, more headers, more query parameters, then the older route, then
// namespace/name, then rule order. Istio's own simulation checks the same in
// test/integration/httproute-trace.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meshVirtualServices, ruleOrigin } from '../../src/core/istio/gateway.ts';
import type { HTTPRoute } from '../../src/core/render/httproute.ts';
import { service } from '../helpers/fixtures.ts';

function route(name: string, rules: Record<string, unknown>[], opts: { namespace?: string; created?: string; port?: number; parent?: string } = {}): HTTPRoute {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: opts.namespace ?? 'prod', ...(opts.created ? { creationTimestamp: opts.created } : {}) },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: opts.parent ?? 'web', namespace: 'prod', ...(opts.port ? { port: opts.port } : {}) }], rules },
  };
}
const to = [{ name: 'web', port: 80 }];
const services = [service('prod', 'web')];
/** "namespace/name#rule" of each route Istio generates for the host, in order. */
const order = (routes: HTTPRoute[]) =>
  meshVirtualServices(routes, services).map(
    (vs) =>
      `${vs.metadata.name}: ${(vs.spec.http ?? [])
        .map((r) => {
          const o = ruleOrigin(r)!;
          return `${o.name}#${o.rule}`;
        })
        .join(' ')}`,
  );

describe('istio/gateway: the Gateway API precedence across HTTPRoutes', () => {
  it('orders by exact path, prefix length, method, header count, query count, then age, then name, then rule order', () => {
    const old = route(
      'old',
      [
        { matches: [{ headers: [{ name: 'a', value: '1' }] }], backendRefs: to },
        { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: to },
        { backendRefs: to },
      ],
      { created: '2020-01-01T00:00:00Z' },
    );
    const young = route(
      'young',
      [
        { matches: [{ path: { type: 'Exact', value: '/' } }], backendRefs: to },
        { matches: [{ method: 'POST' }], backendRefs: to },
        { matches: [{ headers: [{ name: 'b', value: '1' }] }], backendRefs: to },
        { matches: [{ headers: [{ name: 'a', value: '1' }], queryParams: [{ name: 'q', value: '1' }] }], backendRefs: to },
      ],
      { created: '2021-01-01T00:00:00Z' },
    );
    // Not created yet (vsop's, before the sync): after every stamped one.
    const fresh = route('aaa', [{ matches: [{ headers: [{ name: 'c', value: '1' }] }], backendRefs: to }]);
    assert.deepEqual(order([fresh, young, old]), ['prod~web.prod.svc.cluster.local: young#0 old#1 young#1 young#3 old#0 young#2 aaa#0 old#2']);
  });

  it('keeps routes of another namespace or parentRef port apart, and attaches nothing to a Service that does not exist', () => {
    const routes = [
      route('a', [{ backendRefs: to }]),
      route('b', [{ backendRefs: to }], { port: 80 }),
      route('c', [{ backendRefs: to }], { namespace: 'dev' }),
      route('d', [{ backendRefs: to }], { parent: 'gone' }),
    ];
    assert.deepEqual(order(routes), ['prod~web.prod.svc.cluster.local: a#0', 'prod~80~web.prod.svc.cluster.local: b#0', 'dev~web.prod.svc.cluster.local: c#0']);
  });
});
