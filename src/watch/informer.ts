// List, then watch from the list's resourceVersion, keeping a local copy of the collection. A watch that
// ends is resumed from the last resourceVersion seen (bookmarks included); a 410 Gone means that version
// is too old, so the collection is listed again and the differences are reported as events; a broken
// connection or an apiserver restart is retried with jittered exponential backoff (1 s up to 30 s, reset
// once events flow again). Nothing here polls: an idle collection costs one open request.

import type { KubeObject } from '../core/types.ts';
import { PLACEHOLDER_LABEL } from '../core/ownership.ts';
import { ApiError } from '../errors.ts';
import type { Collection, WatchEvent, WatchPort } from '../k8s/port.ts';
import { sleep } from '../sleep.ts';

export type Change<T> = { type: 'added' | 'modified' | 'deleted'; object: T };

export interface InformerOptions<T extends KubeObject> {
  port: WatchPort;
  collection: Collection;
  onChange: (change: Change<T>) => void;
  /** Told about each restart of the watch, and why. */
  onRestart?: (reason: 'expired' | 'error', err?: unknown) => void;
  minBackoff?: number;
  maxBackoff?: number;
}

export class Informer<T extends KubeObject> {
  readonly store = new Map<string, T>();
  private readonly opts: InformerOptions<T>;
  private readonly abort = new AbortController();
  private resourceVersion = '';
  private backoff: number;
  private syncedResolve!: () => void;
  private syncedReject!: (err: unknown) => void;
  /** Resolves after the first complete list; rejects if that list fails for good (stop before it). */
  readonly synced: Promise<void>;
  private running: Promise<void> | undefined;

  constructor(opts: InformerOptions<T>) {
    this.opts = opts;
    this.backoff = opts.minBackoff ?? 1000;
    this.synced = new Promise((resolve, reject) => {
      this.syncedResolve = resolve;
      this.syncedReject = reject;
    });
    this.synced.catch(() => {});
  }

  start(): this {
    this.running ??= this.loop();
    return this;
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.syncedReject(new Error('stopped'));
    await this.running;
  }

  private async loop(): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted) {
      try {
        if (!this.resourceVersion) await this.relist();
        await this.opts.port.watch<T>(this.opts.collection, this.resourceVersion, (e) => this.apply(e), signal);
      } catch (err) {
        if (signal.aborted) break;
        if (err instanceof ApiError && err.status === 410) {
          this.resourceVersion = '';
          this.opts.onRestart?.('expired', err);
          continue;
        }
        this.opts.onRestart?.('error', err);
        await sleep(this.backoff * (1 + Math.random()), signal);
        this.backoff = Math.min(this.backoff * 2, this.opts.maxBackoff ?? 30_000);
      }
    }
  }

  /** A full list: the store is replaced, and what changed since the last one is reported. */
  private async relist(): Promise<void> {
    const list = await this.opts.port.list<T>(this.opts.collection);
    const seen = new Set<string>();
    for (const item of list.items) {
      const obj = slim(item);
      const k = keyOf(obj);
      seen.add(k);
      const old = this.store.get(k);
      this.store.set(k, obj);
      if (!old) this.opts.onChange({ type: 'added', object: obj });
      else if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) this.opts.onChange({ type: 'modified', object: obj });
    }
    for (const [k, old] of this.store) {
      if (seen.has(k)) continue;
      this.store.delete(k);
      this.opts.onChange({ type: 'deleted', object: old });
    }
    this.resourceVersion = list.resourceVersion;
    this.syncedResolve();
  }

  private apply(raw: WatchEvent<T>): void {
    const e = raw.type === 'ERROR' || raw.type === 'BOOKMARK' ? raw : { ...raw, object: slim(raw.object) };
    if (e.type === 'ERROR') {
      const status = e.object as unknown as { code?: number; message?: string; reason?: string };
      throw new ApiError(`watch ${this.opts.collection.resource}: ${status.message ?? 'error'}`, status.code ?? 500, status.reason ?? 'Error');
    }
    this.backoff = this.opts.minBackoff ?? 1000;
    const rv = e.object.metadata?.resourceVersion;
    if (rv) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    const obj = e.object;
    const k = keyOf(obj);
    if (e.type === 'DELETED') {
      this.store.delete(k);
      this.opts.onChange({ type: 'deleted', object: obj });
      return;
    }
    const existing = this.store.get(k);
    if (existing && olderThan(obj, existing)) return; // the store already holds a newer copy (our own write)
    this.store.set(k, obj);
    this.opts.onChange({ type: existing ? 'modified' : 'added', object: obj });
  }

  /** Puts what this process just wrote into the store, so the next reconcile does not see stale data. */
  remember(obj: T | undefined, deleted = false, key?: string): void {
    if (deleted) {
      if (key) this.store.delete(key);
      return;
    }
    if (!obj) return;
    const k = keyOf(obj);
    const existing = this.store.get(k);
    if (!existing || !olderThan(obj, existing)) this.store.set(k, obj);
  }
}

/**
 * What the cache keeps of an object: everything but managedFields and the last-applied annotation, which
 * vsop never reads and which are most of a small object's size (10,000 Services held in watch). A full
 * update sent without managedFields leaves the server's own untouched.
 */
function slim<T extends KubeObject>(obj: T): T {
  if (obj.kind === 'Service' && !isPlaceholderMarked(obj)) return slimService(obj);
  const { managedFields: _m, ...metadata } = obj.metadata as KubeObject['metadata'] & { managedFields?: unknown };
  if (metadata.annotations) metadata.annotations = withoutLastApplied(metadata.annotations);
  return { ...obj, metadata };
}

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/**
 * A Service vsop does not own is only ever read (does it exist here, with which ports, is it a
 * placeholder): the cache keeps just that. Placeholders, which vsop updates, are kept whole.
 */
function slimService<T extends KubeObject>(obj: T): T {
  const m = obj.metadata;
  const spec = (obj as { spec?: Record<string, unknown> }).spec ?? {};
  return {
    apiVersion: obj.apiVersion,
    kind: obj.kind,
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, ...(m.labels ? { labels: m.labels } : {}), ...(m.annotations ? { annotations: withoutLastApplied(m.annotations) } : {}) },
    spec: { type: spec.type, ports: spec.ports, ...(spec.selector ? { selector: spec.selector } : {}), ...(spec.externalName ? { externalName: spec.externalName } : {}) },
  } as unknown as T;
}

function withoutLastApplied(a: Record<string, string>): Record<string, string> {
  if (!(LAST_APPLIED in a)) return a;
  const { [LAST_APPLIED]: _l, ...rest } = a;
  return rest;
}

function isPlaceholderMarked(obj: KubeObject): boolean {
  return obj.metadata.labels?.[PLACEHOLDER_LABEL] === 'true' || obj.metadata.annotations?.[PLACEHOLDER_LABEL] === 'true';
}

/**
 * resourceVersions are opaque, but every apiserver in use serves etcd revisions: when both are integers,
 * a smaller one is older. An event that arrives after this process stored a newer copy is ignored.
 */
function olderThan(a: KubeObject, b: KubeObject): boolean {
  const ra = a.metadata.resourceVersion;
  const rb = b.metadata.resourceVersion;
  if (!ra || !rb || !/^\d+$/.test(ra) || !/^\d+$/.test(rb)) return false;
  return BigInt(ra) < BigInt(rb);
}

export function keyOf(obj: KubeObject): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

