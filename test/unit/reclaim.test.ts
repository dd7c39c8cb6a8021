// The collection at rest (src/watch/reclaim.ts): once the controller has been idle at two looks in a row,
// garbage left by work is collected and the heap shrinks. (With the controller kept busy the same test
// fails: nothing else allocates here, so V8 has no reason to collect on its own.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHeapStatistics } from 'node:v8';
import { reclaimWhenIdle } from '../../src/watch/reclaim.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('reclaimWhenIdle', () => {
  it('collects the garbage work left once the controller rests', async () => {
    let keep: string[][] | undefined = Array.from({ length: 200 }, (_, i) => Array.from({ length: 1000 }, (_, j) => `garbage ${i} ${j}`));
    // Held across a few turns, as a controller's work holds its objects: promoted to the old generation,
    // which V8 collects only under allocation pressure (there is none here) or when asked.
    for (let i = 0; i < 5; i++) {
      Array.from({ length: 100_000 }, (_, j) => ({ j }));
      await sleep(5);
    }
    const full = getHeapStatistics().used_heap_size;
    keep = undefined;
    assert.equal(keep, undefined);
    let busy = true;
    const stop = reclaimWhenIdle({ busy: () => busy, everyMs: 20 });
    try {
      busy = false;
      for (let i = 0; i < 50 && getHeapStatistics().used_heap_size > full - 8 * 1024 * 1024; i++) await sleep(20);
      const after = getHeapStatistics().used_heap_size;
      assert.ok(after < full - 8 * 1024 * 1024, `heap ${(after / 1048576).toFixed(1)} MB after, ${(full / 1048576).toFixed(1)} MB before`);
    } finally {
      stop();
    }
  });
});
