// route add refuses a header route that would take requests another namespace's route catches
// (edit.ts, on routing/overlap.ts): which routes are rivals, what the messages say, and --force.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addRoute, type OverrideContext } from '../../src/core/edit.ts';
import { NO_OVERRIDES, type Overrides } from '../../src/core/overrides.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { Service } from '../../src/core/types.ts';
import { UsageError } from '../../src/errors.ts';
import { config, headerRoute, overrides, service } from '../helpers/fixtures.ts';

/** The context route add sees for my-app, as the resolver builds it. */
function context(services: Service[]): OverrideContext {
  let ctx: OverrideContext | undefined;
  const { config: c, template } = config({ developerNamespaces: ['dev-alice', 'dev-bob', { name: 'staging', headerValue: 'stage' }] });
  resolve(c, template, services, { overrides: (s, x) => (s === 'my-app' ? (ctx = x) : undefined) && undefined });
  assert.ok(ctx);
  return ctx;
}

const seed = (ports = [80]) => ['default', 'dev-alice', 'dev-bob', 'staging'].map((ns) => service(ns, 'my-app', { ports }));

/** dev-alice adds `header` (NAME=VALUE) with these options, on top of `current`. */
function add(header: string, opts: { match?: 'exact' | 'prefix' | 'regex'; port?: number; force?: boolean } = {}, current: Overrides = NO_OVERRIDES, ports?: number[]) {
  const { headers } = headerRoute('dev-alice', header, { match: opts.match });
  return addRoute({ namespace: 'dev-alice', headers, ...(opts.port ? { port: opts.port } : {}), ...(opts.force ? { force: true } : {}) }).apply(current, context(seed(ports)));
}

const refused = (fn: () => unknown, message: string | RegExp, hint?: RegExp) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UsageError, String(err));
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    if (hint) assert.match(err.hint ?? '', hint);
    return true;
  });

const staging = overrides({
  routes: [
    headerRoute('staging', 'x-cid=qa-', { match: 'prefix' }),
    headerRoute('dev-bob', 'x-team=pay.*', { match: 'regex', port: 9090 }),
    headerRoute('staging', 'x-ticket=[0-9]+', { match: 'regex' }),
  ],
});

describe("route add: another namespace's requests", () => {
  it("refuses an exact value another namespace's prefix catches, naming it, with the request that meets both", () => {
    refused(
      () => add('x-cid=qa-7', {}, staging),
      `--header x-cid=qa-7 would take requests meant for other developer namespaces: a request with x-cid: "qa-7" would match both it and staging's route vsop-route-staging-1 (x-cid starting with "qa-")`,
      /vsop route reset my-app -n staging$/,
    );
  });

  it("refuses a prefix and a regex on the routing header that meet a namespace's header value (staging answers to stage)", () => {
    refused(
      () => add('x-developer=st', { match: 'prefix' }),
      `--header x-developer=st with --match prefix would take requests meant for other developer namespaces: a request with x-developer: "stage" would match both it and staging's automatic route (x-developer equal to "stage")`,
      /vsop route rm my-app -n staging$/,
    );
    refused(
      () => add('x-developer=dev-b.*', { match: 'regex' }),
      `--header x-developer=dev-b.* with --match regex would take requests meant for other developer namespaces: a request with x-developer: "dev-bob" would match both it and dev-bob's automatic route (x-developer equal to "dev-bob")`,
    );
    refused(() => add('x-developer=stage'), "requests with x-developer: stage are staging's: its automatic route sends them there");
  });

  it('accepts what meets no other namespace: another value of the routing header, by any match, or its own value by prefix', () => {
    for (const [header, match] of [
      ['x-developer=staging', 'exact'],
      ['x-developer=qa-', 'prefix'],
      ['x-developer=dev-a', 'prefix'],
      ['x-developer=(?i)alice-[0-9]+', 'regex'],
    ] as const) {
      assert.equal(add(header, { match }).routes.length, 1, header);
    }
  });

  it('leaves routes on other headers alone (a request carrying both meets the first in order), and a header no rival value meets', () => {
    assert.equal(add('x-env=qa', {}, staging).routes.length, 4);
    assert.equal(add('x-cid=dev-.*', { match: 'regex' }, staging).routes.length, 4);
  });

  it("compares ports: a route for one port takes nothing from another port's", () => {
    const ports = [80, 9090];
    assert.equal(add('x-team=pay-eu', { port: 80 }, staging, ports).routes.length, 4);
    refused(
      () => add('x-team=pay-eu', {}, staging, ports),
      `--header x-team=pay-eu would take requests meant for other developer namespaces: a request with x-team: "pay-eu" would match both it and dev-bob's route vsop-route-dev-bob-1 (x-team matching "pay.*", port 9090)`,
    );
  });

  it('frees what route rm or clear took away', () => {
    assert.equal(add('x-developer=st', { match: 'prefix' }, overrides({ removed: ['staging'] })).routes.length, 1);
    assert.equal(add('x-developer=.*', { match: 'regex' }, overrides({ cleared: true })).routes.length, 1);
  });

  it('refuses two regexes it cannot compare, saying so, unless --force', () => {
    refused(
      () => add('x-ticket=\\pL+', { match: 'regex' }, staging),
      `cannot tell whether --header x-ticket=\\pL+ with --match regex would take requests from staging's route vsop-route-staging-2 (x-ticket matching "[0-9]+"): the two regexes cannot be compared: "\\\\pL+" uses \\p Unicode classes, which vsop does not compare`,
      /^pass --force to add it all the same/,
    );
    const forced = add('x-ticket=\\pL+', { match: 'regex', force: true }, staging);
    assert.deepEqual(forced.routes.at(-1), headerRoute('dev-alice', 'x-ticket=\\pL+', { match: 'regex', force: true }));
    // Where a value of the comparable side matches the other by RE2, that is an overlap shown: qa-A is a letter.
    refused(() => add('x-cid=qa-\\pL+', { match: 'regex', force: true }, staging), /a request with x-cid: "qa-A" would match both/);
    // --force accepts what cannot be compared, never an overlap that is shown.
    refused(() => add('x-cid=qa-.*', { match: 'regex', force: true }, staging), /a request with x-cid: "qa-" would match both/);
  });
});
