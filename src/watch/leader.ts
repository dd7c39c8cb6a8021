// Leader election on a coordination.k8s.io/v1 Lease, with client-go's timings and rules
// (tools/leaderelection/leaderelection.go): acquire when the Lease is free or expired, renew every retry
// period, and stop leading the moment a renewal fails past the renew deadline (before the Lease can expire
// and another replica take over). A Lease is expired when this replica has not seen its record change for
// a lease duration (client-go's observedRecord and observedTime, set in setObservedRecord and judged in
// isLeaseValid), never by the holder's renewTime: "the implementation is tolerant to arbitrary clock
// skew" (its package comment), since the times in the record are only compared for change. Go's
// clock.Now() carries a monotonic reading, and time.Time arithmetic uses it, so a step of the wall clock
// (NTP, a VM resumed) moves no deadline there; here too the deadlines (expiry and the write gate) are
// timed on a monotonic clock, and the wall clock only stamps acquireTime and renewTime.
// Every write carries the Lease's resourceVersion, so two replicas can never both believe they won.

import { ApiError } from '../errors.ts';
import type { Lease, WatchPort } from '../k8s/port.ts';
import { sleep } from '../sleep.ts';

export interface LeaderOptions {
  port: WatchPort;
  namespace: string;
  name: string;
  identity: string;
  leaseDuration?: number; // ms
  renewDeadline?: number; // ms
  retryPeriod?: number; // ms
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  onError?: (err: unknown) => void;
  /** The wall clock, for the times written in the Lease only. */
  now?: () => Date;
  /** A monotonic clock (ms), for every deadline. */
  monotonic?: () => number;
}

export class LeaderElector {
  private readonly o: Required<Omit<LeaderOptions, 'onError'>> & { onError?: (err: unknown) => void };
  private leading = false;
  /** The Lease's record as last seen, and when this replica saw it change (monotonic ms). */
  private observed: { record: string; at: number } | undefined;
  /** When the last renewal succeeded (monotonic ms). */
  private lastRenew = 0;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(opts: LeaderOptions) {
    this.o = { leaseDuration: 15_000, renewDeadline: 10_000, retryPeriod: 2_000, now: () => new Date(), monotonic: () => performance.now(), ...opts };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * May this replica write now? Only while leading and within the renew deadline of the last successful
   * renewal: a leader whose renewals hang stops writing at the deadline, before its Lease can expire and a
   * standby take over, even if the renewal loop has not yet noticed.
   */
  canWrite(): boolean {
    return this.leading && this.o.monotonic() - this.lastRenew < this.o.renewDeadline;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops contending; a leader gives the Lease up so a standby takes over at once. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (this.leading) {
      this.setLeading(false);
      await this.release();
    }
  }

  private async run(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        const attempt = this.o.monotonic();
        if (await this.tryAcquireOrRenew()) {
          this.lastRenew = attempt;
          this.setLeading(true);
        } else if (this.leading) {
          this.setLeading(false);
        }
      } catch (err) {
        this.o.onError?.(err);
        if (this.leading && this.o.monotonic() - this.lastRenew > this.o.renewDeadline) this.setLeading(false);
      }
      await sleep(this.o.retryPeriod, this.abort.signal);
    }
  }

  private setLeading(value: boolean): void {
    if (value === this.leading) return;
    this.leading = value;
    if (value) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = this.o.now();
    const { port, namespace, name, identity } = this.o;
    const current = await port.getLease(namespace, name);
    const seconds = Math.round(this.o.leaseDuration / 1000);
    if (!current) {
      try {
        const created = await port.createLease({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: { holderIdentity: identity, leaseDurationSeconds: seconds, acquireTime: micro(now), renewTime: micro(now), leaseTransitions: 0 },
        });
        this.observe(created);
        return true;
      } catch (err) {
        if (err instanceof ApiError && err.status === 409) return false; // someone else created it first
        throw err;
      }
    }
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const seen = this.observe(current);
    const expired = !holder || seen + (spec.leaseDurationSeconds ?? seconds) * 1000 <= this.o.monotonic();
    if (holder !== identity && !expired) return false;
    const next: Lease = {
      ...current,
      spec: {
        ...spec,
        holderIdentity: identity,
        leaseDurationSeconds: seconds,
        renewTime: micro(now),
        ...(holder === identity ? {} : { acquireTime: micro(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 }),
      },
    };
    try {
      this.observe(await port.replaceLease(next));
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) return false; // another replica wrote first
      throw err;
    }
  }

  /**
   * Notes the Lease's record; when it differs from the one last seen, the time it was seen is now. Returns
   * when this replica saw it change (monotonic ms): client-go's observedTime, from which expiry is timed.
   */
  private observe(lease: Lease): number {
    const s = lease.spec ?? {};
    const record = JSON.stringify([s.holderIdentity ?? '', s.leaseDurationSeconds, s.acquireTime ?? '', s.renewTime ?? '', s.leaseTransitions ?? 0]);
    if (this.observed?.record !== record) this.observed = { record, at: this.o.monotonic() };
    return this.observed.at;
  }

  /** Clears the holder, as client-go's ReleaseOnCancel does. */
  private async release(): Promise<void> {
    const lease = await this.o.port.getLease(this.o.namespace, this.o.name).catch(() => undefined);
    if (!lease || lease.spec?.holderIdentity !== this.o.identity) return;
    const now = micro(this.o.now());
    await this.o.port
      .replaceLease({ ...lease, spec: { ...lease.spec, holderIdentity: null, acquireTime: null, renewTime: now, leaseDurationSeconds: 1 } })
      .catch((err) => this.o.onError?.(err));
  }
}

/** Kubernetes MicroTime: RFC 3339 with microseconds. */
function micro(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}
