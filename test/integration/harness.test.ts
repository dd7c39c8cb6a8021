// Proves the harness can fail: the real apiserver (with Istio's CRD schema
// and the Gateway API's, CEL rules included) and Istio's own validator each
// reject what they should, the simulation routes the seed README's scenario
// by header, Istio's translation of GAMMA HTTPRoutes is pinned case by case,
// and the vsop user's rights stop where its role stops. Run: node test/harness/run-integration.ts test/integration/harness.test.ts

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { istioCheckBinary } from '../harness/build.ts';
import { testCluster } from '../harness/cluster.ts';
import { gatewayApiPath } from '../harness/gateway-api.ts';
import { validate, simulate, type Call } from '../harness/istio.ts';
import { createNamespace, summary, kubeRequest, type Connection } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';

const skip = skipReason();
let cluster: Awaited<ReturnType<typeof testCluster>> | undefined;

before(async () => {
  if (!skip) cluster = await testCluster();
});
after(async () => {
  await cluster?.release();
});

function admin(): Connection {
  assert.ok(cluster, 'cluster not started');
  return cluster.admin;
}

const vsPath = (ns: string) => `/apis/networking.istio.io/v1beta1/namespaces/${ns}/virtualservices`;

// The VirtualService of the seed README ("The operator automatically creates a
// VirtualService"), verbatim except for the namespace.
function seedVirtualService(namespace = 'default'): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: my-app-virtual-service
  namespace: ${namespace}
  labels:
    managed-by: virtualservice-operator
spec:
  hosts:
  - my-app
  http:
  # Developer route
  - match:
    - headers:
        x-developer:
          exact: dev-alice
    route:
    - destination:
        host: my-app.dev-alice.svc.cluster.local
  # Default route
  - route:
    - destination:
        host: my-app.default.svc.cluster.local
`;
}

// Accepted by the CRD's OpenAPI schema (regex is just a string there), but
// not an RE2 expression, so Istio's ValidateVirtualService rejects it.
function badRegexVirtualService(namespace: string): string {
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: bad-regex
  namespace: ${namespace}
spec:
  hosts:
  - my-app
  http:
  - match:
    - headers:
        x-developer:
          regex: "dev-(alice"
    route:
    - destination:
        host: my-app.dev-alice.svc.cluster.local
`;
}

function seedServices(): string {
  return ['default', 'dev-alice']
    .map(
      (ns) => `apiVersion: v1
kind: Service
metadata:
  name: my-app
  namespace: ${ns}
spec:
  selector:
    app: my-app
  ports:
  - port: 80
    targetPort: 8080
`,
    )
    .join('---\n');
}

test('the apiserver rejects a VirtualService that breaks the CRD schema and accepts the seed one', { skip }, async () => {
  const ns = await createNamespace(admin(), 'harness-schema');
  const broken = seedVirtualService(ns).replace(/ {2}http:\n[\s\S]*$/, '  http: "not-a-list"\n');
  const rejected = await kubeRequest(admin(), 'POST', vsPath(ns), { body: broken });
  assert.equal(rejected.status, 422, summary(rejected));
  assert.equal(rejected.body.reason, 'Invalid');
  assert.match(rejected.body.message, /spec\.http/);

  const accepted = await kubeRequest(admin(), 'POST', vsPath(ns), { body: seedVirtualService(ns) });
  assert.equal(accepted.status, 201, summary(accepted));
  assert.equal(accepted.body.spec.http[0].match[0].headers['x-developer'].exact, 'dev-alice');
});

test("Istio's validator accepts the seed VirtualService", { skip }, async () => {
  const result = await validate(seedVirtualService());
  assert.deepEqual(result.errors, []);
  assert.equal(result.objects.length, 1);
  assert.equal(result.objects[0]?.validated, true);
});

test("Istio's validator rejects a VirtualService that the CRD schema accepts", { skip }, async () => {
  const ns = await createNamespace(admin(), 'harness-istio');
  const yaml = badRegexVirtualService(ns);
  const stored = await kubeRequest(admin(), 'POST', vsPath(ns), { body: yaml });
  assert.equal(stored.status, 201, `the schema should not catch this: ${summary(stored)}`);

  const result = await validate(yaml);
  assert.equal(result.errors.length, 1, result.errors.join('\n'));
  assert.match(result.errors[0] ?? '', new RegExp(`^VirtualService/${ns}/bad-regex: .*headers.*missing closing \\)`));
});

test('the seed scenario routes by x-developer and falls back to production', { skip }, async () => {
  const results = await simulate({
    services: seedServices(),
    virtualServices: seedVirtualService(),
    calls: [
      { host: 'my-app', port: 80, headers: { 'x-developer': 'dev-alice' } },
      { host: 'my-app', port: 80 },
      { host: 'my-app', port: 80, headers: { 'x-developer': 'dev-bob' } },
      { host: 'my-app.default.svc.cluster.local', port: 80, headers: { 'X-Developer': 'dev-alice' }, path: '/api/health' },
    ],
  });
  assert.deepEqual(
    results.map((r) => r.cluster),
    [
      'outbound|80||my-app.dev-alice.svc.cluster.local',
      'outbound|80||my-app.default.svc.cluster.local',
      'outbound|80||my-app.default.svc.cluster.local',
      'outbound|80||my-app.dev-alice.svc.cluster.local',
    ],
    JSON.stringify(results, null, 2),
  );
  assert.deepEqual(
    results.map((r) => r.error),
    [undefined, undefined, undefined, undefined],
  );
});

test("istio-check's own Go tests (Envoy header and path matching, Gateway API defaults and route origins) pass", { skip }, async () => {
  // istio-check is a Go test binary: without a subcommand it runs test/istio/*_test.go.
  const { stdout } = await promisify(execFile)(await istioCheckBinary(), ['-test.run=^Test(Match|Gateway)', '-test.v']);
  for (const name of ['TestMatchHeader', 'TestMatchPath', 'TestGatewayDefaults', 'TestGatewayRouteOrigin', 'TestGatewayRefused']) {
    assert.match(stdout, new RegExp(`--- PASS: ${name}\\b`));
  }
});

test('the simulation reports the weights of a split route', { skip }, async () => {
  const split = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: my-app-split
  namespace: default
spec:
  hosts:
  - my-app
  http:
  - route:
    - destination:
        host: my-app.default.svc.cluster.local
      weight: 90
    - destination:
        host: my-app.dev-alice.svc.cluster.local
      weight: 10
`;
  const [result] = await simulate({ services: seedServices(), virtualServices: split, calls: [{ host: 'my-app', port: 80 }] });
  assert.equal(result?.cluster, '');
  assert.deepEqual(result?.weights, [
    { cluster: 'outbound|80||my-app.default.svc.cluster.local', weight: 90 },
    { cluster: 'outbound|80||my-app.dev-alice.svc.cluster.local', weight: 10 },
  ]);
});

test('the vsop user may do what its role grants and gets 403 elsewhere', { skip }, async () => {
  assert.ok(cluster);
  const ns = await createNamespace(admin(), 'harness-rbac');
  const vsop = cluster.vsop;

  const services = await kubeRequest(vsop, 'GET', `/api/v1/namespaces/${ns}/services`);
  assert.equal(services.status, 200, summary(services));
  const created = await kubeRequest(vsop, 'POST', vsPath(ns), { body: seedVirtualService(ns) });
  assert.equal(created.status, 201, summary(created));

  const secrets = await kubeRequest(vsop, 'GET', `/api/v1/namespaces/${ns}/secrets`);
  assert.equal(secrets.status, 403, summary(secrets));
  assert.equal(secrets.body.reason, 'Forbidden');
  const patch = await kubeRequest(vsop, 'PATCH', `${vsPath(ns)}/my-app-virtual-service`, {
    body: '{"metadata":{"labels":{"x":"y"}}}',
    contentType: 'application/merge-patch+json',
  });
  assert.equal(patch.status, 403, summary(patch));
  const configMaps = await kubeRequest(vsop, 'GET', `/api/v1/namespaces/${ns}/configmaps`);
  assert.equal(configMaps.status, 403, summary(configMaps));
});

// ---------------------------------------------------------------------------------------------------
// The Gateway API (GAMMA: an HTTPRoute whose parentRef is a Service). The apiserver serves the standard
// CRDs with their CEL rules; Istio's gateway controller translates HTTPRoutes for sidecars inside
// istio-check. Each expectation below was reasoned from Istio 1.27.9's source (cited) before it ran.

const SERVICE_PARENT = (name: string, extra = '') => `{group: "", kind: Service, name: ${name}${extra}}`;

/** An HTTPRoute for Service web; each rule is [header value or undefined for the default rule, backend namespace or undefined for the route's, port]. */
function httpRoute(namespace: string, name: string, rules: [string | undefined, string | undefined, number][], opts: { parent?: string; created?: string } = {}): string {
  const created = opts.created ? `\n  creationTimestamp: "${opts.created}"` : '';
  const rule = ([header, to, port]: [string | undefined, string | undefined, number]) =>
    (header ? `  - matches:\n    - headers:\n      - name: x-developer\n        value: ${header}\n    backendRefs:\n` : '  - backendRefs:\n') +
    `    - name: web\n${to ? `      namespace: ${to}\n` : ''}      port: ${port}\n`;
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
  namespace: ${namespace}${created}
spec:
  parentRefs:
  - ${opts.parent ?? SERVICE_PARENT('web')}
  rules:
${rules.map(rule).join('')}`;
}

/** The seed's routing as an HTTPRoute: x-developer dev-alice to web in dev-alice, everything else to web in `namespace`. */
function seedRoute(namespace = 'prod', opts: { created?: string } = {}): string {
  return httpRoute(
    namespace,
    'web',
    [
      ['dev-alice', 'dev-alice', 80],
      [undefined, undefined, 80],
    ],
    opts,
  );
}

/** A ReferenceGrant in `namespace` letting HTTPRoutes of `from` name its Services. */
function referenceGrant(namespace: string, from: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata:
  name: from-${from}
  namespace: ${namespace}
spec:
  from:
  - group: gateway.networking.k8s.io
    kind: HTTPRoute
    namespace: ${from}
  to:
  - group: ""
    kind: Service
`;
}

/** Service web in each namespace, with the given ports (named http, http-<port> after the first). */
function webServices(namespaces: string[], ports = [80]): string {
  const list = ports.map((p, i) => `{name: ${i === 0 ? 'http' : `http-${p}`}, port: ${p}}`).join(', ');
  return namespaces.map((ns) => `apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: ${ns}}\nspec: {ports: [${list}]}\n`).join('---\n');
}

const web = (ns: string, port = 80) => `outbound|${port}||web.${ns}.svc.cluster.local`;

/** Simulates each call and compares "cluster (config)" lines, so a failure shows every answer. */
async function expectCalls(services: string, configs: string[], table: [Call, string][]): Promise<void> {
  const results = await simulate({ services, virtualServices: configs.join('---\n'), calls: table.map(([c]) => c) });
  const line = (c: Call, answer: string) => `${c.from ?? 'default'} → ${c.host}:${c.port} ${JSON.stringify(c.headers ?? {})}: ${answer}`;
  assert.deepEqual(
    results.map((r, i) => line(table[i]![0], r.error ?? `${r.cluster} (${r.config ?? 'no route config'})`)),
    table.map(([c, want]) => line(c, want)),
    "Istio's answer differs from the expectation",
  );
}

const alice = { 'x-developer': 'dev-alice' };
const FQDN = 'web.prod.svc.cluster.local';

test('the apiserver serves the Gateway API CRDs and enforces their schema and CEL rules', { skip }, async () => {
  const prod = await createNamespace(admin(), 'harness-gw');
  const strict = (kind: 'HTTPRoute' | 'ReferenceGrant') => `${gatewayApiPath(kind, prod)}?fieldValidation=Strict`;
  // CEL (x-kubernetes-validations on BackendRef): a Service backend must name a port.
  const noPort = httpRoute(prod, 'no-port', [[undefined, undefined, 80]]).replace(/\n {6}port: 80\n/, '\n');
  const refused = await kubeRequest(admin(), 'POST', strict('HTTPRoute'), { body: noPort });
  assert.equal(refused.status, 422, summary(refused));
  assert.equal(refused.body.reason, 'Invalid');
  assert.match(refused.body.message, /spec\.rules\[0\]\.backendRefs\[0\]: Invalid value: "object": Must have port for Service reference/);
  // istio-check judges the same document the same way, offline.
  const offline = await validate(noPort);
  assert.deepEqual(offline.errors, [`HTTPRoute/${prod}/no-port: spec.rules[0].backendRefs[0]: Invalid value: "object": Must have port for Service reference`]);
  // Strict field validation refuses (400, before any schema check) a field the standard channel lacks:
  // rule names are experimental in v1.3.0.
  const named = httpRoute(prod, 'named', [[undefined, undefined, 80]]).replace('  - backendRefs:', '  - name: default\n    backendRefs:');
  const unknown = await kubeRequest(admin(), 'POST', strict('HTTPRoute'), { body: named });
  assert.equal(unknown.status, 400, summary(unknown));
  assert.match(unknown.body.message, /strict decoding error: unknown field "spec\.rules\[0\]\.name"/);
  assert.match((await validate(named)).errors.join('\n'), /unknown field "spec\.rules\[0\]\.name"/);

  const route = seedRoute(prod);
  const created = await kubeRequest(admin(), 'POST', strict('HTTPRoute'), { body: route });
  assert.equal(created.status, 201, summary(created));
  // The CRD's defaults, which istio-check applies too before Istio reads the route: a rule without
  // matches matches every path; a header match is Exact.
  assert.deepEqual(created.body.spec.rules[1].matches, [{ path: { type: 'PathPrefix', value: '/' } }]);
  assert.deepEqual(created.body.spec.rules[0].matches[0].headers, [{ name: 'x-developer', type: 'Exact', value: 'dev-alice' }]);
  const grant = await kubeRequest(admin(), 'POST', strict('ReferenceGrant'), { body: referenceGrant(prod, 'prod') });
  assert.equal(grant.status, 201, summary(grant));

  // The route as the apiserver stored it routes as the route as written.
  const stored = await kubeRequest(admin(), 'GET', `${gatewayApiPath('HTTPRoute', prod)}/web`);
  const services = webServices([prod, 'dev-alice']);
  const calls: Call[] = [
    { host: `web.${prod}.svc.cluster.local`, port: 80, headers: alice },
    { host: `web.${prod}.svc.cluster.local`, port: 80 },
  ];
  const asWritten = await simulate({ services, virtualServices: route, calls });
  const asStored = await simulate({ services, virtualServices: JSON.stringify(stored.body), calls });
  assert.deepEqual(
    asStored.map((r) => r.cluster),
    [web('dev-alice'), web(prod)],
  );
  assert.deepEqual(
    asWritten.map((r) => [r.cluster, r.route]),
    asStored.map((r) => [r.cluster, r.route]),
  );
});

// Istio's gateway controller turns an HTTPRoute with a Service parent into a VirtualService for the
// Service's host, bound to the mesh gateway, named "<ns>~<host>" (pilot/pkg/config/kube/gateway/
// route_collections.go HTTPRouteCollection, mergeHTTPRoutes); each rule's route is "<ns>.<name>.<rule>"
// (conversion.go convertHTTPRoute). A route in the Service's own namespace applies to every caller.
test('Istio routes a GAMMA HTTPRoute by header and falls back to production', { skip }, async () => {
  const route = seedRoute();
  await expectCalls(
    webServices(['prod', 'dev-alice']),
    [route, referenceGrant('dev-alice', 'prod')],
    [
      [{ host: FQDN, port: 80, headers: alice }, `${web('dev-alice')} (HTTPRoute/prod/web)`],
      [{ host: FQDN, port: 80 }, `${web('prod')} (HTTPRoute/prod/web)`],
      [{ host: FQDN, port: 80, headers: { 'x-developer': 'dev-bob' } }, `${web('prod')} (HTTPRoute/prod/web)`],
      // Header names are case-insensitive, values are not (Exact).
      [{ host: FQDN, port: 80, headers: { 'X-Developer': 'dev-alice' } }, `${web('dev-alice')} (HTTPRoute/prod/web)`],
      [{ host: FQDN, port: 80, headers: { 'x-developer': 'DEV-ALICE' } }, `${web('prod')} (HTTPRoute/prod/web)`],
      // Short names resolve by DNS in the caller's namespace; the route is the Service's, whatever the name.
      [{ host: 'web.prod', port: 80, headers: alice, from: 'team-x' }, `${web('dev-alice')} (HTTPRoute/prod/web)`],
      [{ host: 'web', port: 80, headers: alice, from: 'prod' }, `${web('dev-alice')} (HTTPRoute/prod/web)`],
    ],
  );
  const [result] = await simulate({ services: webServices(['prod', 'dev-alice']), virtualServices: route, calls: [{ host: FQDN, port: 80, headers: alice }] });
  assert.equal(result?.virtualService, 'prod/prod~web.prod.svc.cluster.local');
  assert.equal(result?.route, 'prod.web.0');
});

// For mesh parents Istio translates rules with enforceRefGrant = false (route_collections.go:
// convertHTTPRoute(ctx, r, obj, n, !mesh); conversion.go buildDestination checks ReferenceGrants only
// when enforceRefGrant): a cross-namespace backendRef works without a ReferenceGrant, and the route
// stays Accepted with ResolvedRefs True. The Gateway API asks for the grant, and other meshes may refuse
// the backend without it.
test('Istio 1.27 does not require a ReferenceGrant for a GAMMA backendRef in another namespace', { skip }, async () => {
  const route = seedRoute();
  await expectCalls(
    webServices(['prod', 'dev-alice']),
    [route],
    [
      [{ host: FQDN, port: 80, headers: alice }, `${web('dev-alice')} (HTTPRoute/prod/web)`],
      [{ host: FQDN, port: 80 }, `${web('prod')} (HTTPRoute/prod/web)`],
    ],
  );
  const report = await validate(`${webServices(['prod', 'dev-alice'])}---\n${route}`);
  assert.deepEqual(report.errors, []);
  assert.deepEqual(
    report.objects.find((o) => o.kind === 'HTTPRoute')?.conditions?.map((c) => `${c.parent} ${c.type}=${c.status} ${c.reason}`),
    ['Service/prod/web Accepted=True Accepted', 'Service/prod/web ResolvedRefs=True ResolvedRefs'],
  );
});

// What tells a user a route is refused: Istio's conditions (conversion.go referenceAllowed,
// buildDestination; conditions.go createRouteStatus). A missing backend Service leaves the route
// Accepted, its rule sending to a cluster Istio never made (Envoy answers 503); a missing parent Service
// refuses the route, and the Service's traffic takes Istio's default route.
test("validate reports the conditions Istio's gateway controller sets on HTTPRoutes", { skip }, async () => {
  const route = httpRoute('prod', 'web', [
    ['dev-carol', 'dev-carol', 80],
    [undefined, undefined, 80],
  ]);
  const missingBackend = await validate(`${webServices(['prod'])}---\n${route}`);
  assert.deepEqual(missingBackend.errors, [
    'HTTPRoute/prod/web: parent Service/prod/web: ResolvedRefs is False (BackendNotFound): backend(web.dev-carol.svc.cluster.local) not found',
  ]);
  const [toCarol] = await simulate({ services: webServices(['prod']), virtualServices: route, calls: [{ host: FQDN, port: 80, headers: { 'x-developer': 'dev-carol' } }] });
  assert.deepEqual([toCarol?.cluster, toCarol?.missingClusters], [web('dev-carol'), [web('dev-carol')]]);

  const orphan = httpRoute('prod', 'web', [[undefined, undefined, 80]], { parent: SERVICE_PARENT('gone') });
  const missingParent = await validate(`${webServices(['prod'])}---\n${orphan}`);
  assert.deepEqual(missingParent.errors, ['HTTPRoute/prod/web: parent Service/prod/gone: Accepted is False (NoMatchingParent): parent service: "gone" not found']);
});

// Two HTTPRoutes of one namespace on one Service (and port) become one VirtualService (mergeHTTPRoutes):
// their routes are ordered by creation time, then namespace, then name (conversion.go
// sortRoutesByCreationTime), then stably by Gateway API match precedence (sortHTTPRoutes: path match
// type, path length, method, number of header matches, of query matches; rules without matches last).
test('Istio merges two HTTPRoutes on one Service by Gateway API precedence', { skip }, async () => {
  const services = webServices(['prod', 'dev-alice', 'dev-bob']);
  const older = '2024-01-01T00:00:00Z';
  const younger = '2025-01-01T00:00:00Z';
  // The header rule of the younger route still comes before the older route's default rule.
  await expectCalls(
    services,
    [httpRoute('prod', 'a-default', [[undefined, undefined, 80]], { created: older }), httpRoute('prod', 'z-header', [['dev-alice', 'dev-alice', 80]], { created: younger })],
    [
      [{ host: FQDN, port: 80, headers: alice }, `${web('dev-alice')} (HTTPRoute/prod/z-header)`],
      [{ host: FQDN, port: 80 }, `${web('prod')} (HTTPRoute/prod/a-default)`],
    ],
  );
  // Equal matches: the older route wins, whatever the names; at equal times, the name decides.
  const rival = (name: string, to: string, created: string) =>
    httpRoute(
      'prod',
      name,
      [
        ['dev-alice', to, 80],
        [undefined, to, 80],
      ],
      { created },
    );
  await expectCalls(
    services,
    [rival('a-young', 'dev-bob', younger), rival('z-old', 'dev-alice', older)],
    [
      [{ host: FQDN, port: 80, headers: alice }, `${web('dev-alice')} (HTTPRoute/prod/z-old)`],
      [{ host: FQDN, port: 80 }, `${web('dev-alice')} (HTTPRoute/prod/z-old)`],
    ],
  );
  await expectCalls(services, [rival('z', 'dev-alice', older), rival('a', 'dev-bob', older)], [[{ host: FQDN, port: 80, headers: alice }, `${web('dev-bob')} (HTTPRoute/prod/a)`]]);
});

// A parentRef with a port adds that port to every match (conversion.go augmentPortMatch) and keys a
// VirtualService of its own, "<ns>~<port>~<host>"; on other ports it has no routes, so the Service's
// default route (or another VirtualService for the host) serves them. A route without a port applies to
// every port, and its backendRef's port is where all of them go. Two VirtualServices for one host and
// port do not merge: the older wins (Istio's rule for VirtualServices, model/push_context.go).
test("a parentRef port scopes an HTTPRoute to that port of a multi-port Service, and Istio's VirtualServices for one host do not merge", { skip }, async () => {
  const services = webServices(['prod', 'dev-alice'], [80, 8080]);
  const admin8080 = (created?: string) =>
    httpRoute(
      'prod',
      'web-8080',
      [
        ['dev-alice', 'dev-alice', 8080],
        [undefined, undefined, 8080],
      ],
      {
        parent: SERVICE_PARENT('web', ', port: 8080'),
        ...(created ? { created } : {}),
      },
    );
  await expectCalls(
    services,
    [admin8080()],
    [
      [{ host: FQDN, port: 8080, headers: alice }, `${web('dev-alice', 8080)} (HTTPRoute/prod/web-8080)`],
      [{ host: FQDN, port: 8080 }, `${web('prod', 8080)} (HTTPRoute/prod/web-8080)`],
      [{ host: FQDN, port: 80, headers: alice }, `${web('prod')} (no route config)`],
    ],
  );
  const [scoped] = await simulate({ services, virtualServices: admin8080(), calls: [{ host: FQDN, port: 8080 }] });
  assert.equal(scoped?.virtualService, 'prod/prod~8080~web.prod.svc.cluster.local');

  const allPorts = (created: string) => httpRoute('prod', 'web-all', [[undefined, undefined, 80]], { created });
  // The port-less route is older: it takes port 8080 too, and sends it to port 80.
  await expectCalls(
    services,
    [allPorts('2024-01-01T00:00:00Z'), admin8080('2025-01-01T00:00:00Z')],
    [
      [{ host: FQDN, port: 8080, headers: alice }, `${web('prod')} (HTTPRoute/prod/web-all)`],
      [{ host: FQDN, port: 80, headers: alice }, `${web('prod')} (HTTPRoute/prod/web-all)`],
    ],
  );
  // The port route is older: port 8080 is its own, port 80 the port-less route's.
  await expectCalls(
    services,
    [allPorts('2025-01-01T00:00:00Z'), admin8080('2024-01-01T00:00:00Z')],
    [
      [{ host: FQDN, port: 8080, headers: alice }, `${web('dev-alice', 8080)} (HTTPRoute/prod/web-8080)`],
      [{ host: FQDN, port: 80, headers: alice }, `${web('prod')} (HTTPRoute/prod/web-all)`],
    ],
  );
});

// An HTTPRoute in another namespace than its parent Service (a consumer route) applies only to callers in
// its own namespace, where it comes before the Service's own (route/route.go
// buildSidecarVirtualHostsForVirtualService: "Gateway allows only routes from the namespace of the proxy,
// or namespace of the destination"; model/virtualservice.go SelectVirtualServices takes the caller's
// namespace's gateway-semantics VirtualServices first, whatever their age, and
// model/push_context.go VirtualServicesForGateway does the same: "consumer override"). Otherwise, between
// an HTTPRoute's VirtualService and a VirtualService for the same host, the older wins.
test('a consumer HTTPRoute applies only in its own namespace; an HTTPRoute and a VirtualService for one host: the older wins', { skip }, async () => {
  const services = `${webServices(['prod', 'dev-alice', 'dev-bob'])}---\n${webServices(['team-x'])}`;
  const consumer = httpRoute(
    'team-x',
    'web',
    [
      ['dev-alice', 'dev-bob', 80],
      [undefined, 'prod', 80],
    ],
    {
      parent: SERVICE_PARENT('web', ', namespace: prod'),
      created: '2025-01-01T00:00:00Z',
    },
  );
  const producer = seedRoute('prod', { created: '2024-01-01T00:00:00Z' });
  // The consumer route is the younger: for its namespace's callers it still comes first.
  await expectCalls(
    services,
    [consumer, producer],
    [
      [{ host: FQDN, port: 80, headers: alice, from: 'team-x' }, `${web('dev-bob')} (HTTPRoute/team-x/web)`],
      [{ host: FQDN, port: 80, headers: alice, from: 'default' }, `${web('dev-alice')} (HTTPRoute/prod/web)`],
      [{ host: FQDN, port: 80, headers: alice, from: 'prod' }, `${web('dev-alice')} (HTTPRoute/prod/web)`],
    ],
  );

  const virtualService = (created: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: web, namespace: prod, creationTimestamp: "${created}"}
spec:
  hosts: [web.prod.svc.cluster.local]
  http:
  - route:
    - destination: {host: web.dev-bob.svc.cluster.local}
`;
  const route = (created: string) => seedRoute('prod', { created });
  await expectCalls(
    services,
    [route('2024-01-01T00:00:00Z'), virtualService('2025-01-01T00:00:00Z')],
    [[{ host: FQDN, port: 80, headers: alice }, `${web('dev-alice')} (HTTPRoute/prod/web)`]],
  );
  await expectCalls(
    services,
    [route('2025-01-01T00:00:00Z'), virtualService('2024-01-01T00:00:00Z')],
    [[{ host: FQDN, port: 80, headers: alice }, `${web('dev-bob')} (VirtualService/prod/web)`]],
  );
  // A consumer route comes first for its namespace's callers even before an older plain VirtualService.
  await expectCalls(
    services,
    [virtualService('2024-01-01T00:00:00Z'), consumer],
    [
      [{ host: FQDN, port: 80, from: 'team-x' }, `${web('prod')} (HTTPRoute/team-x/web)`],
      [{ host: FQDN, port: 80, from: 'default' }, `${web('dev-bob')} (VirtualService/prod/web)`],
    ],
  );
});
