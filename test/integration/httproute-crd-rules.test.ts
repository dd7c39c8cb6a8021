// Issue 14 on the real apiserver: an HTTPRoute template that the Gateway API CRD refuses (its schema, and
// the CEL rules of x-kubernetes-validations) is refused by vsop offline, before anything is printed or
// written (exit 3, the CRD's own message), and the referee agrees: the same route, as vsop would render it
// (the template for Service my-app, a port on each backendRef to production), POSTed with strict field
// validation, is refused by the apiserver with the same rule's message. A control shows the construction
// is otherwise valid: the seed template's route is stored.
// Run alone with
//   node test/harness/run-integration.ts test/integration/httproute-crd-rules.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { SEED_HTTPROUTE_TEMPLATE } from '../../src/core/template.ts';
import type { KubeObject } from '../../src/core/types.ts';
import { testCluster } from '../harness/cluster.ts';
import { gatewayApiPath } from '../harness/gateway-api.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { get, makeWorld, type Cluster, type World, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

/** The seed template with its one rule replaced by `rules` (YAML, indented as a list under spec.rules). */
function template(rules: string): string {
  const seed = SEED_HTTPROUTE_TEMPLATE;
  const at = seed.indexOf('  rules:\n');
  assert.ok(at > 0);
  return `${seed.slice(0, at)}  rules:\n${rules}`;
}

interface Case {
  name: string;
  rules: string;
  /** vsop's words, offline (exit 3). */
  vsop: RegExp;
  /** The apiserver's words for the same route. */
  apiserver: RegExp;
  /** The apiserver's status: 422 Invalid, or 400 when strict decoding refuses an unknown field. */
  status?: number;
}

const CASES: Case[] = [
  {
    name: 'a path that does not start with "/" (CEL rule on matches[].path)',
    rules: '  - matches:\n    - path: {type: PathPrefix, value: api}\n    backendRefs:\n    - name: ${serviceName}\n',
    vsop: /spec\.rules\[0\]\.matches\[0\]\.path: .*value must be an absolute path and start with '\/'/,
    apiserver: /value must be an absolute path and start with '\/'/,
  },
  {
    name: 'a backend timeout longer than the request timeout (CEL rule on timeouts, durations)',
    rules: '  - timeouts: {request: 1s, backendRequest: 2s}\n    backendRefs:\n    - name: ${serviceName}\n',
    vsop: /spec\.rules\[0\]\.timeouts: .*backendRequest timeout cannot be longer than request timeout/,
    apiserver: /backendRequest timeout cannot be longer than request timeout/,
  },
  {
    name: 'a RequestRedirect filter beside backendRefs (CEL rule on rules[])',
    rules: '  - filters:\n    - type: RequestRedirect\n      requestRedirect: {scheme: https}\n    backendRefs:\n    - name: ${serviceName}\n',
    vsop: /spec\.rules\[0\]: .*RequestRedirect filter must not be used together with backendRefs/,
    apiserver: /RequestRedirect filter must not be used together with backendRefs/,
  },
  {
    name: 'a filter type without its field (CEL rule on filters[])',
    rules: '  - filters:\n    - type: RequestHeaderModifier\n    backendRefs:\n    - name: ${serviceName}\n',
    vsop: /spec\.rules\[0\]\.filters\[0\]: .*filter\.requestHeaderModifier must be specified for RequestHeaderModifier filter\.type/,
    apiserver: /filter\.requestHeaderModifier must be specified for RequestHeaderModifier filter\.type/,
  },
  {
    name: 'a filter repeated (CEL rule on filters)',
    rules:
      '  - filters:\n    - {type: URLRewrite, urlRewrite: {hostname: a.example}}\n    - {type: URLRewrite, urlRewrite: {hostname: b.example}}\n    backendRefs:\n    - name: ${serviceName}\n',
    vsop: /spec\.rules\[0\]\.filters: .*URLRewrite filter cannot be repeated/,
    apiserver: /URLRewrite filter cannot be repeated/,
  },
  {
    name: 'a backendRef to another Service without a port (CEL rule on backendRefs[])',
    rules: '  - backendRefs:\n    - name: ${serviceName}\n    - name: other\n',
    vsop: /spec\.rules\[0\]\.backendRefs\[1\]: .*Must have port for Service reference/,
    apiserver: /Must have port for Service reference/,
  },
  {
    name: 'a header name that is no HTTP token (schema pattern)',
    rules: '  - matches:\n    - headers: [{name: "x dev", value: a}]\n    backendRefs:\n    - name: ${serviceName}\n',
    vsop: /spec\.rules\[0\]\.matches\[0\]\.headers\[0\]\.name: "x dev" does not match \^\[A-Za-z0-9/,
    apiserver: /spec\.rules\[0\]\.matches\[0\]\.headers\[0\]\.name: Invalid value: "x dev"/,
  },
  {
    name: 'a weight over the maximum (schema maximum)',
    rules: '  - backendRefs:\n    - name: ${serviceName}\n      weight: 1000001\n',
    vsop: /spec\.rules\[0\]\.backendRefs\[0\]\.weight: 1000001 is more than 1000000/,
    apiserver: /spec\.rules\[0\]\.backendRefs\[0\]\.weight: Invalid value: 1000001: .*less than or equal to 1000000/,
  },
  {
    name: 'an unknown field (a misspelt matchs; strict validation)',
    rules: '  - matchs:\n    - path: {type: PathPrefix, value: /api}\n    backendRefs:\n    - name: ${serviceName}\n',
    vsop: /spec\.rules\[0\]\.matchs: is not a field of the Gateway API's HTTPRoute schema/,
    apiserver: /unknown field "spec\.rules\[0\]\.matchs"/,
    status: 400,
  },
];

/** The template rendered for Service my-app as vsop renders it (variables filled in, a port on each backendRef to production). */
function rendered(text: string, namespace: string): KubeObject {
  const route = parse(text.replaceAll('${serviceName}', 'my-app').replaceAll('${defaultNamespace}', namespace)) as KubeObject & {
    spec: { rules: { backendRefs?: { name: string; port?: number }[] }[] };
  };
  route.metadata.namespace = namespace;
  for (const r of route.spec.rules) for (const b of r.backendRefs ?? []) if (b.name === 'my-app' && b.port === undefined) b.port = 80;
  return route;
}

async function post(w: World, route: KubeObject) {
  return kubeRequest(w.admin, 'POST', `${gatewayApiPath('HTTPRoute', w.prod)}?fieldValidation=Strict`, { body: route });
}

describe('routeKind HTTPRoute: templates the Gateway API CRD refuses (real apiserver)', { skip }, () => {
  it('the seed template, rendered the same way, is stored (the control)', async () => {
    const w = await makeWorld(cluster, 'hrcrdok', { devs: 1, config: { routeKind: 'HTTPRoute' } });
    const res = await post(w, rendered(SEED_HTTPROUTE_TEMPLATE, w.prod));
    assert.equal(res.status, 201, summary(res));
  });

  for (const c of CASES) {
    it(`${c.name}: refused by vsop offline (exit 3, nothing written) and by the apiserver`, async () => {
      const w = await makeWorld(cluster, 'hrcrd', { devs: 1, config: { routeKind: 'HTTPRoute' } });
      await w.service(w.prod, 'my-app');
      const text = template(c.rules);
      await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: w.devs, routeKind: 'HTTPRoute', httpRouteTemplate: text });
      const r = await w.vsop(['sync']);
      assert.equal(r.code, 3, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stderr, c.vsop);
      assert.equal(r.stdout, '');
      const stored = await get(w.admin, gatewayApiPath('HTTPRoute', w.prod));
      assert.deepEqual(stored.body.items, [], 'nothing written');
      const res = await post(w, rendered(text, w.prod));
      assert.equal(res.status, c.status ?? 422, summary(res));
      assert.match(res.body.message, c.apiserver);
    });
  }
});
