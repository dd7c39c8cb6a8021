// The small interface between vsop and the Kubernetes API. src/k8s/client.ts implements it with
// @kubernetes/client-node; unit tests of apply/retry use an in-memory fake that records every verb.

import type { KubeObject, Service, VirtualService } from '../core/types.ts';

export interface WriteOptions {
  /** Send the write with dryRun=All: admission and schema run, nothing is stored. */
  dryRun?: boolean;
}

/** Guards a delete against removing an object that changed since it was read. */
export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export interface ObjectList<T> {
  items: T[];
  /** The collection's resourceVersion: where a watch of it starts. */
  resourceVersion: string;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

/** What a watch is of: a collection, optionally narrowed by label or field. */
export interface Collection {
  resource: 'services' | 'virtualservices' | 'configmaps' | 'httproutes' | 'referencegrants' | 'endpointslices';
  /** '' for all namespaces. */
  namespace: string;
  apiVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface Lease extends KubeObject {
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    acquireTime?: string | null;
    renewTime?: string | null;
    leaseTransitions?: number;
  };
}

/** The kinds vsop reads and writes through the generic calls of KubePort (Gateway API, routeKind HTTPRoute). */
export type ObjectKind = 'HTTPRoute' | 'ReferenceGrant';

/** The collection name (plural) of each kind behind the generic calls. */
export const RESOURCES: Record<ObjectKind, 'httproutes' | 'referencegrants'> = { HTTPRoute: 'httproutes', ReferenceGrant: 'referencegrants' };

export interface KubePort {
  /** The API server's address, for messages. */
  readonly server: string;
  getConfigMap(namespace: string, name: string): Promise<ConfigMap>;
  /** One LIST per namespace ('' for all namespaces), following `continue` pages. */
  listServices(namespace: string, labelSelector?: string): Promise<Service[]>;
  /** One LIST in a namespace ('' for all namespaces: needs a ClusterRole), following `continue` pages. */
  listVirtualServices(namespace: string, apiVersion: string): Promise<VirtualService[]>;
  getVirtualService(namespace: string, name: string, apiVersion: string): Promise<VirtualService | undefined>;
  createVirtualService(vs: VirtualService, opts?: WriteOptions): Promise<VirtualService>;
  /** An update carrying metadata.resourceVersion: the server answers 409 if the object changed since. */
  replaceVirtualService(vs: VirtualService, opts?: WriteOptions): Promise<VirtualService>;
  deleteVirtualService(namespace: string, name: string, apiVersion: string, pre: Preconditions, opts?: WriteOptions): Promise<void>;
  getService(namespace: string, name: string): Promise<Service | undefined>;
  createService(svc: Service, opts?: WriteOptions): Promise<Service>;
  replaceService(svc: Service, opts?: WriteOptions): Promise<Service>;
  deleteService(namespace: string, name: string, pre: Preconditions, opts?: WriteOptions): Promise<void>;
  /** One LIST of any collection ('' namespace: all namespaces), following pages; items carry apiVersion and kind. */
  listObjects(c: Collection): Promise<KubeObject[]>;
  /** The generic calls, for HTTPRoutes and ReferenceGrants: addressed by kind and apiVersion. */
  getObject(kind: ObjectKind, apiVersion: string, namespace: string, name: string): Promise<KubeObject | undefined>;
  createObject(obj: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  /** An update carrying metadata.resourceVersion: the server answers 409 if the object changed since. */
  replaceObject(obj: KubeObject, opts?: WriteOptions): Promise<KubeObject>;
  deleteObject(kind: ObjectKind, apiVersion: string, namespace: string, name: string, pre: Preconditions, opts?: WriteOptions): Promise<void>;
  /** Releases idle connections. */
  close?(): void;
}

/** The API server's build, as GET /version answers it (kubectl version's serverVersion). */
export interface ServerVersion {
  major?: string;
  minor?: string;
  gitVersion?: string;
  [key: string]: unknown;
}

/** What `vsop version` asks of the cluster beyond the port. */
export interface VersionPort {
  serverVersion(): Promise<ServerVersion>;
}

/** What `vsop watch` needs beyond sync: list+watch, a Lease for leader election, Events. */
export interface WatchPort extends KubePort {
  list<T extends KubeObject>(c: Collection): Promise<ObjectList<T>>;
  /** Streams events from `resourceVersion` until the server ends the watch; rejects on a broken stream. */
  watch<T extends KubeObject>(c: Collection, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal): Promise<void>;
  getLease(namespace: string, name: string): Promise<Lease | undefined>;
  createLease(lease: Lease): Promise<Lease>;
  replaceLease(lease: Lease): Promise<Lease>;
  createEvent(event: KubeObject): Promise<void>;
}
