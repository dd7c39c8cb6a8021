// trace and status in routeKind HTTPRoute mode (issue 14, step 3), with Istio as the referee: vsop renders
// the HTTPRoutes, foreign HTTPRoutes attach to the same Service, and for each request vsop's answer
// (traceRequest over the objects as `vsop sync` leaves them, which applies the Gateway API's precedence as
// src/core/istio/gateway.ts reads Istio's translation) must equal the Envoy cluster, and the HTTPRoute,
// that Istio's own config generation for the calling sidecar picks (test/istio simulate). Expected
// clusters are also written here by hand from the Gateway API's rule (apis/v1/httproute_types.go,
// HTTPRouteRule.Matches): specificity (exact path, longer prefix, method, more headers, more query
// parameters), then the older route, then namespace/name. status and the plan must call a request taken
// where the referee sends it elsewhere. Run alone with
//   node test/harness/run-integration.ts test/integration/httproute-trace.test.ts

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { traceRequest } from '../../src/core/istio/trace.ts';
import type { HTTPRoute } from '../../src/core/render/httproute.ts';
import { toYamlStream } from '../../src/core/render.ts';
import { statusView } from '../../src/core/status.ts';
import type { Service } from '../../src/core/types.ts';
import { planSnapshot, worldAfter } from '../../src/reconcile.ts';
import { simulate, type Call } from '../harness/istio.ts';
import { skipReason } from '../harness/require.ts';
import { service } from '../helpers/fixtures.ts';

const skip = skipReason();
const PROD = 'prod';
const HOST = `web.${PROD}.svc.cluster.local`;
const cluster = (ns: string, name = 'web', port = 80) => `outbound|${port}||${name}.${ns}.svc.cluster.local`;
const dev = (v: string) => ({ 'x-developer': v });

/** A foreign HTTPRoute on Service web of prod (GAMMA), created at `created`. */
function foreign(name: string, rules: Record<string, unknown>[], opts: { namespace?: string; created?: string; port?: number } = {}): HTTPRoute {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: opts.namespace ?? PROD, ...(opts.created ? { creationTimestamp: opts.created } : {}) },
    spec: { parentRefs: [{ group: '', kind: 'Service', name: 'web', namespace: PROD, ...(opts.port ? { port: opts.port } : {}) }], rules },
  };
}

const toCanary = [{ name: 'web-canary', namespace: PROD, port: 80 }];

interface Case {
  name: string;
  services?: Service[];
  /** HTTPRoutes already in the cluster (foreign ones, or vsop's with their creation time). */
  live: HTTPRoute[];
  /** Each call and where the Gateway API's rule sends it, written by hand. */
  calls: [Call, string][];
  /** vsop's HTTPRoutes already exist, created at this time (else: created by the sync, so the newest). */
  vsopCreated?: string;
  /** Developer namespaces status must call taken (✗), and whose header requests the plan warns about. */
  taken?: string[];
  /** What status and the warning name as taking them: the user's HTTPRoute (default: a rule of a prod route). */
  takenBy?: string;
  /**
   * Consumer routes (another namespace's HTTPRoutes on web): per callers' namespace, the developer
   * namespaces whose header requests from there go elsewhere, as status lists them and the plan warns.
   */
  consumers?: Record<string, string[]>;
}

const services = [service(PROD, 'web'), service(PROD, 'web-canary'), service('dev-alice', 'web'), service('dev-bob', 'web')];
const OLD = '2020-01-01T00:00:00Z';
const NEWER = '2021-01-01T00:00:00Z';

const cases: Case[] = [
  {
    name: 'no foreign route: each header reaches its copy, everything else production',
    live: [],
    calls: [
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice') }, cluster('dev-alice')],
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-bob'), path: '/a/b' }, cluster('dev-bob')],
      [{ host: HOST, port: 80, from: PROD }, cluster(PROD)],
    ],
  },
  {
    name: 'an older foreign rule as specific as vsop’s (one header, path /) wins the tie by age and takes the header requests',
    live: [foreign('canary', [{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x-developer', value: 'dev-.*' }] }], backendRefs: toCanary }], { created: OLD })],
    calls: [
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice') }, cluster(PROD, 'web-canary')],
      [{ host: HOST, port: 80, from: PROD }, cluster(PROD)],
    ],
    taken: ['dev-alice', 'dev-bob'],
  },
  {
    name: 'an older foreign rule with a longer path prefix comes first for its paths only (path before headers)',
    live: [foreign('api', [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: toCanary }], { created: OLD })],
    calls: [
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice'), path: '/api/x' }, cluster(PROD, 'web-canary')],
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice'), path: '/api' }, cluster(PROD, 'web-canary')],
      // PathPrefix matches whole segments: /apix is not under /api.
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice'), path: '/apix' }, cluster('dev-alice')],
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice') }, cluster('dev-alice')],
    ],
  },
  {
    name: 'an older foreign rule with a method match beats vsop’s header match on the same path',
    live: [foreign('posts', [{ matches: [{ method: 'POST' }], backendRefs: toCanary }], { created: OLD })],
    calls: [
      [{ host: HOST, port: 80, from: PROD, method: 'POST', headers: dev('dev-alice') }, cluster(PROD, 'web-canary')],
      [{ host: HOST, port: 80, from: PROD, method: 'GET', headers: dev('dev-alice') }, cluster('dev-alice')],
    ],
  },
  {
    name: 'an older foreign rule with two headers beats vsop’s one',
    live: [
      foreign(
        'two',
        [
          {
            matches: [
              {
                headers: [
                  { name: 'x-developer', value: 'dev-alice' },
                  { name: 'x-beta', value: '1' },
                ],
              },
            ],
            backendRefs: toCanary,
          },
        ],
        { created: OLD },
      ),
    ],
    calls: [
      [{ host: HOST, port: 80, from: PROD, headers: { ...dev('dev-alice'), 'x-beta': '1' } }, cluster(PROD, 'web-canary')],
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice') }, cluster('dev-alice')],
    ],
  },
  {
    name: 'a foreign rule without header (path /) comes after vsop’s header rules, whatever its age',
    live: [foreign('all', [{ backendRefs: toCanary }], { created: OLD })],
    calls: [
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice') }, cluster('dev-alice')],
      // vsop's own production rule and the foreign one tie; the older (foreign) wins.
      [{ host: HOST, port: 80, from: PROD }, cluster(PROD, 'web-canary')],
    ],
  },
  {
    name: 'a newer foreign rule as specific as vsop’s loses the tie by age',
    vsopCreated: OLD,
    live: [foreign('canary', [{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x-developer', value: 'dev-.*' }] }], backendRefs: toCanary }], { created: NEWER })],
    calls: [
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice') }, cluster('dev-alice')],
      // dev-carol is no developer namespace: only the foreign rule matches it.
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-carol') }, cluster(PROD, 'web-canary')],
      [{ host: HOST, port: 80, from: PROD }, cluster(PROD)],
    ],
  },
  {
    name: 'a newer foreign rule that is more specific still comes first: exact path, longer prefix, method, more headers',
    vsopCreated: OLD,
    live: [
      foreign(
        'specific',
        [
          { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: toCanary },
          { matches: [{ path: { type: 'Exact', value: '/' } }], backendRefs: toCanary },
          { matches: [{ method: 'DELETE' }], backendRefs: toCanary },
          {
            matches: [
              {
                headers: [
                  { name: 'x-developer', value: 'dev-bob' },
                  { name: 'x-beta', value: '1' },
                ],
              },
            ],
            backendRefs: toCanary,
          },
        ],
        { created: NEWER },
      ),
    ],
    calls: [
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice'), path: '/api/v1' }, cluster(PROD, 'web-canary')],
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice'), path: '/' }, cluster(PROD, 'web-canary')],
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice'), path: '/x', method: 'DELETE' }, cluster(PROD, 'web-canary')],
      [{ host: HOST, port: 80, from: PROD, headers: { ...dev('dev-bob'), 'x-beta': '1' }, path: '/x' }, cluster(PROD, 'web-canary')],
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-bob'), path: '/x' }, cluster('dev-bob')],
    ],
    // The witness of each developer rule is GET / with the header: the exact path / takes it.
    taken: ['dev-alice', 'dev-bob'],
  },
  {
    name: 'Istio keeps a route with a parentRef port apart from vsop’s without one: the older applies alone to that port',
    live: [
      foreign('port80', [{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x-developer', value: '.+' }] }], backendRefs: toCanary }], {
        created: OLD,
        port: 80,
      }),
    ],
    calls: [
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice') }, cluster(PROD, 'web-canary')],
      // vsop's rules are not merged in: a request the older route does not match meets no route (404).
      [{ host: HOST, port: 80, from: PROD }, 'no route matched'],
    ],
    taken: ['dev-alice', 'dev-bob'],
  },
  {
    // Issue 14, a tester's finding: the warning named the VirtualService Istio generates (prod/prod~80~web…).
    name: 'an older route with a parentRef port whose rules miss the header requests takes them all the same (404), named as the user’s HTTPRoute',
    live: [foreign('api80', [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: toCanary }], { created: OLD, port: 80 })],
    calls: [
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice') }, 'no route matched'],
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-alice'), path: '/api' }, cluster(PROD, 'web-canary')],
    ],
    taken: ['dev-alice', 'dev-bob'],
    takenBy: `httproute ${PROD}/api80 (no rule matches)`,
  },
  {
    name: 'a consumer route in dev-bob applies to dev-bob’s callers only, and before the producer routes',
    live: [foreign('bob-pin', [{ backendRefs: [{ name: 'web', namespace: 'dev-bob', port: 80 }] }], { namespace: 'dev-bob', created: OLD })],
    calls: [
      [{ host: HOST, port: 80, from: 'dev-bob' }, cluster('dev-bob')],
      [{ host: HOST, port: 80, from: 'dev-bob', headers: dev('dev-alice') }, cluster('dev-bob')],
      [{ host: HOST, port: 80, from: PROD }, cluster(PROD)],
      [{ host: HOST, port: 80, from: 'dev-alice', headers: dev('dev-alice') }, cluster('dev-alice')],
    ],
    // dev-bob's own header requests still reach dev-bob's copy (the route sends everything there).
    consumers: { 'dev-bob': ['dev-alice'] },
  },
  {
    // Issue 14, a tester's finding: status and the plan said nothing of consumer routes.
    name: 'a consumer route in another namespace that routes dev-alice’s header but not dev-bob’s: from there, dev-bob’s header requests reach production',
    live: [
      foreign(
        'front-pin',
        [
          { matches: [{ headers: [{ name: 'x-developer', value: 'dev-alice' }] }], backendRefs: [{ name: 'web', namespace: 'dev-alice', port: 80 }] },
          { backendRefs: [{ name: 'web', namespace: PROD, port: 80 }] },
        ],
        { namespace: 'frontend', created: NEWER },
      ),
    ],
    calls: [
      [{ host: HOST, port: 80, from: 'frontend', headers: dev('dev-alice') }, cluster('dev-alice')],
      [{ host: HOST, port: 80, from: 'frontend', headers: dev('dev-bob') }, cluster(PROD)],
      [{ host: HOST, port: 80, from: PROD, headers: dev('dev-bob') }, cluster('dev-bob')],
    ],
    consumers: { frontend: ['dev-bob'] },
  },
];

/** vsop's side and Istio's for one case; returns both answers per call, and status and the plan's findings. */
async function run(c: Case) {
  const config = stringify({ defaultNamespace: PROD, developerNamespaces: ['dev-alice', 'dev-bob'], routeKind: 'HTTPRoute' });
  const svcs = c.services ?? services;
  const snapshot = (httpRoutes: HTTPRoute[]) => ({ config: { text: config, source: 'test' }, services: svcs, virtualServices: [], httpRoutes, referenceGrants: [] });
  let live = c.live;
  if (c.vsopCreated) {
    const rendered = planSnapshot(snapshot([]), { renderOnly: true }).resolution.httpRoutes;
    live = [...rendered.map((h) => ({ ...h, metadata: { ...h.metadata, creationTimestamp: c.vsopCreated } })), ...live];
  }
  const r = planSnapshot(snapshot(live), { routing: true });
  const world = worldAfter(r);
  const vsop = c.calls.map(([call]) =>
    traceRequest(world, { host: call.host, port: call.port, path: call.path ?? '/', method: call.method ?? 'GET', headers: call.headers ?? {}, from: call.from ?? 'default' }),
  );
  const objects = [...(world.httpRoutes ?? []), ...r.resolution.referenceGrants];
  const istio = await simulate({ services: toYamlStream(svcs), virtualServices: toYamlStream(objects), calls: c.calls.map(([call]) => call) });
  const status = statusView({
    defaultNamespace: PROD,
    tables: r.resolution.tables,
    virtualServices: [],
    httpRoutes: r.resolution.httpRoutes,
    findings: r.plan.findings,
    world,
  });
  return { vsop, istio, status, findings: r.plan.findings };
}

describe('routeKind HTTPRoute: trace and status apply the Gateway API precedence across every HTTPRoute, as Istio does', { skip }, () => {
  for (const c of cases) {
    it(c.name, async () => {
      const { vsop, istio, status, findings } = await run(c);
      const line = (call: Call, answer: string) => `${call.from} ${call.method ?? 'GET'} ${call.path ?? '/'} ${JSON.stringify(call.headers ?? {})}: ${answer}`;
      // Istio against the hand-written expectation, then vsop against Istio.
      assert.deepEqual(
        istio.map((res, i) => line(c.calls[i]![0], res.error ?? res.cluster)),
        c.calls.map(([call, want]) => line(call, want)),
        'Istio (the referee) disagrees with the expected value',
      );
      assert.deepEqual(
        vsop.map((a, i) => line(c.calls[i]![0], `${a.error ?? a.cluster} via ${a.httpRoute ? `HTTPRoute/${a.httpRoute.namespace}/${a.httpRoute.name}` : ''}`)),
        istio.map((res, i) => line(c.calls[i]![0], `${res.error ?? res.cluster} via ${res.config ?? ''}`)),
        'vsop trace disagrees with Istio',
      );
      const taken = status[0]!.namespaces.filter((n) => n.taken).map((n) => n.namespace);
      assert.deepEqual(taken, c.taken ?? [], 'status: the namespaces whose header requests another route takes');
      const warned = findings.filter((f) => f.code === 'taken');
      if (c.taken) {
        const by = c.takenBy ?? `httproute ${PROD}/\\S+ rule \\d+`;
        const escaped = c.takenBy?.replace(/[()]/g, '\\$&');
        assert.deepEqual(
          status[0]!.namespaces.flatMap((n) => (n.taken ?? []).map((t) => t.by)).filter((b) => !new RegExp(`^${escaped ?? by}$`).test(b)),
          [],
          'status names the user’s HTTPRoute',
        );
        assert.equal(warned.length, 1, JSON.stringify(findings));
        assert.equal(warned[0]!.objectKind, 'HTTPRoute', 'the warning is about vsop’s HTTPRoute');
        const said = c.takenBy?.replace(' (no rule matches)', '').replace(/[()]/g, '\\$&') ?? by;
        assert.match(warned[0]!.message, new RegExp(`^${said}, which vsop did not write, takes the header requests vsop routes to ${c.taken.join(', ')}`));
      } else
        assert.deepEqual(
          warned.filter((f) => !f.callers),
          [],
        );
      const consumers = Object.fromEntries((status[0]!.consumerRoutes ?? []).map((x) => [x.namespace, [...new Set(x.taken.map((t) => t.namespace))]]));
      assert.deepEqual(consumers, c.consumers ?? {}, 'status: consumer routes, and whose header requests they take from their namespace');
      const warnedFor = Object.fromEntries(
        warned.filter((f) => f.callers).map((f) => [f.callers!.join(), /takes the header requests vsop routes to (.+) when they come from/.exec(f.message)![1]!.split(', ')]),
      );
      assert.deepEqual(
        warnedFor,
        Object.fromEntries(Object.entries(c.consumers ?? {}).filter(([, taken]) => taken.length > 0)),
        'the plan warns of each consumer route that takes header requests',
      );
    });
  }
});
