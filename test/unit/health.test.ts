// /healthz: a worker that holds one Service far beyond any reconcile's bound is a stuck controller, and
// the probe says so (src/watch/health.ts), with the work queue's own account of what is in process.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveness } from '../../src/watch/health.ts';
import { WorkQueue } from '../../src/watch/queue.ts';

describe('liveness (/healthz)', () => {
  it('is 200 while workers finish, 500 once one has held a key past the bound, 200 again once it lets go', async () => {
    let now = 0;
    const queue = new WorkQueue({ now: () => now });
    const bound = 15 * 60_000;
    assert.deepEqual(liveness(queue.running(), bound), { status: 200, body: 'ok' }, 'idle');
    queue.add('api');
    queue.add('web');
    const api = await queue.get();
    now += 60_000;
    const web = await queue.get();
    queue.done(web!);
    now += bound - 60_000 - 1;
    assert.equal(liveness(queue.running(), bound).status, 200, 'held for just under the bound');
    now += 1;
    const stuck = liveness(queue.running(), bound);
    assert.equal(stuck.status, 500);
    assert.equal(stuck.body, 'stuck: a worker has held one Service for 900 s (--stuck-after 900 s)\n');
    queue.done(api!);
    assert.equal(liveness(queue.running(), bound).status, 200, 'the worker let go');
  });
});
