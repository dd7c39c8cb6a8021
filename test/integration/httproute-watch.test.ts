// vsop watch in routeKind HTTPRoute mode against the real apiserver (Gateway API CRDs v1.3.0): developer
// copies coming and going move the HTTPRoute's rules and the one ReferenceGrant of their namespace, which
// lists exactly the Services routed to after each step, and, at every state the apiserver stored, allows
// every Service a stored route sends to (grant entries are written before the route that needs them and
// removed after it); hand edits of vsop's route and grant are put back; foreign ones are left alone; a
// routeKind switch in the ConfigMap moves the routing with no Service ever without a route object. Run
// alone with
//   node test/harness/run-integration.ts test/integration/httproute-watch.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { KubeObject } from '../../src/core/types.ts';
import { testCluster } from '../harness/cluster.ts';
import { gatewayApiPath } from '../harness/gateway-api.ts';
import { createObject, kubeRequest, objectPath, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { assertNeverWithout, replay, resourceVersionNow, type StoredEvent } from '../helpers/replay.ts';
import { eventually, settle, startWatch, type Watcher } from '../helpers/watcher.ts';
import { get, makeWorld, type Cluster, type World, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

async function watching(w: World): Promise<Watcher> {
  const watcher = await startWatch(['--config-namespace', w.configNamespace, 'watch', '--retry-base', '50ms'], { KUBECONFIG: cluster.adminKubeconfig });
  try {
    await eventually('/readyz to answer 200', async () => (await watcher.get(`${watcher.health}/readyz`)).status === 200, 30_000);
  } catch (err) {
    await watcher.stop('SIGKILL');
    throw new Error(`${(err as Error).message}; its log:\n${logOf(watcher)}`);
  }
  return watcher;
}

const logOf = (watcher: Watcher) => watcher.logs.map((l) => JSON.stringify(l)).join('\n');

type Route = KubeObject & { spec: { rules?: { backendRefs?: { name: string; namespace?: string }[] }[] } };
type Grant = KubeObject & { spec: { to?: { name?: string }[] } };

async function object<T extends KubeObject>(w: World, kind: 'HTTPRoute' | 'ReferenceGrant', namespace: string, name: string): Promise<T | undefined> {
  const res = await get(w.admin, `${gatewayApiPath(kind, namespace)}/${name}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, summary(res));
  return { ...(res.body as T), kind };
}

/** The Services of `namespace` the routes send to, sorted. */
function routedTo(routes: Iterable<Route>, namespace: string): string[] {
  const names = new Set<string>();
  for (const r of routes) for (const rule of r.spec.rules ?? []) for (const b of rule.backendRefs ?? []) if (b.namespace === namespace) names.add(b.name);
  return [...names].sort();
}

const entries = (g: Grant | undefined) => (g?.spec.to ?? []).map((t) => t.name ?? '*').sort();

/** Every stored state from the events: each route sending into `namespace` finds its Service in the grant. */
function assertAlwaysGranted(events: readonly StoredEvent[], namespace: string, grantName: string): void {
  const routes = new Map<string, Route>();
  let grant: Grant | undefined;
  for (const e of events) {
    if (e.kind === 'ReferenceGrant' && e.name === grantName) grant = e.type === 'DELETED' ? undefined : (e.object as Grant);
    else if (e.kind === 'HTTPRoute') {
      if (e.type === 'DELETED') routes.delete(e.name);
      else routes.set(e.name, e.object as Route);
    }
    const ungranted = routedTo(routes.values(), namespace).filter((s) => !entries(grant).includes(s));
    assert.deepEqual(ungranted, [], `after ${e.type} ${e.kind}/${e.name} (rv ${e.rv}) a route sends to ${ungranted.join(', ')} in ${namespace} without a grant: ${story(events)}`);
  }
}

function story(events: readonly StoredEvent[]): string {
  return events.map((e) => `${e.type} ${e.kind}/${e.name}${e.kind === 'ReferenceGrant' ? `[${entries(e.object as Grant).join(' ')}]` : ''}`).join(', ');
}

describe('vsop watch, routeKind HTTPRoute (real apiserver)', { skip }, () => {
  it('keeps the one grant of a developer namespace exactly the Services routed to, each entry there before the route that uses it and gone after', async () => {
    const w = await makeWorld(cluster, 'hrwatch', { devs: 1, config: { routeKind: 'HTTPRoute' } });
    const [a] = w.devs as [string];
    const grantName = `vsop-from-${w.prod}`;
    for (const name of ['web', 'api', 'pay']) await w.service(w.prod, name);
    const watcher = await watching(w);
    try {
      await eventually('the three routes', async () => (await Promise.all(['web', 'api', 'pay'].map((n) => object(w, 'HTTPRoute', w.prod, `${n}-routes`)))).every(Boolean));
      const since = await resourceVersionNow(w, gatewayApiPath('HTTPRoute', w.prod));
      const routes = () => Promise.all(['web', 'api', 'pay'].map((n) => object<Route>(w, 'HTTPRoute', w.prod, `${n}-routes`)));
      const steps: [string, () => Promise<unknown>, string[]][] = [
        ['web copied', () => w.service(a, 'web'), ['web']],
        ['api copied', () => w.service(a, 'api'), ['api', 'web']],
        ['pay copied', () => w.service(a, 'pay'), ['api', 'pay', 'web']],
        ['web copy deleted', () => w.deleteService(a, 'web'), ['api', 'pay']],
        ['api copy deleted', () => w.deleteService(a, 'api'), ['pay']],
        ['pay copy deleted', () => w.deleteService(a, 'pay'), []],
      ];
      for (const [what, step, expected] of steps) {
        await step();
        await eventually(`${what}: the routes send to ${expected.join(', ') || 'no copy'} and the grant lists exactly those`, async () => {
          const [stored, grant] = await Promise.all([routes(), object<Grant>(w, 'ReferenceGrant', a, grantName)]);
          const sent = routedTo(
            stored.filter((r): r is Route => r !== undefined),
            a,
          );
          return JSON.stringify(sent) === JSON.stringify(expected) && (expected.length ? JSON.stringify(entries(grant)) === JSON.stringify(expected) : grant === undefined);
        });
        await settle(watcher, 600);
      }
      const events = await replay(
        w,
        [
          ['HTTPRoute', gatewayApiPath('HTTPRoute', w.prod)],
          ['ReferenceGrant', gatewayApiPath('ReferenceGrant', a)],
        ],
        since,
      );
      assertAlwaysGranted(events, a, grantName);
      // Every version of the grant the apiserver stored: one write per step, never one Service's view of it.
      assert.deepEqual(
        events.filter((e) => e.kind === 'ReferenceGrant').map((e) => `${e.type} [${entries(e.object as Grant).join(' ')}]`),
        ['ADDED [web]', 'MODIFIED [api web]', 'MODIFIED [api pay web]', 'MODIFIED [api pay]', 'MODIFIED [pay]', 'DELETED [pay]'],
        story(events),
      );
    } finally {
      const { code } = await watcher.stop();
      assert.equal(code, 0, logOf(watcher));
    }
  });

  it("puts back a hand edit of its route's rules and of its grant, and leaves a foreign HTTPRoute and ReferenceGrant alone", async () => {
    const w = await makeWorld(cluster, 'hrwedit', { devs: 1, config: { routeKind: 'HTTPRoute' } });
    const [a] = w.devs as [string];
    const grantName = `vsop-from-${w.prod}`;
    await w.service(w.prod, 'web');
    await w.service(a, 'web');
    const grantSpec = { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: w.prod }], to: [{ group: '', kind: 'Service' }] };
    const foreign: KubeObject[] = [
      {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'team-canary', namespace: w.prod },
        spec: {
          parentRefs: [{ group: '', kind: 'Service', name: 'web' }],
          rules: [{ matches: [{ headers: [{ name: 'x-canary', value: 'yes' }] }], backendRefs: [{ name: 'web', port: 80 }] }],
        },
      } as KubeObject,
      { apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: { name: 'team-grant', namespace: a }, spec: grantSpec } as KubeObject,
    ];
    for (const o of foreign) assert.equal((await createObject(w.admin, o)).status, 201);
    const watcher = await watching(w);
    try {
      const route = await eventually('the route', () => object<Route>(w, 'HTTPRoute', w.prod, 'web-routes'));
      const grant = await eventually('the grant', () => object<Grant>(w, 'ReferenceGrant', a, grantName));
      assert.equal(route.spec.rules?.length, 2);
      assert.deepEqual(entries(grant), ['web']);

      // Someone keeps only the production rule, and points the grant elsewhere: both come back.
      const edited = structuredClone(route);
      edited.spec.rules = edited.spec.rules!.slice(-1);
      const put = await kubeRequest(w.admin, 'PUT', objectPath(edited as never), { body: edited });
      assert.equal(put.status, 200, summary(put));
      await eventually('the rules put back', async () => (await object<Route>(w, 'HTTPRoute', w.prod, 'web-routes'))?.spec.rules?.length === 2);
      const widened = { ...structuredClone(grant), spec: { ...grant.spec, to: [{ group: '', kind: 'Service', name: 'db' }] } };
      const put2 = await kubeRequest(w.admin, 'PUT', objectPath(widened as never), { body: widened });
      assert.equal(put2.status, 200, summary(put2));
      await eventually('the grant put back', async () => JSON.stringify(entries(await object<Grant>(w, 'ReferenceGrant', a, grantName))) === '["web"]');

      // A foreign route and grant edited by their owners: vsop writes neither.
      const mine: Record<string, string> = {};
      for (const o of foreign) {
        const fresh = (await object(w, o.kind as 'HTTPRoute', o.metadata.namespace!, o.metadata.name))!;
        fresh.metadata.labels = { team: 'web' };
        const res = await kubeRequest(w.admin, 'PUT', objectPath(fresh as never), { body: fresh });
        assert.equal(res.status, 200, summary(res));
        mine[`${o.kind}/${o.metadata.name}`] = res.body.metadata.resourceVersion as string;
      }
      await settle(watcher);
      for (const o of foreign) {
        const now = await object(w, o.kind as 'HTTPRoute', o.metadata.namespace!, o.metadata.name);
        assert.equal(now?.metadata.resourceVersion, mine[`${o.kind}/${o.metadata.name}`], `${o.kind} ${o.metadata.name} untouched`);
      }
    } finally {
      const { code } = await watcher.stop();
      assert.equal(code, 0, logOf(watcher));
    }
  });

  it('follows a routeKind switch in the ConfigMap, both ways: never a Service without a route object, the grant before the route and gone after it', async () => {
    const w = await makeWorld(cluster, 'hrwmig', { devs: 1 });
    const [a] = w.devs as [string];
    const grantName = `vsop-from-${w.prod}`;
    await w.service(w.prod, 'web');
    await w.service(a, 'web');
    const watcher = await watching(w);
    const collections = [
      ['VirtualService', `/apis/networking.istio.io/v1/namespaces/${w.prod}/virtualservices`],
      ['HTTPRoute', gatewayApiPath('HTTPRoute', w.prod)],
      ['ReferenceGrant', gatewayApiPath('ReferenceGrant', a)],
    ] as const;
    const order = (events: StoredEvent[]) => events.map((e) => `${e.type} ${e.kind}/${e.name}`);
    const routeEvents = (events: StoredEvent[]) => events.filter((e) => e.kind !== 'ReferenceGrant');
    try {
      await eventually('the VirtualService', async () => (await w.virtualService('web-virtual-service')) !== undefined);
      const forth = await resourceVersionNow(w, collections[0][1]);
      await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: w.devs, routeKind: 'HTTPRoute' });
      await eventually(
        'the HTTPRoute in, the VirtualService out',
        async () => (await object(w, 'HTTPRoute', w.prod, 'web-routes')) !== undefined && (await w.virtualService('web-virtual-service')) === undefined,
      );
      await settle(watcher);
      const there = await replay(w, collections, forth);
      assert.deepEqual(order(there), [`ADDED ReferenceGrant/${grantName}`, 'ADDED HTTPRoute/web-routes', 'DELETED VirtualService/web-virtual-service']);
      assertNeverWithout(['VirtualService/web-virtual-service'], routeEvents(there));
      assertAlwaysGranted(there, a, grantName);

      const back = await resourceVersionNow(w, collections[0][1]);
      await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: w.devs });
      await eventually('the VirtualService back, the HTTPRoute and grant gone', async () => {
        const [vs, route, grant] = await Promise.all([
          w.virtualService('web-virtual-service'),
          object(w, 'HTTPRoute', w.prod, 'web-routes'),
          object(w, 'ReferenceGrant', a, grantName),
        ]);
        return vs !== undefined && route === undefined && grant === undefined;
      });
      const again = await replay(w, collections, back);
      assert.deepEqual(order(again), ['ADDED VirtualService/web-virtual-service', 'DELETED HTTPRoute/web-routes', `DELETED ReferenceGrant/${grantName}`]);
      assertNeverWithout(['HTTPRoute/web-routes'], routeEvents(again));
    } finally {
      const { code } = await watcher.stop();
      assert.equal(code, 0, logOf(watcher));
    }
  });
});
