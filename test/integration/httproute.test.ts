// routeKind: HTTPRoute (issue 14), with Istio as the referee: vsop renders the examples as Gateway API
// HTTPRoutes and ReferenceGrants, Istio's own translation of the Gateway API for sidecars (GAMMA: a route
// whose parent is a Service) builds the Envoy config (test/istio simulate, which also holds every object
// to the Gateway API CRDs' schema and CEL rules, as a strict create would), and each request must land on
// the cluster written here by hand from the example's intent. Run alone with
//   node test/harness/run-integration.ts test/integration/httproute.test.ts

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { toYamlStream } from '../../src/core/render.ts';
import type { Service } from '../../src/core/types.ts';
import { planSnapshot } from '../../src/reconcile.ts';
import { simulate, type Call } from '../harness/istio.ts';
import { skipReason } from '../harness/require.ts';
import { service } from '../helpers/fixtures.ts';

const skip = skipReason();

/** The example's config.yaml with routeKind: HTTPRoute added, and its Services. */
function example(dir: string): { config: Record<string, unknown>; services: Service[] } {
  const docs = readFileSync(`examples/${dir}/configmap.yaml`, 'utf8');
  const config = parse(parse(docs).data['config.yaml']) as Record<string, unknown>;
  const services = readFileSync(`examples/${dir}/services.yaml`, 'utf8')
    .split(/^---$/m)
    .map((d) => parse(d) as Service)
    .filter(Boolean);
  return { config, services };
}

/** Renders in HTTPRoute mode, asks Istio where each call goes, and compares with the expected cluster. */
async function expectRoutes(config: Record<string, unknown>, services: Service[], table: [Call, string][]): Promise<void> {
  const r = planSnapshot({ config: { text: stringify({ ...config, routeKind: 'HTTPRoute' }), source: 'test' }, services, virtualServices: [] }, { renderOnly: true });
  assert.deepEqual(r.warnings, []);
  assert.equal(r.resolution.virtualServices.length, 0);
  const objects = [...r.resolution.httpRoutes, ...r.resolution.referenceGrants];
  const results = await simulate({ services: toYamlStream(services), virtualServices: toYamlStream(objects), calls: table.map(([c]) => c) });
  const line = (c: Call, answer: string) => `${c.from ?? 'prod'} → ${c.host}:${c.port} ${JSON.stringify(c.headers ?? {})}: ${answer}`;
  assert.deepEqual(
    results.map((res, i) => line(table[i]![0], res.error ?? (res.weights?.length ? res.weights.map((w) => `${w.cluster} ${w.weight}`).join(', ') : res.cluster))),
    table.map(([c, want]) => line(c, want)),
    'Istio (the referee) disagrees with the expected value',
  );
  // Every answer came from vsop's HTTPRoute, not from Istio's default route of the Service.
  for (const res of results) assert.match(res.config ?? '', /^HTTPRoute\//, JSON.stringify(res));
}

const cluster = (name: string, ns: string, port = 80) => `outbound|${port}||${name}.${ns}.svc.cluster.local`;
const dev = (v: string) => ({ 'x-developer': v });

describe('routeKind HTTPRoute: the examples, with Istio as the referee', { skip }, () => {
  it('seed: each developer header reaches its copy, everything else production', async () => {
    const { config, services } = example('seed');
    const host = 'my-app.default.svc.cluster.local';
    await expectRoutes(config, services, [
      [{ host, port: 80, from: 'default', headers: dev('dev-alice') }, cluster('my-app', 'dev-alice')],
      [{ host, port: 80, from: 'default', headers: dev('staging') }, cluster('my-app', 'staging')],
      // dev-bob has no copy of my-app: production.
      [{ host, port: 80, from: 'default', headers: dev('dev-bob') }, cluster('my-app', 'default')],
      [{ host, port: 80, from: 'default' }, cluster('my-app', 'default')],
      [{ host, port: 80, from: 'dev-alice', headers: dev('dev-alice') }, cluster('my-app', 'dev-alice')],
      [{ host, port: 80, from: 'default', headers: dev('nobody') }, cluster('my-app', 'default')],
    ]);
  });

  it('hierarchical: a namespace without the Service falls back along its parents, then to production', async () => {
    const { config, services } = example('hierarchical');
    const api = 'api.prod.svc.cluster.local';
    const frontend = 'frontend.prod.svc.cluster.local';
    const auth = 'auth.prod.svc.cluster.local';
    await expectRoutes(config, services, [
      // api: integration and team-a have it; the feature namespace (header "login") falls back to team-a.
      [{ host: api, port: 8080, from: 'prod', headers: dev('login') }, cluster('api', 'team-a', 8080)],
      [{ host: api, port: 8080, from: 'prod', headers: dev('team-a') }, cluster('api', 'team-a', 8080)],
      [{ host: api, port: 8080, from: 'prod', headers: dev('integration') }, cluster('api', 'integration', 8080)],
      [{ host: api, port: 8080, from: 'prod', headers: dev('team-b') }, cluster('api', 'prod', 8080)],
      [{ host: api, port: 8080, from: 'prod' }, cluster('api', 'prod', 8080)],
      // frontend: only the feature namespace has a copy.
      [{ host: frontend, port: 80, from: 'prod', headers: dev('login') }, cluster('frontend', 'team-a-feature-login')],
      [{ host: frontend, port: 80, from: 'prod', headers: dev('team-a') }, cluster('frontend', 'prod')],
      // auth: integration's copy serves team-a and the feature namespace too.
      [{ host: auth, port: 80, from: 'prod', headers: dev('login') }, cluster('auth', 'integration')],
      [{ host: auth, port: 80, from: 'prod', headers: dev('team-b') }, cluster('auth', 'prod')],
    ]);
  });

  it('multi-port: one route per port, each sending to the same port of the copy; a copy lacking a port leaves that port to production', async () => {
    const config = { defaultNamespace: 'prod', developerNamespaces: ['dev-alice', 'dev-bob'] };
    const services = [service('prod', 'payments', { ports: [80, 9090] }), service('dev-alice', 'payments', { ports: [80, 9090] }), service('dev-bob', 'payments', { ports: [80] })];
    const host = 'payments.prod.svc.cluster.local';
    await expectRoutes(config, services, [
      [{ host, port: 80, from: 'prod', headers: dev('dev-alice') }, cluster('payments', 'dev-alice', 80)],
      [{ host, port: 9090, from: 'prod', headers: dev('dev-alice') }, cluster('payments', 'dev-alice', 9090)],
      [{ host, port: 80, from: 'prod', headers: dev('dev-bob') }, cluster('payments', 'dev-bob', 80)],
      [{ host, port: 9090, from: 'prod', headers: dev('dev-bob') }, cluster('payments', 'prod', 9090)],
      [{ host, port: 80, from: 'prod' }, cluster('payments', 'prod', 80)],
      [{ host, port: 9090, from: 'prod' }, cluster('payments', 'prod', 9090)],
    ]);
  });

  it('a template rule with its own path match keeps it: the developer variant matches that path and the header', async () => {
    const template = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: "\${serviceName}-routes"
spec:
  parentRefs:
  - {group: "", kind: Service, name: "\${serviceName}"}
  rules:
  - matches: [{path: {type: PathPrefix, value: /legacy}}]
    backendRefs: [{name: legacy, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    timeouts: {request: 5s}
    backendRefs: [{name: "\${serviceName}"}]
  - backendRefs: [{name: "\${serviceName}"}]
`;
    const config = { defaultNamespace: 'prod', developerNamespaces: ['dev-alice'], httpRouteTemplate: template };
    const services = [service('prod', 'web'), service('dev-alice', 'web'), service('prod', 'legacy')];
    const host = 'web.prod.svc.cluster.local';
    await expectRoutes(config, services, [
      [{ host, port: 80, from: 'prod', path: '/api/x', headers: dev('dev-alice') }, cluster('web', 'dev-alice')],
      [{ host, port: 80, from: 'prod', path: '/other', headers: dev('dev-alice') }, cluster('web', 'dev-alice')],
      // The legacy rule sends to another Service: it has no variant, so the header changes nothing there.
      [{ host, port: 80, from: 'prod', path: '/legacy/a', headers: dev('dev-alice') }, cluster('legacy', 'prod')],
      [{ host, port: 80, from: 'prod', path: '/api/x' }, cluster('web', 'prod')],
    ]);
  });
});
