// The work queue's promises (controller-runtime's and client-go's workqueue): a key waits at most once, is
// never handed to two workers at once, comes back once after it is done if it was added meanwhile, settles
// before it is added, backs off per key on failure, and a shut-down queue hands out nothing.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { WorkQueue } from '../../src/watch/queue.ts';

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

  it('addQuiet adds a key once it has been quiet for quietMs', () => {
    let clock = 0;
    const q = new WorkQueue({ now: () => clock });
    const at = (ms: number) => {
      mock.timers.tick(ms - clock);
      clock = ms;
    };
    q.addQuiet('a', 15, 400);
    at(10);
    q.addQuiet('a', 15, 400); // restarts the quiet wait
    at(24);
    assert.equal(q.depth, 0, 'still settling: 14 ms since the last event');
    at(25);
    assert.equal(q.depth, 1);
  });

  it('addQuiet adds a key that never goes quiet no later than maxMs after the first event, once', () => {
    let clock = 0;
    const q = new WorkQueue({ now: () => clock });
    for (; clock < 400; clock += 10) {
      q.addQuiet('a', 15, 400);
      mock.timers.tick(10);
      if (clock + 10 < 400) assert.equal(q.depth, 0, `added at ${clock + 10} ms, before maxMs`);
    }
    assert.equal(q.depth, 1, 'added at maxMs');
    q.addQuiet('a', 15, 400); // a new burst starts a new wait
    assert.equal(q.depth, 1);
  });

  it('addQuiet with quietMs 0 adds at once', () => {
    const q = new WorkQueue();
    q.addQuiet('a', 0, 400);
    assert.equal(q.depth, 1);
  });

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

  it('waiting workers get undefined; later gets get undefined; queued, delayed and settling keys are dropped', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);

    const r = new WorkQueue();
    r.add('a');
    r.addAfter('b', 10);
    r.addQuiet('c', 10, 100);
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
