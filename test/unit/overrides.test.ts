// The overrides annotation (parsing, checking, canonical text, reading it from live objects) and the edits
// the route commands make to it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addRoute, clearRoutes, removeRoutes, resetOverrides, type OverrideContext } from '../../src/core/edit.ts';
import { NO_OVERRIDES, parseOverrides, readOverrides, serialize } from '../../src/core/overrides.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { Service } from '../../src/core/types.ts';
import { NotFoundError, UsageError } from '../../src/errors.ts';
import { config, headerRoute, overrides, seedVirtualService, service, virtualService, withOverrides } from '../helpers/fixtures.ts';

describe('parseOverrides', () => {
  it('reads what serialize writes, and serialize is canonical (fixed key order, no empty extras)', () => {
    const o = overrides({
      routes: [headerRoute('dev-alice', 'x-cid=alice'), { ...headerRoute('dev-bob', 'x-team=pay', { match: 'prefix', port: 80, force: true }) }],
      weights: [{ namespace: 'dev-alice', percent: 20 }],
      removed: ['staging'],
    });
    const text = serialize(o);
    assert.equal(
      text,
      '{"version":1,"routes":[{"namespace":"dev-alice","id":1,"headers":[{"name":"x-cid","value":"alice","match":"exact"}]},{"namespace":"dev-bob","id":1,"headers":[{"name":"x-team","value":"pay","match":"prefix"}],"port":80,"force":true}],"weights":[{"namespace":"dev-alice","percent":20}],"removed":["staging"],"cleared":false}',
    );
    // Read back, each route carries its number (the first of its namespace: 1).
    assert.deepEqual(parseOverrides(text), { overrides: { ...o, routes: o.routes.map((r) => ({ ...r, id: 1 })) }, problems: [] });
    // Written by hand, in another order and without the empty parts: the same overrides.
    const byHand = parseOverrides('{"cleared": true, "version": 1}');
    assert.deepEqual(byHand.overrides, overrides({ cleared: true }));
    assert.equal(parseOverrides('{"version":1,"routes":[{"namespace":"dev-a","headers":[{"name":"x-a","value":"b"}]}]}').overrides!.routes[0]!.headers[0]!.match, 'exact');
  });

  it('numbers routes per namespace, writes every number, and keeps the numbers when routes go', () => {
    const route = (ns: string, v: string) => headerRoute(ns, `x-a=${v}`);
    const o = overrides({ routes: [route('a', '1'), route('b', '1'), route('a', '2'), route('a', '3')] });
    const read = parseOverrides(serialize(o)).overrides!;
    assert.deepEqual(
      read.routes.map((r) => `${r.namespace}-${r.id}`),
      ['a-1', 'b-1', 'a-2', 'a-3'],
    );
    // a-2 goes: a-3 keeps its number.
    const after = { ...read, routes: read.routes.filter((r) => r.id !== 2 || r.namespace !== 'a') };
    const text = serialize(after);
    assert.deepEqual(
      JSON.parse(text).routes.map((r: { id?: number }) => r.id),
      [1, 1, 3],
    );
    const again = parseOverrides(text).overrides!;
    assert.deepEqual(
      again.routes.map((r) => `${r.namespace}-${r.id}`),
      ['a-1', 'b-1', 'a-3'],
    );
    // A route added afterwards takes the next number of its namespace, never a freed one.
    const added = parseOverrides(serialize({ ...again, routes: [...again.routes, route('a', '4')] })).overrides!;
    assert.equal(added.routes.at(-1)!.id, 4);
  });

  const bad: [string, string, (string | RegExp)[]][] = [
    [
      'two routes with one number',
      '{"version":1,"routes":[{"namespace":"dev-a","headers":[{"name":"x-a","value":"b"}]},{"namespace":"dev-a","id":1,"headers":[{"name":"x-a","value":"c"}]}]}',
      ['routes: two routes of namespace dev-a are numbered 1'],
    ],
    [
      'an id that is no number',
      '{"version":1,"routes":[{"namespace":"dev-a","id":"x","headers":[{"name":"x-a","value":"b"}]}]}',
      ['routes[0].id: must be a whole number from 1 to 1000000, not "x"'],
    ],
    ['not JSON', '{version: 1}', [/^is not valid JSON/]],
    ['not an object', '[1]', ['must be a JSON object']],
    ['no version', '{"routes":[]}', ['version: must be 1, not null']],
    ['a newer version', '{"version":2}', ['version: 2 is newer than this vsop understands (1): upgrade vsop']],
    ['an unknown field', '{"version":1,"route":[]}', ['route: is not a known field']],
    ['routes not a list', '{"version":1,"routes":{}}', ['routes: must be a list']],
    ['a bad namespace', '{"version":1,"routes":[{"namespace":"Dev_A","headers":[{"name":"x-a","value":"b"}]}]}', [/routes\[0\]\.namespace: "Dev_A" is not a valid namespace name/]],
    ['no headers', '{"version":1,"routes":[{"namespace":"dev-a"}]}', ['routes[0].headers: must hold at least one header']],
    ['no headers in the list', '{"version":1,"routes":[{"namespace":"dev-a","headers":[]}]}', ['routes[0].headers: must hold at least one header']],
    [
      'an upper-case header name',
      '{"version":1,"routes":[{"namespace":"dev-a","headers":[{"name":"X-A","value":"b"}]}]}',
      [/routes\[0\]\.headers\[0\]\.name: "X-A" is not lower case/],
    ],
    [
      'an unknown match',
      '{"version":1,"routes":[{"namespace":"dev-a","headers":[{"name":"x-a","value":"b","match":"suffix"}]}]}',
      ['routes[0].headers[0].match: must be one of exact, prefix, regex, not "suffix"'],
    ],
    [
      'a lookahead',
      '{"version":1,"routes":[{"namespace":"dev-a","headers":[{"name":"x-a","value":"(?=b)","match":"regex"}]}]}',
      [/value: "\(\?=b\)" is not an RE2 regular expression/],
    ],
    [
      'a header twice',
      '{"version":1,"routes":[{"namespace":"dev-a","headers":[{"name":"x-a","value":"b"},{"name":"x-a","value":"c"}]}]}',
      ['routes[0].headers: header "x-a" appears twice'],
    ],
    ['port 0', '{"version":1,"routes":[{"namespace":"dev-a","headers":[{"name":"x-a","value":"b"}],"port":0}]}', ['routes[0].port: must be a port number from 1 to 65535, not 0']],
    ['weight 101', '{"version":1,"weights":[{"namespace":"dev-a","percent":101}]}', ['weights[0].percent: must be a whole number from 0 to 100, not 101']],
    ['a negative weight', '{"version":1,"weights":[{"namespace":"dev-a","percent":-1}]}', ['weights[0].percent: must be a whole number from 0 to 100, not -1']],
    ['a fractional weight', '{"version":1,"weights":[{"namespace":"dev-a","percent":2.5}]}', ['weights[0].percent: must be a whole number from 0 to 100, not 2.5']],
    ['weights over 100 in all', '{"version":1,"weights":[{"namespace":"dev-a","percent":60},{"namespace":"dev-b","percent":50}]}', ['weights: add up to 110%, more than 100%']],
    [
      'one namespace weighted twice',
      '{"version":1,"weights":[{"namespace":"dev-a","percent":1},{"namespace":"dev-a","percent":2}]}',
      ['weights: namespace "dev-a" has two weights'],
    ],
    ['cleared not a boolean', '{"version":1,"cleared":"yes"}', ['cleared: must be true or false, not "yes"']],
    ['removed twice', '{"version":1,"removed":["dev-a","dev-a"]}', ['removed: names "dev-a" twice']],
  ];
  for (const [what, text, expected] of bad) {
    it(`rejects ${what}`, () => {
      const r = parseOverrides(text);
      assert.equal(r.overrides, undefined);
      const got = r.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
      assert.equal(got.length, expected.length, got.join('\n'));
      expected.forEach((e, i) => (typeof e === 'string' ? assert.equal(got[i], e) : assert.match(got[i]!, e)));
    });
  }

  it('reports every problem at once', () => {
    const r = parseOverrides('{"version":1,"weights":[{"namespace":"dev-a","percent":101}],"removed":["A"],"cleared":1}');
    assert.deepEqual(
      r.problems.map((p) => p.path),
      ['weights[0].percent', 'removed[0]', 'cleared'],
    );
  });
});

describe('readOverrides', () => {
  const nameFor = (s: string) => `${s}-virtual-service`;

  it('reads managed objects of the production namespace only, by the Service they are for', () => {
    const o = overrides({ removed: ['dev-bob'] });
    const mine = withOverrides(seedVirtualService('a', []), o);
    const foreign = withOverrides(virtualService('b-virtual-service', [], { managed: false, service: 'b' }), o);
    const elsewhere = withOverrides(seedVirtualService('c', [], 'other'), o);
    const r = readOverrides([mine, foreign, elsewhere, seedVirtualService('d', [])], 'default', nameFor);
    assert.deepEqual([...r.byService.keys()], ['a']);
    assert.deepEqual(r.byService.get('a'), o);
    assert.equal(r.invalid.size, 0);
  });

  it('names the object whose annotation cannot be read', () => {
    const r = readOverrides([withOverrides(seedVirtualService('a', []), '{"version":1,"weights":[{"namespace":"dev-a","percent":101}]}')], 'default', nameFor);
    assert.equal(r.byService.size, 0);
    assert.deepEqual(r.invalid.get('default/a-virtual-service'), {
      service: 'a',
      problem: {
        source: 'virtualservice default/a-virtual-service',
        path: 'annotation vsop.io/overrides',
        message: 'weights[0].percent: must be a whole number from 0 to 100, not 101',
      },
    });
  });

  it('prefers the object named as the template names it now, when two claim one Service', () => {
    const old = withOverrides({ ...seedVirtualService('a', []), metadata: { ...seedVirtualService('a', []).metadata, name: 'a-old' } }, overrides({ cleared: true }));
    const current = withOverrides(seedVirtualService('a', []), overrides({ removed: ['dev-bob'] }));
    for (const order of [
      [old, current],
      [current, old],
    ]) {
      assert.deepEqual(readOverrides(order, 'default', nameFor).byService.get('a'), overrides({ removed: ['dev-bob'] }));
    }
  });
});

/** The context an edit sees for `name`, from these Services, as the resolver builds it. */
function context(services: Service[], cfg = config(), name = 'my-app'): OverrideContext {
  let ctx: OverrideContext | undefined;
  resolve(cfg.config, cfg.template, services, { overrides: (s, c) => (s === name ? (ctx = c) : undefined) && undefined });
  assert.ok(ctx, `no context for ${name}`);
  return ctx;
}

const seed = () => [service('default', 'my-app'), service('dev-alice', 'my-app'), service('staging', 'my-app'), service('dev-bob', 'my-app', { placeholder: true })];

describe('route add', () => {
  const add = (req: Parameters<typeof addRoute>[0], current = NO_OVERRIDES, services = seed(), cfg = config()) => addRoute(req).apply(current, context(services, cfg));

  it('records a header route, and adding the same one again changes nothing', () => {
    const once = add({ namespace: 'dev-alice', headers: headerRoute('dev-alice', 'x-cid=alice').headers });
    assert.deepEqual(once, overrides({ routes: [headerRoute('dev-alice', 'x-cid=alice')] }));
    assert.deepEqual(add({ namespace: 'dev-alice', headers: headerRoute('dev-alice', 'x-cid=alice').headers }, once), once);
  });

  it('adding a route again (say with --force now) keeps its number, and so its name', () => {
    const third = { ...headerRoute('dev-alice', 'x-cid=c'), id: 3 };
    const current = overrides({ routes: [{ ...headerRoute('dev-alice', 'x-cid=a'), id: 1 }, third] });
    const again = add({ namespace: 'dev-alice', headers: third.headers, force: true }, current);
    assert.deepEqual(again.routes[1], { ...third, force: true });
  });

  it('keeps a header route and a weight for one namespace apart, and replaces a weight', () => {
    const both = add({ namespace: 'dev-alice', headers: headerRoute('dev-alice', 'x-cid=alice').headers, weight: 20 });
    assert.deepEqual(both, overrides({ routes: [headerRoute('dev-alice', 'x-cid=alice')], weights: [{ namespace: 'dev-alice', percent: 20 }] }));
    assert.deepEqual(add({ namespace: 'dev-alice', headers: [], weight: 30 }, both).weights, [{ namespace: 'dev-alice', percent: 30 }]);
    assert.deepEqual(add({ namespace: 'dev-alice', headers: [], weight: 0 }, both).weights, [], 'weight 0 is no weight');
  });

  const refused: [string, Parameters<typeof addRoute>[0], typeof UsageError | typeof NotFoundError, RegExp][] = [
    [
      'a namespace not in the config',
      { namespace: 'dev-carol', headers: headerRoute('x', 'x-a=b').headers },
      UsageError,
      /^namespace "dev-carol" is not a developer namespace in the configuration$/,
    ],
    ['the production namespace', { namespace: 'default', headers: headerRoute('x', 'x-a=b').headers }, UsageError, /^namespace "default" is the production namespace/],
    [
      'a namespace with only a placeholder',
      { namespace: 'dev-bob', headers: headerRoute('x', 'x-a=b').headers },
      NotFoundError,
      /^service dev-bob\/my-app is only a placeholder vsop created, not a real Service$/,
    ],
    [
      'a port the Service lacks',
      { namespace: 'dev-alice', headers: headerRoute('x', 'x-a=b').headers, port: 81 },
      UsageError,
      /^port 81 is not a port of service default\/my-app \(it has: 80\)$/,
    ],
    [
      'weights over 100 in all',
      { namespace: 'staging', headers: [], weight: 90 },
      UsageError,
      /^weights for service default\/my-app would add up to 110% \(dev-alice 20%, staging 90%\); at most 100%$/,
    ],
    [
      'a header another namespace has',
      { namespace: 'staging', headers: headerRoute('x', 'x-cid=alice').headers },
      UsageError,
      /^requests with x-cid equal to "alice" already go to dev-alice$/,
    ],
  ];
  for (const [what, req, type, message] of refused) {
    it(`refuses ${what}`, () => {
      const current = overrides({ routes: [headerRoute('dev-alice', 'x-cid=alice')], weights: [{ namespace: 'dev-alice', percent: 20 }] });
      assert.throws(
        () => add(req, current),
        (err: unknown) => err instanceof type && message.test(err.message),
      );
    });
  }

  it("refuses a hand route on the routing header that would take a namespace's requests (its value, or any prefix or regex)", () => {
    assert.throws(() => add({ namespace: 'dev-alice', headers: headerRoute('x', 'x-developer=staging').headers }), /^UsageError: requests with x-developer: staging are staging's/);
    assert.throws(() => add({ namespace: 'dev-alice', headers: headerRoute('x', 'x-developer=dev-alice').headers }), /already go to dev-alice/);
    assert.throws(
      () => add({ namespace: 'dev-alice', headers: headerRoute('x', 'X-Developer=st', { match: 'prefix' }).headers }),
      /with --match prefix would take requests meant for other developer namespaces/,
    );
    assert.deepEqual(
      add({ namespace: 'dev-alice', headers: headerRoute('x', 'x-developer=alice-2').headers }).routes,
      [headerRoute('dev-alice', 'x-developer=alice-2')],
      'a value no namespace uses',
    );
    const removed = overrides({ removed: ['staging'] });
    assert.deepEqual(
      add({ namespace: 'dev-alice', headers: headerRoute('x', 'x-developer=staging').headers }, removed).routes,
      [headerRoute('dev-alice', 'x-developer=staging')],
      "once staging's route is taken away",
    );
  });

  it('refuses a namespace without the Service unless forced', () => {
    const services = [service('default', 'my-app')];
    assert.throws(() => add({ namespace: 'staging', headers: headerRoute('x', 'x-a=b').headers }, NO_OVERRIDES, services), /^NotFoundError: service staging\/my-app not found$/);
    assert.deepEqual(add({ namespace: 'staging', headers: headerRoute('x', 'x-a=b').headers, force: true }, NO_OVERRIDES, services).routes, [
      headerRoute('staging', 'x-a=b', { force: true }),
    ]);
  });

  it('refuses a weight to a copy that lacks some of the production ports, unless forced', () => {
    const services = [service('default', 'my-app', { ports: [80, 9090] }), service('dev-alice', 'my-app', { ports: [80] })];
    assert.throws(() => add({ namespace: 'dev-alice', headers: [], weight: 10 }, NO_OVERRIDES, services), /lacks port 9090 of service default\/my-app/);
    assert.throws(
      () => add({ namespace: 'dev-alice', headers: headerRoute('x', 'x-a=b').headers, port: 9090 }, NO_OVERRIDES, services),
      /^NotFoundError: service dev-alice\/my-app has no port 9090$/,
    );
    assert.deepEqual(add({ namespace: 'dev-alice', headers: [], weight: 10, force: true }, NO_OVERRIDES, services).weights, [{ namespace: 'dev-alice', percent: 10, force: true }]);
  });

  it('refuses a header route to a copy whose port is only UDP (Istio builds no cluster for it), unless forced', () => {
    const udpOnly = service('dev-alice', 'my-app');
    udpOnly.spec!.ports = [{ port: 80, protocol: 'UDP' }];
    const services = [service('default', 'my-app'), udpOnly];
    assert.throws(
      () => add({ namespace: 'dev-alice', headers: headerRoute('x', 'x-a=b').headers }, NO_OVERRIDES, services),
      /^NotFoundError: service dev-alice\/my-app has no port 80, where Istio would send/,
    );
    assert.equal(add({ namespace: 'dev-alice', headers: headerRoute('x', 'x-a=b').headers, force: true }, NO_OVERRIDES, services).routes.length, 1);
  });

  it('refuses a weight when no template route sends to production alone', () => {
    const cfg = config({
      virtualServiceTemplate:
        'apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n  name: "${serviceName}"\nspec:\n  http:\n  - match: [{uri: {prefix: /}}]\n    route: [{destination: {host: x}}]\n',
    });
    assert.throws(
      () => add({ namespace: 'dev-alice', headers: [], weight: 10 }, NO_OVERRIDES, seed(), cfg),
      /cannot be split by weight: the template has no route that sends to the production Service alone/,
    );
  });
});

describe('route rm, route reset, clear', () => {
  const current = overrides({
    routes: [headerRoute('dev-alice', 'x-cid=alice'), headerRoute('staging', 'x-cid=qa')],
    weights: [{ namespace: 'dev-alice', percent: 20 }],
    removed: ['dev-bob'],
  });
  const ctx = () => context(seed());

  it("route rm takes the namespace's header routes and weight away and records the automatic one as removed", () => {
    assert.deepEqual(removeRoutes('dev-alice').apply(current, ctx()), overrides({ routes: [headerRoute('staging', 'x-cid=qa')], removed: ['dev-bob', 'dev-alice'] }));
    assert.deepEqual(removeRoutes('dev-bob').apply(current, ctx()), current, 'removing twice changes nothing');
    assert.throws(() => removeRoutes('dev-carol').apply(current, ctx()), UsageError);
  });

  it("route reset drops everything, or one namespace's overrides, and needs no readable annotation for the first", () => {
    assert.equal(resetOverrides().readsCurrent, false);
    assert.deepEqual(resetOverrides().apply(current, ctx()), NO_OVERRIDES);
    assert.deepEqual(resetOverrides('dev-alice').apply(current, ctx()), overrides({ routes: [headerRoute('staging', 'x-cid=qa')], removed: ['dev-bob'] }));
    assert.deepEqual(resetOverrides('dev-bob').apply(current, ctx()).removed, []);
  });

  it('route reset -n accepts a namespace that left the config while it still has overrides, and refuses a typo', () => {
    const left = overrides({ routes: [headerRoute('dev-carol', 'x-a=b')] });
    assert.deepEqual(resetOverrides('dev-carol').apply(left, ctx()), NO_OVERRIDES);
    assert.throws(() => resetOverrides('dev-carlo').apply(left, ctx()), /^UsageError: namespace "dev-carlo" is not a developer namespace/);
  });

  it('clear replaces whatever was recorded with production only', () => {
    assert.equal(clearRoutes.readsCurrent, false);
    assert.deepEqual(clearRoutes.apply(current, ctx()), overrides({ cleared: true }));
  });
});
