// Istio's rules as src/core/istio encodes them, case by case. Each expectation comes from the Istio source
// named in the module's doc comments (route.go IsCatchAllRoute, TranslateRoute, sourceMatchHTTP;
// push_context.go's exportTo buckets; config.go's creation-time order); the differential and routing-truth
// integration suites check the same rules against Istio's own config generation.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { effectiveRoutes, firstMatch, isCatchAllMatch, type Request } from '../../src/core/istio/match.ts';
import { selectVirtualService } from '../../src/core/istio/select.ts';
import { hostFqdn, traceRequest } from '../../src/core/istio/trace.ts';
import type { HttpRoute, VirtualService } from '../../src/core/types.ts';

describe('catch-all matches (Envoy receives prefix "/" or regex ".*" and no header, query or metadata condition)', () => {
  const cases: [string, Record<string, unknown> | undefined, boolean][] = [
    ['no match at all', undefined, true],
    ['an empty match', {}, true],
    ['uri prefix /', { uri: { prefix: '/' } }, true],
    ['uri regex .*', { uri: { regex: '.*' } }, true],
    ['uri prefix / ignoring case', { uri: { prefix: '/' }, ignoreUriCase: true }, true],
    ['a port (filtered per listener, not sent to Envoy)', { port: 80 }, true],
    ['gateways: [mesh] (filtered, not sent)', { gateways: ['mesh'] }, true],
    ['uri prefix /api', { uri: { prefix: '/api' } }, false],
    ['uri exact /', { uri: { exact: '/' } }, false],
    ['uri regex /.*', { uri: { regex: '/.*' } }, false],
    ['uri prefix / and a header', { uri: { prefix: '/' }, headers: { 'x-developer': { exact: 'a' } } }, false],
    ['a method', { method: { exact: 'GET' } }, false],
    ['an authority', { authority: { exact: 'a' } }, false],
    ['a query parameter', { queryParams: { v: { exact: '1' } } }, false],
    ['without a header', { withoutHeaders: { x: { exact: 'a' } } }, false],
  ];
  for (const [label, m, want] of cases) it(`${label}: ${want ? 'catch-all' : 'not a catch-all'}`, () => assert.equal(isCatchAllMatch(m), want));
});

describe('routes sent to a sidecar', () => {
  const r = (name: string, match?: Record<string, unknown>[]): HttpRoute => ({ name, ...(match ? { match } : {}), route: [{ destination: { host: 'x' } }] });
  const names = (http: HttpRoute[], port = 80, from = 'default') => effectiveRoutes(http, port, from).map((e) => e.route.name);

  it('stops after the first catch-all, of any form', () => {
    assert.deepEqual(names([r('a', [{ uri: { prefix: '/a' } }]), r('all', [{ uri: { prefix: '/' } }]), r('dead')]), ['a', 'all']);
    assert.deepEqual(names([r('all', [{ uri: { regex: '.*' } }]), r('dead')]), ['all']);
    assert.deepEqual(names([r('all'), r('dead')]), ['all']);
  });

  it('drops matches for another port, for gateways other than mesh, for another source namespace', () => {
    const http = [r('p9090', [{ port: 9090 }]), r('gw', [{ gateways: ['istio-system/gw'] }]), r('src', [{ sourceNamespace: 'other' }]), r('rest', [{ uri: { prefix: '/x' } }])];
    assert.deepEqual(names(http), ['rest']);
    assert.deepEqual(names(http, 9090), ['p9090'], 'the port-9090 match is a catch-all on that port');
    assert.deepEqual(names(http, 80, 'other'), ['src']);
  });

  it('matches headers by lower-cased name, uri on the path without its query, query parameters, presence', () => {
    const http = [
      r('q', [{ queryParams: { v: { exact: '2' } } }]),
      r('h', [{ headers: { 'x-cid': { prefix: 'al' } } }]),
      r('present', [{ headers: { 'x-any': {} } }]),
      r('path', [{ uri: { exact: '/p' } }]),
    ];
    const req = (path: string, headers: Record<string, string> = {}): Request => ({ host: 'x', port: 80, path, method: 'GET', headers, from: 'default' });
    const hit = (q: Request) => firstMatch(effectiveRoutes(http, 80, 'default'), q)?.route.name;
    assert.equal(hit(req('/p?v=2')), 'q');
    assert.equal(hit(req('/p', { 'X-Cid': 'alice' })), 'h');
    assert.equal(hit(req('/p', { 'x-any': '' })), 'present');
    assert.equal(hit(req('/p?v=3')), 'path');
    assert.equal(hit(req('/q')), undefined);
  });
});

describe('which VirtualService a sidecar uses for a host', () => {
  const host = 'my-app.default.svc.cluster.local';
  const vs = (namespace: string, name: string, spec: Record<string, unknown>, created?: string): VirtualService => ({
    apiVersion: 'networking.istio.io/v1',
    kind: 'VirtualService',
    metadata: { name, namespace, ...(created ? { creationTimestamp: created } : {}) },
    spec: { hosts: [host], http: [{ route: [{ destination: { host } }] }], ...spec },
  });
  const winner = (list: VirtualService[], from = 'default', port = 80) => {
    const w = selectVirtualService(list, host, port, from).winner?.virtualService;
    return w && `${w.metadata.namespace}/${w.metadata.name}`;
  };

  it('the older one wins; equal seconds fall to the name; one about to be created comes last', () => {
    assert.equal(winner([vs('default', 'b', {}, '2024-01-01T00:00:00Z'), vs('default', 'a', {}, '2025-01-01T00:00:00Z')]), 'default/b');
    assert.equal(winner([vs('default', 'b', {}, '2024-01-01T00:00:00.9Z'), vs('default', 'a', {}, '2024-01-01T00:00:00Z')]), 'default/a');
    assert.equal(winner([vs('default', 'new', {}), vs('team', 'old', {}, '2024-01-01T00:00:00Z')]), 'team/old');
  });

  it('gateway-only ones do not count; mesh among gateways does', () => {
    assert.equal(winner([vs('default', 'gw', { gateways: ['istio-system/gw'] }, '2020-01-01T00:00:00Z'), vs('default', 'mine', {})]), 'default/mine');
    assert.equal(winner([vs('default', 'both', { gateways: ['istio-system/gw', 'mesh'] }, '2020-01-01T00:00:00Z'), vs('default', 'mine', {})]), 'default/both');
  });

  it('exportTo: the caller\'s own private ones first, then those exported to it, then public ones; "~" hides', () => {
    const list = [
      vs('default', 'public', {}, '2020-01-01T00:00:00Z'),
      vs('dev', 'private', { exportTo: ['.'] }, '2030-01-01T00:00:00Z'),
      vs('ops', 'to-dev', { exportTo: ['dev'] }, '2029-01-01T00:00:00Z'),
    ];
    assert.equal(winner(list, 'dev'), 'dev/private');
    assert.equal(winner(list.slice(0, 1).concat(list[2]!), 'dev'), 'ops/to-dev');
    assert.equal(winner(list, 'default'), 'default/public');
    assert.equal(winner([vs('ops', 'hidden', { exportTo: ['~'] }, '2020-01-01T00:00:00Z')]), undefined);
  });

  it('an exact host beats any wildcard, whatever their age; of wildcards, the most specific', () => {
    const wild = (name: string, h: string, created: string) => ({ ...vs('other', name, {}, created), spec: { hosts: [h], http: [{ route: [{ destination: { host: 'x' } }] }] } });
    assert.equal(winner([wild('wild', '*.default.svc.cluster.local', '2020-01-01T00:00:00Z'), vs('default', 'mine', {}, '2023-01-01T00:00:00Z')]), 'default/mine');
    assert.equal(
      winner([
        wild('any', '*', '2019-01-01T00:00:00Z'),
        wild('svc', '*.svc.cluster.local', '2020-01-01T00:00:00Z'),
        wild('ns', '*.default.svc.cluster.local', '2021-01-01T00:00:00Z'),
      ]),
      'other/ns',
    );
  });

  it('one with no route for the port does not claim the host there', () => {
    const portOnly = vs('default', 'grpc', { http: [{ match: [{ port: 9090 }], route: [{ destination: { host } }] }] }, '2020-01-01T00:00:00Z');
    assert.equal(winner([portOnly, vs('default', 'mine', {})], 'default', 80), 'default/mine');
    assert.equal(winner([portOnly, vs('default', 'mine', {})], 'default', 9090), 'default/grpc');
  });

  it("short hosts are the VirtualService namespace's Services; Host headers resolve in the caller's", () => {
    const short = { ...vs('team', 'short', {}, '2020-01-01T00:00:00Z'), spec: { hosts: ['my-app'], http: [{ route: [{ destination: { host: 'x' } }] }] } };
    assert.equal(winner([short, vs('default', 'mine', {})]), 'default/mine', 'my-app in namespace team is my-app.team');
    assert.equal(hostFqdn('my-app', 'dev'), 'my-app.dev.svc.cluster.local');
    assert.equal(hostFqdn('my-app.default:80', 'dev'), host);
    assert.equal(hostFqdn('my-app.default.svc', 'dev'), host);
  });
});

describe('trace', () => {
  it('flags a destination whose Service lacks the port (Istio generates no such cluster; Envoy answers 503)', () => {
    const svc = (ns: string, port: number) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'my-app', namespace: ns }, spec: { ports: [{ port }] } });
    const vs: VirtualService = {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'my-app', namespace: 'default' },
      spec: { hosts: ['my-app'], http: [{ route: [{ destination: { host: 'my-app.dev-alice.svc.cluster.local' } }] }] },
    };
    const a = traceRequest(
      { services: [svc('default', 80), svc('dev-alice', 8080)], virtualServices: [vs] },
      { host: 'my-app.default', port: 80, path: '/', method: 'GET', headers: {}, from: 'default' },
    );
    assert.equal(a.cluster, 'outbound|80||my-app.dev-alice.svc.cluster.local');
    assert.equal(a.destinations?.[0]?.noSuchPort, true);
    const gone = traceRequest(
      { services: [svc('default', 80)], virtualServices: [vs] },
      { host: 'my-app.default', port: 80, path: '/', method: 'GET', headers: {}, from: 'default' },
    );
    assert.equal(gone.destinations?.[0]?.noSuchService, true);
  });
});
