// sync --diff against the real apiserver, whose objects come back with their keys in its own order (a
// custom resource's sorted: `match` before `name` in a route), not in the order vsop renders them: the
// diff shows what changes, and no line that only moved. kubectl diff prints both sides through one
// marshaller for the same reason.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { skipReason } from '../harness/require.ts';
import { get, makeWorld, type Cluster } from '../helpers/world.ts';

const skip = skipReason();
let cluster: Cluster;
before(async () => {
  if (!skip) cluster = await testCluster();
});
after(async () => cluster?.release());

/** The changed lines of a unified diff (file headers left out), and the lines of each side. */
function changes(diff: string): { removed: string[]; added: string[] } {
  const lines = diff.split('\n').filter((l) => !l.startsWith('--- ') && !l.startsWith('+++ '));
  return { removed: lines.filter((l) => l.startsWith('-')), added: lines.filter((l) => l.startsWith('+')) };
}

describe('sync --diff on live objects (real apiserver)', { skip }, () => {
  it('shows a new developer route as added lines only, although the stored object orders its keys otherwise', async () => {
    const w = await makeWorld(cluster, 'order', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await w.service(w.prod, 'api');
    await w.service(a, 'api');
    const first = await w.vsop(['sync']);
    assert.equal(first.code, 0, first.stderr);
    // What the test is about: the apiserver's order is not vsop's (rendered: name, match, route).
    const stored = (await get(cluster.admin, `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices/api-virtual-service`)).body;
    assert.deepEqual(Object.keys(stored.spec.http[0]), ['match', 'name', 'route']);

    await w.service(b, 'api');
    const diff = await w.vsop(['sync', '--diff']);
    assert.equal(diff.code, 1, diff.stderr);
    const { removed, added } = changes(diff.stdout);
    assert.deepEqual(removed, [], `nothing is removed; the diff:\n${diff.stdout}`);
    assert.deepEqual(
      added.map((l) => l.slice(1).trim()),
      [`- name: vsop-dev-${b}`, 'match:', '- headers:', 'x-developer:', `exact: ${b}`, 'route:', '- destination:', `host: api.${b}.svc.cluster.local`],
      diff.stdout,
    );
  });
});
