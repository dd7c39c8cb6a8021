// List, then watch from the list's resourceVersion, keeping a local copy of the collection. A watch that
// ends is resumed from the last resourceVersion seen (bookmarks included); a 410 Gone means that version
// is too old, so the collection is listed again and the differences are reported as events; a broken
// connection or an apiserver restart is retried with jittered exponential backoff (1 s up to 30 s, reset
// once events flow again). Nothing here polls: an idle collection costs one open request.

import type { LoadedConfig } from '../core/config.ts';
import { PLACEHOLDER_LABEL } from '../core/ownership.ts';
import type { KubeObject } from '../core/types.ts';
import { ApiError } from '../errors.ts';
import { collectionKey, type Affected, type Fallback, type Input } from '../inputs.ts';
import type { Collection, WatchEvent, WatchPort } from '../k8s/port.ts';
import { sleep } from '../sleep.ts';
import type { Logger } from './log.ts';

export type Change<T> = { type: 'added' | 'modified' | 'deleted'; object: T };

/**
 * Why a watch started again. 'expired': a 410 Gone, the collection is listed again. 'closed': routine, the
 * watch went silent past the idle bound (no event or bookmark: EWATCHIDLE) or its connection ended under
 * it (reset, broken pipe, a stream cut short: what a load balancer or an apiserver shutting down a
 * connection does); resumed from the last resourceVersion. 'error': anything else (the apiserver
 * unreachable or refusing, an error event), a real failure.
 */
export type RestartReason = 'expired' | 'closed' | 'error';

/** Network codes of a watch that ended on its own rather than failed (client-go: net.IsProbableEOF, net.IsTimeout). */
const ROUTINE_CODES = new Set(['EWATCHIDLE', 'ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** The reason for a restart after `err` (not a 410, which is 'expired'): 'closed' or 'error'. */
export function restartReason(err: unknown): 'closed' | 'error' {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 4; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && ROUTINE_CODES.has(code)) return 'closed';
    cur = (cur as { cause?: unknown }).cause;
  }
  return 'error';
}

/**
 * The one log line for a restart, in watch and xds alike, at client-go's levels (tools/cache/reflector.go,
 * DefaultWatchErrorHandler; watch/retrywatcher.go): a 410 and a watch that ended on its own are routine
 * (debug: client-go logs them at V(4) and V(5), hidden by default), anything else is an error.
 */
export function logRestart(log: Logger, collection: Collection, reason: RestartReason, err?: unknown): void {
  const where = { resource: collection.resource, namespace: collection.namespace || undefined };
  if (reason === 'expired') log.debug('watch expired (410 Gone), listing again', where);
  else if (reason === 'closed') log.debug('watch closed, resuming', { ...where, error: err });
  else log.error('watch interrupted, resuming', { ...where, error: err });
}

export interface InformerOptions<T extends KubeObject> {
  port: WatchPort;
  collection: Collection;
  onChange: (change: Change<T>) => void;
  /** Told about each restart of the watch, and why. */
  onRestart?: (reason: RestartReason, err?: unknown) => void;
  minBackoff?: number;
  maxBackoff?: number;
}

export class Informer<T extends KubeObject> {
  readonly store = new Map<string, T>();
  readonly collection: Collection;
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
    this.collection = opts.collection;
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
        this.opts.onRestart?.(restartReason(err), err);
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
    // The store already holds this copy or a newer one: this process's own write, remembered when it
    // was made. Its echo is no change, so it sets off no reconcile.
    if (existing && (olderThan(obj, existing) || (obj.metadata.resourceVersion !== undefined && obj.metadata.resourceVersion === existing.metadata.resourceVersion))) return;
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
    metadata: {
      name: m.name,
      namespace: m.namespace,
      uid: m.uid,
      resourceVersion: m.resourceVersion,
      ...(m.labels ? { labels: m.labels } : {}),
      ...(m.annotations ? { annotations: withoutLastApplied(m.annotations) } : {}),
    },
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

/**
 * One input of src/inputs.ts held locally: an informer per collection its scopes name under the current
 * config, one merged store (an object two collections hold, such as a placeholder in a watched namespace,
 * leaves when both have let it go), and an index from production Service name to the objects that bear
 * on it. A collection refused with 403 that has a fallback is replaced by its fallback, said once.
 */
export class InputCache<T extends KubeObject> {
  /** Every object of the input, by namespace/name. */
  readonly objects = new Map<string, T>();
  private readonly opts: InputCacheOptions<T>;
  private readonly informers = new Map<string, Informer<T>>();
  /** Informers of scopes the config no longer names, kept (their objects too) until the new ones have synced. */
  private readonly retiring = new Set<Informer<T>>();
  private readonly byKey = new Map<string, Set<string>>();
  private readonly everywhere = new Set<string>();
  private readonly affectedOf = new Map<string, Affected>();
  /** Scopes (by their collection's key) read through their fallback since a 403. */
  private readonly fellBack = new Set<string>();
  private loaded: LoadedConfig | undefined;
  private stopped = false;

  constructor(opts: InputCacheOptions<T>) {
    this.opts = opts;
  }

  /** Starts and stops informers so that they are those of the input's scopes under `loaded`. */
  follow(loaded: LoadedConfig): void {
    const configChanged = this.loaded !== loaded;
    this.loaded = loaded;
    const wanted = new Map<string, Collection>();
    for (const { collection, fallback } of this.opts.input.scopes(loaded)) {
      const collections = this.fellBack.has(collectionKey(collection)) ? (fallback?.collections ?? []) : [collection];
      for (const c of collections) wanted.set(collectionKey(c), c);
    }
    // Make before break: an informer the config no longer names keeps its objects in the store until the
    // new scopes have synced, so that no reconcile in between sees them gone (after a routeKind switch, say,
    // vsop's HTTPRoutes, on whose presence the removal of its ReferenceGrants waits).
    const retired: Informer<T>[] = [];
    for (const [k, informer] of this.informers) {
      if (wanted.has(k)) continue;
      this.informers.delete(k);
      this.retiring.add(informer);
      retired.push(informer);
    }
    for (const [k, c] of wanted) {
      if (this.informers.has(k)) continue;
      const informer = this.opts.informer(
        c,
        (change) => this.settle(keyOf(change.object)),
        (err) => this.refused(k, err),
      );
      this.informers.set(k, informer.start());
    }
    if (configChanged) this.reindex();
    if (retired.length > 0) void this.synced().then(() => this.retire(retired));
  }

  private retire(informers: readonly Informer<T>[]): void {
    for (const informer of informers) {
      if (!this.retiring.delete(informer)) continue;
      void informer.stop();
      for (const obj of informer.store.values()) this.settle(keyOf(obj));
    }
  }

  /** Resolves once every informer of the current scopes holds a first full list (also after a fallback). */
  async synced(): Promise<void> {
    while (!this.stopped) {
      const current = [...this.informers.values()];
      const ok = await Promise.all(current.map((i) => i.synced)).then(
        () => true,
        () => false,
      );
      if (ok && current.length === this.informers.size && current.every((i) => [...this.informers.values()].includes(i))) return;
    }
  }

  /** The objects that bear on one production Service (those of a wildcard host included). */
  objectsFor(key: string): T[] {
    const out: T[] = [];
    for (const k of [...(this.byKey.get(key) ?? []), ...this.everywhere]) {
      const obj = this.objects.get(k);
      if (obj) out.push(obj);
    }
    return out;
  }

  /** Write-through of this process's own write, into the merged store and every informer that holds or covers it. */
  remember(obj: T | undefined, deleted: boolean, key: string): void {
    for (const informer of [...this.informers.values(), ...this.retiring]) {
      if (informer.store.has(key) || (obj && covers(informer.collection, obj))) informer.remember(obj, deleted, key);
    }
    this.settle(key, false);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.informers.values(), ...this.retiring].map((i) => i.stop()));
  }

  /**
   * The merged store and the index follow what the informers now hold for one key; the Services it bore on
   * and bears on are told (not for this process's own writes, which the reconcile that made them knows).
   */
  private settle(storeKey: string, tell = true): void {
    let obj: T | undefined;
    for (const informer of [...this.informers.values(), ...this.retiring]) {
      const held = informer.store.get(storeKey);
      if (held && (!obj || olderThan(obj, held))) obj = held;
    }
    if (obj) this.objects.set(storeKey, obj);
    else this.objects.delete(storeKey);
    const before = this.unindex(storeKey);
    const after = obj && this.index(storeKey, obj);
    if (!tell) return;
    // One change is one event, for the keys it bore on and bears on together: told as two, an update
    // looked like a flow to the Settler, which then held it and every event after it (queue.ts).
    const keys = before === 'all' || after === 'all' ? 'all' : before && after ? [...new Set([...before, ...after])] : (before ?? after);
    if (keys && keys.length > 0) this.opts.touched(keys);
  }

  private index(storeKey: string, obj: T): Affected {
    const affected = this.opts.input.affects(obj, this.loaded!);
    this.affectedOf.set(storeKey, affected);
    if (affected === 'all') this.everywhere.add(storeKey);
    else {
      for (const key of affected) {
        let set = this.byKey.get(key);
        if (!set) this.byKey.set(key, (set = new Set()));
        set.add(storeKey);
      }
    }
    return affected;
  }

  private unindex(storeKey: string): Affected | undefined {
    const affected = this.affectedOf.get(storeKey);
    if (affected === undefined) return undefined;
    this.affectedOf.delete(storeKey);
    if (affected === 'all') this.everywhere.delete(storeKey);
    else {
      for (const key of affected) {
        const set = this.byKey.get(key);
        set?.delete(storeKey);
        if (set?.size === 0) this.byKey.delete(key);
      }
    }
    return affected;
  }

  /** After a config change: which Service an object bears on may have changed (the template's hosts). */
  private reindex(): void {
    this.byKey.clear();
    this.everywhere.clear();
    this.affectedOf.clear();
    for (const [k, obj] of this.objects) this.index(k, obj);
  }

  /**
   * A watch or list failed: a 403 on a collection with a fallback moves that scope to its fallback, once; a
   * 403 or 404 on an optional one leaves it unread (true: taken over).
   */
  private refused(collection: string, err: unknown): boolean {
    if (this.stopped || !(err instanceof ApiError) || (err.status !== 403 && err.status !== 404) || !this.loaded || this.fellBack.has(collection)) return false;
    const scope = this.opts.input.scopes(this.loaded).find((s) => collectionKey(s.collection) === collection);
    // An optional kind refused or not installed is read as none, quietly.
    if (!scope || !(scope.optional || (scope.fallback && err.status === 403))) return false;
    this.fellBack.add(collection);
    if (scope.fallback && !scope.optional) this.opts.fellBack(scope.fallback, err);
    // Not from inside the informer's own callback: it stops the informer that called.
    queueMicrotask(() => this.loaded && !this.stopped && this.follow(this.loaded));
    return true;
  }
}

export interface InputCacheOptions<T extends KubeObject> {
  input: Input<T>;
  /** Makes (does not start) an informer of one collection that reports each change and each failure (true: the cache took it over). */
  informer: (collection: Collection, onChange: (change: Change<T>) => void, onFailure: (err: unknown) => boolean) => Informer<T>;
  /** Told, after each change, the production Services it bears on (before, then after, when they differ). */
  touched: (keys: Affected) => void;
  /** Told once per scope that falls back, with the 403 that made it. */
  fellBack: (fallback: Fallback, err: ApiError) => void;
}

/** Whether an object belongs in a collection (namespace, and the `key=value` label selectors vsop uses). */
function covers(c: Collection, obj: KubeObject): boolean {
  if (c.namespace && c.namespace !== obj.metadata.namespace) return false;
  if (c.fieldSelector) return false;
  if (!c.labelSelector) return true;
  return c.labelSelector.split(',').every((term) => {
    const [k, v] = term.split('=');
    return obj.metadata.labels?.[k!] === v;
  });
}
