// KubePort over the API server's REST paths. Answers other than success become typed errors here
// (src/k8s/errors.ts), naming what was being done; reads answered 429/5xx are tried again.

import type { KubeConfig } from '@kubernetes/client-node';
import pRetry from 'p-retry';
import type { KubeObject, Service, VirtualService } from '../core/types.ts';
import { ApiError } from '../errors.ts';
import { sleep } from '../sleep.ts';
import { toVsopError, type Operation } from './errors.ts';
import { KubeHttp, type HttpOptions } from './http.ts';
import {
  type Collection,
  type ConfigMap,
  type Lease,
  type ObjectKind,
  type ObjectList,
  type Preconditions,
  RESOURCES,
  type ServerVersion,
  type VersionPort,
  type WatchEvent,
  type WatchPort,
  type WriteOptions,
} from './port.ts';

const PAGE = '500';
const READ_RETRIES = 4;
const GROUP = 'networking.istio.io';
const VS_RESOURCE = `virtualservices.${GROUP}`;
const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export interface ClientOptions extends HttpOptions {
  /** Called once per request with its verb and status (0 when no answer came). */
  onRequest?: (verb: string, status: number) => void;
}

interface List<T> {
  items: T[];
  metadata?: { continue?: string; resourceVersion?: string };
}

/** The longest silence tolerated on a watch; the server sends a bookmark about once a minute. */
const WATCH_IDLE_MS = 150_000;
const LEASES = 'leases.coordination.k8s.io';

export class KubeClient implements WatchPort, VersionPort {
  readonly server: string;
  private readonly http: KubeHttp;
  private readonly opts: ClientOptions;

  constructor(kc: KubeConfig, opts: ClientOptions = {}) {
    this.http = new KubeHttp(kc, opts);
    this.server = this.http.server;
    this.opts = opts;
  }

  async getConfigMap(namespace: string, name: string): Promise<ConfigMap> {
    return (await this.call({ verb: 'get', resource: 'configmaps', namespace, name }, 'GET', `api/v1/namespaces/${namespace}/configmaps/${name}`)) as ConfigMap;
  }

  async listServices(namespace: string, labelSelector?: string): Promise<Service[]> {
    const op: Operation = namespace ? { verb: 'list', resource: 'services', namespace } : { verb: 'list', resource: 'services' };
    return (await this.pages<Service>(op, namespace ? `api/v1/namespaces/${namespace}/services` : 'api/v1/services', 'v1', 'Service', { labelSelector })).items;
  }

  async listVirtualServices(namespace: string, apiVersion: string): Promise<VirtualService[]> {
    const op: Operation = { verb: 'list', resource: VS_RESOURCE, apiVersion, ...(namespace ? { namespace } : {}) };
    return (await this.pages<VirtualService>(op, vsPath(apiVersion, namespace), apiVersion, 'VirtualService')).items;
  }

  async getVirtualService(namespace: string, name: string, apiVersion: string): Promise<VirtualService | undefined> {
    return this.orUndefined(() => this.call({ verb: 'get', resource: VS_RESOURCE, namespace, name, apiVersion }, 'GET', vsPath(apiVersion, namespace, name))) as Promise<
      VirtualService | undefined
    >;
  }

  async createVirtualService(vs: VirtualService, opts: WriteOptions = {}): Promise<VirtualService> {
    const namespace = vs.metadata.namespace!;
    const op: Operation = { verb: 'create', resource: VS_RESOURCE, namespace, name: vs.metadata.name, apiVersion: vs.apiVersion };
    return (await this.call(op, 'POST', vsPath(vs.apiVersion, namespace), writeQuery(opts), vs)) as VirtualService;
  }

  async replaceVirtualService(vs: VirtualService, opts: WriteOptions = {}): Promise<VirtualService> {
    const namespace = vs.metadata.namespace!;
    const name = vs.metadata.name;
    const op: Operation = { verb: 'update', resource: VS_RESOURCE, namespace, name, apiVersion: vs.apiVersion };
    return (await this.call(op, 'PUT', vsPath(vs.apiVersion, namespace, name), writeQuery(opts), vs)) as VirtualService;
  }

  async deleteVirtualService(namespace: string, name: string, apiVersion: string, pre: Preconditions, opts: WriteOptions = {}): Promise<void> {
    const op: Operation = { verb: 'delete', resource: VS_RESOURCE, namespace, name, apiVersion };
    await this.call(op, 'DELETE', vsPath(apiVersion, namespace, name), {}, deleteOptions(pre, opts));
  }

  async getService(namespace: string, name: string): Promise<Service | undefined> {
    return this.orUndefined(() => this.call({ verb: 'get', resource: 'services', namespace, name }, 'GET', `api/v1/namespaces/${namespace}/services/${name}`)) as Promise<
      Service | undefined
    >;
  }

  async createService(svc: Service, opts: WriteOptions = {}): Promise<Service> {
    const namespace = svc.metadata.namespace!;
    const op: Operation = { verb: 'create', resource: 'services', namespace, name: svc.metadata.name };
    return (await this.call(op, 'POST', `api/v1/namespaces/${namespace}/services`, writeQuery(opts), svc)) as Service;
  }

  async replaceService(svc: Service, opts: WriteOptions = {}): Promise<Service> {
    const namespace = svc.metadata.namespace!;
    const name = svc.metadata.name;
    const op: Operation = { verb: 'update', resource: 'services', namespace, name };
    return (await this.call(op, 'PUT', `api/v1/namespaces/${namespace}/services/${name}`, writeQuery(opts), svc)) as Service;
  }

  async deleteService(namespace: string, name: string, pre: Preconditions, opts: WriteOptions = {}): Promise<void> {
    const op: Operation = { verb: 'delete', resource: 'services', namespace, name };
    await this.call(op, 'DELETE', `api/v1/namespaces/${namespace}/services/${name}`, {}, deleteOptions(pre, opts));
  }

  async listObjects(c: Collection): Promise<KubeObject[]> {
    return (await this.list(c)).items;
  }

  async getObject(kind: ObjectKind, apiVersion: string, namespace: string, name: string): Promise<KubeObject | undefined> {
    const c: Collection = { resource: RESOURCES[kind], namespace, apiVersion };
    return this.orUndefined(() => this.call({ verb: 'get', resource: resourceName(c), namespace, name, apiVersion }, 'GET', `${collectionPath(c)}/${name}`)) as Promise<
      KubeObject | undefined
    >;
  }

  async createObject(obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const namespace = obj.metadata.namespace!;
    const c = objectCollection(obj);
    const op: Operation = { verb: 'create', resource: resourceName(c), namespace, name: obj.metadata.name, apiVersion: obj.apiVersion };
    return (await this.call(op, 'POST', collectionPath(c), writeQuery(opts, obj.kind), obj)) as KubeObject;
  }

  async replaceObject(obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    const namespace = obj.metadata.namespace!;
    const name = obj.metadata.name;
    const c = objectCollection(obj);
    const op: Operation = { verb: 'update', resource: resourceName(c), namespace, name, apiVersion: obj.apiVersion };
    return (await this.call(op, 'PUT', `${collectionPath(c)}/${name}`, writeQuery(opts, obj.kind), obj)) as KubeObject;
  }

  async deleteObject(kind: ObjectKind, apiVersion: string, namespace: string, name: string, pre: Preconditions, opts: WriteOptions = {}): Promise<void> {
    const c: Collection = { resource: RESOURCES[kind], namespace, apiVersion };
    const op: Operation = { verb: 'delete', resource: resourceName(c), namespace, name, apiVersion };
    await this.call(op, 'DELETE', `${collectionPath(c)}/${name}`, {}, deleteOptions(pre, opts));
  }

  async list<T extends KubeObject>(c: Collection): Promise<ObjectList<T>> {
    const op: Operation = { verb: 'list', resource: resourceName(c), ...(c.namespace ? { namespace: c.namespace } : {}) };
    const [apiVersion, kind] = kindOf(c);
    return this.pages<T>(op, collectionPath(c), apiVersion, kind, { labelSelector: c.labelSelector, fieldSelector: c.fieldSelector });
  }

  async watch<T extends KubeObject>(c: Collection, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void> {
    const op: Operation = { verb: 'watch', resource: resourceName(c), ...(c.namespace ? { namespace: c.namespace } : {}) };
    const query = { watch: '1', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: '300', labelSelector: c.labelSelector, fieldSelector: c.fieldSelector };
    try {
      await this.http.stream(collectionPath(c), query, (e) => onEvent(e as WatchEvent<T>), signal, WATCH_IDLE_MS);
      this.opts.onRequest?.('watch', 200);
    } catch (err) {
      this.opts.onRequest?.('watch', (err as { status?: number }).status ?? 0);
      throw toVsopError(err, op, this.server);
    }
  }

  async getLease(namespace: string, name: string): Promise<Lease | undefined> {
    return this.orUndefined(() =>
      this.call({ verb: 'get', resource: LEASES, namespace, name }, 'GET', `apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`),
    ) as Promise<Lease | undefined>;
  }

  async createLease(lease: Lease): Promise<Lease> {
    const namespace = lease.metadata.namespace!;
    return (await this.call(
      { verb: 'create', resource: LEASES, namespace, name: lease.metadata.name },
      'POST',
      `apis/coordination.k8s.io/v1/namespaces/${namespace}/leases`,
      {},
      lease,
    )) as Lease;
  }

  async replaceLease(lease: Lease): Promise<Lease> {
    const namespace = lease.metadata.namespace!;
    const name = lease.metadata.name;
    return (await this.call(
      { verb: 'update', resource: LEASES, namespace, name },
      'PUT',
      `apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/${name}`,
      {},
      lease,
    )) as Lease;
  }

  async createEvent(event: KubeObject): Promise<void> {
    const namespace = event.metadata.namespace!;
    await this.call({ verb: 'create', resource: 'events', namespace }, 'POST', `api/v1/namespaces/${namespace}/events`, {}, event);
  }

  close(): void {
    this.http.close();
  }

  async serverVersion(): Promise<ServerVersion> {
    return (await this.call({ verb: 'get', resource: 'version' }, 'GET', 'version')) as ServerVersion;
  }

  /** Every page of a LIST; items get the apiVersion and kind that lists leave out. */
  private async pages<T extends KubeObject>(op: Operation, path: string, apiVersion: string, kind: string, query: Record<string, string | undefined> = {}): Promise<ObjectList<T>> {
    const items: T[] = [];
    let next: string | undefined;
    let resourceVersion = '';
    do {
      const page = (await this.call(op, 'GET', path, { ...query, limit: PAGE, continue: next })) as List<T>;
      for (const item of page.items) items.push({ ...item, apiVersion, kind });
      resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
      next = page.metadata?.continue || undefined;
    } while (next);
    return { items, resourceVersion };
  }

  /**
   * One request. Reads answered 429 or 5xx (an apiserver starting, its cache re-initialising, throttling)
   * are tried again after the Retry-After the server gives, a few times; writes are retried by apply,
   * which knows how to re-plan them.
   */
  private async call(op: Operation, method: string, path: string, query: Record<string, string | undefined> = {}, body?: unknown): Promise<unknown> {
    const read = method === 'GET';
    return pRetry(
      async () => {
        try {
          const answer = await this.http.request(method, path, query, body);
          this.opts.onRequest?.(op.verb, answer.status);
          return answer.body;
        } catch (err) {
          this.opts.onRequest?.(op.verb, (err as { status?: number }).status ?? 0);
          throw toVsopError(err, op, this.server);
        }
      },
      {
        retries: read ? READ_RETRIES : 0,
        minTimeout: 250,
        factor: 2,
        randomize: true,
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
        shouldRetry: ({ error }) => error instanceof ApiError && (error.status === 429 || error.status >= 500),
        onFailedAttempt: async ({ error, retryDelay }) => {
          const wait = error instanceof ApiError && error.retryAfter ? Math.min(error.retryAfter, 10) * 1000 - retryDelay : 0;
          if (wait > 0) await sleep(wait, this.opts.signal);
        },
      },
    );
  }

  private async orUndefined<T>(fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return undefined;
      throw err;
    }
  }
}

/** The custom resources vsop reads: kind, and the apiVersion when the collection names none. */
const CUSTOM: Partial<Record<Collection['resource'], { kind: string; apiVersion: string }>> = {
  virtualservices: { kind: 'VirtualService', apiVersion: `${GROUP}/v1` },
  // The Gateway API's standard channel serves HTTPRoute at v1, ReferenceGrant only at v1beta1 (v1.3.0).
  httproutes: { kind: 'HTTPRoute', apiVersion: `${GATEWAY_GROUP}/v1` },
  referencegrants: { kind: 'ReferenceGrant', apiVersion: `${GATEWAY_GROUP}/v1beta1` },
  // Read by vsop xds alone, for the endpoints it serves.
  endpointslices: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1' },
};

function collectionPath(c: Collection): string {
  const custom = CUSTOM[c.resource];
  if (custom) return `apis/${c.apiVersion ?? custom.apiVersion}/${c.namespace ? `namespaces/${c.namespace}/` : ''}${c.resource}`;
  return c.namespace ? `api/v1/namespaces/${c.namespace}/${c.resource}` : `api/v1/${c.resource}`;
}

function resourceName(c: Collection): string {
  const custom = CUSTOM[c.resource];
  return custom ? `${c.resource}.${custom.apiVersion.split('/')[0]}` : c.resource;
}

function kindOf(c: Collection): [string, string] {
  const custom = CUSTOM[c.resource];
  if (custom) return [c.apiVersion ?? custom.apiVersion, custom.kind];
  return ['v1', c.resource === 'services' ? 'Service' : 'ConfigMap'];
}

/** The collection an object of a generic kind belongs to. */
function objectCollection(obj: KubeObject): Collection {
  return { resource: RESOURCES[obj.kind as ObjectKind], namespace: obj.metadata.namespace ?? '', apiVersion: obj.apiVersion };
}

/** '' as the namespace: the collection across all namespaces. */
function vsPath(apiVersion: string, namespace: string, name?: string): string {
  return `apis/${apiVersion}/${namespace ? `namespaces/${namespace}/` : ''}virtualservices${name ? `/${name}` : ''}`;
}

function dryRun(opts: WriteOptions): Record<string, string | undefined> {
  return { dryRun: opts.dryRun ? 'All' : undefined };
}

function writeQuery(opts: WriteOptions, kind?: string): Record<string, string | undefined> {
  return { fieldManager: 'vsop', ...dryRun(opts), ...(kind && STRICT_KINDS.has(kind) ? { fieldValidation: 'Strict' } : {}) };
}

/**
 * Kinds vsop writes with fieldValidation=Strict (kubectl's --validate=strict): an unknown or duplicate
 * field is refused with its path ("strict decoding error: unknown field \"spec.rules[0].matchs\"") instead
 * of dropped unsaid, which would turn a misspelt `matchs` into a catch-all rule and leave the route
 * drifting from the template forever (issue 14). vsop renders these objects whole from its template.
 */
const STRICT_KINDS: ReadonlySet<string> = new Set(['HTTPRoute', 'ReferenceGrant']);

/** The apiserver reads a DELETE's options from its body when it has one, and then ignores ?dryRun: it goes here. */
function deleteOptions(pre: Preconditions, opts: WriteOptions): unknown {
  return { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: pre, ...(opts.dryRun ? { dryRun: ['All'] } : {}) };
}
