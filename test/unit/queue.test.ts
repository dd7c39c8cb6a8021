// The work queue's promises (controller-runtime's and client-go's workqueue): a key waits at most once, is
// never handed to two workers at once, comes back once after it is done if it was added meanwhile, backs off
// per key on failure, and a shut-down queue hands out nothing. The Settler in front of it: an isolated event
// goes in at once, a flow of events goes in once, at its end.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { Settler, WorkQueue, type SettleOptions } from '../../src/watch/queue.ts';

/** Lets promise callbacks run (setImmediate is not among the faked timers). */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Every key the queue hands out right now, without waiting. */
async function drain(q: WorkQueue): Promise<string[]> {
  const out: string[] = [];
  while (q.depth > 0) out.push((await q.get())!);
  return out;
}

describe('WorkQueue: dedup', () => {
  it('a key added again while it waits waits once, in the order first added', async () => {
    const q = new WorkQueue();
    for (const k of ['a', 'b', 'a', 'c', 'b', 'a']) q.add(k);
    assert.equal(q.depth, 3);
    assert.deepEqual(await drain(q), ['a', 'b', 'c']);
  });

  it('a key added while in process is not queued beside it, and runs once more after done', async () => {
    const q = new WorkQueue();
    q.add('a');
    assert.equal(await q.get(), 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.depth, 0, 'not queued while a worker holds it');
    assert.equal(q.busy, 1);
    q.done('a');
    assert.equal(q.busy, 0);
    assert.deepEqual(await drain(q), ['a'], 'back exactly once');
    q.done('a');
    assert.equal(q.depth, 0, 'done without a new add: nothing comes back');
  });

  it('a key that was not added again while in process does not come back', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    q.done('a');
    assert.equal(q.depth, 0);
  });
});

describe('WorkQueue: one worker per key', () => {
  it('a second worker waits instead of taking a key in process, and gets it when the first is done', async () => {
    const q = new WorkQueue();
    q.add('a');
    const first = await q.get();
    q.add('a'); // an event during the reconcile
    let second: string | undefined;
    void q.get().then((k) => (second = k));
    await flush();
    assert.equal(second, undefined, 'the key is in process: the second worker must not get it');
    q.done(first!);
    await flush();
    assert.equal(second, 'a');
    assert.equal(q.busy, 1);
  });

  it('a waiting worker is handed a new key at once, and other keys run in parallel', async () => {
    const q = new WorkQueue();
    const taken: string[] = [];
    void q.get().then((k) => taken.push(k!));
    void q.get().then((k) => taken.push(k!));
    q.add('a');
    q.add('b');
    q.add('a'); // in process now: marked to run again, not handed to the idle worker
    await flush();
    assert.deepEqual(taken, ['a', 'b']);
    assert.equal(q.busy, 2);
    assert.equal(q.depth, 0);
  });

  it('under random adds and finishes, no key is ever held by two workers, and every add is served', async () => {
    const q = new WorkQueue();
    const held = new Set<string>();
    let seed = 7;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const keys = ['a', 'b', 'c', 'd'];
    const pendingSince = new Map<string, number>(); // key -> adds not yet followed by a start
    let starts = 0;
    const worker = async () => {
      for (;;) {
        const k = await q.get();
        if (k === undefined) return;
        assert.ok(!held.has(k), `${k} handed to two workers at once`);
        held.add(k);
        pendingSince.delete(k);
        starts++;
        await flush();
        held.delete(k);
        q.done(k);
      }
    };
    const workers = [worker(), worker(), worker()];
    for (let i = 0; i < 400; i++) {
      const k = keys[Math.floor(rand() * keys.length)]!;
      q.add(k);
      pendingSince.set(k, i);
      if (rand() < 0.5) await flush();
    }
    for (let i = 0; i < 20 && (pendingSince.size > 0 || q.busy > 0); i++) await flush();
    assert.equal(pendingSince.size, 0, `added but never run afterwards: ${[...pendingSince.keys()]}`);
    assert.ok(starts < 400, 'adds coalesce');
    q.shutDown();
    await Promise.all(workers);
  });
});

describe('WorkQueue: delays', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('addAfter adds after the delay; a second addAfter while one is pending does not add twice', () => {
    const q = new WorkQueue();
    q.addAfter('a', 100);
    q.addAfter('a', 50);
    mock.timers.tick(99);
    assert.equal(q.depth, 0);
    mock.timers.tick(1);
    assert.equal(q.depth, 1);
    mock.timers.tick(1000);
    assert.equal(q.depth, 1);
  });

  it('addRateLimited doubles the delay per failure of the same key, up to maxDelay; forget resets it', () => {
    const q = new WorkQueue({ baseDelay: 100, maxDelay: 500 });
    const delays = [1, 2, 3, 4, 5].map(() => {
      const d = q.addRateLimited('a');
      mock.timers.tick(d);
      return d;
    });
    assert.deepEqual(delays, [100, 200, 400, 500, 500]);
    assert.equal(q.addRateLimited('b'), 100, 'per key');
    q.forget('a');
    assert.equal(q.addRateLimited('a'), 100);
  });
});

describe('WorkQueue: shutdown', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  it('waiting workers get undefined; later gets get undefined; queued and delayed keys are dropped', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);

    const r = new WorkQueue();
    r.add('a');
    r.addAfter('b', 10);
    r.shutDown();
    assert.equal(await r.get(), undefined);
    mock.timers.tick(1000);
    r.add('d');
    assert.equal(r.depth, 0);
    assert.equal(await r.get(), undefined);
  });

  it('a key in process may still be marked done after shutdown, and does not come back', async () => {
    const q = new WorkQueue();
    q.add('a');
    await q.get();
    q.add('a');
    q.shutDown();
    q.done('a');
    assert.equal(q.depth, 0);
    assert.equal(q.busy, 0);
  });
});

describe('WorkQueue: hooks', () => {
  it('reports adds, depth, and how long a key waited (seconds, from the injected clock)', async () => {
    let clock = 1000;
    const seen: string[] = [];
    const q = new WorkQueue({
      now: () => clock,
      hooks: { add: () => seen.push('add'), depth: (n) => seen.push(`depth ${n}`), waited: (s) => seen.push(`waited ${s}`), retry: () => seen.push('retry') },
    });
    q.add('a');
    clock += 2500;
    await q.get();
    assert.deepEqual(seen, ['add', 'depth 1', 'depth 0', 'waited 2.5']);
    clock += 1000;
    assert.deepEqual(q.running(), { longest: 1, total: 1 });
  });
});

describe('Settler', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  const OPTS: SettleOptions = { gapMs: 50, quietMs: 400, maxMs: 30_000 };

  /** A settler on a recording queue, and a clock that moves the faked timers with it. */
  function settler(opts: Partial<SettleOptions> = {}) {
    let clock = 10_000;
    const added: string[] = [];
    const s = new Settler({ add: (key) => added.push(key) }, { ...OPTS, ...opts, now: () => clock });
    const at = (ms: number) => {
      clock += ms;
      mock.timers.tick(ms);
    };
    return { s, added, at, event: (...keys: string[]) => s.event(keys) };
  }

  it('an event on an idle controller goes to the queue at once, with every key it bears on', () => {
    const { added, event } = settler();
    event('a', 'b');
    assert.deepEqual(added, ['a', 'b'], 'no timer has fired: added at once');
  });

  it('a steady trickle of events gapMs apart, however long, is event after event, each at once', () => {
    const { s, added, at, event } = settler();
    for (let i = 0; i < 1000; i++) {
      event(`k${i % 7}`);
      assert.equal(added.length, i + 1, `event ${i} at once`);
      assert.equal(s.holding, 0);
      at(OPTS.gapMs);
    }
  });

  it('an event soon after another starts a flow: it and those after it are held, then go together, each key once', () => {
    const { s, added, at, event } = settler();
    event('a');
    for (const key of ['b', 'c', 'b', 'a', 'c']) {
      at(10);
      event(key);
    }
    assert.deepEqual(added, ['a'], 'only the first, isolated when it came');
    assert.equal(s.holding, 3);
    at(OPTS.quietMs - 1);
    assert.deepEqual(added, ['a'], 'not yet quiet');
    at(1);
    assert.deepEqual([...added].sort(), ['a', 'a', 'b', 'c'], 'b and c once; a again, since the flow touched it again');
    assert.equal(s.holding, 0);
  });

  it('a flow that stalls for longer than gapMs goes on: the event after the stall is held with the rest', () => {
    const { added, at, event } = settler();
    event('first');
    at(1);
    event('a');
    at(OPTS.quietMs - 1);
    event('late');
    assert.deepEqual(added, ['first']);
    at(OPTS.quietMs - 1);
    assert.deepEqual(added, ['first'], 'quiet is counted from the last event');
    at(1);
    assert.deepEqual(added, ['first', 'a', 'late']);
  });

  it('after a flow has ended, the next event is isolated again', () => {
    const { added, at, event } = settler();
    event('a');
    at(1);
    event('b');
    at(OPTS.quietMs);
    assert.deepEqual(added, ['a', 'b']);
    event('c');
    assert.deepEqual(added, ['a', 'b', 'c'], 'at once');
  });

  it('a flow that never stops lets held keys go maxMs after the first was held, and holds again after', () => {
    const { added, at, event } = settler({ maxMs: 1000 });
    event('x');
    // Held from t=10 on: they go at t=1010, just before the event of that moment, which is held anew.
    let t = 0;
    for (; t <= 1000; t += 10) {
      at(10);
      event(`k${(t / 10) % 3}`);
    }
    assert.deepEqual(added.sort(), ['k0', 'k1', 'k2', 'x'], 'at maxMs: each held key once');
    added.length = 0;
    for (; t < 1500; t += 10) {
      at(10);
      event('k0');
    }
    assert.deepEqual(added, [], 'held again: the flow goes on');
    at(OPTS.quietMs);
    assert.deepEqual(added.sort(), ['k0', 'k1'], 'k1 of t=1010 and k0, once each, once the flow is quiet');
  });

  it('drop forgets what is held (every key is going to the queue anyway); after stop, nothing goes in', () => {
    const { s, added, at, event } = settler();
    event('a');
    event('b');
    s.drop();
    at(OPTS.quietMs);
    assert.deepEqual(added, ['a']);
    at(OPTS.gapMs);
    s.stop();
    event('c');
    at(OPTS.quietMs);
    assert.deepEqual(added, ['a']);
  });

  it('the burst property: 1,000 events for 50 keys, with stalls, send each key to the queue once; the opening key twice at most', () => {
    const { added, at, event } = settler();
    let seed = 11;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    // 20 namespaces x 50 Services created namespace by namespace, 0-2 ms apart, the first few spread out
    // while the client opens its connections, with a stall of up to 150 ms now and then: each
    // VirtualService is touched 20 times, 50 events apart.
    let n = 0;
    for (let ns = 0; ns < 20; ns++) {
      for (let svc = 0; svc < 50; svc++) {
        event(`svc-${svc}`);
        at(n++ < 5 ? 40 : rand() < 0.02 ? Math.floor(rand() * 150) : Math.floor(rand() * 3));
      }
    }
    at(OPTS.quietMs);
    const times = new Map<string, number>();
    for (const key of added) times.set(key, (times.get(key) ?? 0) + 1);
    assert.equal(times.size, 50);
    assert.deepEqual(
      [...times].filter(([key, n]) => n > (key === 'svc-0' ? 2 : 1)),
      [],
      'more than once to the queue',
    );
    assert.equal(added.length, 51, 'the opening event at once, then every key once at the end');
  });
});
