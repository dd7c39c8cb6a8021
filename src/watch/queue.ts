// A work queue with client-go's guarantees: a key waits at most once (a burst of events for one key is one
// reconcile), a key is never processed by two workers at once (added while in process, it runs again
// after), failures come back after a per-key exponential backoff, and `forget` resets it. In front of it,
// a Settler decides when an event's keys go in: at once on an idle controller, together once a flow of
// events has stopped.

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

  /** Whether a worker holds this key now. */
  inProcess(key: string): boolean {
    return this.processing.has(key);
  }

  /** Stops handing out work: waiting workers get undefined; keys in process may still call done. */
  shutDown(): void {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.order.length = 0;
    this.waiting.clear();
    for (const taker of this.takers.splice(0)) taker(undefined);
  }
}

export interface SettleOptions {
  /** The gap between events, on average, below which events come as a flow (see flowEvents). */
  gapMs: number;
  /** How many events in a row, within (flowEvents - 1) x gapMs, make a flow (default 4). */
  flowEvents?: number;
  /** Once a flow holds keys, an event less than this after the one before keeps it going (default 50). */
  keepMs?: number;
  /** A flow is over once no event has come at its rate for this long. */
  quietMs: number;
  /** No key is held longer than this, however long the flow lasts. */
  maxMs: number;
  now?: () => number;
}

/**
 * Where events meet the queue. An event on an idle controller goes to the queue at once: a developer who
 * deploys a Service waits for one reconcile, no settling. Events that come as a flow (a Helm release, a
 * restore, a relist: `flowEvents` events in a row within (flowEvents - 1) x `gapMs`) are held, with every
 * event after them, and go to the queue together once no event has come at the flow's rate for `quietMs`,
 * so that a VirtualService the flow touches many times is written once, not once per event. A flow may
 * stall for a moment (a client opening its connections, a busy apiserver) without ending: the quiet it
 * waits for is long beside its gaps.
 * Once it holds keys, a flow goes on while events keep coming less than `keepMs` apart, though slower
 * than the rate that started it (a burst slowed down by a busy apiserver is still one burst).
 * A flow is told by its rate, not by one short gap: Services relabelled a few times a second (a
 * deployment tool, a status writer) are a trickle, and a create that happens to land a few milliseconds
 * after one of their events is still worked on at once; such a trickle neither starts a flow nor keeps
 * one from ending (before, one short gap started a flow and any event kept it going, so steady label
 * churn held every create for up to `maxMs`).
 * The events that open a flow cannot be told from isolated ones when they come: they went at once, and
 * their keys go again at the end only if the flow touched them again. The queue itself merges what
 * arrives for a key that is queued or in process.
 */
export class Settler {
  private readonly queue: Pick<WorkQueue, 'add'>;
  private readonly opts: Required<SettleOptions>;
  private readonly held = new Set<string>();
  /** When the last flowEvents events came (oldest first). */
  private readonly recent: number[] = [];
  /** When an event last came at a flow's rate, and when the oldest held key was held. */
  private flowing = Number.NEGATIVE_INFINITY;
  private first = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(queue: Pick<WorkQueue, 'add'>, opts: SettleOptions) {
    this.queue = queue;
    this.opts = { now: () => performance.now(), flowEvents: 4, keepMs: 50, ...opts };
  }

  /** One event, bearing on these keys. */
  event(keys: Iterable<string>): void {
    if (this.stopped) return;
    const now = this.opts.now();
    const n = this.opts.flowEvents;
    const previous = this.recent.at(-1);
    this.recent.push(now);
    if (this.recent.length > n) this.recent.shift();
    const atRate = this.recent.length === n && now - this.recent[0]! < (n - 1) * this.opts.gapMs;
    // A flow, once it holds keys, goes on at a lower pace too (a busy apiserver slows a burst down): only
    // starting one takes the full rate.
    const keepsOn = this.held.size > 0 && previous !== undefined && now - previous < this.opts.keepMs;
    if (atRate || keepsOn) this.flowing = now;
    if (this.held.size === 0 && this.flowing !== now) {
      for (const key of keys) this.queue.add(key);
      return;
    }
    if (this.held.size === 0) this.first = now;
    for (const key of keys) this.held.add(key);
    if (this.held.size > 0) this.arm(now);
  }

  /** Every key is going to the queue anyway (a first pass, a new config): what is held need not. */
  drop(): void {
    this.held.clear();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  stop(): void {
    this.stopped = true;
    this.drop();
  }

  /** Keys held right now. */
  get holding(): number {
    return this.held.size;
  }

  /** One timer for all held keys, pushed out lazily: when it fires early, it is armed again. */
  private arm(now: number): void {
    if (this.timer) return;
    const due = Math.min(this.flowing + this.opts.quietMs, this.first + this.opts.maxMs);
    const timer = setTimeout(() => this.release(), Math.max(0, due - now));
    timer.unref();
    this.timer = timer;
  }

  /** The held keys go once the flow's rate has not been seen for quietMs, or the oldest has waited maxMs (the flow goes on). */
  private release(): void {
    this.timer = undefined;
    const now = this.opts.now();
    if (now < this.flowing + this.opts.quietMs && now < this.first + this.opts.maxMs) return this.arm(now);
    const keys = [...this.held];
    this.held.clear();
    for (const key of keys) this.queue.add(key);
  }
}
