// The two sides of a diff in one key order (src/core/render.ts diffSides): the live object's keys follow
// the rendered object's, so that a line that only moved is no change. The live object below has the keys
// in the order the real apiserver answered with (test/integration/diff-order.test.ts checks that order).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Action } from '../../src/core/plan.ts';
import { actionDiff, inKeyOrderOf } from '../../src/core/render.ts';
import type { VirtualService } from '../../src/core/types.ts';

const route = (dev: string) => ({
  name: `vsop-dev-${dev}`,
  match: [{ headers: { 'x-developer': { exact: dev } } }],
  route: [{ destination: { host: `api.${dev}.svc.cluster.local` } }],
});
const rendered: VirtualService = {
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'VirtualService',
  metadata: { name: 'api-virtual-service', namespace: 'prod', labels: { 'managed-by': 'virtualservice-operator' } },
  spec: { hosts: ['api'], http: [route('a'), route('b'), { name: 'vsop-default', route: [{ destination: { host: 'api.prod.svc.cluster.local' } }] }] },
};
// As the apiserver stores a custom resource: keys sorted, server fields beside.
const live = {
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'VirtualService',
  metadata: {
    creationTimestamp: '2026-01-01T00:00:00Z',
    generation: 1,
    labels: { 'managed-by': 'virtualservice-operator' },
    name: 'api-virtual-service',
    namespace: 'prod',
    resourceVersion: '7',
    uid: 'u',
  },
  spec: {
    hosts: ['api'],
    http: [
      { match: [{ headers: { 'x-developer': { exact: 'a' } } }], name: 'vsop-dev-a', route: [{ destination: { host: 'api.a.svc.cluster.local' } }] },
      { name: 'vsop-default', route: [{ destination: { host: 'api.prod.svc.cluster.local' } }] },
    ],
  },
} as unknown as VirtualService;

describe('diff key order', () => {
  it('an added route is added lines only, with the live keys in the rendered order', () => {
    const action = { type: 'update', kind: 'VirtualService', namespace: 'prod', name: 'api-virtual-service', live, after: rendered } as unknown as Action;
    const body = actionDiff(action).split('\n').slice(2);
    assert.deepEqual(
      body.filter((l) => l.startsWith('-')),
      [],
    );
    assert.equal(body.filter((l) => l.startsWith('+')).length, 8);
  });

  it('keeps every value; keys the model lacks follow in their own order; list items by their unique name', () => {
    const value = {
      z: 1,
      a: { d: null, c: 'c' },
      // A route that is gone, and unnamed items, keep their own order; the other follows the model's route of its name.
      http: [
        { route: 1, name: 'gone', match: 2 },
        { route: 3, match: 4, name: 'kept' },
        { y: 1, x: 2 },
      ],
    };
    const model = {
      a: { c: 0, d: 0 },
      q: 1,
      http: [
        { name: 'kept', match: 0, route: 0 },
        { x: 0, y: 0 },
      ],
    };
    const ordered = inKeyOrderOf(value, model) as typeof value;
    assert.deepEqual(ordered, value);
    assert.deepEqual(Object.keys(ordered), ['a', 'http', 'z']);
    assert.deepEqual(Object.keys(ordered.a), ['c', 'd']);
    assert.deepEqual(
      ordered.http.map((i) => Object.keys(i)),
      [
        ['route', 'name', 'match'],
        ['name', 'match', 'route'],
        ['y', 'x'],
      ],
    );
  });

  it('unnamed items follow the model item of the same content (key order aside), else of the same matches; not by position', () => {
    const rule = (v: string, to: string) => ({ backendRefs: [{ port: 80, name: 'web', namespace: to }], matches: [{ headers: [{ value: v, name: 'x-developer' }] }] });
    // Stored order (sorted keys); the model renders matches first, name before value, and a rule more at the top.
    const value = { rules: [rule('a', 'dev-a'), rule('b', 'dev-b-old')] };
    const model = {
      rules: [
        { matches: [{ headers: [{ name: 'x-developer', value: 'new' }] }], backendRefs: [{ name: 'web', namespace: 'new', port: 80 }] },
        { matches: [{ headers: [{ name: 'x-developer', value: 'a' }] }], backendRefs: [{ name: 'web', namespace: 'dev-a', port: 80 }] },
        { matches: [{ headers: [{ name: 'x-developer', value: 'b' }] }], backendRefs: [{ name: 'web', namespace: 'dev-b', port: 80 }] },
      ],
    };
    const ordered = inKeyOrderOf(value, model) as typeof value;
    assert.deepEqual(ordered, value);
    // Rule a by its content, rule b (its backend changed) by its matches: both in the model's order.
    for (const r of ordered.rules) {
      assert.deepEqual(Object.keys(r), ['matches', 'backendRefs']);
      assert.deepEqual(Object.keys(r.matches[0]!.headers[0]!), ['name', 'value']);
    }
    assert.deepEqual(Object.keys(ordered.rules[0]!.backendRefs[0]!), ['name', 'namespace', 'port']);
  });
});
