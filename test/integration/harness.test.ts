// Proves the harness can fail: the real apiserver (with Istio's CRD schema)
// and Istio's own validator each reject what they should, the simulation
// routes the seed README's scenario by header, and the vsop user's rights
// stop where its role stops. Run: node test/harness/run-integration.ts test/integration/harness.test.ts

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { istioCheckBinary } from '../harness/build.ts';
import { testCluster } from '../harness/cluster.ts';
import { validate, simulate } from '../harness/istio.ts';
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

test("istio-check's own Go tests (Envoy header and path matching) pass", { skip }, async () => {
  // istio-check is a Go test binary: without a subcommand it runs test/istio/*_test.go.
  const { stdout } = await promisify(execFile)(await istioCheckBinary(), ['-test.run=^TestMatch', '-test.v']);
  assert.match(stdout, /--- PASS: TestMatchHeader/);
  assert.match(stdout, /--- PASS: TestMatchPath/);
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
