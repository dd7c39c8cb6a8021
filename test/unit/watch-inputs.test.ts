// The watch side of src/inputs.ts (InputCache: informers per collection, a merged store, the index by
// production Service, the fallback on 403) and the leader's write gate, on in-memory ports.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/core/config.ts';
import type { KubeObject, Service, VirtualService } from '../../src/core/types.ts';
import { ApiError, ConflictError } from '../../src/errors.ts';
import { services, virtualServices, type Fallback } from '../../src/inputs.ts';
import type { Collection, KubePort, ObjectList, WatchEvent, WatchPort } from '../../src/k8s/port.ts';
import { gated } from '../../src/watch/controller.ts';
import { Informer, InputCache } from '../../src/watch/informer.ts';
import { service } from '../helpers/fixtures.ts';

const loaded = loadConfig('defaultNamespace: default\ndeveloperNamespaces: [dev-alice]\n', 'test');

/** Lists what `objects` holds for a collection (or refuses it with 403), and watches until stopped. */
function listPort(objects: KubeObject[], forbidden: (c: Collection) => boolean): WatchPort & { lists: string[] } {
  const lists: string[] = [];
  const port = {
    lists,
    async list<T extends KubeObject>(c: Collection): Promise<ObjectList<T>> {
      lists.push(`${c.resource} ${c.namespace || '*'}${c.labelSelector ? ` ${c.labelSelector}` : ''}`);
      if (forbidden(c)) throw new ApiError(`forbidden: cannot list ${c.resource}${c.namespace ? ` in namespace ${c.namespace}` : ' cluster-wide'}`, 403, 'Forbidden');
      const kind = c.resource === 'services' ? 'Service' : 'VirtualService';
      const items = objects.filter(
        (o) => o.kind === kind && (!c.namespace || o.metadata.namespace === c.namespace) && (!c.labelSelector || o.metadata.labels?.[c.labelSelector.split('=')[0]!] === 'true'),
      );
      return { items: structuredClone(items) as T[], resourceVersion: '10' };
    },
    watch: (_c: Collection, _rv: string, _on: unknown, signal: AbortSignal) =>
      new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve()))),
  };
  return port as unknown as WatchPort & { lists: string[] };
}

function cacheOf<T extends KubeObject>(port: WatchPort, input: typeof services | typeof virtualServices) {
  const touched: unknown[] = [];
  const fellBack: [Fallback, ApiError][] = [];
  const cache = new InputCache<T>({
    input: input as never,
    informer: (collection, onChange, onFailure) =>
      new Informer<T>({ port, collection, onChange, onRestart: (reason, err) => reason === 'error' && onFailure(err), minBackoff: 5, maxBackoff: 5 }),
    touched: (keys) => touched.push(keys),
    fellBack: (f, err) => fellBack.push([f, err]),
  });
  return { cache, touched, fellBack };
}

const vs = (namespace: string, name: string, hosts: string[]): VirtualService => ({
  apiVersion: 'networking.istio.io/v1beta1',
  kind: 'VirtualService',
  metadata: { name, namespace, resourceVersion: '5' },
  spec: { hosts },
});

describe('InputCache', () => {
  it('reads VirtualServices of every namespace and indexes them by the production Service whose host they name', async () => {
    const port = listPort(
      [
        vs('default', 'my-app-virtual-service', ['my-app']),
        vs('other', 'shadow', ['my-app.default.svc.cluster.local']),
        vs('other', 'wild', ['*.default.svc.cluster.local']),
        vs('other', 'own', ['web']),
      ],
      () => false,
    );
    const { cache, fellBack } = cacheOf<VirtualService>(port, virtualServices);
    cache.follow(loaded);
    await cache.synced();
    assert.deepEqual(port.lists, ['virtualservices *']);
    assert.deepEqual(fellBack, []);
    assert.deepEqual(
      cache
        .objectsFor('my-app')
        .map((o) => `${o.metadata.namespace}/${o.metadata.name}`)
        .sort(),
      ['default/my-app-virtual-service', 'other/shadow', 'other/wild'],
    );
    assert.deepEqual(
      cache.objectsFor('web').map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
      ['other/wild'],
    );
    await cache.stop();
  });

  it('without the cluster-wide right, reads the production namespace instead and says so once', async () => {
    const port = listPort(
      [vs('default', 'my-app-virtual-service', ['my-app']), vs('other', 'shadow', ['my-app.default.svc.cluster.local'])],
      (c) => c.resource === 'virtualservices' && c.namespace === '',
    );
    const { cache, fellBack } = cacheOf<VirtualService>(port, virtualServices);
    cache.follow(loaded);
    await cache.synced();
    assert.deepEqual(port.lists, ['virtualservices *', 'virtualservices default']);
    assert.equal(fellBack.length, 1);
    assert.equal(fellBack[0]![1].status, 403);
    assert.deepEqual(
      cache.objectsFor('my-app').map((o) => `${o.metadata.namespace}/${o.metadata.name}`),
      ['default/my-app-virtual-service'],
    );
    cache.follow(loaded); // the same config again: the fallback stays, nothing is listed again
    assert.equal(port.lists.length, 2);
    await cache.stop();
  });

  it('holds an object two collections list once, and lets it go only when both have', async () => {
    const placeholder = service('dev-alice', 'my-app', { placeholder: true });
    placeholder.metadata.resourceVersion = '7';
    const port = listPort([service('default', 'my-app'), placeholder], () => false);
    const { cache, touched } = cacheOf<Service>(port, services);
    cache.follow(loaded);
    await cache.synced();
    assert.deepEqual(
      cache
        .objectsFor('my-app')
        .map((o) => o.metadata.namespace)
        .sort(),
      ['default', 'dev-alice'],
    );
    assert.ok(touched.every((k) => JSON.stringify(k) === '["my-app"]'));
    // dev-alice leaves the config: its namespace's informer stops, the placeholder informer still holds the copy.
    cache.follow(loadConfig('defaultNamespace: default\ndeveloperNamespaces: [staging]\n', 'test'));
    assert.deepEqual(
      cache
        .objectsFor('my-app')
        .map((o) => o.metadata.namespace)
        .sort(),
      ['default', 'dev-alice'],
    );
    cache.remember(undefined, true, 'dev-alice/my-app');
    assert.deepEqual(
      cache.objectsFor('my-app').map((o) => o.metadata.namespace),
      ['default'],
    );
    await cache.stop();
  });
});

describe('InputCache: one change, one event', () => {
  // The Settler (queue.ts) takes a second event within its gap for the start of a flow and holds it: a
  // change told as two events (the keys it bore on, then those it bears on) held every update, and every
  // event after it, for the flow's quiet time (found by a tester: creates waited up to 10 s while another
  // Service's labels changed every 250 ms).
  it('a Service updated (or moved between keys) is told once, with the keys it bore on and bears on together', async () => {
    const emit = new Map<string, (e: WatchEvent<KubeObject>) => void>();
    const port = listPort([service('default', 'my-app'), service('dev-alice', 'my-app')], () => false);
    port.watch = ((c: Collection, _rv: string, on: (e: WatchEvent<KubeObject>) => void, signal: AbortSignal) => {
      emit.set(`${c.namespace || '*'}${c.labelSelector ? ` ${c.labelSelector}` : ''}`, on);
      return new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve())));
    }) as WatchPort['watch'];
    const { cache, touched } = cacheOf<Service>(port, services);
    cache.follow(loaded);
    await cache.synced();
    touched.length = 0;
    const relabelled = service('dev-alice', 'my-app');
    relabelled.metadata.resourceVersion = '11';
    relabelled.metadata.labels = { team: 'a' };
    // What the apiserver sends: the event, on the watch of the namespace's Services.
    emit.get('dev-alice')!({ type: 'MODIFIED', object: relabelled });
    assert.deepEqual(touched, [['my-app']]);
    await cache.stop();
  });
});

// Every method of KubePort, as a read (passed through) or a write (refused without the Lease).
const WRITES = [
  'createVirtualService',
  'replaceVirtualService',
  'deleteVirtualService',
  'createService',
  'replaceService',
  'deleteService',
  'createObject',
  'replaceObject',
  'deleteObject',
];
const READS = ['getConfigMap', 'listServices', 'listVirtualServices', 'getVirtualService', 'getService', 'listObjects', 'getObject'];

describe('the leader write gate', () => {
  const recording = () => {
    const calls: string[] = [];
    const port = new Proxy({ server: 'https://fake.invalid' } as KubePort, {
      get: (target, prop) => (prop in target ? target[prop as keyof KubePort] : async () => void calls.push(String(prop))),
    });
    return { port, calls };
  };

  it('lists every method of the port as a read or a write', () => {
    const { port } = recording();
    const methods = Object.keys(gated(port, () => true)).filter((k) => k !== 'server');
    assert.deepEqual(methods.sort(), [...WRITES, ...READS].sort());
  });

  for (const verb of WRITES) {
    it(`refuses ${verb} without the Lease, and passes it with`, async () => {
      const { port, calls } = recording();
      let leading = false;
      const g = gated(port, () => leading) as unknown as Record<string, () => Promise<unknown>>;
      await assert.rejects(g[verb]!(), (err) => err instanceof ConflictError && /not the leader/.test(err.message));
      assert.deepEqual(calls, [], 'nothing reached the port');
      leading = true;
      await g[verb]!();
      assert.deepEqual(calls, [verb]);
    });
  }

  it('passes every read without the Lease', async () => {
    const { port, calls } = recording();
    const g = gated(port, () => false) as unknown as Record<string, () => Promise<unknown>>;
    for (const verb of READS) await g[verb]!();
    assert.deepEqual(calls, READS);
  });
});
