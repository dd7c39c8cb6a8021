// A tiny Kubernetes REST client for the harness and its own tests: bearer
// token, the cluster's CA, JSON or YAML bodies. It exists so the harness
// does not depend on the client library vsop itself uses and tests.

import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';

export type Connection = { server: string; ca: string; token: string };

export type KubeResponse = {
  status: number;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  body: any;
};

export type KubeObject = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
};

export type RequestOptions = {
  body?: unknown;
  /** Content type of a string body; objects are always sent as JSON. */
  contentType?: string;
  timeoutMs?: number;
};

export function kubeRequest(conn: Connection, method: string, path: string, opts: RequestOptions = {}): Promise<KubeResponse> {
  const payload = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const contentType = typeof opts.body === 'string' ? (opts.contentType ?? 'application/yaml') : 'application/json';
  const url = new URL(path, conn.server);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method,
        ca: conn.ca,
        timeout: opts.timeoutMs ?? 30_000,
        headers: {
          accept: 'application/json',
          ...(conn.token ? { authorization: `Bearer ${conn.token}` } : {}),
          ...(payload === undefined ? {} : { 'content-type': contentType }),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, body: parseJson(text) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${url.pathname}: timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

// Resource names of the kinds the harness and its tests write. A table, not
// discovery: it keeps the client tiny, and an unknown kind fails loudly.
const RESOURCES: Record<string, { plural: string; namespaced: boolean }> = {
  Namespace: { plural: 'namespaces', namespaced: false },
  Service: { plural: 'services', namespaced: true },
  ConfigMap: { plural: 'configmaps', namespaced: true },
  ServiceAccount: { plural: 'serviceaccounts', namespaced: true },
  ClusterRole: { plural: 'clusterroles', namespaced: false },
  ClusterRoleBinding: { plural: 'clusterrolebindings', namespaced: false },
  Role: { plural: 'roles', namespaced: true },
  RoleBinding: { plural: 'rolebindings', namespaced: true },
  Lease: { plural: 'leases', namespaced: true },
  Deployment: { plural: 'deployments', namespaced: true },
  PodDisruptionBudget: { plural: 'poddisruptionbudgets', namespaced: true },
  NetworkPolicy: { plural: 'networkpolicies', namespaced: true },
  CustomResourceDefinition: { plural: 'customresourcedefinitions', namespaced: false },
  VirtualService: { plural: 'virtualservices', namespaced: true },
  DestinationRule: { plural: 'destinationrules', namespaced: true },
  HTTPRoute: { plural: 'httproutes', namespaced: true },
  ReferenceGrant: { plural: 'referencegrants', namespaced: true },
};

/** The collection URL path of a kind, e.g. /apis/networking.istio.io/v1/namespaces/default/virtualservices. */
export function collectionPath(apiVersion: string, kind: string, namespace?: string): string {
  const resource = RESOURCES[kind];
  if (!resource) throw new Error(`harness kube client: unknown kind ${kind}; add it to RESOURCES in test/harness/kube.ts`);
  const group = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  if (!resource.namespaced) return `${group}/${resource.plural}`;
  return `${group}/namespaces/${namespace ?? 'default'}/${resource.plural}`;
}

/** The URL path of one object. */
export function objectPath(obj: KubeObject): string {
  return `${collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace)}/${obj.metadata.name}`;
}

/** POSTs an object; throws unless the server answers 201 (or 409 when allowExisting). */
export async function createObject(conn: Connection, obj: KubeObject, opts: { allowExisting?: boolean } = {}): Promise<KubeResponse> {
  const res = await kubeRequest(conn, 'POST', collectionPath(obj.apiVersion, obj.kind, obj.metadata.namespace), {
    body: obj,
  });
  if (res.status === 201 || (opts.allowExisting && res.status === 409)) return res;
  throw new Error(`${obj.kind} ${obj.metadata.namespace ?? ''}/${obj.metadata.name}: create failed: ${summary(res)}`);
}

/** The HTTP status plus the API's own message, for error texts and assertion messages. */
export function summary(res: KubeResponse): string {
  const message = res.body && typeof res.body.message === 'string' ? res.body.message : res.text.slice(0, 500);
  return `HTTP ${res.status}: ${message}`;
}

/** Creates a namespace named PREFIX-<random> and returns its name. Namespaces never finish deleting here, so tests never reuse one. */
export async function createNamespace(conn: Connection, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await createObject(conn, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}
