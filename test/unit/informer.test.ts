// The informer against an in-memory API (test/helpers/fake-watch-port.ts) whose watches the test drives:
// list, then watch from the list's resourceVersion; resume from the last resourceVersion seen; relist on
// 410 Gone and report the differences; back off (1 s, 2 s, ... up to the cap) on a broken connection;
// never let a late event replace a newer copy this process wrote. The rules are client-go's reflector's
// (tools/cache/reflector.go: ListAndWatch, isExpiredError, the backoff manager).

import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import type { KubeObject } from '../../src/core/types.ts';
import { ApiError, UnreachableError } from '../../src/errors.ts';
import type { Collection } from '../../src/k8s/port.ts';
import { type Change, Informer, logRestart } from '../../src/watch/informer.ts';
import { createLogger } from '../../src/watch/log.ts';
import { FakeWatchPort } from '../helpers/fake-watch-port.ts';

const SERVICES: Collection = { resource: 'services', namespace: 'default' };

/** Lets promise callbacks run (setImmediate is not among the faked timers). */
async function flush(times = 5): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function obj(name: string, resourceVersion: string, extra: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default', resourceVersion }, ...extra };
}

/** An informer on a fresh fake, with every change and restart written down as a short line. */
function setup(opts: { minBackoff?: number; maxBackoff?: number } = {}) {
  const port = new FakeWatchPort();
  const changes: string[] = [];
  const restarts: string[] = [];
  const informer = new Informer<KubeObject>({
    port,
    collection: SERVICES,
    onChange: (c: Change<KubeObject>) => changes.push(`${c.type} ${c.object.metadata.name}@${c.object.metadata.resourceVersion}`),
    onRestart: (reason) => restarts.push(reason),
    ...opts,
  });
  return { port, informer, changes, restarts };
}

describe('Informer: list, then watch', () => {
  it('lists, reports each object as added, resolves synced, and watches from the list resourceVersion', async () => {
    const { port, informer, changes } = setup();
    port.items = [obj('a', '5'), obj('b', '7')];
    port.listVersion = '10';
    informer.start();
    await informer.synced;
    const stream = await port.stream(0);
    assert.equal(stream.from, '10');
    assert.deepEqual(port.calls, ['list services', 'watch services from 10']);
    assert.deepEqual(changes, ['added a@5', 'added b@7']);
    assert.deepEqual([...informer.store.keys()], ['default/a', 'default/b']);
    await informer.stop();
  });

  it('applies watch events to the store and reports them; a watch the server ends resumes from the last resourceVersion seen, bookmarks included', async () => {
    const { port, informer, changes } = setup();
    port.items = [obj('a', '5'), obj('b', '7')];
    port.listVersion = '10';
    informer.start();
    const s0 = await port.stream(0);
    s0.emit({ type: 'ADDED', object: obj('c', '11') });
    s0.emit({ type: 'MODIFIED', object: obj('a', '12') });
    s0.emit({ type: 'DELETED', object: obj('b', '13') });
    s0.emit({ type: 'BOOKMARK', object: obj('', '20') });
    assert.deepEqual(changes.slice(2), ['added c@11', 'modified a@12', 'deleted b@13']);
    assert.deepEqual([...informer.store.keys()].sort(), ['default/a', 'default/c']);
    assert.equal(informer.store.get('default/a')?.metadata.resourceVersion, '12');
    s0.end();
    const s1 = await port.stream(1);
    assert.equal(s1.from, '20', 'resumed from the bookmark, not relisted');
    assert.equal(port.calls.filter((c) => c.startsWith('list')).length, 1);
    await informer.stop();
  });

  it('keeps what the cache needs: managedFields and the last-applied annotation are dropped', async () => {
    const { port, informer } = setup();
    port.items = [
      {
        ...obj('a', '5'),
        metadata: {
          name: 'a',
          namespace: 'default',
          resourceVersion: '5',
          managedFields: [{ manager: 'kubectl' }],
          annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{}', keep: 'me' },
        },
      } as KubeObject,
    ];
    informer.start();
    await informer.synced;
    const stored = informer.store.get('default/a')!;
    assert.equal('managedFields' in stored.metadata, false);
    assert.deepEqual(stored.metadata.annotations, { keep: 'me' });
    await informer.stop();
  });
});

describe('Informer: 410 Gone', () => {
  for (const how of ['the watch request fails with 410', 'the stream carries an ERROR event with code 410'] as const) {
    it(`${how}: relists at once (no backoff), reports only the differences, watches from the new list`, async () => {
      const { port, informer, changes, restarts } = setup();
      port.items = [obj('a', '5'), obj('b', '7'), obj('c', '8')];
      port.listVersion = '10';
      informer.start();
      const s0 = await port.stream(0);
      changes.length = 0;
      // While the watch was away: a changed, b deleted, c untouched, d created.
      port.items = [obj('a', '30'), obj('c', '8'), obj('d', '31')];
      port.listVersion = '40';
      if (how === 'the watch request fails with 410') s0.fail(new ApiError('too old resource version: 10 (35)', 410, 'Expired'));
      else s0.emit({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } as unknown as KubeObject });
      const s1 = await port.stream(1);
      assert.deepEqual(restarts, ['expired']);
      assert.equal(s1.from, '40');
      assert.deepEqual(port.calls, ['list services', 'watch services from 10', 'list services', 'watch services from 40']);
      assert.deepEqual(changes.sort(), ['added d@31', 'deleted b@7', 'modified a@30']);
      assert.deepEqual([...informer.store.keys()].sort(), ['default/a', 'default/c', 'default/d']);
      await informer.stop();
    });
  }
});

describe('Informer: reconnect with backoff', () => {
  beforeEach(() => {
    mock.timers.enable({ apis: ['setTimeout'] });
    mock.method(Math, 'random', () => 0); // no jitter: the wait is exactly the backoff
  });
  afterEach(() => {
    mock.timers.reset();
    mock.restoreAll();
  });

  it('a broken connection is retried from the same resourceVersion after 1 s, then 2 s, 4 s, up to the cap; events flowing reset it', async () => {
    const { port, informer, restarts } = setup({ minBackoff: 1000, maxBackoff: 4000 });
    port.listVersion = '10';
    informer.start();
    const waits: number[] = [];
    for (let n = 0; n < 4; n++) {
      const s = await port.stream(n);
      assert.equal(s.from, '10', 'no relist: the resourceVersion is still good');
      s.fail(new Error('socket hang up'));
      await flush();
      let waited = 0;
      while (port.streams.length === n + 1) {
        mock.timers.tick(250);
        waited += 250;
        await flush();
        assert.ok(waited <= 60_000, 'never reconnected');
      }
      waits.push(waited);
    }
    assert.deepEqual(waits, [1000, 2000, 4000, 4000]);
    assert.deepEqual(restarts, ['error', 'error', 'error', 'error']);

    const s4 = await port.stream(4);
    s4.emit({ type: 'ADDED', object: obj('x', '11') });
    s4.fail(new Error('socket hang up'));
    await flush();
    mock.timers.tick(999);
    await flush();
    assert.equal(port.streams.length, 5, 'not before 1 s');
    mock.timers.tick(1);
    await flush();
    assert.equal(port.streams.length, 6, 'back to 1 s once events flowed');
    assert.equal(port.streams[5]!.from, '11');
    assert.equal(port.calls.filter((c) => c.startsWith('list')).length, 1);
    await informer.stop();
  });

  it('a failed first list is retried after the backoff; synced resolves only after a list succeeds', async () => {
    const { port, informer } = setup({ minBackoff: 1000 });
    port.listFailures.push(new ApiError('connection refused', 503, 'ServiceUnavailable'));
    port.items = [obj('a', '5')];
    let synced = false;
    void informer.synced.then(() => (synced = true));
    informer.start();
    await flush();
    assert.equal(synced, false);
    assert.deepEqual(port.calls, ['list services']);
    mock.timers.tick(1000);
    await flush();
    assert.equal(synced, true);
    assert.deepEqual(port.calls, ['list services', 'list services', 'watch services from 1']);
    await informer.stop();
  });

  it('stop ends a backoff wait and the open watch; synced rejects when stopped before the first list', async () => {
    const a = setup();
    a.port.listFailures.push(new Error('down'));
    a.informer.start();
    await flush();
    await a.informer.stop(); // must not wait for the 1 s backoff timer
    await assert.rejects(a.informer.synced, /stopped/);

    const b = setup();
    b.informer.start();
    const s = await b.port.stream(0);
    await b.informer.stop();
    assert.equal(s.closed, true);
    assert.equal(b.port.streams.length, 1, 'no watch after stop');
  });
});

describe('Informer: resourceVersion guard', () => {
  it('an event older than the copy this process wrote (remember), or its echo, does not replace it, and is not reported', async () => {
    const { port, informer, changes } = setup();
    port.items = [obj('a', '5')];
    port.listVersion = '10';
    informer.start();
    const s0 = await port.stream(0);
    changes.length = 0;
    informer.remember(obj('a', '15', { data: { mine: 'yes' } }));
    s0.emit({ type: 'MODIFIED', object: obj('a', '12', { data: { theirs: 'late' } }) });
    assert.deepEqual(changes, []);
    // The echo of the write itself (same resourceVersion) is no change either: it sets off no reconcile.
    s0.emit({ type: 'MODIFIED', object: obj('a', '15', { data: { mine: 'yes' } }) });
    assert.deepEqual(changes, []);
    assert.deepEqual(informer.store.get('default/a')?.data, { mine: 'yes' });
    s0.emit({ type: 'MODIFIED', object: obj('a', '16', { data: { theirs: 'newer' } }) });
    assert.deepEqual(changes, ['modified a@16']);
    assert.deepEqual(informer.store.get('default/a')?.data, { theirs: 'newer' });
    s0.end();
    assert.equal((await port.stream(1)).from, '16');
    await informer.stop();
  });

  it('remember keeps the newer of two copies, and forgets a deleted object', async () => {
    const { port, informer } = setup();
    port.items = [obj('a', '20')];
    informer.start();
    await informer.synced;
    informer.remember(obj('a', '19'));
    assert.equal(informer.store.get('default/a')?.metadata.resourceVersion, '20', 'an older copy does not replace a newer one');
    informer.remember(obj('a', '21'));
    assert.equal(informer.store.get('default/a')?.metadata.resourceVersion, '21');
    informer.remember(undefined, true, 'default/a');
    assert.equal(informer.store.has('default/a'), false);
    await informer.stop();
  });

  it('resourceVersions that are not integers are not compared: the event wins', async () => {
    const { port, informer, changes } = setup();
    informer.start();
    const s0 = await port.stream(0);
    informer.remember(obj('a', 'opaque-b'));
    s0.emit({ type: 'MODIFIED', object: obj('a', 'opaque-a') });
    assert.deepEqual(changes, ['modified a@opaque-a']);
    await informer.stop();
  });
});

describe('Informer: routine restarts are told apart from failures, and logged at their level', () => {
  // The errors as src/k8s/client.ts throws them: vsop's own error, the network error as its cause.
  const network = (code: string, message: string) => new UnreachableError(`cannot reach the API server (${code})`, { cause: Object.assign(new Error(message), { code }) });

  it("a silent watch (EWATCHIDLE) or a connection ended under it is 'closed'; a refused connection, an HTTP error or a bare error is 'error'", async () => {
    const { port, informer, restarts } = setup({ minBackoff: 1, maxBackoff: 1 });
    informer.start();
    const failures = [
      network('EWATCHIDLE', 'no event or bookmark for 150 s'),
      network('ECONNRESET', 'aborted'),
      network('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:6443'),
      new ApiError('watch services: internal error', 500, 'InternalError'),
      new Error('socket hang up'),
    ];
    for (const [n, err] of failures.entries()) (await port.stream(n)).fail(err);
    await port.stream(failures.length);
    assert.deepEqual(restarts, ['closed', 'closed', 'error', 'error', 'error']);
    await informer.stop();
  });

  it('logRestart: a 410 and a closed watch at debug, an interrupted one at error (what --log-level info shows)', () => {
    const lines: { level: string; msg: string; error?: string }[] = [];
    const log = createLogger((l) => lines.push(JSON.parse(l)), 'debug');
    logRestart(log, SERVICES, 'expired');
    logRestart(log, SERVICES, 'closed', network('EWATCHIDLE', 'no event or bookmark for 150 s'));
    logRestart(log, SERVICES, 'error', network('ECONNREFUSED', 'connect ECONNREFUSED'));
    assert.deepEqual(
      lines.map((l) => `${l.level} ${l.msg}`),
      ['debug watch expired (410 Gone), listing again', 'debug watch closed, resuming', 'error watch interrupted, resuming'],
    );
    assert.equal(lines[1]!.error, 'cannot reach the API server (EWATCHIDLE)');
  });
});
