// KubePort over @kubernetes/client-node: the only file that calls the generated API clients. Answers
// other than success become typed errors here (src/k8s/errors.ts), naming what was being done.

import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig, Observable, type ConfigurationOptions, type RequestContext, type ResponseContext } from '@kubernetes/client-node';
import { createHash } from 'node:crypto';
import pRetry from 'p-retry';
import type { Service, VirtualService } from '../core/types.ts';
import { ApiError } from '../errors.ts';
import { toVsopError, type Operation } from './errors.ts';
import type { ConfigMap, KubePort, Preconditions, WriteOptions } from './port.ts';

const PAGE = 500;
const READ_RETRIES = 4;
const GROUP = 'networking.istio.io';
const PLURAL = 'virtualservices';

export interface ClientOptions {
  /** Aborts every request in flight (Ctrl-C, SIGTERM, --timeout). */
  signal?: AbortSignal;
  /** Per-request limit in milliseconds. */
  requestTimeout?: number;
  /** Called once per request with its verb and status (0 when no answer came). */
  onRequest?: (verb: string, status: number) => void;
}

export class KubeClient implements KubePort {
  readonly server: string;
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly options: ConfigurationOptions;
  private readonly onRequest: ClientOptions['onRequest'];
  private readonly signal: AbortSignal | undefined;

  constructor(kc: KubeConfig, opts: ClientOptions = {}) {
    reuseConnections(kc);
    this.server = kc.getCurrentCluster()?.server ?? '(no server)';
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.options = requestOptions(opts);
    this.onRequest = opts.onRequest;
    this.signal = opts.signal;
  }

  async getConfigMap(namespace: string, name: string): Promise<ConfigMap> {
    const op: Operation = { verb: 'get', resource: 'configmaps', namespace, name };
    return plain(await this.call(op, () => this.core.readNamespacedConfigMap({ namespace, name }, this.options))) as ConfigMap;
  }

  async listServices(namespace: string, labelSelector?: string): Promise<Service[]> {
    const op: Operation = namespace ? { verb: 'list', resource: 'services', namespace } : { verb: 'list', resource: 'services' };
    const items: Service[] = [];
    let next: string | undefined;
    do {
      const params = { limit: PAGE, ...(next ? { _continue: next } : {}), ...(labelSelector ? { labelSelector } : {}) };
      const page = await this.call(op, () =>
        namespace ? this.core.listNamespacedService({ namespace, ...params }, this.options) : this.core.listServiceForAllNamespaces(params, this.options),
      );
      for (const item of page.items) items.push(withKind(plain(item), 'v1', 'Service') as Service);
      next = page.metadata?._continue || undefined;
    } while (next);
    return items;
  }

  async listVirtualServices(namespace: string, apiVersion: string): Promise<VirtualService[]> {
    const op: Operation = { verb: 'list', resource: `${PLURAL}.${GROUP}`, namespace, apiVersion };
    const version = versionOf(apiVersion);
    const items: VirtualService[] = [];
    let next: string | undefined;
    do {
      const page = (await this.call(op, () =>
        this.custom.listNamespacedCustomObject({ group: GROUP, version, plural: PLURAL, namespace, limit: PAGE, ...(next ? { _continue: next } : {}) }, this.options),
      )) as { items: VirtualService[]; metadata?: { continue?: string } };
      for (const item of page.items) items.push(withKind(item, apiVersion, 'VirtualService') as VirtualService);
      next = page.metadata?.continue || undefined;
    } while (next);
    return items;
  }

  async getVirtualService(namespace: string, name: string, apiVersion: string): Promise<VirtualService | undefined> {
    const op: Operation = { verb: 'get', resource: `${PLURAL}.${GROUP}`, namespace, name, apiVersion };
    return this.orUndefined(op, async () =>
      (await this.custom.getNamespacedCustomObject({ group: GROUP, version: versionOf(apiVersion), plural: PLURAL, namespace, name }, this.options)) as VirtualService,
    );
  }

  async createVirtualService(vs: VirtualService, opts: WriteOptions = {}): Promise<VirtualService> {
    const namespace = vs.metadata.namespace!;
    const op: Operation = { verb: 'create', resource: `${PLURAL}.${GROUP}`, namespace, name: vs.metadata.name, apiVersion: vs.apiVersion };
    return (await this.call(op, () =>
      this.custom.createNamespacedCustomObject(
        { group: GROUP, version: versionOf(vs.apiVersion), plural: PLURAL, namespace, body: vs, fieldManager: 'vsop', ...dryRun(opts) },
        this.options,
      ),
    )) as VirtualService;
  }

  async replaceVirtualService(vs: VirtualService, opts: WriteOptions = {}): Promise<VirtualService> {
    const namespace = vs.metadata.namespace!;
    const name = vs.metadata.name;
    const op: Operation = { verb: 'update', resource: `${PLURAL}.${GROUP}`, namespace, name, apiVersion: vs.apiVersion };
    return (await this.call(op, () =>
      this.custom.replaceNamespacedCustomObject(
        { group: GROUP, version: versionOf(vs.apiVersion), plural: PLURAL, namespace, name, body: vs, fieldManager: 'vsop', ...dryRun(opts) },
        this.options,
      ),
    )) as VirtualService;
  }

  async deleteVirtualService(namespace: string, name: string, apiVersion: string, pre: Preconditions, opts: WriteOptions = {}): Promise<void> {
    const op: Operation = { verb: 'delete', resource: `${PLURAL}.${GROUP}`, namespace, name, apiVersion };
    await this.call(op, () =>
      this.custom.deleteNamespacedCustomObject(
        { group: GROUP, version: versionOf(apiVersion), plural: PLURAL, namespace, name, body: { preconditions: pre }, ...dryRun(opts) },
        this.options,
      ),
    );
  }

  async getService(namespace: string, name: string): Promise<Service | undefined> {
    const op: Operation = { verb: 'get', resource: 'services', namespace, name };
    return this.orUndefined(op, async () => withKind(plain(await this.core.readNamespacedService({ namespace, name }, this.options)), 'v1', 'Service') as Service);
  }

  async createService(svc: Service, opts: WriteOptions = {}): Promise<Service> {
    const namespace = svc.metadata.namespace!;
    const op: Operation = { verb: 'create', resource: 'services', namespace, name: svc.metadata.name };
    return plain(await this.call(op, () => this.core.createNamespacedService({ namespace, body: svc as never, fieldManager: 'vsop', ...dryRun(opts) }, this.options))) as Service;
  }

  async replaceService(svc: Service, opts: WriteOptions = {}): Promise<Service> {
    const namespace = svc.metadata.namespace!;
    const name = svc.metadata.name;
    const op: Operation = { verb: 'update', resource: 'services', namespace, name };
    return plain(await this.call(op, () => this.core.replaceNamespacedService({ namespace, name, body: svc as never, fieldManager: 'vsop', ...dryRun(opts) }, this.options))) as Service;
  }

  async deleteService(namespace: string, name: string, pre: Preconditions, opts: WriteOptions = {}): Promise<void> {
    const op: Operation = { verb: 'delete', resource: 'services', namespace, name };
    await this.call(op, () => this.core.deleteNamespacedService({ namespace, name, body: { preconditions: pre }, ...dryRun(opts) }, this.options));
  }

  /**
   * One request. Reads answered 429 or 5xx (an apiserver starting, its cache re-initialising, throttling)
   * are tried again after the Retry-After the server gives, a few times; writes are retried by apply,
   * which knows how to re-plan them.
   */
  private async call<T>(op: Operation, fn: () => Promise<T>): Promise<T> {
    const read = op.verb === 'get' || op.verb === 'list';
    return pRetry(
      async () => {
        try {
          const result = await fn();
          this.onRequest?.(op.verb, 200);
          return result;
        } catch (err) {
          this.onRequest?.(op.verb, err instanceof ApiException ? err.code : 0);
          throw toVsopError(err, op, this.server);
        }
      },
      {
        retries: read ? READ_RETRIES : 0,
        minTimeout: 250,
        factor: 2,
        randomize: true,
        ...(this.signal ? { signal: this.signal } : {}),
        shouldRetry: ({ error }) => error instanceof ApiError && (error.status === 429 || error.status >= 500),
        onFailedAttempt: async ({ error, retryDelay }) => {
          const wait = error instanceof ApiError && error.retryAfter ? Math.min(error.retryAfter, 10) * 1000 - retryDelay : 0;
          if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        },
      },
    );
  }

  private async orUndefined<T>(op: Operation, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.call(op, fn);
    } catch (err) {
      if ((err as { status?: number }).status === 404) return undefined;
      throw err;
    }
  }
}

/**
 * @kubernetes/client-node 2.0.1 builds a new undici Agent for every request (applySecurityAuthentication
 * calls createDispatcher each time), so every request pays a new TCP and TLS handshake: a sync writing
 * 1,000 objects spent most of its time in TLS set-up. One dispatcher per distinct TLS identity is kept
 * instead; a rotated client certificate (exec plugins) gets a new one.
 */
function reuseConnections(kc: KubeConfig): void {
  const target = kc as unknown as { createDispatcher(cluster: unknown, options: Record<string, unknown>): unknown };
  const create = target.createDispatcher.bind(kc);
  const cache = new Map<string, unknown>();
  target.createDispatcher = (cluster, options) => {
    const hash = createHash('sha256').update(String((cluster as { server?: string } | null)?.server));
    for (const key of ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername']) {
      hash.update(`\0${key}=`).update(String(options[key] === undefined ? '' : Buffer.isBuffer(options[key]) ? (options[key] as Buffer).toString('base64') : options[key]));
    }
    const id = hash.digest('hex');
    if (!cache.has(id)) cache.set(id, create(cluster, options));
    return cache.get(id);
  };
}

/** Typed models carry Dates and class prototypes; vsop works on plain JSON. */
function plain(value: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value)) as Record<string, unknown>;
}

/** List items come without apiVersion and kind. */
function withKind(obj: Record<string, unknown>, apiVersion: string, kind: string): Record<string, unknown> {
  return { ...obj, apiVersion, kind };
}

function versionOf(apiVersion: string): string {
  return apiVersion.slice(apiVersion.indexOf('/') + 1);
}

function dryRun(opts: WriteOptions): { dryRun?: string } {
  return opts.dryRun ? { dryRun: 'All' } : {};
}

/** A per-request timeout joined with the command's abort signal. */
function requestOptions(opts: ClientOptions): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx: RequestContext) => {
          const signals = [opts.signal, opts.requestTimeout ? AbortSignal.timeout(opts.requestTimeout) : undefined].filter((s): s is AbortSignal => s !== undefined);
          if (signals.length > 0) ctx.setSignal(signals.length === 1 ? signals[0]! : AbortSignal.any(signals));
          return new Observable(Promise.resolve(ctx));
        },
        post: (res: ResponseContext) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}
