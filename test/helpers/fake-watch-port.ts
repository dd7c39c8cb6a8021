// An in-memory WatchPort for unit tests of the informer and the leader elector. It records every verb, like
// FakePort; a list answers with `items` at `listVersion` (or throws the next of `listFailures`); each watch
// opens a stream the test drives (emit events, end it, break it), as the API server's watch would; Leases
// are stored with resourceVersions and a stale update gets 409, as on the API server.

import type { KubeObject } from '../../src/core/types.ts';
import { ApiError } from '../../src/errors.ts';
import type { Collection, Lease, ObjectList, WatchEvent, WatchPort } from '../../src/k8s/port.ts';
import { FakePort } from './fake-port.ts';

/** One open watch, as the test sees it. */
export interface FakeStream {
  collection: Collection;
  /** The resourceVersion the watch was opened from. */
  from: string;
  /** Delivers an event; a throw from the informer's handler breaks the stream, as in the real client. */
  emit(event: WatchEvent<KubeObject>): void;
  /** The server ends the watch (its timeout): the promise resolves. */
  end(): void;
  /** The connection breaks: the promise rejects with `err`. */
  fail(err: unknown): void;
  readonly closed: boolean;
}

export class FakeWatchPort extends FakePort implements WatchPort {
  items: KubeObject[] = [];
  listVersion = '1';
  /** Thrown by the next lists, one each; `undefined` entries let a list through. */
  readonly listFailures: unknown[] = [];
  readonly streams: FakeStream[] = [];
  private readonly streamWaiters: (() => void)[] = [];
  private readonly leases = new Map<string, Lease>();
  private leaseVersion = 1000;
  /**
   * Runs before each Lease verb; it may change the stored Lease (another replica), throw (a failed request)
   * or return a promise that the verb waits for (a request that hangs).
   */
  beforeLease: ((verb: 'get' | 'create' | 'update') => void | Promise<void>) | undefined;
  readonly events: KubeObject[] = [];

  async list<T extends KubeObject>(c: Collection): Promise<ObjectList<T>> {
    this.calls.push(`list ${c.resource}`);
    const err = this.listFailures.shift();
    if (err) throw err;
    return { items: structuredClone(this.items) as T[], resourceVersion: this.listVersion };
  }

  watch<T extends KubeObject>(c: Collection, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    // Like an HTTP request given an aborted signal: fails at once, sends nothing.
    if (signal.aborted) return Promise.reject(signal.reason);
    this.calls.push(`watch ${c.resource} from ${resourceVersion}`);
    return new Promise((resolve, reject) => {
      let closed = false;
      const close = (settle: () => void) => {
        if (closed) return;
        closed = true;
        settle();
      };
      const stream: FakeStream = {
        collection: c,
        from: resourceVersion,
        emit: (e) => {
          if (closed) throw new Error('emit on a closed stream');
          try {
            onEvent(structuredClone(e) as WatchEvent<T>);
          } catch (err) {
            close(() => reject(err));
          }
        },
        end: () => close(resolve),
        fail: (err) => close(() => reject(err)),
        get closed() {
          return closed;
        },
      };
      signal.addEventListener('abort', () => close(resolve), { once: true });
      this.streams.push(stream);
      for (const w of this.streamWaiters.splice(0)) w();
    });
  }

  /** The `n`th watch opened (0-based), once it is open. */
  async stream(n: number): Promise<FakeStream> {
    while (this.streams.length <= n) await new Promise<void>((resolve) => this.streamWaiters.push(resolve));
    return this.streams[n]!;
  }

  /** The stored Lease, as another replica or `kubectl get lease` would read it. */
  lease(namespace: string, name: string): Lease | undefined {
    const l = this.leases.get(`${namespace}/${name}`);
    return l && structuredClone(l);
  }

  /** Stores a Lease as another writer would (a new resourceVersion), without recording a verb. */
  putLease(lease: Lease): Lease {
    const stored = structuredClone(lease);
    stored.metadata.resourceVersion = String(++this.leaseVersion);
    this.leases.set(`${stored.metadata.namespace}/${stored.metadata.name}`, stored);
    return structuredClone(stored);
  }

  async getLease(namespace: string, name: string): Promise<Lease | undefined> {
    this.calls.push(`get lease ${namespace}/${name}`);
    await this.beforeLease?.('get');
    return this.lease(namespace, name);
  }

  async createLease(lease: Lease): Promise<Lease> {
    const k = `${lease.metadata.namespace}/${lease.metadata.name}`;
    this.calls.push(`create lease ${k}`);
    await this.beforeLease?.('create');
    if (this.leases.has(k)) throw new ApiError(`lease ${k} already exists`, 409, 'AlreadyExists');
    return this.putLease(lease);
  }

  async replaceLease(lease: Lease): Promise<Lease> {
    const k = `${lease.metadata.namespace}/${lease.metadata.name}`;
    this.calls.push(`update lease ${k}`);
    await this.beforeLease?.('update');
    const cur = this.leases.get(k);
    if (!cur) throw new ApiError(`lease ${k} not found`, 404, 'NotFound');
    if (cur.metadata.resourceVersion !== lease.metadata.resourceVersion) {
      throw new ApiError('the object has been modified; please apply your changes to the latest version and try again', 409, 'Conflict');
    }
    return this.putLease(lease);
  }

  async createEvent(event: KubeObject): Promise<void> {
    this.calls.push(`create event ${event.metadata.namespace}/${event.metadata.name}`);
    this.events.push(structuredClone(event));
  }
}
