// Every golden object vsop renders (VirtualServices; HTTPRoutes and ReferenceGrants with routeKind HTTPRoute) is
// accepted by the real apiserver under its CRD schema (Istio's, the Gateway API's with its CEL rules) and by
// Istio's own validation; and for the seed README's scenario, the hierarchical example, the multi-port
// one and the one routed by hand, Istio's own config generation sends each header value where it should go
// and nothing else away from production, from the VirtualService golden and from the HTTPRoute one
// (routeKind HTTPRoute; the xDS example too), with the same expected clusters. Expected clusters are
// written out by hand from the examples' READMEs and comments.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { testCluster } from '../harness/cluster.ts';
import { simulate, validate, type Call } from '../harness/istio.ts';
import { createNamespace, kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { useTestCluster } from '../helpers/world.ts';
import { toYamlStream } from '../../src/core/render.ts';
import type { VirtualService } from '../../src/core/types.ts';
import type { Cluster } from '../helpers/world.ts';

const skip = skipReason();
const ROOT = join(import.meta.dirname, '..', '..');
const GOLDEN = join(ROOT, 'test', 'golden');
const cluster = useTestCluster(skip);

/** The rendered VirtualServices of every render golden (their stdout is YAML). */
function goldenVirtualServices(): { name: string; objects: VirtualService[]; text: string }[] {
  return (
    readdirSync(GOLDEN)
      .filter((d) => readFileSync(join(GOLDEN, d, 'args'), 'utf8').startsWith('render') && !readFileSync(join(GOLDEN, d, 'args'), 'utf8').includes('-o json'))
      // A render that refuses its input (exit 3 or 4), or leaves out its only Service (overrides that cannot
      // be read), renders nothing to check.
      .filter((d) => readFileSync(join(GOLDEN, d, 'exit'), 'utf8').trim() === '0' && readFileSync(join(GOLDEN, d, 'stdout'), 'utf8').trim() !== '')
      .map((d) => {
        const text = readFileSync(join(GOLDEN, d, 'stdout'), 'utf8');
        return { name: d, text, objects: parseAllDocuments(text).map((doc) => doc.toJS() as VirtualService) };
      })
  );
}

/** An example's Services as plain multi-document YAML (Istio's fake client takes no `kind: List`). */
const file = (path: string) =>
  toYamlStream(
    parseAllDocuments(readFileSync(join(ROOT, path), 'utf8')).flatMap((d) => {
      const v = d.toJS() as { kind: string; items?: unknown[] };
      return v.kind === 'List' ? (v.items ?? []) : [v];
    }),
  );
/**
 * The Services among a golden's `-f` inputs (files or directories; `./x` is the golden's own file), as plain
 * multi-document YAML: a golden's HTTPRoutes are judged against the Services it was rendered from.
 */
function servicesOf(golden: string): string {
  const args = readFileSync(join(GOLDEN, golden, 'args'), 'utf8')
    .trim()
    .split(/\s+/);
  const paths = args.flatMap((a, i) => (args[i - 1] === '-f' ? [a.startsWith('./') ? join(GOLDEN, golden, a) : join(ROOT, a)] : []));
  const files = paths.flatMap((p) =>
    statSync(p).isDirectory()
      ? readdirSync(p)
          .filter((f) => /\.ya?ml$/.test(f))
          .map((f) => join(p, f))
      : [p],
  );
  const services = files.flatMap((f) =>
    parseAllDocuments(readFileSync(f, 'utf8')).flatMap((d) => {
      const v = d.toJS() as { kind?: string; items?: { kind?: string }[] } | null;
      return (v?.kind === 'List' ? (v.items ?? []) : v ? [v] : []).filter((o) => o.kind === 'Service');
    }),
  );
  return services.length ? toYamlStream(services) : '';
}

const render = (example: string) => readFileSync(join(GOLDEN, `${example}-render`, 'stdout'), 'utf8');

describe('golden VirtualServices (real apiserver, Istio validation and simulation)', { skip }, () => {
  const goldens = goldenVirtualServices();

  it('covers every render golden', () => {
    assert.deepEqual(
      goldens.map((g) => g.name),
      [
        'custom-template-render',
        'hierarchical-render',
        'httproute-custom-template-render',
        'httproute-hierarchical-render',
        'httproute-over-limits-render-other',
        'httproute-overrides-render',
        'httproute-render-prefix-recorded',
        'httproute-render-scoped',
        'httproute-render-scoped-grants',
        'httproute-render-scoped-grants-live',
        'httproute-seed-render',
        'httproute-template-port-missing',
        'httproute-xds-render',
        'overrides-render',
        'placeholders-and-system',
        'render-overrides-regex-re2',
        'seed-render',
        'template-shared-host',
        'template-tcp-only',
      ],
    );
    assert.ok(goldens.every((g) => g.objects.length > 0));
  });

  for (const g of goldens) {
    it(`${g.name}: the apiserver stores each object under Istio's schema, with strict field validation`, async () => {
      const ns = await createNamespace(cluster.admin, 'golden');
      // VirtualServices under Istio's CRD, HTTPRoutes and ReferenceGrants under the Gateway API's (with its CEL rules).
      const RESOURCES: Record<string, string> = { VirtualService: 'virtualservices', HTTPRoute: 'httproutes', ReferenceGrant: 'referencegrants' };
      for (const obj of g.objects) {
        // All go into one test namespace: objects of one name from several namespaces (the ReferenceGrants) keep theirs apart.
        const name = obj.kind === 'ReferenceGrant' ? `${obj.metadata.name}-${obj.metadata.namespace}` : obj.metadata.name;
        const body = { ...obj, metadata: { ...obj.metadata, name, namespace: ns } };
        const resource = RESOURCES[obj.kind];
        assert.ok(resource, `${obj.kind} is not a kind vsop renders`);
        const res = await kubeRequest(cluster.admin, 'POST', `/apis/${obj.apiVersion}/namespaces/${ns}/${resource}?fieldValidation=Strict`, { body });
        assert.equal(res.status, 201, `${obj.kind} ${obj.metadata.name}: ${summary(res)}`);
      }
    });

    it(`${g.name}: Istio's validation finds no error and no warning`, async () => {
      // Gateway API routes are judged against the Services they name (their parent and backends), as
      // Istio's gateway controller judges them in a cluster: the example's Services come along.
      const services = g.name.startsWith('httproute-') ? servicesOf(g.name) : '';
      const result = await validate(services ? `${g.text}---\n${services}` : g.text);
      assert.deepEqual(result.errors, []);
      assert.deepEqual(result.warnings, []);
      assert.equal(result.objects.filter((o) => o.validated && o.kind !== 'Service').length, g.objects.length);
    });
  }

  // Each scenario runs twice: on the VirtualService golden and on the HTTPRoute one (routeKind HTTPRoute, Istio's
  // own translation of the Gateway API for sidecars), with the same expected clusters; every HTTPRoute answer
  // must come from vsop's HTTPRoute, not from the Service's default route.
  const KINDS = ['VirtualService', 'HTTPRoute'] as const;
  const golden = (example: string, kind: (typeof KINDS)[number]) => render(kind === 'HTTPRoute' ? `httproute-${example}` : example);
  const fromRoute = (results: { config?: string }[], kind: (typeof KINDS)[number]) => {
    if (kind === 'HTTPRoute') for (const r of results) assert.match(r.config ?? '', /^HTTPRoute\//, JSON.stringify(r));
  };
  const expectRoutes = async (services: string, virtualServices: string, table: [Call, string][], kind: (typeof KINDS)[number] = 'VirtualService') => {
    const results = await simulate({ services, virtualServices, calls: table.map(([c]) => c) });
    assert.deepEqual(
      results.map((r) => `${r.call.host}:${r.call.port} ${JSON.stringify(r.call.headers ?? {})} -> ${r.error ?? r.cluster}`),
      table.map(([c, cluster]) => `${c.host}:${c.port} ${JSON.stringify(c.headers ?? {})} -> ${cluster}`),
    );
    fromRoute(results, kind);
  };

  for (const kind of KINDS)
    it(`seed README (${kind}): dev-alice and staging reach their copies; dev-bob, no header and an unknown value reach production`, async () => {
      const host = 'my-app.default.svc.cluster.local';
      await expectRoutes(
        file('examples/seed/services.yaml'),
        golden('seed', kind),
        [
          [{ host, port: 80, headers: { 'x-developer': 'dev-alice' } }, 'outbound|80||my-app.dev-alice.svc.cluster.local'],
          [{ host, port: 80, headers: { 'x-developer': 'staging' } }, 'outbound|80||my-app.staging.svc.cluster.local'],
          [{ host, port: 80, headers: { 'x-developer': 'dev-bob' } }, 'outbound|80||my-app.default.svc.cluster.local'],
          [{ host, port: 80 }, 'outbound|80||my-app.default.svc.cluster.local'],
          [{ host, port: 80, headers: { 'x-developer': 'someone' } }, 'outbound|80||my-app.default.svc.cluster.local'],
          [{ host: 'my-app', port: 80, headers: { 'x-developer': 'dev-alice' } }, 'outbound|80||my-app.dev-alice.svc.cluster.local'],
        ],
        kind,
      );
    });

  for (const kind of KINDS)
    it(`hierarchical (${kind}): each header falls back along its parents, and only then to production`, async () => {
      const api = 'api.prod.svc.cluster.local';
      const auth = 'auth.prod.svc.cluster.local';
      const front = 'frontend.prod.svc.cluster.local';
      const h = (v: string) => ({ 'x-developer': v });
      await expectRoutes(
        file('examples/hierarchical/services.yaml'),
        golden('hierarchical', kind),
        [
          [{ host: api, port: 8080, headers: h('integration') }, 'outbound|8080||api.integration.svc.cluster.local'],
          [{ host: api, port: 8080, headers: h('team-a') }, 'outbound|8080||api.team-a.svc.cluster.local'],
          [{ host: api, port: 8080, headers: h('login') }, 'outbound|8080||api.team-a.svc.cluster.local'],
          [{ host: api, port: 8080, headers: h('team-b') }, 'outbound|8080||api.prod.svc.cluster.local'],
          [{ host: api, port: 8080, headers: h('team-a-feature-login') }, 'outbound|8080||api.prod.svc.cluster.local'],
          [{ host: api, port: 8080 }, 'outbound|8080||api.prod.svc.cluster.local'],
          [{ host: auth, port: 80, headers: h('team-a') }, 'outbound|80||auth.integration.svc.cluster.local'],
          [{ host: auth, port: 80, headers: h('login') }, 'outbound|80||auth.integration.svc.cluster.local'],
          [{ host: auth, port: 80, headers: h('team-b') }, 'outbound|80||auth.prod.svc.cluster.local'],
          [{ host: front, port: 80, headers: h('login') }, 'outbound|80||frontend.team-a-feature-login.svc.cluster.local'],
          [{ host: front, port: 80, headers: h('team-a') }, 'outbound|80||frontend.prod.svc.cluster.local'],
          [{ host: front, port: 80, headers: h('integration') }, 'outbound|80||frontend.prod.svc.cluster.local'],
        ],
        kind,
      );
    });

  // The HTTPRoute golden records x-env as the regex "st.*" (the Gateway API has no prefix header match).
  for (const kind of KINDS)
    it(`routed by hand (${kind}): header routes (exact, regex and prefix, per port) reach staging, weights split the rest, clear leaves production`, async () => {
      const pay = 'payments.production.svc.cluster.local';
      const checkout = 'checkout.production.svc.cluster.local';
      const grpc = { 'user-agent': 'grpc-go/1.60.1', 'x-env': 'stage' };
      const split = (port: number) => `payments.production:${port} 75, payments.staging:${port} 25`;
      const table: [Call, string][] = [
        [{ host: pay, port: 80, headers: { 'x-cid': 'pay-test' } }, 'outbound|80||payments.staging.svc.cluster.local'],
        [{ host: pay, port: 9090, headers: { 'x-cid': 'pay-test' } }, 'outbound|9090||payments.staging.svc.cluster.local'],
        [{ host: pay, port: 9090, headers: grpc }, 'outbound|9090||payments.staging.svc.cluster.local'],
        [{ host: pay, port: 80, headers: grpc }, split(80)], // that route is for port 9090 only
        [{ host: pay, port: 9090, headers: { 'user-agent': 'curl/8.5', 'x-env': 'stage' } }, split(9090)], // another user agent
        [{ host: pay, port: 9090, headers: { 'user-agent': 'grpc-go/1.60.1', 'x-env': 'prod' } }, split(9090)],
        [{ host: pay, port: 80, headers: { 'x-developer': 'staging' } }, 'outbound|80||payments.staging.svc.cluster.local'],
        [{ host: pay, port: 80 }, split(80)],
        [{ host: checkout, port: 8080, headers: { 'x-developer': 'dev-team-b' } }, 'outbound|8080||checkout.production.svc.cluster.local'], // cleared
        [{ host: checkout, port: 8080, headers: { 'x-developer': 'qa' } }, 'outbound|8080||checkout.production.svc.cluster.local'],
        [{ host: checkout, port: 8080, headers: { 'x-cid': 'b' } }, 'outbound|8080||checkout.dev-team-b.svc.cluster.local'],
      ];
      const results = await simulate({ services: file('examples/custom-template/services.yaml'), virtualServices: golden('overrides', kind), calls: table.map(([c]) => c) });
      fromRoute(results, kind);
      const short = (cluster: string) => cluster.replace(/^outbound\|(\d+)\|\|([^.]+\.[^.]+)\.svc\.cluster\.local$/, '$2:$1');
      assert.deepEqual(
        results.map(
          (r) =>
            `${r.call.port} ${JSON.stringify(r.call.headers ?? {})} -> ${r.error ?? (r.weights ? r.weights.map((w) => `${short(w.cluster)} ${w.weight}`).join(', ') : r.cluster)}`,
        ),
        table.map(([c, expected]) => `${c.port} ${JSON.stringify(c.headers ?? {})} -> ${expected}`),
      );
    });

  for (const kind of KINDS)
    it(`multi-port (${kind}): each port reaches the same port of the developer copy`, async () => {
      const pay = 'payments.production.svc.cluster.local';
      await expectRoutes(
        file('examples/custom-template/services.yaml'),
        golden('custom-template', kind),
        [
          [{ host: pay, port: 80, headers: { 'x-developer': 'staging' } }, 'outbound|80||payments.staging.svc.cluster.local'],
          [{ host: pay, port: 9090, headers: { 'x-developer': 'staging' } }, 'outbound|9090||payments.staging.svc.cluster.local'],
          [{ host: pay, port: 9090 }, 'outbound|9090||payments.production.svc.cluster.local'],
          [{ host: 'checkout.production.svc.cluster.local', port: 8080, headers: { 'x-developer': 'qa' } }, 'outbound|8080||checkout.qa.svc.cluster.local'],
          [{ host: 'checkout.production.svc.cluster.local', port: 8080, headers: { 'x-developer': 'dev-team-a' } }, 'outbound|8080||checkout.production.svc.cluster.local'],
        ],
        kind,
      );
    });

  // examples/xds renders xDS resources, not VirtualServices; as HTTPRoutes: dev-bob has no copy and falls back to staging.
  it('xds example (HTTPRoute): dev-alice reaches her copy, dev-bob falls back to staging, everything else production', async () => {
    const host = 'greeter.default.svc.cluster.local';
    const h = (v: string) => ({ 'x-developer': v });
    await expectRoutes(
      file('examples/xds/services.yaml'),
      render('httproute-xds'),
      [
        [{ host, port: 50051, headers: h('dev-alice') }, 'outbound|50051||greeter.dev-alice.svc.cluster.local'],
        [{ host, port: 50051, headers: h('dev-bob') }, 'outbound|50051||greeter.staging.svc.cluster.local'],
        [{ host, port: 50051, headers: h('staging') }, 'outbound|50051||greeter.staging.svc.cluster.local'],
        [{ host, port: 50051 }, 'outbound|50051||greeter.default.svc.cluster.local'],
        [{ host, port: 50051, headers: h('dev-carol') }, 'outbound|50051||greeter.default.svc.cluster.local'],
      ],
      'HTTPRoute',
    );
  });
});
