// Installs Istio's CRDs and the vsop RBAC manifest into the test cluster.

import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { createObject, summary, kubeRequest, type Connection, type KubeObject } from './kube.ts';

const CRDS = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';

/**
 * Creates every CRD of a multi-document file and waits until each is
 * Established. Documents are sent as YAML exactly as Istio ships them (the
 * apiserver parses YAML), which also keeps an 800 kB parse out of startup.
 */
export async function installCrds(conn: Connection, file: string, timeoutMs = 30_000): Promise<string[]> {
  const docs = readFileSync(file, 'utf8')
    .split(/^---[ \t]*$/m)
    .filter((doc) => /^kind:\s*CustomResourceDefinition\s*$/m.test(doc));
  const names = await Promise.all(
    docs.map(async (doc) => {
      const res = await kubeRequest(conn, 'POST', CRDS, { body: doc, contentType: 'application/yaml' });
      if (res.status !== 201 && res.status !== 409) throw new Error(`installing CRDs from ${file}: ${summary(res)}`);
      const name = /^metadata:\s*\n(?:\s+.*\n)*?\s+name:\s*(\S+)/m.exec(doc)?.[1];
      return res.body?.metadata?.name ?? name;
    }),
  );
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const res = await kubeRequest(conn, 'GET', `${CRDS}/${name}`);
      const established = res.body?.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Established' && c.status === 'True');
      if (established) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not Established after ${timeoutMs} ms: ${summary(res)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return names;
}

/** Reads the Kubernetes objects of a multi-document YAML file. */
export function readManifests(file: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
    const obj = doc.toJS() as KubeObject | null;
    if (obj) objects.push(obj);
  }
  return objects;
}

/** Creates the objects of an RBAC manifest, namespaces first; existing ones are left as they are. */
export async function applyManifests(conn: Connection, file: string): Promise<void> {
  const objects = readManifests(file);
  const order = (o: KubeObject) => (o.kind === 'Namespace' ? 0 : 1);
  for (const obj of [...objects].sort((a, b) => order(a) - order(b))) {
    try {
      await createObject(conn, obj, { allowExisting: true });
    } catch (err) {
      throw new Error(`applying ${file}: ${(err as Error).message}`, { cause: err });
    }
  }
}
