// The leader elector against an in-memory Lease (test/helpers/fake-watch-port.ts), on fake time. The rules
// are client-go's (tools/leaderelection/leaderelection.go): acquire a free or expired Lease, renew every
// retry period, judge expiry by this replica's own clock from when it last saw the record change
// (observedTime + leaseDuration, never the holder's renewTime, so clocks may disagree), stop writing at
// the renew deadline, and give the Lease up on stop (ReleaseOnCancel). Each replica's clocks are injected:
// a wall clock (what it writes in the Lease) that may be skewed or step, and a monotonic clock (what it
// times deadlines with) with an origin of its own; fake time drives both, so nothing depends on real time.

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { ApiError } from '../../src/errors.ts';
import type { Lease, WatchPort } from '../../src/k8s/port.ts';
import { LeaderElector } from '../../src/watch/leader.ts';
import { FakeWatchPort } from '../helpers/fake-watch-port.ts';

const NS = 'vsop-system';
const NAME = 'virtualservice-operator';
const START = Date.parse('2030-01-01T00:00:00.000Z');
const HOUR = 3_600_000;

/** Lets promise callbacks run (setImmediate is not among the faked timers). */
async function flush(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Moves fake time forward in 100 ms steps, letting the elector's loop run at each. */
async function advance(ms: number): Promise<void> {
  await flush();
  for (let t = 0; t < ms; t += 100) {
    mock.timers.tick(Math.min(100, ms - t));
    await flush();
  }
}

/**
 * A replica's clocks. Fake time (Date.now(), moved by mock.timers) is the true time; the wall clock is
 * that plus `offset(t)` (t: ms since START), so it can run fast or slow or step; the monotonic clock
 * counts the true time from an origin of its own, unrelated to any wall clock.
 */
function clocks(offset: (t: number) => number = () => 0, origin = 7_777_000) {
  return { now: () => new Date(Date.now() + offset(Date.now() - START)), monotonic: () => origin + (Date.now() - START) };
}

function setup(identity = 'me', port: WatchPort = new FakeWatchPort(), clock = clocks()) {
  const log: string[] = [];
  const elector = new LeaderElector({
    port,
    namespace: NS,
    name: NAME,
    identity,
    leaseDuration: 15_000,
    renewDeadline: 10_000,
    retryPeriod: 2_000,
    onStartedLeading: () => log.push(`started ${Date.now() - START}`),
    onStoppedLeading: () => log.push(`stopped ${Date.now() - START}`),
    onError: () => {},
    ...clock,
  });
  return { port: port as FakeWatchPort, elector, log };
}

/**
 * One replica's way to the shared Lease store: its own record of what it wrote; `slow(t)`, how long an
 * update sent at t (ms since START) takes to land (a slow API server); and `freeze()`, after which its
 * requests never answer (the process hangs or its network is gone) and it renews no more.
 */
function replicaPort(store: FakeWatchPort, slow: (t: number) => number = () => 0) {
  let frozen = false;
  const writes: string[] = [];
  const hang = () => new Promise<never>(() => {});
  const port = {
    getLease: (namespace: string, name: string) => (frozen ? hang() : store.getLease(namespace, name)),
    createLease: (lease: Lease) => (frozen ? hang() : (writes.push('create'), store.createLease(lease))),
    replaceLease: async (lease: Lease) => {
      if (frozen) return hang();
      writes.push('update');
      const ms = slow(Date.now() - START);
      if (ms) await new Promise((resolve) => setTimeout(resolve, ms));
      return store.replaceLease(lease);
    },
  } as unknown as WatchPort;
  return { port, writes, freeze: () => (frozen = true) };
}

/** An elector that has just acquired a missing Lease (at 0 s). */
async function leading(identity = 'me') {
  const s = setup(identity);
  s.elector.start();
  await advance(0);
  return s;
}

/** A Lease held by another replica, renewed at `renewTime` by that replica's clock. */
function heldBy(holder: string, renewTime: number, transitions = 3): Lease {
  const t = new Date(renewTime).toISOString();
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: NAME, namespace: NS },
    spec: { holderIdentity: holder, leaseDurationSeconds: 15, acquireTime: t, renewTime: t, leaseTransitions: transitions },
  };
}

/** The other replica renews: only renewTime changes, stamped by its own (possibly wrong) clock. */
function renewAsOther(port: FakeWatchPort, skew: number): void {
  const cur = port.lease(NS, NAME)!;
  port.putLease({ ...cur, spec: { ...cur.spec, renewTime: new Date(Date.now() + skew).toISOString() } });
}

describe('LeaderElector', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START }));
  afterEach(() => mock.timers.reset());

  it('acquires a missing Lease by creating it, starts leading once, and may write', async () => {
    const { port, elector, log } = setup();
    elector.start();
    await advance(0);
    assert.deepEqual(port.calls, [`get lease ${NS}/${NAME}`, `create lease ${NS}/${NAME}`]);
    const spec = port.lease(NS, NAME)!.spec!;
    assert.equal(spec.holderIdentity, 'me');
    assert.equal(spec.leaseDurationSeconds, 15);
    assert.equal(spec.leaseTransitions, 0);
    assert.equal(spec.renewTime, '2030-01-01T00:00:00.000000Z', 'MicroTime: microseconds');
    assert.deepEqual(log, ['started 0']);
    assert.equal(elector.isLeader, true);
    assert.equal(elector.canWrite(), true);
    await elector.stop();
  });

  it('renews every retry period: renewTime moves, acquireTime and leaseTransitions stay; started is said once', async () => {
    const { port, elector, log } = await leading();
    const first = port.lease(NS, NAME)!.spec!;
    port.calls.length = 0;
    await advance(6_000);
    assert.deepEqual(port.calls.filter((c) => c.startsWith('update')).length, 3);
    const spec = port.lease(NS, NAME)!.spec!;
    assert.equal(spec.renewTime, '2030-01-01T00:00:06.000000Z');
    assert.equal(spec.acquireTime, first.acquireTime);
    assert.equal(spec.leaseTransitions, 0);
    assert.deepEqual(log, ['started 0']);
    await elector.stop();
  });

  it('takes over a free Lease (no holder) at once, counting a transition', async () => {
    const { port, elector, log } = setup();
    port.putLease({ ...heldBy('', START - HOUR, 4), spec: { ...heldBy('', START - HOUR, 4).spec, holderIdentity: null } });
    elector.start();
    await advance(0);
    assert.deepEqual(log, ['started 0']);
    assert.equal(port.lease(NS, NAME)!.spec!.leaseTransitions, 5);
    await elector.stop();
  });

  for (const [what, skew] of [
    ["the holder's clock is an hour behind ours", -HOUR],
    ["the holder's clock agrees with ours", 0],
  ] as const) {
    it(`stays standby while the holder keeps renewing (${what}): expiry is timed from when this replica saw the record change`, async () => {
      const { port, elector, log } = setup();
      port.putLease(heldBy('other', START + skew));
      elector.start();
      for (let t = 0; t < 60_000; t += 2_000) {
        await advance(2_000);
        renewAsOther(port, skew);
      }
      assert.deepEqual(log, [], 'a live holder was overthrown');
      assert.equal(elector.canWrite(), false);
      assert.equal(port.calls.filter((c) => !c.startsWith('get')).length, 0, 'no write to a Lease someone else holds');
      await elector.stop();
    });
  }

  it("takes over a Lease whose holder stopped renewing one lease duration after it last changed, even when the holder's clock is an hour ahead", async () => {
    const { port, elector, log } = setup();
    port.putLease(heldBy('other', START + HOUR, 3)); // renewTime an hour in our future
    elector.start();
    await advance(14_000);
    assert.deepEqual(log, [], 'taken over before the lease duration ran out');
    await advance(4_000); // the next attempt after 15 s (attempts every 2 s)
    assert.deepEqual(log, ['started 16000']);
    const spec = port.lease(NS, NAME)!.spec!;
    assert.equal(spec.holderIdentity, 'me');
    assert.equal(spec.leaseTransitions, 4);
    assert.equal(spec.acquireTime, '2030-01-01T00:00:16.000000Z');
    await elector.stop();
  });

  it('a holder that renews restarts the wait; one that stops is taken over a lease duration after its last renewal was seen', async () => {
    const { port, elector, log } = setup();
    port.putLease(heldBy('other', START));
    elector.start();
    await advance(9_000);
    renewAsOther(port, 0); // at 9 s, seen by the attempt at 10 s
    await advance(15_000); // 24 s: 14 s after the change was seen
    assert.deepEqual(log, []);
    await advance(2_000); // the attempt at 26 s: 16 s after it
    assert.deepEqual(log, ['started 26000']);
    await elector.stop();
  });

  it('loses a race to create the Lease (409) without leading', async () => {
    const { port, elector, log } = setup();
    port.beforeLease = (verb) => {
      if (verb === 'create') port.putLease(heldBy('other', Date.now()));
    };
    elector.start();
    await advance(0);
    assert.deepEqual(log, []);
    assert.equal(port.lease(NS, NAME)!.spec!.holderIdentity, 'other');
    await elector.stop();
  });

  it('the write gate closes at the renew deadline when renewals hang, before the Lease could expire, whatever the wall clock does meanwhile', async () => {
    for (const [what, offset] of [
      ['a steady wall clock', () => 0],
      ['a wall clock stepped an hour back at 1 s', (t: number) => (t >= 1_000 ? -HOUR : 0)],
      ['a wall clock stepped an hour forward at 1 s', (t: number) => (t >= 1_000 ? HOUR : 0)],
    ] as const) {
      const s = setup('me', new FakeWatchPort(), clocks(offset));
      s.elector.start();
      await advance(0);
      s.port.beforeLease = (verb) => (verb === 'update' ? new Promise<void>(() => {}) : undefined); // the renewal at 2 s never answers
      await advance(9_900);
      assert.equal(s.elector.canWrite(), true, `${what}: within the deadline of the last renewal (at 0 s)`);
      await advance(200);
      assert.equal(s.elector.canWrite(), false, `${what}: past the renew deadline`);
      mock.timers.reset();
      mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
    }
  });

  it('stops leading once renewals have failed for longer than the renew deadline', async () => {
    const { port, elector, log } = await leading();
    port.beforeLease = () => {
      throw new ApiError('etcdserver: request timed out', 500, 'InternalError');
    };
    await advance(9_000);
    assert.deepEqual(log, ['started 0'], 'still leading within the deadline');
    await advance(4_000);
    assert.deepEqual(log, ['started 0', 'stopped 12000']);
    assert.equal(elector.canWrite(), false);
    await elector.stop();
  });

  it('stops leading when another replica holds the Lease (our renewal conflicts)', async () => {
    const { port, elector, log } = await leading();
    port.beforeLease = (verb) => {
      if (verb === 'update') port.putLease(heldBy('other', Date.now()));
    };
    await advance(2_000);
    assert.deepEqual(log, ['started 0', 'stopped 2000']);
    assert.equal(elector.canWrite(), false);
    await elector.stop();
  });

  it('on stop, a leader releases the Lease (no holder, 1 s) so a standby takes over at once; a standby writes nothing', async () => {
    const leader = setup();
    leader.elector.start();
    await advance(2_000);
    await leader.elector.stop();
    assert.deepEqual(leader.log, ['started 0', 'stopped 2000']);
    const spec = leader.port.lease(NS, NAME)!.spec!;
    assert.equal(spec.holderIdentity, null);
    assert.equal(spec.leaseDurationSeconds, 1);
    assert.equal(leader.elector.canWrite(), false);
    const calls = leader.port.calls.length;
    await advance(10_000);
    assert.equal(leader.port.calls.length, calls, 'nothing after stop');

    const standby = setup();
    standby.port.putLease(heldBy('other', Date.now()));
    standby.elector.start();
    await advance(2_000);
    await standby.elector.stop();
    assert.equal(standby.port.calls.filter((c) => !c.startsWith('get')).length, 0);
    assert.equal(standby.port.lease(NS, NAME)!.spec!.holderIdentity, 'other');
  });
});

describe('LeaderElector, two replicas whose clocks disagree (issue 12, item 10)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START }));
  afterEach(() => mock.timers.reset());

  // The leader's and the standby's wall clocks as offsets from the true time (and how slow the leader's
  // renewals are); each case runs 3 minutes of renewals, checking the Lease after every retry period.
  const slowAt20s = (t: number) => (t >= 20_000 && t < 22_000 ? 6_000 : 0);
  const cases: [string, (t: number) => number, (t: number) => number, ((t: number) => number)?][] = [
    ["the standby's clock runs 20 s fast", () => 0, () => 20_000],
    ["the standby's clock runs 20 s slow", () => 0, () => -20_000],
    ["the standby's clock runs an hour fast and the leader's an hour slow", () => -HOUR, () => HOUR],
    ["the standby's wall clock steps 20 s forward after it has seen the Lease (NTP)", () => 0, (t) => (t >= 5_000 ? 20_000 : 0)],
    ["the standby's wall clock steps an hour forward, then back", () => 0, (t) => (t >= 30_000 && t < 90_000 ? HOUR : 0)],
    ["the leader's wall clock steps an hour back: its renewTimes go back in time", (t) => (t >= 5_000 ? -HOUR : 0), () => 0],
    ["the standby's wall clock steps 20 s forward while a renewal takes 6 s (within the leader's renew deadline)", () => 0, (t) => (t >= 21_000 ? 20_000 : 0), slowAt20s],
  ];
  for (const [what, leaderOffset, standbyOffset, slow] of cases) {
    it(`the standby never takes a Lease the leader keeps renewing, and takes it once the leader stops: ${what}`, async () => {
      const store = new FakeWatchPort();
      const a = replicaPort(store, slow);
      const b = replicaPort(store);
      const leader = setup('leader', a.port, clocks(leaderOffset, 1_000_000));
      leader.elector.start();
      await advance(0);
      assert.deepEqual(leader.log, ['started 0']);
      const standby = setup('standby', b.port, clocks(standbyOffset, 42));
      await advance(1_000); // the standby starts a second later, out of step with the leader's renewals
      standby.elector.start();
      for (let t = 0; t < 180_000; t += 2_000) {
        await advance(2_000);
        assert.equal(store.lease(NS, NAME)!.spec!.holderIdentity, 'leader', `taken over at ${Date.now() - START} ms`);
        assert.equal(leader.elector.canWrite(), true, `the leader stopped writing at ${Date.now() - START} ms`);
        assert.equal(standby.elector.canWrite(), false);
      }
      assert.equal(standby.log.length, 0, `the standby started leading: ${standby.log}`);
      assert.deepEqual(b.writes, [], 'the standby wrote to a Lease that is held');
      assert.deepEqual(leader.log, ['started 0']);

      a.freeze(); // the leader hangs: no more renewals, and it never answers again
      const frozenAt = Date.now() - START;
      await advance(20_000);
      assert.equal(store.lease(NS, NAME)!.spec!.holderIdentity, 'standby', 'a dead leader is replaced');
      const took = Number(standby.log[0]?.split(' ')[1]) - frozenAt;
      assert.ok(took > 13_000 && took <= 19_000, `taken over ${took} ms after the last renewal: after the lease duration (15 s) and within a retry period of it`);
      assert.equal(leader.elector.canWrite(), false, 'the hung leader stopped writing at its renew deadline');
      await standby.elector.stop();
    });
  }
});
