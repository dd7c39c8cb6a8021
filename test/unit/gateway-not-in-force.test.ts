// routeKind HTTPRoute: a header route recorded by hand that the Gateway API cannot express (a prefix header
// match: HTTPHeaderMatch has only Exact and RegularExpression) is kept in the overrides but is not in force.
// The routing table says so (routing/table.ts notRendered), not the renderer, so that status counts it as
// recorded but not routed, and trace names it beside where the request does go (issue 14, a tester's
// finding: status counted it as routed).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { notInForce } from '../../src/core/istio/trace.ts';
import { decide } from '../../src/core/routing/table.ts';
import { config, headerRoute, overrides, service } from '../helpers/fixtures.ts';

const prefix = headerRoute('dev-alice', 'x-env=st', { match: 'prefix' });
const exact = headerRoute('dev-alice', 'x-cid=alice');

function table(routeKind: 'HTTPRoute' | 'VirtualService', ports = [80]) {
  const { config: c } = config({ routeKind });
  const copies = new Map([
    ['default', service('default', 'web', { ports })],
    ['dev-alice', service('dev-alice', 'web', { ports })],
  ]);
  return decide({
    config: c,
    production: copies.get('default')!,
    copies,
    placeholders: new Set(),
    overrides: overrides({ routes: [exact, prefix] }),
    source: 'httproute default/web-routes',
    view: true,
  });
}

const request = (headers: Record<string, string>, port = 80) => ({ host: 'web.default.svc.cluster.local', port, path: '/', method: 'GET', headers, from: 'default' });

describe('routeKind HTTPRoute: a recorded prefix header route is kept, not in force', () => {
  it('is left out of the rules, recorded as not rendered, and counted apart in the namespace view', () => {
    const t = table('HTTPRoute');
    assert.deepEqual(
      t.rules.filter((r) => r.origin === 'hand').map((r) => r.name),
      ['vsop-route-dev-alice-1'],
    );
    const reason = 'the Gateway API has no prefix match for headers (only Exact and RegularExpression): use --match regex with "st.*"';
    const left = { route: 'vsop-route-dev-alice-2', namespace: 'dev-alice', headers: prefix.headers, reason };
    assert.deepEqual(t.notRendered, [left]);
    assert.deepEqual(t.namespaces.find((n) => n.namespace === 'dev-alice')!.overrides, { headerRoutes: 2, notRendered: [left] });
    assert.deepEqual(
      t.warnings.map((w) => `${w.source}: ${w.message}`),
      [`httproute default/web-routes: header route vsop-route-dev-alice-2 is recorded but not in force: ${reason} (vsop route reset web -n dev-alice drops it)`],
    );
  });

  it('routeKind VirtualService renders it as before', () => {
    const t = table('VirtualService');
    assert.deepEqual(
      t.rules.filter((r) => r.origin === 'hand').map((r) => r.name),
      ['vsop-route-dev-alice-1', 'vsop-route-dev-alice-2'],
    );
    assert.deepEqual(t.notRendered, []);
    assert.deepEqual(t.warnings, []);
  });

  it('trace: a request the route would meet is told so; one it would not meet is not', () => {
    const t = table('HTTPRoute');
    assert.deepEqual(
      notInForce(t, request({ 'x-env': 'staging' })).map((r) => r.route),
      ['vsop-route-dev-alice-2'],
    );
    assert.deepEqual(notInForce(t, request({ 'x-env': 'prod' })), []);
    assert.deepEqual(notInForce(t, request({ 'x-cid': 'alice' })), []);
  });

  it('a route recorded for one port is told only for that port', () => {
    const { config: c } = config({ routeKind: 'HTTPRoute' });
    const copies = new Map([
      ['default', service('default', 'web', { ports: [80, 9090] })],
      ['dev-alice', service('dev-alice', 'web', { ports: [80, 9090] })],
    ]);
    const t = decide({
      config: c,
      production: copies.get('default')!,
      copies,
      placeholders: new Set(),
      overrides: overrides({ routes: [headerRoute('dev-alice', 'x-env=st', { match: 'prefix', port: 9090 })] }),
      source: 'httproute default/web-routes-80',
    });
    assert.deepEqual(
      t.rules.filter((r) => r.origin === 'hand'),
      [],
    );
    assert.deepEqual(
      notInForce(t, request({ 'x-env': 'st' }, 9090)).map((r) => r.route),
      ['vsop-route-dev-alice-1'],
    );
    assert.deepEqual(notInForce(t, request({ 'x-env': 'st' }, 80)), []);
  });
});
