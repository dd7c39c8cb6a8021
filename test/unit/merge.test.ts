// The three-way merge of a managed VirtualService (src/core/render/merge.ts): examples worked out by hand
// from kubectl apply's rule, the seed operator's route shapes read off its source, and properties over
// random live objects, records and renderings.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { semanticEqual } from '../../src/core/normalize.ts';
import { isSeedOperatorRoute, mergeOwned, mergeVirtualService, readRecord, recordOf, withRecord } from '../../src/core/render/merge.ts';
import type { HttpRoute, KubeObject, VirtualService } from '../../src/core/types.ts';

const RECORD = 'vsop.io/rendered';

function vs(spec: VirtualService['spec'], meta: { labels?: Record<string, string>; annotations?: Record<string, string> } = {}): VirtualService {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: {
      name: 'web-virtual-service',
      namespace: 'prod',
      labels: { 'managed-by': 'virtualservice-operator', ...meta.labels },
      annotations: { 'vsop.io/service': 'web', ...meta.annotations },
    },
    spec,
  };
}

const toProd: HttpRoute = { name: 'vsop-default', route: [{ destination: { host: 'web.prod.svc.cluster.local' } }] };
const toAlice: HttpRoute = {
  name: 'vsop-dev-dev-alice',
  match: [{ headers: { 'x-developer': { exact: 'dev-alice' } } }],
  route: [{ destination: { host: 'web.dev-alice.svc.cluster.local' } }],
};

describe('three-way merge: fields', () => {
  const seedWant = withRecord(vs({ hosts: ['web'], http: [toAlice, toProd] }));

  it('the seed template records nothing: it renders only the baseline', () => {
    assert.equal(recordOf(seedWant), undefined);
    assert.equal(seedWant.metadata.annotations?.[RECORD], undefined);
  });

  it('keeps fields, labels and annotations others added (gateways, exportTo, tcp, tls)', () => {
    const theirs = {
      gateways: ['istio-system/public-gw', 'mesh'],
      exportTo: ['.'],
      tcp: [{ match: [{ port: 5432 }], route: [{ destination: { host: 'db' } }] }],
      tls: [{ match: [{ sniHosts: ['web.example.com'], port: 443 }], route: [{ destination: { host: 'web' } }] }],
    };
    const live = vs({ hosts: ['web'], http: [toAlice, toProd], ...theirs }, { labels: { team: 'a' }, annotations: { 'example.com/owner': 'ops' } });
    const after = mergeVirtualService(seedWant, live);
    for (const [k, v] of Object.entries(theirs)) assert.deepEqual(after.spec[k], v, k);
    assert.equal(after.metadata.labels?.team, 'a');
    assert.equal(after.metadata.annotations?.['example.com/owner'], 'ops');
  });

  it('removes what the last rendering set and this one does not, and keeps what others set beside it', () => {
    const before = withRecord(
      vs(
        { hosts: ['web'], gateways: ['mesh'], http: [{ name: 'health', route: [{ destination: { host: 'h' } }] }, toProd] },
        { labels: { tier: 'gold' }, annotations: { 'a.io/x': '1' } },
      ),
    );
    assert.equal(before.metadata.annotations?.[RECORD], '{"labels":["tier"],"annotations":["a.io/x"],"spec":["gateways"],"routes":["health"]}');
    // Someone adds exportTo, a label and a route of their own to what vsop wrote.
    const live: VirtualService = {
      ...before,
      metadata: { ...before.metadata, labels: { ...before.metadata.labels, team: 'a' } },
      spec: { ...before.spec, exportTo: ['.'], http: [...before.spec.http!, { name: 'theirs', route: [{ destination: { host: 't' } }] }] },
    };
    const after = mergeVirtualService(seedWant, live);
    assert.equal(after.spec.gateways, undefined);
    assert.deepEqual(after.spec.exportTo, ['.']);
    assert.deepEqual(
      after.spec.http!.map((r) => r.name),
      ['vsop-dev-dev-alice', 'vsop-default', 'theirs'],
    );
    assert.deepEqual(after.metadata.labels, { 'managed-by': 'virtualservice-operator', team: 'a' });
    assert.deepEqual(after.metadata.annotations, { 'vsop.io/service': 'web' });
  });

  it('puts back a hand edit of a field vsop renders, and of one of its routes', () => {
    const want = withRecord(vs({ hosts: ['web'], gateways: ['mesh'], http: [toAlice, toProd] }));
    const live = vs(
      { hosts: ['web', 'evil.example.com'], gateways: ['public'], http: [{ ...toAlice, route: [{ destination: { host: 'elsewhere' } }] }, toProd] },
      { labels: { 'managed-by': 'someone' }, annotations: { [RECORD]: '{"spec":["gateways"]}' } },
    );
    const after = mergeVirtualService(want, live);
    assert.deepEqual(after.spec, want.spec);
    assert.equal(after.metadata.labels?.['managed-by'], 'virtualservice-operator');
  });

  it('without a record (seed operator, older vsop, adopted), removes nothing it cannot show it set', () => {
    const want = withRecord(vs({ hosts: ['web'], http: [toProd] }));
    const live = vs({ hosts: ['web'], gateways: ['mesh'], http: [{ name: 'health', route: [{ destination: { host: 'h' } }] }, toProd] }, { labels: { tier: 'gold' } });
    const after = mergeVirtualService(want, live);
    assert.deepEqual(after.spec.gateways, ['mesh']);
    assert.equal(after.metadata.labels?.tier, 'gold');
    // health led the list, so it stays at the top.
    assert.deepEqual(
      after.spec.http!.map((r) => r.name),
      ['health', 'vsop-default'],
    );
  });

  for (const broken of ['not json', '[]', '{"spec":"gateways"}', '{"spec":[1]}']) {
    it(`an unreadable record (${broken}) counts as none`, () => {
      const live = vs({ hosts: ['web'], gateways: ['mesh'], http: [toProd] }, { annotations: { [RECORD]: broken } });
      assert.equal(readRecord(live), undefined);
      const after = mergeVirtualService(seedWant, live);
      assert.deepEqual(after.spec.gateways, ['mesh']);
      assert.equal(after.metadata.annotations?.[RECORD], undefined, 'the record is vsop’s alone and goes when nothing is rendered beyond the baseline');
    });
  }
});

describe('three-way merge of other kinds (mergeOwned)', () => {
  // A ReferenceGrant vsop renders carries labels and no annotations; as stored by the apiserver, an empty
  // map is not there. The merge adds none (it added annotations: {}, shown in every grant's update diff).
  it('adds no empty labels or annotations map', () => {
    const grant = (to: string[]) => ({
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'ReferenceGrant',
      metadata: { name: 'vsop-from-prod', namespace: 'dev-alice', labels: { 'managed-by': 'virtualservice-operator' } } as KubeObject['metadata'],
      spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'prod' }], to: to.map((name) => ({ group: '', kind: 'Service', name })) },
    });
    const merged = mergeOwned(grant(['web', 'api']), { ...grant(['web']), metadata: { ...grant([]).metadata, resourceVersion: '7' } });
    assert.equal('annotations' in merged.metadata, false);
    assert.deepEqual(merged.metadata.labels, { 'managed-by': 'virtualservice-operator' });
    assert.deepEqual(
      merged.spec.to.map((t) => t.name),
      ['web', 'api'],
    );
  });
});

describe('three-way merge: routes the seed operator wrote', () => {
  // The shapes of anchors/vs-operator internal/utils/virtualservice.go (GenerateVirtualService,
  // UpdateVirtualServiceRoutes): no name, x-developer exact <ns>, destination <svc>.<ns>.svc.cluster.local.
  const operatorHeader = (ns: string): HttpRoute => ({
    match: [{ headers: { 'x-developer': { exact: ns } } }],
    route: [{ destination: { host: `web.${ns}.svc.cluster.local` } }],
  });
  const operatorDefault: HttpRoute = { route: [{ destination: { host: 'web.prod.svc.cluster.local' } }] };

  it('recognises exactly those shapes', () => {
    assert.equal(isSeedOperatorRoute(operatorHeader('dev-alice'), 'web', 'prod'), true);
    assert.equal(isSeedOperatorRoute(operatorDefault, 'web', 'prod'), true);
    const no: [string, HttpRoute][] = [
      ['a name', { ...operatorHeader('dev-alice'), name: 'mine' }],
      ['another Service', operatorHeader('dev-alice')],
      ['a destination in another namespace than the header value', { ...operatorHeader('dev-alice'), route: [{ destination: { host: 'web.dev-bob.svc.cluster.local' } }] }],
      ['another header', { ...operatorHeader('dev-alice'), match: [{ headers: { 'x-canary': { exact: 'dev-alice' } } }] }],
      ['a prefix match', { ...operatorHeader('dev-alice'), match: [{ headers: { 'x-developer': { prefix: 'dev-alice' } } }] }],
      ['two headers', { ...operatorHeader('dev-alice'), match: [{ headers: { 'x-developer': { exact: 'dev-alice' }, b: { exact: '1' } } }] }],
      ['a uri match too', { ...operatorHeader('dev-alice'), match: [{ headers: { 'x-developer': { exact: 'dev-alice' } }, uri: { prefix: '/' } }] }],
      ['a timeout', { ...operatorDefault, timeout: '1s' }],
      ['a weight', { route: [{ destination: { host: 'web.prod.svc.cluster.local' }, weight: 100 }] }],
      ['a port', { route: [{ destination: { host: 'web.prod.svc.cluster.local', port: { number: 80 } } }] }],
      ['two destinations', { route: [{ destination: { host: 'web.prod.svc.cluster.local' } }, { destination: { host: 'web.prod.svc.cluster.local' } }] }],
    ];
    for (const [why, r] of no) assert.equal(isSeedOperatorRoute(r, why === 'another Service' ? 'api' : 'web', 'prod'), false, why);
  });

  const byOperator = (http: HttpRoute[]): VirtualService => {
    const live = vs({ hosts: ['web'], http });
    // GenerateVirtualService makes the production Service the owner.
    live.metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'u-1' }];
    return live;
  };
  const canary: HttpRoute = { name: 'canary', match: [{ headers: { 'x-canary': { exact: '1' } } }], route: [{ destination: { host: 'web-canary' } }] };

  it('on a VirtualService the operator wrote they give way to vsop’s, whatever namespace they name; foreign routes keep their place', () => {
    const want = withRecord(vs({ hosts: ['web'], http: [toAlice, toProd] }));
    const after = mergeVirtualService(want, byOperator([operatorHeader('dev-alice'), operatorHeader('gone-ns'), canary, operatorDefault]));
    // canary followed the operator's dev-alice route (by way of the gone namespace's): it stays after vsop's.
    assert.deepEqual(after.spec.http, [toAlice, canary, toProd]);
  });

  it('a foreign route after the operator’s catch-all stays after vsop’s default route (it was dead, and stays so)', () => {
    const want = withRecord(vs({ hosts: ['web'], http: [toAlice, toProd] }));
    const dead: HttpRoute = { name: 'dead-admin', match: [{ uri: { prefix: '/admin' } }], route: [{ destination: { host: 'admin' } }] };
    const after = mergeVirtualService(want, byOperator([operatorHeader('dev-alice'), operatorDefault, dead]));
    assert.deepEqual(after.spec.http, [toAlice, toProd, dead]);
  });

  it('an object the operator did not write (adopted, or labelled by hand) keeps every route, whatever its shape', () => {
    const want = withRecord(vs({ hosts: ['web'], http: [toAlice, toProd] }));
    const live = vs({ hosts: ['web'], http: [operatorHeader('qa'), operatorDefault] });
    assert.equal(mergeVirtualService(want, live).spec.http!.length, 4);
    // One the operator wrote is the operator's whether it is still labelled or being adopted: the first
    // write and every later one agree (two of its routes give way to vsop's two).
    assert.deepEqual(mergeVirtualService(want, byOperator(live.spec.http!)).spec.http, [toAlice, toProd]);
  });

  it('a route someone appended after the operator’s catch-all stays dead, though the operator put later header routes after it', () => {
    // UpdateVirtualServiceRoutes inserts before the last route: once one is appended after the catch-all,
    // later developer routes land after the catch-all too.
    const toStaging: HttpRoute = {
      ...toAlice,
      name: 'vsop-dev-staging',
      match: [{ headers: { 'x-developer': { exact: 'staging' } } }],
      route: [{ destination: { host: 'web.staging.svc.cluster.local' } }],
    };
    const want = withRecord(vs({ hosts: ['web'], http: [toAlice, toStaging, toProd] }));
    const legacy: HttpRoute = { name: 'legacy', match: [{ uri: { prefix: '/legacy' } }], route: [{ destination: { host: 'legacy' } }] };
    const after = mergeVirtualService(want, byOperator([operatorHeader('dev-alice'), operatorDefault, operatorHeader('staging'), legacy]));
    assert.deepEqual(after.spec.http, [toAlice, toStaging, toProd, legacy]);
  });

  it('names repeated in a rendering never copy the foreign routes after them (merging again changes nothing)', () => {
    const api = (ns: string): HttpRoute => ({
      name: 'vsop-dev-dev-alice-api',
      match: [{ headers: { 'x-developer': { exact: ns } } }],
      route: [{ destination: { host: `web.${ns}.svc.cluster.local` } }],
    });
    const want = withRecord(vs({ hosts: ['web'], http: [api('dev-alice'), api('dev-alice-api'), toProd] }));
    const hand: HttpRoute = { name: 'hand-canary', match: [{ headers: { 'x-canary': { exact: '1' } } }], route: [{ destination: { host: 'c' } }] };
    const once = mergeVirtualService(want, { ...want, spec: { ...want.spec, http: [api('dev-alice'), hand, api('dev-alice-api'), toProd] } });
    assert.equal(once.spec.http!.filter((r) => r.name === 'hand-canary').length, 1);
    const twice = mergeVirtualService(want, once);
    assert.deepEqual(twice.spec.http, once.spec.http);
  });

  it('a record naming the object’s identity or the server’s fields is read without them', () => {
    const live = vs({ hosts: ['web'], http: [toProd] }, { annotations: { [RECORD]: '{"metadata":["resourceVersion","uid","name","finalizers"],"labels":["managed-by","team"]}' } });
    assert.deepEqual(readRecord(live), { labels: ['team'], annotations: [], metadata: ['finalizers'], spec: [], routes: [] });
  });
});

// Random objects: keys from small pools so that live, record and rendering collide often.
const KEYS = ['gateways', 'exportTo', 'tcp', 'tls', 'x'];
const LABELS = ['team', 'tier', 'app', 'managed-by'];
const ANNOTATIONS = ['a.io/x', 'b.io/y', 'c.io/z', 'vsop.io/overrides'];
const ROUTE_NAMES = ['vsop-default', 'vsop-dev-a', 'vsop-route-a-1', 'health', 'api', 'theirs', 'mine', undefined];
const value = fc.oneof(fc.constant(['mesh']), fc.constant(['.']), fc.integer({ min: 0, max: 3 }), fc.string({ maxLength: 3 }));
const dict = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys), fc.string({ maxLength: 3 }), { maxKeys: keys.length });
const route = fc.record(
  {
    name: fc.constantFrom(...ROUTE_NAMES),
    match: fc.constantFrom(undefined, [{ headers: { h: { exact: '1' } } }], [{ uri: { prefix: '/a' } }]),
    route: fc.constantFrom([{ destination: { host: 'web.prod.svc.cluster.local' } }], [{ destination: { host: 'other' } }]),
  },
  { requiredKeys: ['route'] },
) as fc.Arbitrary<HttpRoute>;
const routes = fc.array(route, { maxLength: 6 });
const object = fc
  .record({ spec: fc.dictionary(fc.constantFrom(...KEYS), value), labels: dict(LABELS), annotations: dict(ANNOTATIONS), http: routes })
  .map(({ spec, labels, annotations, http }) => vs({ hosts: ['web'], ...spec, http }, { labels, annotations }));
/** A rendering: every route named, each name once, as the renderer gives. */
const rendering = object.map((o) => withRecord({ ...o, spec: { ...o.spec, http: uniqueNames(o.spec.http ?? []) } }));
/** A live object: anything, carrying no record, a record of an earlier rendering, or a broken one; written by the seed operator or not. */
const live = fc
  .tuple(
    object,
    fc.oneof(
      fc.constant(undefined),
      rendering.map((r) => r.metadata.annotations?.[RECORD]),
      fc.constant('{'),
    ),
    fc.boolean(),
  )
  .map(([o, record, operator]) => {
    const recorded = record === undefined ? o : { ...o, metadata: { ...o.metadata, annotations: { ...o.metadata.annotations, [RECORD]: record } } };
    return operator ? { ...recorded, metadata: { ...recorded.metadata, ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web' }] } } : recorded;
  });
/** A rendering whose generated names may repeat (namespaces named to collide), for idempotence. */
const repeating = object.map((o) => withRecord({ ...o, spec: { ...o.spec, http: (o.spec.http ?? []).filter((r) => r.name !== undefined) } }));

function uniqueNames(list: HttpRoute[]): HttpRoute[] {
  const seen = new Set<string>();
  return list.filter((r) => r.name !== undefined && !seen.has(r.name) && seen.add(r.name));
}

describe('three-way merge: properties', () => {
  it('never changes a field, label, annotation or route outside what vsop renders now or recorded last', () => {
    fc.assert(
      fc.property(rendering, live, (want, have) => {
        const after = mergeVirtualService(want, have);
        const last = readRecord(have);
        const vsopSpec = new Set([...Object.keys(want.spec), ...(last?.spec ?? [])]);
        for (const k of Object.keys(have.spec)) if (!vsopSpec.has(k)) assert.deepEqual(after.spec[k], have.spec[k], `spec.${k}`);
        const vsopLabels = new Set([...Object.keys(want.metadata.labels ?? {}), ...(last?.labels ?? [])]);
        for (const [k, v] of Object.entries(have.metadata.labels ?? {})) if (!vsopLabels.has(k)) assert.equal(after.metadata.labels?.[k], v, `label ${k}`);
        const vsopAnnotations = new Set([...Object.keys(want.metadata.annotations ?? {}), ...(last?.annotations ?? []), RECORD, 'vsop.io/overrides']);
        for (const [k, v] of Object.entries(have.metadata.annotations ?? {})) {
          if (!vsopAnnotations.has(k)) assert.equal(after.metadata.annotations?.[k], v, `annotation ${k}`);
        }
        // Foreign routes: not vsop's prefix, not named by the rendering or the record, and not the seed
        // operator's catch-all on an object it wrote (unnamed, no match, only the production host; the
        // generator makes no x-developer matches, so never its header routes).
        const vsopRoutes = new Set([...(want.spec.http ?? []).map((r) => r.name), ...(last?.routes ?? [])]);
        const operators = (r: HttpRoute) =>
          have.metadata.ownerReferences !== undefined &&
          r.name === undefined &&
          r.match === undefined &&
          JSON.stringify(r.route) === '[{"destination":{"host":"web.prod.svc.cluster.local"}}]';
        const foreign = (have.spec.http ?? []).filter((r) => !(r.name?.startsWith('vsop-') || (r.name !== undefined && vsopRoutes.has(r.name)) || operators(r)));
        const kept = (after.spec.http ?? []).filter((r) => !(want.spec.http ?? []).includes(r));
        assert.deepEqual(sortRoutes(kept), sortRoutes(foreign));
      }),
      { numRuns: 1500 },
    );
  });

  it('what vsop renders is what results, and what was recorded and is no longer rendered is gone', () => {
    fc.assert(
      fc.property(rendering, live, (want, have) => {
        const after = mergeVirtualService(want, have);
        for (const [k, v] of Object.entries(want.spec)) if (k !== 'http') assert.deepEqual(after.spec[k], v);
        for (const r of want.spec.http ?? []) assert.ok(after.spec.http!.includes(r));
        for (const [k, v] of Object.entries(want.metadata.labels ?? {})) assert.equal(after.metadata.labels?.[k], v);
        for (const [k, v] of Object.entries(want.metadata.annotations ?? {})) assert.equal(after.metadata.annotations?.[k], v);
        const last = readRecord(have);
        for (const k of last?.spec ?? []) if (!(k in want.spec)) assert.equal(after.spec[k], undefined, `stale spec.${k}`);
        for (const k of last?.labels ?? []) if (!(k in (want.metadata.labels ?? {}))) assert.equal(after.metadata.labels?.[k], undefined, `stale label ${k}`);
        const names = new Set((want.spec.http ?? []).map((r) => r.name));
        for (const n of last?.routes ?? []) if (!names.has(n)) assert.ok(!after.spec.http!.some((r) => r.name === n), `stale route ${n}`);
      }),
      { numRuns: 1500 },
    );
  });

  it('merging vsop’s own output again changes nothing, even where the rendering repeats a name', () => {
    fc.assert(
      fc.property(fc.oneof(rendering, repeating), live, (want, have) => {
        const once = mergeVirtualService(want, have);
        const twice = mergeVirtualService(want, once);
        assert.ok(semanticEqual(twice, once), JSON.stringify({ once, twice }));
        assert.ok(semanticEqual(mergeVirtualService(want, want), want));
      }),
      { numRuns: 1500 },
    );
  });
});

function sortRoutes(list: readonly HttpRoute[]): string[] {
  return list.map((r) => JSON.stringify(r)).sort();
}
