// The HTTPRoute CRD's size limits (Gateway API v1.3.0 standard: 16 rules, 128 matches per route, 64
// matches and 16 backendRefs per rule, 16 headers per match): a Service whose rendered route breaks one is
// refused (resolution.problems naming the Service, the route, the count and the limit), and renders
// nothing; the largest route within them renders. What the apiserver itself says of both is the
// integration test's (test/integration/httproute-limits.test.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HTTPROUTE_LIMITS, httpRouteLimitProblems, type HTTPRoute } from '../../src/core/render/httproute.ts';
import { NO_OVERRIDES } from '../../src/core/overrides.ts';
import { resolve } from '../../src/core/resolve.ts';
import { ConfigError } from '../../src/errors.ts';
import { planSnapshot } from '../../src/reconcile.ts';
import { config, service } from '../helpers/fixtures.ts';

const devs = (n: number) => Array.from({ length: n }, (_, i) => `dev-${i}`);

/** An HTTPRoute template whose one rule to production has `matches` path matches (none: the default rule). */
function template(matches?: number): string {
  const rule = matches === undefined ? '' : `\n    matches:\n${Array.from({ length: matches }, (_, i) => `    - path: {type: PathPrefix, value: /p${i}}`).join('\n')}`;
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: "\${serviceName}-routes", namespace: "\${defaultNamespace}"}
spec:
  parentRefs: [{group: "", kind: Service, name: "\${serviceName}"}]
  rules:
  - backendRefs: [{name: "\${serviceName}"}]${rule}
`;
}

/** Service my-app in production, a copy in each of `n` developer namespaces, and `other` with no copies. */
function world(n: number, matches?: number) {
  const { config: c, template: t } = config({
    routeKind: 'HTTPRoute',
    developerNamespaces: devs(n),
    ...(matches === undefined ? {} : { httpRouteTemplate: template(matches) }),
  });
  const services = [service('default', 'my-app'), service('default', 'other'), ...devs(n).map((ns) => service(ns, 'my-app'))];
  return resolve(c, t, services);
}

describe('HTTPRoute size limits', () => {
  it('renders 16 rules (15 namespaces routed to, the default template) and refuses 17, naming Service, route, count and limit', () => {
    const ok = world(15);
    assert.deepEqual(ok.problems, []);
    assert.equal(ok.httpRoutes.find((r) => r.metadata.name === 'my-app-routes')!.spec.rules!.length, HTTPROUTE_LIMITS.rules);

    const over = world(16);
    assert.deepEqual(
      over.problems.map((p) => [p.source, p.path, p.message.split(';')[0]]),
      [['service default/my-app', 'httproute default/my-app-routes: spec.rules', '17 rules, the Gateway API allows at most 16 per HTTPRoute']],
    );
    assert.match(over.problems[0]!.message, /fewer template rules that send to production, fewer developer namespaces.*routeKind VirtualService/);
    // Nothing of the refused Service: no route, no table; the other Service still renders (the command refuses as a whole, see reconcile.ts).
    assert.deepEqual(
      over.httpRoutes.map((r) => r.metadata.name),
      ['other-routes'],
    );
    assert.deepEqual(
      over.tables.map((t) => t.service),
      ['other'],
    );
    assert.deepEqual(
      over.referenceGrants.map((g) => g.metadata.namespace),
      [],
    );
  });

  it('a template match of 16 headers (the most the CRD allows) is refused once vsop adds the routing header, and the hint says to remove one from the template', () => {
    const headers = Array.from({ length: 16 }, (_, i) => `{name: h${i}, value: v}`).join(', ');
    const { config: c, template: t } = config({
      routeKind: 'HTTPRoute',
      developerNamespaces: devs(1),
      httpRouteTemplate: template().replace('  - backendRefs:', `  - matches: [{headers: [${headers}]}]\n    backendRefs:`),
    });
    const r = resolve(c, t, [service('default', 'my-app'), service(devs(1)[0]!, 'my-app')]);
    assert.deepEqual(
      r.problems.map((p) => p.message.split(';')[0]),
      ['17 header matches, the Gateway API allows at most 16 per match'],
    );
    assert.match(r.problems[0]!.message, /adds the routing header .* remove one from the template's match$/);
    assert.doesNotMatch(r.problems[0]!.message, /fewer developer namespaces/);
  });

  it("a hand route whose headers join a template match to 17 is refused with a hint about the hand route, not the template (a second tester's finding 4)", () => {
    const { config: c, template: t } = config({
      routeKind: 'HTTPRoute',
      developerNamespaces: devs(1),
      httpRouteTemplate: template().replace('  - backendRefs:', '  - matches: [{headers: [{name: tenant, value: a}]}]\n    backendRefs:'),
    });
    const headers = Array.from({ length: 16 }, (_, i) => ({ name: `h${i}`, value: 'v', match: 'exact' as const }));
    // Recorded before (a switch from routeKind VirtualService, where route add does not refuse 16 headers).
    const overrides = () => ({ ...NO_OVERRIDES, routes: [{ namespace: devs(1)[0]!, id: 1, headers }] });
    const r = resolve(c, t, [service('default', 'my-app'), service(devs(1)[0]!, 'my-app')], { overrides });
    assert.deepEqual(
      r.problems.map((p) => p.message.split(';')[0]),
      ['17 header matches, the Gateway API allows at most 16 per match'],
    );
    assert.match(r.problems[0]!.message, /a route added by hand \(route add --header\).*fewer --header flags/);
    assert.doesNotMatch(r.problems[0]!.message, /vsop adds the routing header/);
  });

  it('renders 128 matches (16 rules of 8) and refuses 135 (15 rules of 9), within the 16 rules', () => {
    assert.deepEqual(world(15, 8).problems, []);
    const over = world(14, 9);
    assert.deepEqual(
      over.problems.map((p) => p.message.split(';')[0]),
      ['135 matches in all, the Gateway API allows at most 128 per HTTPRoute'],
    );
  });

  it('counts a rule without matches as the one match the CRD defaults it to, and names each per-rule and per-match limit', () => {
    const route = (rules: HTTPRoute['spec']['rules']): HTTPRoute => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'r', namespace: 'default' },
      spec: { rules },
    });
    const full = (n: number) => Array.from({ length: n }, (_, i) => ({ path: { type: 'PathPrefix', value: `/${i}` } }));
    // 2 rules of 64 matches = 128, plus one rule without matches: 129.
    assert.deepEqual(httpRouteLimitProblems(route([{ matches: full(64) }, { matches: full(64) }])), []);
    assert.deepEqual(
      httpRouteLimitProblems(route([{ matches: full(64) }, { matches: full(64) }, {}])).map((p) => p.message),
      ['129 matches in all, the Gateway API allows at most 128 per HTTPRoute'],
    );
    const refs = (n: number) => Array.from({ length: n }, (_, i) => ({ name: 's', namespace: `n${i}`, port: 80, weight: 1 }));
    const headers = (n: number) => Array.from({ length: n }, (_, i) => ({ name: `h${i}`, value: 'v' }));
    assert.deepEqual(
      httpRouteLimitProblems(route([{ matches: [...full(64), { headers: headers(17) }], backendRefs: refs(17) }])).map((p) => `${p.path}: ${p.message}`),
      [
        'spec.rules[0].matches: 65 matches, the Gateway API allows at most 64 per rule',
        'spec.rules[0].backendRefs: 17 backendRefs, the Gateway API allows at most 16 per rule',
        'spec.rules[0].matches[64].headers: 17 header matches, the Gateway API allows at most 16 per match',
      ],
    );
    assert.deepEqual(httpRouteLimitProblems(route([{ matches: [{ headers: headers(16) }], backendRefs: refs(16) }])), []);
  });
});

describe('planSnapshot and a Service over the limits', () => {
  const text = `defaultNamespace: default\nrouteKind: HTTPRoute\ndeveloperNamespaces: [${devs(16).join(', ')}]\n`;
  const snapshot = {
    config: { text, source: 'config.yaml' },
    services: [service('default', 'my-app'), service('default', 'other'), ...devs(16).map((ns) => service(ns, 'my-app'))],
    virtualServices: [],
    httpRoutes: [],
    referenceGrants: [],
  };
  it('refuses the command (exit 3: ConfigError) naming the Service, before any plan', () => {
    assert.throws(
      () => planSnapshot(snapshot),
      (err: unknown) => err instanceof ConfigError && /service default\/my-app: httproute default\/my-app-routes: spec\.rules: 17 rules/.test(err.message),
    );
    assert.throws(() => planSnapshot(snapshot, { renderOnly: true }), ConfigError);
  });
  it("keepRefused (watch's grants): the others render, the refused Service is left out and its problem kept", () => {
    const r = planSnapshot(snapshot, { renderOnly: true, keepRefused: true });
    assert.deepEqual(
      r.resolution.httpRoutes.map((x) => x.metadata.name),
      ['other-routes'],
    );
    assert.equal(r.resolution.problems.length, 1);
  });
});
