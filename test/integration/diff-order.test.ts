// sync --diff against the real apiserver, whose objects come back with their keys in its own order (a
// custom resource's sorted: `match` before `name` in a route), not in the order vsop renders them: the
// diff shows what changes, and no line that only moved. kubectl diff prints both sides through one
// marshaller for the same reason.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { skipReason } from '../harness/require.ts';
import { get, makeWorld, type Cluster, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

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

// Issue 14, a tester's finding: HTTPRoute rules have no names, so the stored route (keys sorted by the
// apiserver, the CRD's defaults filled in) printed with its rules in its own key order, and every rule
// showed as removed and added again. Both sides carry the CRD's defaults (what vsop writes has them filled
// in, as kubectl diff's server-side dry run has), so an unchanged rule is equal to its stored self.
describe('sync --diff on live HTTPRoutes (real apiserver)', { skip }, () => {
  it('shows a route that only gained a rule as that rule’s added lines, although the stored route orders its keys otherwise', async () => {
    const w = await makeWorld(cluster, 'hrorder', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: w.devs, routeKind: 'HTTPRoute' });
    await w.service(w.prod, 'api');
    await w.service(a, 'api');
    const first = await w.vsop(['sync']);
    assert.equal(first.code, 0, first.stderr);
    const stored = (await get(cluster.admin, `/apis/gateway.networking.k8s.io/v1/namespaces/${w.prod}/httproutes/api-routes`)).body;
    assert.deepEqual(Object.keys(stored.spec.rules[0]), ['backendRefs', 'matches'], 'the apiserver’s order is not vsop’s');

    await w.service(b, 'api');
    const diff = await w.vsop(['sync', '--diff']);
    assert.equal(diff.code, 1, diff.stderr);
    const route = diff.stdout.split(/(?=^--- )/m).find((d) => d.includes('.HTTPRoute.'))!;
    const { removed, added } = changes(route);
    assert.deepEqual(removed, [], `nothing is removed; the diff:\n${route}`);
    assert.deepEqual(
      added.map((l) => l.slice(1).trim()),
      [
        '- matches:',
        '- path:',
        'type: PathPrefix',
        'value: /',
        'headers:',
        '- type: Exact',
        'name: x-developer',
        `value: ${b}`,
        'backendRefs:',
        `- name: api`,
        `namespace: ${b}`,
        'port: 80',
        'group: ""',
        'kind: Service',
        'weight: 1',
      ],
      route,
    );
  });
});
