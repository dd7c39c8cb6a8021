import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyPlan } from '../../src/apply.ts';
import { plan } from '../../src/core/plan.ts';
import type { HttpRoute, VirtualService } from '../../src/core/types.ts';
import { ApiError, ConflictError } from '../../src/errors.ts';
import { FakePort } from '../helpers/fake-port.ts';
import { seedVirtualService, virtualService } from '../helpers/fixtures.ts';

const fast = { retry: { retries: 5, minTimeout: 1, factor: 2, maxTimeout: 4, randomize: false } };
const opts = { defaultNamespace: 'default' };
const foreign: HttpRoute = { name: 'canary', match: [{ headers: { 'x-canary': { exact: 'yes' } } }], route: [{ destination: { host: 'canary' } }] };

async function syncOnce(port: FakePort, desired: VirtualService[], extra = {}) {
  const live = await port.listVirtualServices('default');
  return applyPlan(plan(desired, live, opts).actions, port, { ...fast, ...extra });
}

describe('applyPlan', () => {
  it('creates, then a second run writes nothing', async () => {
    const port = new FakePort();
    const want = [seedVirtualService('a', ['dev-alice']), seedVirtualService('b', [])];
    assert.deepEqual(
      (await syncOnce(port, want)).map((r) => r.result),
      ['created', 'created'],
    );
    port.calls.length = 0;
    assert.deepEqual(
      (await syncOnce(port, want)).map((r) => r.result),
      ['unchanged', 'unchanged'],
    );
    assert.deepEqual(port.writes(), []);
  });

  it("on a conflict re-reads, re-plans that one object and keeps the other writer's route", async () => {
    const port = new FakePort();
    port.put(seedVirtualService('a', []));
    let meddled = false;
    port.beforeWrite = (verb) => {
      if (verb !== 'update' || meddled) return;
      meddled = true; // someone adds their own route between vsop's read and its write
      const cur = port.get('VirtualService', 'default', 'a-virtual-service') as VirtualService;
      cur.spec.http = [foreign, ...cur.spec.http!];
      port.put(cur);
    };
    const results = await syncOnce(port, [seedVirtualService('a', ['dev-alice'])]);
    assert.deepEqual(
      results.map((r) => [r.result, r.attempts]),
      [['updated', 2]],
    );
    const stored = port.get('VirtualService', 'default', 'a-virtual-service') as VirtualService;
    assert.deepEqual(
      stored.spec.http!.map((r) => r.name),
      ['canary', 'vsop-dev-dev-alice', 'vsop-default'],
    );
    assert.deepEqual(port.writes(), ['update VirtualService/default/a-virtual-service', 'update VirtualService/default/a-virtual-service']);
    assert.ok(port.calls.includes('get virtualservice default/a-virtual-service'), 'the retry read the object again');
  });

  it('a create that loses the race to another creator becomes an update', async () => {
    const port = new FakePort();
    port.beforeWrite = (verb) => {
      if (verb === 'create' && !port.get('VirtualService', 'default', 'a-virtual-service')) port.put(seedVirtualService('a', []));
    };
    const results = await syncOnce(port, [seedVirtualService('a', ['dev-alice'])]);
    assert.deepEqual(
      results.map((r) => r.result),
      ['updated'],
    );
  });

  it('stops with a ConflictError when the object keeps changing past the retries', async () => {
    const port = new FakePort();
    port.put(seedVirtualService('a', []));
    port.beforeWrite = () => {
      port.put(port.get('VirtualService', 'default', 'a-virtual-service')!); // bumps the resourceVersion every time
    };
    await assert.rejects(syncOnce(port, [seedVirtualService('a', ['dev-alice'])]), (err: unknown) => {
      assert.ok(err instanceof ConflictError);
      assert.match(err.message, /virtualservice default\/a-virtual-service: still being changed by someone else after 7 attempts/); // one, one at once on a fresh read, five with backoff
      return true;
    });
  });

  it('never deletes an object that lost its managed label meanwhile', async () => {
    const port = new FakePort();
    port.put(seedVirtualService('gone', []));
    port.beforeWrite = (verb, key) => {
      if (verb !== 'delete') return;
      const cur = port.get('VirtualService', 'default', 'gone-virtual-service')!;
      delete cur.metadata.labels;
      port.put(cur);
      port.beforeWrite = undefined;
      void key;
    };
    const results = await syncOnce(port, []);
    assert.deepEqual(
      results.map((r) => r.result),
      ['unchanged'],
    );
    assert.ok(port.get('VirtualService', 'default', 'gone-virtual-service'), 'still there');
  });

  it('a dry run sends the writes marked as such and stores nothing', async () => {
    const port = new FakePort();
    await syncOnce(port, [seedVirtualService('a', [])], { dryRun: true });
    assert.deepEqual(port.writes(), ['create VirtualService/default/a-virtual-service (dry run)']);
    assert.equal(port.get('VirtualService', 'default', 'a-virtual-service'), undefined);
  });

  it('does not retry what retrying cannot fix (403), and fails after the other objects are done', async () => {
    const port = new FakePort();
    port.beforeWrite = (_verb, key) => {
      if (key.endsWith('/a-virtual-service')) throw new ApiError('forbidden', 403, 'Forbidden');
    };
    await assert.rejects(syncOnce(port, [seedVirtualService('a', []), seedVirtualService('b', [])]), /forbidden/);
    assert.equal(port.writes().filter((w) => w.includes('a-virtual-service')).length, 1, 'one attempt only');
    assert.ok(port.get('VirtualService', 'default', 'b-virtual-service'), 'b was still written');
  });

  it('tells each object once it and every one before it are stored, in plan order (sync prints from this)', async () => {
    const port = new FakePort();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const told: string[] = [];
    const atStore: Record<string, string[]> = {};
    port.beforeWrite = async (_verb, key) => {
      if (key.endsWith('/a-virtual-service')) await held; // a is answered last
      if (key.endsWith('/c-virtual-service')) setTimeout(release, 5);
    };
    const results = await syncOnce(
      port,
      ['a', 'b', 'c'].map((n) => seedVirtualService(n, [])),
      {
        onResult: (r: { name: string }) => {
          told.push(r.name);
          // everything told is stored
          atStore[r.name] = ['a', 'b', 'c'].filter((n) => port.get('VirtualService', 'default', `${n}-virtual-service`));
        },
      },
    );
    assert.deepEqual(told, ['a-virtual-service', 'b-virtual-service', 'c-virtual-service']);
    assert.deepEqual(atStore['a-virtual-service'], ['a', 'b', 'c'], 'a, held, was told only once stored, after b and c');
    assert.deepEqual(
      results.map((r) => r.result),
      ['created', 'created', 'created'],
    );
  });

  it('when an object fails, the others that were stored are told before the run fails', async () => {
    const port = new FakePort();
    const told: string[] = [];
    port.beforeWrite = (_verb, key) => {
      if (key.endsWith('/a-virtual-service')) throw new ApiError('forbidden', 403, 'Forbidden');
    };
    await assert.rejects(
      syncOnce(
        port,
        ['a', 'b', 'c'].map((n) => seedVirtualService(n, [])),
        { onResult: (r: { name: string; result: string }) => told.push(`${r.name} ${r.result}`) },
      ),
      /forbidden/,
    );
    assert.deepEqual(told, ['b-virtual-service created', 'c-virtual-service created']);
  });

  it('waits at least what Retry-After asks on 429', async () => {
    const port = new FakePort();
    let first = true;
    port.beforeWrite = () => {
      if (first) {
        first = false;
        throw new ApiError('too many requests', 429, 'TooManyRequests', { retryAfter: 0.2 });
      }
    };
    const t = performance.now();
    const [r] = await syncOnce(port, [seedVirtualService('a', [])]);
    assert.equal(r!.result, 'created');
    assert.ok(performance.now() - t >= 190, `waited ${performance.now() - t} ms`);
  });

  it('keeps an unmanaged same-named object out of the writes', async () => {
    const port = new FakePort();
    port.put(virtualService('a-virtual-service', [], { managed: false, hosts: ['a'] }));
    const live = await port.listVirtualServices('default');
    const p = plan([seedVirtualService('a', [])], live, opts);
    await applyPlan(p.actions, port, fast);
    assert.deepEqual(port.writes(), []);
    assert.equal(p.findings[0]!.code, 'unmanaged-conflict');
  });
});
