// ReferenceGrants over the CRD's 16-entry limit (issue 14): one developer namespace holding copies of more
// than 16 production Services gets several grants of at most 16 entries each, by hash bucket
// (src/core/gateway/buckets.ts), every Service in exactly one; a Service added or removed changes only the
// grants on its own hash's path; sync SERVICE, watch's wait for grants and the plan's deletes read every
// bucket. The schema check is the CRD's own (src/core/schema, generated from gateway-api v1.3.0).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fnv1a32, GRANT_TO_LIMIT, grantBuckets, grantName, isGrantName, nameHash } from '../../src/core/gateway/buckets.ts';
import { missingGrantEntries, scopedGrants } from '../../src/core/gateway/grants.ts';
import { planGateway } from '../../src/core/gateway/plan.ts';
import { type HTTPRoute, type ReferenceGrant, referenceGrants } from '../../src/core/render/httproute.ts';
import { objectProblems } from '../../src/core/schema/validate.ts';

const MANAGED = { 'managed-by': 'virtualservice-operator' };

/** vsop's route of production Service `service`, sending to its copy in each of `namespaces`. */
function route(service: string, namespaces: string[] = ['dev-a']): HTTPRoute {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name: `${service}-routes`, namespace: 'prod', labels: MANAGED, annotations: { 'vsop.io/service': service } },
    spec: {
      parentRefs: [{ group: '', kind: 'Service', name: service }],
      rules: [...namespaces.map((namespace) => ({ backendRefs: [{ name: service, namespace, port: 80 }] })), { backendRefs: [{ name: service, port: 80 }] }],
    },
  };
}

const services = (n: number, from = 0) => Array.from({ length: n }, (_, i) => `svc-${String(from + i).padStart(3, '0')}`);
const names = (g: ReferenceGrant) => (g.spec.to as { name: string }[]).map((t) => t.name);
/** grant name → its entries, for one namespace's grants. */
const byName = (grants: ReferenceGrant[]) => new Map(grants.map((g) => [g.metadata.name, names(g).join(' ')]));

describe('ReferenceGrants of many Services in one namespace', () => {
  it('40 copies: every grant within the CRD (16 entries at most), each Service in exactly one grant', () => {
    const all = services(40);
    const grants = referenceGrants(
      all.map((s) => route(s)),
      'prod',
    );
    assert.ok(grants.length >= 3, `${grants.length} grants`);
    const seen = new Map<string, number>();
    for (const g of grants) {
      assert.equal(g.metadata.namespace, 'dev-a');
      assert.ok(isGrantName('prod', g.metadata.name), g.metadata.name);
      assert.ok(names(g).length >= 1 && names(g).length <= GRANT_TO_LIMIT, `${g.metadata.name}: ${names(g).length} entries`);
      assert.deepEqual(objectProblems(g as never), [], g.metadata.name);
      for (const n of names(g)) seen.set(n, (seen.get(n) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), all);
    assert.ok([...seen.values()].every((c) => c === 1));
  });

  it('the CRD check refuses the single grant of the old rendering (a check that can fail)', () => {
    const one: ReferenceGrant = {
      ...referenceGrants([route('x')], 'prod')[0]!,
      spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'prod' }], to: services(40).map((name) => ({ group: '', kind: 'Service', name })) },
    };
    assert.ok(objectProblems(one as never).length > 0);
  });

  it('up to 16 Services: the one grant vsop-from-<production>, as before', () => {
    const grants = referenceGrants(
      services(16).map((s) => route(s, ['dev-a', 'dev-b'])),
      'prod',
    );
    assert.deepEqual(
      grants.map((g) => `${g.metadata.namespace}/${g.metadata.name} ${names(g).length}`),
      ['dev-a/vsop-from-prod 16', 'dev-b/vsop-from-prod 16'],
    );
  });

  it('a Service added or removed changes only the grants on its own hash path (its bucket, split or merged)', () => {
    // The grants that differ between two sets of names, as bucket bits.
    const changed = (before: string[], after: string[]) => {
      const a = byName(
        referenceGrants(
          before.map((s) => route(s)),
          'prod',
        ),
      );
      const b = byName(
        referenceGrants(
          after.map((s) => route(s)),
          'prod',
        ),
      );
      return [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).map((k) => k.slice('vsop-from-prod'.length).replace(/^\./, ''));
    };
    const path = (s: string) => nameHash(s).toString(2).padStart(32, '0');
    let splits = 0;
    for (let n = 0; n < 120; n++) {
      const before = services(n);
      const added = `svc-${String(n).padStart(3, '0')}`;
      for (const [what, from, to, moved] of [
        ['added', before, [...before, added], added],
        ['removed', [...before, added], before, added],
      ] as const) {
        const diff = changed([...from], [...to]);
        assert.ok(diff.length >= 1, `${what} ${moved}: no grant changed`);
        // Each changed bucket lies on the Service's path or is the other half of a node on it.
        for (const bits of diff) assert.ok(path(moved).startsWith(bits.slice(0, -1)), `${what} ${moved} at ${n}: grant ${bits} off its path ${path(moved).slice(0, 8)}`);
        if (diff.length > 1) splits++;
        // The other Services' grants: all but at most the 16 that shared its bucket keep theirs.
        const grantOf = (set: readonly string[]) => {
          const m = new Map<string, string>();
          for (const [bucket, inIt] of grantBuckets(set)) for (const s of inIt) m.set(s, bucket);
          return m;
        };
        const [x, y] = [grantOf(from), grantOf(to)];
        const movedOthers = before.filter((s) => x.get(s) !== y.get(s));
        assert.ok(movedOthers.length <= GRANT_TO_LIMIT, `${what} ${moved}: ${movedOthers.length} other Services changed grant`);
      }
    }
    assert.ok(splits > 0, 'the sweep passes a split');
  });

  it('a stable hash: the grant names do not change between versions', () => {
    // FNV-1a 32 reference values (http://www.isthe.com/chongo/tech/comp/fnv/): "" and "a".
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.deepEqual([...grantBuckets(services(17)).keys()], ['0', '1']);
  });

  it("grant names: a namespace name has no '.', so no production's names are another's", () => {
    assert.equal(grantName('prod'), 'vsop-from-prod');
    assert.equal(grantName('prod', '01'), 'vsop-from-prod.01');
    assert.ok(isGrantName('prod', 'vsop-from-prod.01'));
    assert.ok(!isGrantName('prod', 'vsop-from-prod-0'));
    assert.ok(!isGrantName('prod', 'vsop-from-prod2'));
  });
});

describe('every bucket read where grants are read', () => {
  const all = services(40);
  const grants = referenceGrants(
    all.map((s) => route(s)),
    'prod',
  );

  it('missingGrantEntries: an entry in any of vsop’s grants of the namespace allows, wherever it sits', () => {
    assert.deepEqual(
      missingGrantEntries(
        all.map((s) => route(s)),
        grants,
        'prod',
      ),
      [],
    );
    // The old single grant still live while the bucket grants are being created: it allows too.
    const old: ReferenceGrant = {
      ...grants[0]!,
      metadata: { ...grants[0]!.metadata, name: 'vsop-from-prod' },
      spec: { ...grants[0]!.spec, to: all.map((name) => ({ group: '', kind: 'Service', name })) },
    };
    assert.deepEqual(missingGrantEntries([route('svc-039')], [old], 'prod'), []);
    const without = grants.filter((g) => !names(g).includes('svc-007'));
    assert.deepEqual(missingGrantEntries([route('svc-007'), route('svc-008')], without, 'prod').includes('dev-a/svc-007'), true);
  });

  it('sync SERVICE keeps every other Service’s entries, from every bucket', () => {
    const scoped = scopedGrants([route('svc-040')], grants, 'prod', new Set(['svc-040']));
    assert.deepEqual(scoped.flatMap(names).sort(), [...all, 'svc-040'].sort());
    const gone = scopedGrants([], grants, 'prod', new Set(['svc-007']));
    assert.deepEqual(
      gone.flatMap(names).sort(),
      all.filter((s) => s !== 'svc-007'),
    );
  });

  it('the plan deletes the old single grant after a split, and leaves other productions’ grants', () => {
    const old: ReferenceGrant = { ...grants[0]!, metadata: { ...grants[0]!.metadata, name: 'vsop-from-prod' } };
    const other: ReferenceGrant = { ...grants[0]!, metadata: { ...grants[0]!.metadata, name: 'vsop-from-prod-0' } };
    const plan = planGateway({ httpRoutes: [], referenceGrants: grants }, { httpRoutes: [], referenceGrants: [old, other] }, { defaultNamespace: 'prod' });
    assert.deepEqual(
      plan.actions.map((a) => `${a.type} ${a.name}`),
      [...grants.map((g) => `create ${g.metadata.name}`), 'delete vsop-from-prod'],
    );
  });
});
