// Two rendered objects of one kind, namespace and name are one object to the apiserver (issue 14): with
// httpRouteTemplate metadata.name "${serviceName}", Service a with ports 80 and 90 renders a-80 and a-90
// and Service a-80 renders a-80. vsop refuses the later Service (resolution.problems naming both Services
// and the name; planSnapshot turns them into exit 3 before any plan, see test/golden/httproute-name-taken).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolve } from '../../src/core/resolve.ts';
import { config, service } from '../helpers/fixtures.ts';

function httpRouteTemplate(name: string): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: "${name}"}
spec:
  parentRefs: [{group: "", kind: Service, name: "\${serviceName}"}]
  rules:
  - backendRefs: [{name: "\${serviceName}"}]
`;
}

const services = [service('default', 'a', { ports: [80, 90] }), service('default', 'a-80', { ports: [80] }), service('dev-a', 'a-80', { ports: [80] })];

describe('rendered names', () => {
  it("refuses a Service whose HTTPRoute takes another Service's route name, naming both and the name", () => {
    const { config: c, template } = config({ routeKind: 'HTTPRoute', developerNamespaces: ['dev-a'], httpRouteTemplate: httpRouteTemplate('${serviceName}') });
    const r = resolve(c, template, services);
    assert.deepEqual(
      r.httpRoutes.map((h) => h.metadata.name),
      ['a-80', 'a-90'],
    );
    assert.deepEqual(r.services, ['a', 'a-80']);
    assert.equal(r.problems.length, 1);
    const p = r.problems[0]!;
    assert.equal(p.source, 'service default/a-80');
    assert.equal(p.path, 'httproute default/a-80');
    assert.match(p.message, /^Service default\/a renders this HTTPRoute too: one would overwrite the other/);
    // The refused Service gets no table (so no grants or placeholders either).
    assert.deepEqual(
      r.tables.map((t) => t.service),
      ['a'],
    );
  });

  it('renders every Service when the name ends with text after ${serviceName}', () => {
    const { config: c, template } = config({ routeKind: 'HTTPRoute', developerNamespaces: ['dev-a'], httpRouteTemplate: httpRouteTemplate('${serviceName}-routes') });
    const r = resolve(c, template, services);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(
      r.httpRoutes.map((h) => h.metadata.name),
      ['a-routes-80', 'a-routes-90', 'a-80-routes'],
    );
  });

  it('VirtualService mode: one object per Service, the names distinct (the template name must hold ${serviceName})', () => {
    const { config: c, template } = config({ developerNamespaces: ['dev-a'] });
    const r = resolve(c, template, services);
    assert.deepEqual(r.problems, []);
    assert.equal(new Set(r.virtualServices.map((v) => v.metadata.name)).size, 2);
  });
});
