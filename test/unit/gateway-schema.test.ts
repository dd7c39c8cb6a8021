// The Gateway API CRD's schema and CEL rules, offline (schema/keywords.ts celRule, schema/validate.ts):
// the rules are evaluated as the apiserver evaluates them (property names escaped, defaults filled in,
// integers as ints). What the apiserver says of the same objects is held in
// test/integration/httproute-crd-rules.test.ts; here, the parts of the evaluation a mistake would break.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { celRule } from '../../src/core/schema/keywords.ts';
import { objectProblems, pathText } from '../../src/core/schema/validate.ts';

// The CRD's rule on spec.parentRefs (gateway.networking.k8s.io_httproutes.yaml v1.3.0): `namespace` is a
// CEL reserved word, which the apiserver's escaping spells __namespace__.
const UNIQUE_PARENT =
  "self.all(p1, self.exists_one(p2, p1.group == p2.group && p1.kind == p2.kind && p1.name == p2.name && (((!has(p1.__namespace__) || p1.__namespace__ == '') && (!has(p2.__namespace__) || p2.__namespace__ == '')) || (has(p1.__namespace__) && has(p2.__namespace__) && p1.__namespace__ == p2.__namespace__ )) && (((!has(p1.sectionName) || p1.sectionName == '') && (!has(p2.sectionName) || p2.sectionName == '')) || (has(p1.sectionName) && has(p2.sectionName) && p1.sectionName == p2.sectionName))))";

// One of the four rules that test has(self.matches[0].path), which the library's has() cannot read as written.
const REDIRECT_PREFIX =
  "(has(self.filters) && self.filters.exists_one(f, has(f.requestRedirect) && has(f.requestRedirect.path) && f.requestRedirect.path.type == 'ReplacePrefixMatch' && has(f.requestRedirect.path.replacePrefixMatch))) ? ((size(self.matches) != 1 || !has(self.matches[0].path) || self.matches[0].path.type != 'PathPrefix') ? false : true) : true";

const ref = (namespace?: string) => ({ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'gw', ...(namespace ? { namespace } : {}) });
const redirect = { type: 'RequestRedirect', requestRedirect: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/v2' } } };

describe('CEL rules', () => {
  for (const [name, rule, self, want] of [
    ['the same parent twice', UNIQUE_PARENT, [ref(), ref()], false],
    ['the same parent name in two namespaces (read through __namespace__)', UNIQUE_PARENT, [ref('a'), ref('b')], true],
    ['the same parent name, twice in one namespace', UNIQUE_PARENT, [ref('a'), ref('a')], false],
    [
      'a prefix redirect with one PathPrefix match (has() on an indexed field)',
      REDIRECT_PREFIX,
      { filters: [redirect], matches: [{ path: { type: 'PathPrefix', value: '/v1' } }] },
      true,
    ],
    ['a prefix redirect with an Exact match', REDIRECT_PREFIX, { filters: [redirect], matches: [{ path: { type: 'Exact', value: '/v1' } }] }, false],
    ['a fraction, numerator over denominator (integers compared as ints)', 'self.numerator <= self.denominator', { numerator: 101, denominator: 100 }, false],
    ['a fraction within', 'self.numerator <= self.denominator', { numerator: 5, denominator: 100 }, true],
    ['a rule that reads a missing field fails, as the apiserver refuses it', 'self.missing == 1', {}, false],
  ] as const) {
    it(name, () => assert.equal(celRule(rule, self), want));
  }
});

const route = (spec: Record<string, unknown>) => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'web-routes', namespace: 'prod' },
  spec: { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], ...spec },
});
const problems = (o: Record<string, unknown>) => objectProblems(o).map((p) => `${pathText(p.path)}: ${p.message}`);

describe('HTTPRoutes against the CRD', () => {
  it('a route as vsop renders it passes; the value checked is not changed', () => {
    const r = route({ rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] });
    const before = structuredClone(r);
    assert.deepEqual(problems(r), []);
    assert.deepEqual(r, before, 'the defaults are filled into a copy');
  });

  it('the CRD defaults are filled in before the rules run: a backendRef without group or kind is a Service, so it needs a port', () => {
    assert.deepEqual(problems(route({ rules: [{ backendRefs: [{ name: 'web' }] }] })), [
      'spec.rules[0].backendRefs[0]: {"name":"web","group":"","kind":"Service","weight":1}: Must have port for Service reference',
    ]);
  });

  it("each broken rule is worded with the CRD's own message, several at one place each once", () => {
    const r = route({
      rules: [{ matches: [{ path: { type: 'PathPrefix', value: 'a//b' } }], backendRefs: [{ name: 'web', port: 80 }] }],
    });
    assert.deepEqual(problems(r), [
      `spec.rules[0].matches[0].path: {"type":"PathPrefix","value":"a//b"}: value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']`,
      `spec.rules[0].matches[0].path: {"type":"PathPrefix","value":"a//b"}: must not contain '//' when type one of ['Exact', 'PathPrefix']`,
    ]);
  });

  it('a ReferenceGrant as vsop renders it passes; one without `to` does not', () => {
    const grant = {
      apiVersion: 'gateway.networking.k8s.io/v1beta1',
      kind: 'ReferenceGrant',
      metadata: { name: 'vsop-from-prod', namespace: 'dev-a' },
      spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'prod' }], to: [{ group: '', kind: 'Service', name: 'web' }] },
    };
    assert.deepEqual(problems(grant), []);
    assert.deepEqual(problems({ ...grant, spec: { from: grant.spec.from } }), ['spec.to: is required']);
  });
});
