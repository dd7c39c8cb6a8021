// What the apiserver stored, step by step: every event of some collections since a resourceVersion, in
// etcd's order, from a watch started in the past (it replays every event since, then ends after
// timeoutSeconds). Lets a test check a property at every state the cluster went through, not only at the
// states it happened to read.

import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/core/types.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { get, type World } from './world.ts';

export interface StoredEvent {
  type: string;
  kind: string;
  name: string;
  namespace: string;
  rv: bigint;
  object: KubeObject;
}

/** Every event of the collections (kind, list path) since `since`, sorted by resourceVersion. */
export async function replay(w: World, collections: readonly (readonly [kind: string, path: string])[], since: string): Promise<StoredEvent[]> {
  const out: StoredEvent[] = [];
  for (const [kind, path] of collections) {
    const res = await kubeRequest(w.admin, 'GET', `${path}?watch=1&resourceVersion=${since}&timeoutSeconds=1`);
    assert.equal(res.status, 200, summary(res));
    for (const line of res.text.split('\n').filter(Boolean)) {
      const e = JSON.parse(line) as { type: string; object: KubeObject };
      if (e.type === 'BOOKMARK') continue;
      out.push({
        type: e.type,
        kind,
        name: e.object.metadata.name,
        namespace: e.object.metadata.namespace ?? '',
        rv: BigInt(e.object.metadata.resourceVersion as string),
        object: e.object,
      });
    }
  }
  return out.sort((a, b) => (a.rv < b.rv ? -1 : a.rv > b.rv ? 1 : 0));
}

/** The cluster's resourceVersion now (a list's): where a replay of what follows starts. */
export async function resourceVersionNow(w: World, path: string): Promise<string> {
  const res = await get(w.admin, path);
  assert.equal(res.status, 200, summary(res));
  return res.body.metadata.resourceVersion as string;
}

/** Walks the events from a state with `start` (kind/name) and checks that some route object is always there. */
export function assertNeverWithout(start: string[], seen: readonly { type: string; kind: string; name: string }[]): void {
  const present = new Set(start);
  for (const e of seen) {
    if (e.type === 'DELETED') present.delete(`${e.kind}/${e.name}`);
    else present.add(`${e.kind}/${e.name}`);
    assert.ok(present.size > 0, `after ${e.type} ${e.kind}/${e.name} the Service had no route object: ${seen.map((x) => `${x.type} ${x.kind}/${x.name}`).join(', ')}`);
  }
}
