// A test's own little world on the real test cluster: a production namespace, developer namespaces and a
// config namespace, all freshly named (namespaces never finish deleting here, so none is reused), plus
// helpers to run vsop against it and to read what it wrote.

import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { after, before } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { createNamespace, createObject, kubeRequest, summary, type Connection } from '../harness/kube.ts';
import type { KubeObject, Service, VirtualService } from '../../src/core/types.ts';
import { gatewayApiPath } from '../harness/gateway-api.ts';
import { runVsop, type RunResult } from './run.ts';
import { validate } from '../harness/istio.ts';
import { withoutServerFields } from '../../src/core/normalize.ts';
import { toYamlStream } from '../../src/core/render.ts';

export type Cluster = Awaited<ReturnType<typeof testCluster>>;

/**
 * The test cluster of one test file (testCluster: the shared one under the integration runner): an
 * object that holds it once `before` has run, nothing started when the suite is skipped (`skip` is
 * skipReason()'s answer), released by `after`, after `last` (the file's own last checks) if given.
 */
export function useTestCluster(skip: unknown, last?: () => Promise<void>): Cluster {
  const holder = {} as Cluster;
  before(async () => {
    if (!skip) Object.assign(holder, await testCluster());
  });
  after(async () => {
    await last?.();
    await holder.release?.();
  });
  return holder;
}

export interface World {
  prod: string;
  devs: string[];
  configNamespace: string;
  admin: Connection;
  /** `answer`: stdin is a terminal, and this is typed in answer to a question. */
  vsop(args: string[], opts?: { kubeconfig?: string; env?: Record<string, string>; answer?: string }): Promise<RunResult>;
  service(namespace: string, name: string, opts?: { ports?: number[]; labels?: Record<string, string>; annotations?: Record<string, string> }): Promise<Service>;
  deleteService(namespace: string, name: string): Promise<void>;
  virtualServices(): Promise<VirtualService[]>;
  virtualService(name: string): Promise<VirtualService | undefined>;
  services(namespace: string): Promise<Service[]>;
  setConfig(config: Record<string, unknown>): Promise<void>;
}

const VS = (ns: string) => `/apis/networking.istio.io/v1beta1/namespaces/${ns}/virtualservices`;

/** A GET that waits out "429 storage is (re)initializing", which a fresh apiserver answers for a while. */
export async function get(conn: Connection, path: string) {
  for (let attempt = 0; ; attempt++) {
    const res = await kubeRequest(conn, 'GET', path);
    if (res.status !== 429 || attempt === 20) return res;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * The HTTPRoutes or ReferenceGrants of a namespace as stored, sorted by name, each with the apiVersion and
 * kind a list leaves out of its items.
 */
export async function listGatewayObjects(w: World, kind: 'HTTPRoute' | 'ReferenceGrant', namespace: string): Promise<KubeObject[]> {
  const res = await get(w.admin, gatewayApiPath(kind, namespace));
  assert.equal(res.status, 200, summary(res));
  const apiVersion = kind === 'HTTPRoute' ? 'gateway.networking.k8s.io/v1' : 'gateway.networking.k8s.io/v1beta1';
  return (res.body.items as KubeObject[]).map((o) => ({ ...o, apiVersion, kind })).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

export async function makeWorld(cluster: Cluster, prefix: string, opts: { devs?: number; config?: Record<string, unknown> } = {}): Promise<World> {
  const admin = cluster.admin;
  const [prod, configNamespace, ...devs] = await Promise.all([
    createNamespace(admin, `${prefix}-prod`),
    createNamespace(admin, `${prefix}-cfg`),
    ...Array.from({ length: opts.devs ?? 2 }, (_, i) => createNamespace(admin, `${prefix}-dev${i}`)),
  ]);
  const w: World = {
    prod: prod!,
    devs,
    configNamespace: configNamespace!,
    admin,
    vsop: (args, o = {}) =>
      runVsop(['--config-namespace', configNamespace!, ...args], {
        env: { KUBECONFIG: o.kubeconfig ?? cluster.adminKubeconfig, ...o.env },
        ...(o.answer === undefined ? {} : { answer: o.answer }),
      }),
    async service(namespace, name, o = {}) {
      const res = await createObject(admin, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace, ...(o.labels ? { labels: o.labels } : {}), ...(o.annotations ? { annotations: o.annotations } : {}) },
        // Headless: the test cluster's Service IP range is small, and routing does not look at IPs.
        spec: { clusterIP: 'None', selector: { app: name }, ports: (o.ports ?? [80]).map((port) => ({ name: `p${port}`, port })) },
      });
      return res.body as Service;
    },
    async deleteService(namespace, name) {
      const res = await kubeRequest(admin, 'DELETE', `/api/v1/namespaces/${namespace}/services/${name}`);
      assert.equal(res.status, 200, summary(res));
    },
    async virtualServices() {
      const res = await get(admin, VS(prod!));
      assert.equal(res.status, 200, summary(res));
      return (res.body.items as VirtualService[]).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
    },
    async virtualService(name) {
      const res = await get(admin, `${VS(prod!)}/${name}`);
      if (res.status === 404) return undefined;
      assert.equal(res.status, 200, summary(res));
      return res.body as VirtualService;
    },
    async services(namespace) {
      const res = await get(admin, `/api/v1/namespaces/${namespace}/services`);
      assert.equal(res.status, 200, summary(res));
      return res.body.items as Service[];
    },
    async setConfig(config) {
      const body = {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'virtualservice-operator-config', namespace: configNamespace },
        data: { 'config.yaml': stringify(config) },
      };
      const path = `/api/v1/namespaces/${configNamespace}/configmaps/virtualservice-operator-config`;
      const existing = await get(admin, path);
      const res =
        existing.status === 404
          ? await kubeRequest(admin, 'POST', `/api/v1/namespaces/${configNamespace}/configmaps`, { body })
          : await kubeRequest(admin, 'PUT', path, { body: { ...body, metadata: { ...body.metadata, resourceVersion: existing.body.metadata.resourceVersion } } });
      assert.ok(res.status === 200 || res.status === 201, summary(res));
    },
  };
  await w.setConfig({ defaultNamespace: prod, developerNamespaces: devs, ...opts.config });
  return w;
}

/** Route names and destinations of a VirtualService, compactly, for assertions. */
export function routesOf(vs: VirtualService | undefined): string[] {
  assert.ok(vs, 'VirtualService missing');
  return (vs.spec.http ?? []).map((r) => `${r.name ?? '(unnamed)'} -> ${(r.route ?? []).map((d) => d.destination.host).join(',')}`);
}

/**
 * The VirtualServices vsop wrote in a test file's worlds, gathered as the tests go and put through Istio's
 * own validation at the end (no error; no warning with `strict`).
 */
export function writtenByVsop() {
  const written: VirtualService[] = [];
  return {
    async collect(w: World): Promise<void> {
      written.push(...(await w.virtualServices()).filter((vs) => vs.metadata.labels?.['managed-by'] === 'virtualservice-operator'));
    },
    async assertValid(opts: { strict?: boolean } = {}): Promise<void> {
      if (written.length === 0) return;
      const result = await validate(toYamlStream(written.map(withoutServerFields)));
      assert.deepEqual(result.errors, [], JSON.stringify(result.errors));
      if (opts.strict) assert.deepEqual(result.warnings, []);
    },
  };
}
