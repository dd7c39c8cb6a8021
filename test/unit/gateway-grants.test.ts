// Which ReferenceGrant entries vsop wants (from the routes it renders and those it has stored) and which
// a route about to be written lacks: the two questions behind watch's order of grant and route writes.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { grantsShown, grantsWanted, missingGrantEntries } from '../../src/core/gateway/grants.ts';
import { grantsOf, type HTTPRoute, type ReferenceGrant } from '../../src/core/render/httproute.ts';

const MANAGED = { 'managed-by': 'virtualservice-operator' };

/** A route of namespace `namespace` sending to each `ns/name`. */
function route(name: string, to: string[], opts: { namespace?: string; managed?: boolean } = {}): HTTPRoute {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: opts.namespace ?? 'prod', labels: opts.managed === false ? {} : MANAGED },
    spec: {
      rules: to.map((ref) => {
        const [namespace, service] = ref.split('/') as [string, string];
        return { backendRefs: [{ name: service, namespace, port: 80 }] };
      }),
    },
  };
}

function grant(namespace: string, names: (string | undefined)[], opts: { managed?: boolean } = {}): ReferenceGrant {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1beta1',
    kind: 'ReferenceGrant',
    metadata: { name: 'vsop-from-prod', namespace, labels: opts.managed === false ? {} : MANAGED },
    spec: { from: [], to: names.map((name) => ({ group: '', kind: 'Service', ...(name ? { name } : {}) })) },
  };
}

const entries = (grants: ReferenceGrant[]) => grants.map((g) => `${g.metadata.namespace}: ${(g.spec.to as { name: string }[]).map((t) => t.name).join(' ')}`);

describe('grantsWanted', () => {
  it('unites what is rendered with what vsop has stored, and nothing of routes not its own or of other namespaces', () => {
    const rendered = [route('web-routes', ['dev-a/web']), route('api-routes', ['dev-a/api', 'dev-b/api'])];
    const stored = [
      route('web-routes', ['dev-a/web', 'dev-a/old']), // not yet rewritten: dev-a/old stays granted
      route('team', ['dev-a/theirs'], { managed: false }),
      route('elsewhere', ['dev-a/other'], { namespace: 'dev-a' }),
      route('prod', ['prod/web']),
    ];
    assert.deepEqual(entries(grantsWanted(rendered, stored, 'prod')), ['dev-a: api old web', 'dev-b: api']);
    assert.deepEqual(entries(grantsWanted([], [], 'prod')), []);
  });
});

describe('missingGrantEntries', () => {
  const routes = [route('web-routes', ['dev-a/web', 'dev-b/web', 'prod/web'])];
  const cases: [string, ReferenceGrant[], string[]][] = [
    ['no grant', [], ['dev-a/web', 'dev-b/web']],
    ['one namespace granted', [grant('dev-a', ['web', 'api'])], ['dev-b/web']],
    ['another Service granted only', [grant('dev-a', ['api']), grant('dev-b', ['web'])], ['dev-a/web']],
    ['a nameless entry allows every Service', [grant('dev-a', [undefined]), grant('dev-b', ['web'])], []],
    ["someone else's grant of vsop's name is not waited for", [grant('dev-a', [], { managed: false }), grant('dev-b', ['web'])], []],
  ];
  for (const [what, live, expected] of cases) {
    it(what, () => assert.deepEqual(missingGrantEntries(routes, live, 'prod'), expected));
  }
});

describe('grantsShown (render SERVICE)', () => {
  // 20 Services already granted in dev-a, so the live grants are split into hash buckets; web is new.
  const others = Array.from({ length: 20 }, (_, i) => `svc-${i}`);
  const live = grantsOf(new Map([['dev-a', new Set(others)]]), 'prod');
  const everyone = grantsOf(new Map([['dev-a', new Set([...others, 'web'])]]), 'prod');
  const names = (g: ReferenceGrant) => (g.spec.to as { name: string }[]).map((t) => t.name);

  it('read from live grants: whole grants, so applying them keeps every other Service entry they held', () => {
    const shown = grantsShown([route('web-routes', ['dev-a/web'])], everyone, { grants: live, cluster: false }, 'prod', new Set(['web']));
    assert.ok(shown.some((g) => names(g).includes('web')));
    for (const g of shown) {
      const before = live.find((l) => l.metadata.name === g.metadata.name);
      for (const n of before ? names(before) : []) assert.ok(names(g).includes(n), `${g.metadata.name} keeps ${n}`);
    }
  });

  it('a cluster with no grant yet: only the entries sync SERVICE writes; files with none: the grants of every Service holding it', () => {
    const routes = [route('web-routes', ['dev-a/web'])];
    assert.deepEqual(entries(grantsShown(routes, everyone, { grants: [], cluster: true }, 'prod', new Set(['web']))), ['dev-a: web']);
    const offline = grantsShown(routes, everyone, { grants: [], cluster: false }, 'prod', new Set(['web']));
    assert.deepEqual(
      offline,
      everyone.filter((g) => names(g).includes('web')),
    );
    assert.ok(offline.every((g) => names(g).length > 1));
  });
});
