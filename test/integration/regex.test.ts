// The referee for regexes: every row of test/helpers/regexes.ts goes through Istio 1.27.9's own validator
// in a VirtualService's header match, and vsop's verdict (regexProblem) must be Istio's. The full matches
// go through Istio's config generation and the simulation's Envoy matcher. The CRD's OpenAPI schema is
// read too: it has no rule on a regex, so the apiserver accepts any string and the validator alone judges.
// Run: node test/harness/run-integration.ts test/integration/regex.test.ts
// (or, with istio-check built: node --test test/integration/regex.test.ts)

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fullMatch, regexProblem } from '../../src/core/istio/regex.ts';
import { istioCrdFile } from '../harness/build.ts';
import { simulate, validate } from '../harness/istio.ts';
import { readManifests } from '../harness/manifests.ts';
import { skipReason } from '../harness/require.ts';
import { FULL_MATCHES, REGEX_CASES } from '../helpers/regexes.ts';

const skip = skipReason();
const PROD = 'outbound|80||my-app.default.svc.cluster.local';
const DEV = 'outbound|80||my-app.dev-alice.svc.cluster.local';

const label = (re: string) => JSON.stringify(re.length > 40 ? `${re.slice(0, 20)}…(${re.length} characters)` : re);

/** A VirtualService whose one route matches header x-cid against `re`. JSON strings are YAML strings. */
function headerRegexVirtualService(name: string, re: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: ${name}
  namespace: default
spec:
  hosts:
  - my-app
  http:
  - match:
    - headers:
        x-cid:
          regex: ${JSON.stringify(re)}
    route:
    - destination:
        host: my-app.dev-alice.svc.cluster.local
`;
}

test("vsop's verdict on every regex of the table is Istio's validator's", { skip }, async () => {
  const yaml = REGEX_CASES.map((c, i) => headerRegexVirtualService(`regex-${i}`, c.re)).join('---\n');
  const { objects } = await validate(yaml);
  assert.equal(objects.length, REGEX_CASES.length);
  const disagree: string[] = [];
  REGEX_CASES.forEach((c, i) => {
    const istio = objects[i]!.errors;
    const vsop = regexProblem(c.re);
    const istioOk = istio.length === 0;
    if (istioOk !== (vsop === undefined))
      disagree.push(`${label(c.re)}: Istio ${istioOk ? 'accepts' : `refuses (${istio.join('; ')})`}, vsop ${vsop ? `refuses (${vsop})` : 'accepts'}`);
    if (istioOk !== c.ok) disagree.push(`${label(c.re)}: the table says ${c.ok ? 'accepted' : 'refused'}, Istio ${istioOk ? 'accepts' : 'refuses'}`);
    if (!c.ok && !istioOk && !istio.some((e) => e.includes(c.why))) disagree.push(`${label(c.re)}: Istio's error does not say "${c.why}": ${istio.join('; ')}`);
  });
  assert.deepEqual(disagree, []);
});

test('a regex route reaches the copy exactly when fullMatch says the whole value matches (Istio config, simulated Envoy)', { skip }, async () => {
  const regexes = [...new Set(FULL_MATCHES.map(([re]) => re))];
  // One route per regex, each on a header of its own, then production: a call carrying header x-re-<i>
  // can only be caught by route i.
  const routes = regexes
    .map(
      (re, i) => `  - name: re-${i}
    match:
    - headers:
        x-re-${i}:
          regex: ${JSON.stringify(re)}
    route:
    - destination:
        host: my-app.dev-alice.svc.cluster.local
`,
    )
    .join('');
  const virtualServices = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: my-app
  namespace: default
spec:
  hosts:
  - my-app
  http:
${routes}  - route:
    - destination:
        host: my-app.default.svc.cluster.local
`;
  const services = ['default', 'dev-alice']
    .map((ns) => `apiVersion: v1\nkind: Service\nmetadata:\n  name: my-app\n  namespace: ${ns}\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n`)
    .join('---\n');
  const calls = FULL_MATCHES.map(([re, value]) => ({ host: 'my-app', port: 80, headers: { [`x-re-${regexes.indexOf(re)}`]: value } }));
  const results = await simulate({ services, virtualServices, calls });
  const disagree: string[] = [];
  FULL_MATCHES.forEach(([re, value, expected], i) => {
    const r = results[i]!;
    const istio = r.cluster === DEV;
    assert.ok(r.cluster === DEV || r.cluster === PROD, JSON.stringify(r));
    if (istio !== fullMatch(re, value)) disagree.push(`${label(re)} on ${JSON.stringify(value)}: Istio ${istio ? 'matches' : 'does not match'}, fullMatch says otherwise`);
    if (istio !== expected) disagree.push(`${label(re)} on ${JSON.stringify(value)}: the table says ${expected}, Istio ${istio}`);
  });
  assert.deepEqual(disagree, []);
});

test("the CRD schema has no rule on a header regex: Istio's validator is the only judge", { skip }, async () => {
  const crd = readManifests(await istioCrdFile()).find((o) => o.metadata?.name === 'virtualservices.networking.istio.io');
  assert.ok(crd, 'no VirtualService CRD');
  const versions = (crd as unknown as { spec: { versions: { name: string; schema: { openAPIV3Schema: Schema } }[] } }).spec.versions;
  assert.ok(versions.length > 0);
  for (const v of versions) {
    const match = v.schema.openAPIV3Schema.properties!.spec!.properties!.http!.items!.properties!.match!.items!;
    const regex = match.properties!.headers!.additionalProperties!.properties!.regex!;
    assert.deepEqual(Object.keys(regex).sort(), ['description', 'type'], `${v.name}: ${JSON.stringify(regex)}`);
    assert.equal(regex.type, 'string');
    // No CEL rule above it either, on the match or the header map.
    assert.equal(match['x-kubernetes-validations'], undefined, v.name);
    assert.equal(match.properties!.headers!['x-kubernetes-validations'], undefined, v.name);
  }
});

type Schema = {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema;
  'x-kubernetes-validations'?: unknown;
};
