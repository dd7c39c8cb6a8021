// An in-memory KubePort for unit tests of apply and retry: it keeps objects with resourceVersions, answers
// 409 on a stale write like the API server, records every verb, and can be told to meddle before a write.

import type { KubeObject, Service, VirtualService } from '../../src/core/types.ts';
import { ApiError } from '../../src/errors.ts';
import { type Collection, type ConfigMap, type KubePort, type ObjectKind, type Preconditions, RESOURCES, type WriteOptions } from '../../src/k8s/port.ts';

type Stored = VirtualService | Service | KubeObject;

export class FakePort implements KubePort {
  readonly server = 'https://fake.invalid';
  readonly calls: string[] = [];
  private readonly objects = new Map<string, Stored>();
  private version = 100;
  /** Runs before each write; may change stored objects (to simulate another writer) or throw. */
  beforeWrite: ((verb: string, key: string) => void | Promise<void>) | undefined;

  put(obj: Stored): Stored {
    const stored = structuredClone(obj);
    stored.metadata.resourceVersion = String(++this.version);
    stored.metadata.uid ??= `uid-${stored.metadata.namespace}-${stored.metadata.name}`;
    this.objects.set(this.key(stored.kind, stored.metadata.namespace!, stored.metadata.name), stored);
    return structuredClone(stored);
  }

  get(kind: string, namespace: string, name: string): Stored | undefined {
    const o = this.objects.get(this.key(kind, namespace, name));
    return o && structuredClone(o);
  }

  writes(): string[] {
    return this.calls.filter((c) => !c.startsWith('get') && !c.startsWith('list'));
  }

  async getConfigMap(): Promise<ConfigMap> {
    throw new ApiError('not used', 404, 'NotFound');
  }
  async listServices(namespace: string): Promise<Service[]> {
    this.calls.push(`list services ${namespace}`);
    return [...this.objects.values()].filter((o): o is Service => o.kind === 'Service' && (!namespace || o.metadata.namespace === namespace)).map((o) => structuredClone(o));
  }
  async listVirtualServices(namespace: string): Promise<VirtualService[]> {
    this.calls.push(`list virtualservices ${namespace}`);
    return [...this.objects.values()].filter((o): o is VirtualService => o.kind === 'VirtualService' && o.metadata.namespace === namespace).map((o) => structuredClone(o));
  }
  async getVirtualService(namespace: string, name: string): Promise<VirtualService | undefined> {
    this.calls.push(`get virtualservice ${namespace}/${name}`);
    return this.get('VirtualService', namespace, name) as VirtualService | undefined;
  }
  async getService(namespace: string, name: string): Promise<Service | undefined> {
    this.calls.push(`get service ${namespace}/${name}`);
    return this.get('Service', namespace, name) as Service | undefined;
  }
  async createVirtualService(vs: VirtualService, opts?: WriteOptions) {
    return this.create(vs, opts) as Promise<VirtualService>;
  }
  async replaceVirtualService(vs: VirtualService, opts?: WriteOptions) {
    return this.replace(vs, opts) as Promise<VirtualService>;
  }
  async deleteVirtualService(namespace: string, name: string, _v: string, pre: Preconditions, opts?: WriteOptions) {
    return this.remove('VirtualService', namespace, name, pre, opts);
  }
  async createService(svc: Service, opts?: WriteOptions) {
    return this.create(svc, opts) as Promise<Service>;
  }
  async replaceService(svc: Service, opts?: WriteOptions) {
    return this.replace(svc, opts) as Promise<Service>;
  }
  async deleteService(namespace: string, name: string, pre: Preconditions, opts?: WriteOptions) {
    return this.remove('Service', namespace, name, pre, opts);
  }

  async listObjects(c: Collection): Promise<KubeObject[]> {
    this.calls.push(`list ${c.resource} ${c.namespace}`);
    const kind = (Object.keys(RESOURCES) as ObjectKind[]).find((k) => RESOURCES[k] === c.resource);
    return [...this.objects.values()].filter((o) => o.kind === kind && (!c.namespace || o.metadata.namespace === c.namespace)).map((o) => structuredClone(o));
  }
  async getObject(kind: ObjectKind, _v: string, namespace: string, name: string): Promise<KubeObject | undefined> {
    this.calls.push(`get ${kind.toLowerCase()} ${namespace}/${name}`);
    return this.get(kind, namespace, name);
  }
  async createObject(obj: KubeObject, opts?: WriteOptions) {
    return this.create(obj, opts);
  }
  async replaceObject(obj: KubeObject, opts?: WriteOptions) {
    return this.replace(obj, opts);
  }
  async deleteObject(kind: ObjectKind, _v: string, namespace: string, name: string, pre: Preconditions, opts?: WriteOptions) {
    return this.remove(kind, namespace, name, pre, opts);
  }

  private key(kind: string, namespace: string, name: string) {
    return `${kind}/${namespace}/${name}`;
  }
  private async create(obj: Stored, opts?: WriteOptions): Promise<Stored> {
    const k = this.key(obj.kind, obj.metadata.namespace!, obj.metadata.name);
    this.calls.push(`create ${k}${opts?.dryRun ? ' (dry run)' : ''}`);
    await this.beforeWrite?.('create', k);
    if (this.objects.has(k)) throw new ApiError(`${k} already exists`, 409, 'AlreadyExists');
    return opts?.dryRun ? obj : this.put(obj);
  }
  private async replace(obj: Stored, opts?: WriteOptions): Promise<Stored> {
    const k = this.key(obj.kind, obj.metadata.namespace!, obj.metadata.name);
    this.calls.push(`update ${k}${opts?.dryRun ? ' (dry run)' : ''}`);
    await this.beforeWrite?.('update', k);
    const cur = this.objects.get(k);
    if (!cur) throw new ApiError(`${k} not found`, 404, 'NotFound');
    if (cur.metadata.resourceVersion !== obj.metadata.resourceVersion) {
      throw new ApiError('the object has been modified; please apply your changes to the latest version and try again', 409, 'Conflict');
    }
    return opts?.dryRun ? obj : this.put(obj);
  }
  private async remove(kind: string, namespace: string, name: string, pre: Preconditions, opts?: WriteOptions): Promise<void> {
    const k = this.key(kind, namespace, name);
    this.calls.push(`delete ${k}${opts?.dryRun ? ' (dry run)' : ''}`);
    await this.beforeWrite?.('delete', k);
    const cur = this.objects.get(k);
    if (!cur) throw new ApiError(`${k} not found`, 404, 'NotFound');
    if (pre.resourceVersion && cur.metadata.resourceVersion !== pre.resourceVersion) throw new ApiError('precondition failed', 409, 'Conflict');
    if (!opts?.dryRun) this.objects.delete(k);
  }
}
