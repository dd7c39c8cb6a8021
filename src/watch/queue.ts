// A work queue with client-go's guarantees: a key waits at most once (a burst of events for one key is one
// reconcile), a key is never processed by two workers at once (added while in process, it runs again
// after), failures come back after a per-key exponential backoff, and `forget` resets it.

export interface QueueHooks {
  add?(): void;
  depth?(n: number): void;
  /** Seconds a key waited in the queue, reported when a worker takes it. */
  waited?(seconds: number): void;
  retry?(): void;
}

export interface QueueOptions {
  /** First retry delay in milliseconds; it doubles for each failure of the same key. */
  baseDelay?: number;
  maxDelay?: number;
  hooks?: QueueHooks;
  now?: () => number;
}

export class WorkQueue {
  private readonly order: string[] = [];
  private readonly waiting = new Map<string, number>(); // key -> when it was added
  private readonly processing = new Map<string, number>(); // key -> when a worker took it
  private readonly again = new Set<string>(); // added while being processed
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly settling = new Map<string, { first: number; timer: NodeJS.Timeout }>();
  private readonly takers: ((key: string | undefined) => void)[] = [];
  private closed = false;
  private readonly opts: Required<Omit<QueueOptions, 'hooks'>> & { hooks: QueueHooks };

  constructor(opts: QueueOptions = {}) {
    this.opts = { baseDelay: 500, maxDelay: 300_000, now: () => performance.now(), hooks: {}, ...opts };
  }

  get depth(): number {
    return this.order.length;
  }

  add(key: string): void {
    if (this.closed) return;
    this.opts.hooks.add?.();
    if (this.processing.has(key)) {
      this.again.add(key);
      return;
    }
    if (this.waiting.has(key)) return;
    const taker = this.takers.shift();
    if (taker) {
      this.processing.set(key, this.opts.now());
      this.opts.hooks.waited?.(0);
      taker(key);
      return;
    }
    this.waiting.set(key, this.opts.now());
    this.order.push(key);
    this.opts.hooks.depth?.(this.order.length);
  }

  addAfter(key: string, ms: number): void {
    if (this.closed) return;
    if (ms <= 0) return this.add(key);
    if (this.timers.has(key)) return; // an earlier retry is already due
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, timer);
  }

  /**
   * Adds the key once it has been quiet for `quietMs` (each new call restarts the wait), but no later than
   * `maxMs` after the first call: a burst of events for one key becomes one reconcile.
   */
  addQuiet(key: string, quietMs: number, maxMs: number): void {
    if (this.closed) return;
    if (quietMs <= 0) return this.add(key);
    const now = this.opts.now();
    const pending = this.settling.get(key);
    const first = pending?.first ?? now;
    if (pending) clearTimeout(pending.timer);
    const wait = Math.max(0, Math.min(quietMs, first + maxMs - now));
    const timer = setTimeout(() => {
      this.settling.delete(key);
      this.add(key);
    }, wait);
    timer.unref();
    this.settling.set(key, { first, timer });
  }

  /** Back again after this key's next backoff step. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.opts.baseDelay * 2 ** n, this.opts.maxDelay);
    this.opts.hooks.retry?.();
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** The next key, waiting if there is none; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    const key = this.order.shift();
    if (key !== undefined) {
      const added = this.waiting.get(key)!;
      this.waiting.delete(key);
      this.processing.set(key, this.opts.now());
      this.opts.hooks.depth?.(this.order.length);
      this.opts.hooks.waited?.((this.opts.now() - added) / 1000);
      return Promise.resolve(key);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    if (this.again.delete(key)) this.add(key);
  }

  /** Seconds the oldest in-process key has been running, and the sum over all of them. */
  running(): { longest: number; total: number } {
    const now = this.opts.now();
    let longest = 0;
    let total = 0;
    for (const started of this.processing.values()) {
      const s = (now - started) / 1000;
      longest = Math.max(longest, s);
      total += s;
    }
    return { longest, total };
  }

  get busy(): number {
    return this.processing.size;
  }

  /** Stops handing out work: waiting workers get undefined; keys in process may still call done. */
  shutDown(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const { timer } of this.settling.values()) clearTimeout(timer);
    this.settling.clear();
    this.order.length = 0;
    this.waiting.clear();
    for (const taker of this.takers.splice(0)) taker(undefined);
  }
}
