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

  // A flow: 5 events within 4 x 20 ms to start, events less than 50 ms apart to go on (as src/watch/controller.ts settles).
  const OPTS: SettleOptions = { gapMs: 20, flowEvents: 5, keepMs: 50, quietMs: 400, maxMs: 30_000 };

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

  /** A deterministic random number generator, for the same run every time. */
  function random(seed: number): () => number {
    return () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
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

  // A tester's finding: with one Service relabelled every 200 ms, a create that came within 50 ms of a
  // relabel started a "flow" that the relabels kept going, and waited maxMs (10 s).
  it('label churn every 200 ms never holds a create, even one 3 ms after a relabel', () => {
    const { s, added, at, event } = settler({ maxMs: 10_000 });
    for (let i = 0; i < 50; i++) {
      event('pen');
      at(3);
      event(`new-${i}`);
      assert.equal(added.at(-1), `new-${i}`, `create ${i} at once`);
      assert.equal(s.holding, 0);
      at(197);
    }
  });

  it('under random label churn (8 a second for 200 s), nearly every create goes at once and none waits more than the quiet time', () => {
    // Several Services relabelled at random, exponential gaps averaging 125 ms; a developer creates a
    // Service every half second, at a random moment.
    const { added, at, event } = settler({ maxMs: 10_000 });
    const rand = random(7);
    const waits: number[] = [];
    let now = 0;
    let nextChurn = 0;
    for (let i = 0; i < 400; i++) {
      const createAt = i * 500 + Math.floor(rand() * 500);
      while (nextChurn < createAt) {
        if (nextChurn > now) at(nextChurn - now);
        now = Math.max(now, nextChurn);
        event(`churn-${Math.floor(rand() * 20)}`);
        nextChurn += Math.max(1, Math.floor(-Math.log(1 - rand()) * 125));
      }
      if (createAt > now) at(createAt - now);
      now = Math.max(now, createAt);
      event(`create-${i}`);
      let waited = 0;
      while (!added.includes(`create-${i}`) && waited < 20_000) {
        at(1);
        now += 1;
        waited += 1;
      }
      waits.push(waited);
    }
    const held = waits.filter((w) => w > 0).length;
    assert.ok(held <= 400 * 0.05, `${held} of 400 creates held`);
    assert.ok(Math.max(...waits) <= OPTS.quietMs + 100, `a create waited ${Math.max(...waits)} ms`);
  });

  it('flowEvents events within (flowEvents - 1) x gapMs start a flow: the opening ones went at once, the rest are held, then go together, each key once', () => {
    const { s, added, at, event } = settler();
    event('a');
    for (const key of ['b', 'c', 'd', 'e', 'b', 'a', 'c']) {
      at(10);
      event(key);
    }
    assert.deepEqual(added, ['a', 'b', 'c', 'd'], 'the first four, before the rate showed a flow');
    assert.equal(s.holding, 4);
    at(OPTS.quietMs - 1);
    assert.deepEqual(added, ['a', 'b', 'c', 'd'], 'not yet quiet');
    at(1);
    assert.deepEqual([...added].sort(), ['a', 'a', 'b', 'b', 'c', 'c', 'd', 'e'], 'e once; a, b and c again, since the flow touched them again');
    assert.equal(s.holding, 0);
  });

  it('a flow that stalls goes on: an event after the stall is held with the rest; it ends quietMs after the last event at its rate', () => {
    const { added, at, event } = settler();
    for (const key of ['o1', 'o2', 'o3', 'o4', 'a']) {
      event(key);
      at(5);
    }
    assert.deepEqual(added, ['o1', 'o2', 'o3', 'o4']);
    at(OPTS.quietMs - 100);
    event('late'); // not at the flow's rate: held with the flow, and the flow's end does not move
    assert.deepEqual(added, ['o1', 'o2', 'o3', 'o4']);
    at(94);
    assert.deepEqual(added, ['o1', 'o2', 'o3', 'o4']);
    at(1);
    assert.deepEqual(added, ['o1', 'o2', 'o3', 'o4', 'a', 'late']);
  });

  // CI on a busy machine: a burst that slowed to events 20-50 ms apart ended its flow half-way, and what
  // came after went at once, one write per event.
  it('a flow goes on at a lower pace once started: events 30 ms apart keep it going, each key once at the end', () => {
    const { s, added, at, event } = settler();
    for (const key of ['o1', 'o2', 'o3', 'o4', 'a']) {
      event(key);
      at(5);
    }
    for (let i = 0; i < 40; i++) {
      at(30);
      event(i % 2 ? 'a' : 'b');
    }
    assert.deepEqual(added, ['o1', 'o2', 'o3', 'o4'], 'all held while the events go on');
    at(OPTS.quietMs);
    assert.deepEqual(added, ['o1', 'o2', 'o3', 'o4', 'a', 'b']);
    assert.equal(s.holding, 0);
  });

  it('after a flow has ended, the next event is isolated again', () => {
    const { added, at, event } = settler();
    for (const key of ['o1', 'o2', 'o3', 'o4', 'b']) {
      event(key);
      at(1);
    }
    at(OPTS.quietMs);
    assert.deepEqual(added, ['o1', 'o2', 'o3', 'o4', 'b']);
    event('c');
    assert.deepEqual(added, ['o1', 'o2', 'o3', 'o4', 'b', 'c'], 'at once');
  });

  it('a flow that never stops lets held keys go maxMs after the first was held, and holds again after', () => {
    const { added, at, event } = settler({ maxMs: 1000 });
    for (const key of ['o1', 'o2', 'o3', 'o4']) {
      event(key);
      at(10);
    }
    added.length = 0;
    // Held from the fifth event on (t=40): they go at t=1040, just before the event of that moment (k2), which is held anew.
    let t = 40;
    for (; t <= 1040; t += 10) {
      event(`k${(t / 10) % 3}`);
      at(10);
    }
    assert.deepEqual([...added].sort(), ['k0', 'k1', 'k2'], 'at maxMs: each held key once');
    added.length = 0;
    for (; t < 1500; t += 10) {
      event('k0');
      at(10);
    }
    assert.deepEqual(added, [], 'held again: the flow goes on');
    at(OPTS.quietMs);
    assert.deepEqual([...added].sort(), ['k0', 'k2'], 'k2 of t=1040 and k0, once each, once the flow is quiet');
  });

  it('drop forgets what is held (every key is going to the queue anyway); after stop, nothing goes in', () => {
    const { s, added, at, event } = settler();
    for (const key of ['a', 'a', 'a', 'a', 'b']) event(key);
    s.drop();
    at(OPTS.quietMs);
    assert.deepEqual(added, ['a', 'a', 'a', 'a']);
    at(OPTS.gapMs);
    s.stop();
    event('c');
    at(OPTS.quietMs);
    assert.deepEqual(added, ['a', 'a', 'a', 'a']);
  });

  it('the burst property: 1,000 events for 50 keys, with stalls, send each key to the queue once; the opening keys twice at most', () => {
    const { added, at, event } = settler();
    const rand = random(11);
    // 20 namespaces x 50 Services created namespace by namespace, 0-2 ms apart, the first few spread out
    // while the client opens its connections, with a stall of up to 150 ms now and then: each
    // VirtualService is touched 20 times, 50 events apart.
    let n = 0;
    for (let ns = 0; ns < 20; ns++) {
      for (let svc = 0; svc < 50; svc++) {
        event(`svc-${svc}`);
        at(n++ < 5 ? 15 : rand() < 0.02 ? Math.floor(rand() * 150) : Math.floor(rand() * 3));
      }
    }
    at(OPTS.quietMs);
    const times = new Map<string, number>();
    for (const key of added) times.set(key, (times.get(key) ?? 0) + 1);
    assert.equal(times.size, 50);
    const opening = new Set(['svc-0', 'svc-1', 'svc-2', 'svc-3']);
    assert.deepEqual(
      [...times].filter(([key, n]) => n > (opening.has(key) ? 2 : 1)),
      [],
      'more than once to the queue',
    );
    assert.equal(added.length, 54, 'the four opening events at once, then every key once at the end');
  });
});
