// Bad input of routeKind HTTPRoute mode (issue 14) on the real apiserver: an HTTPRoute template that is not
// an HTTPRoute, one attached to a Gateway or to another Service, one with a misspelt variable. Each stops
// `vsop sync` with exit 3 (invalid configuration, src/errors.ts) and a message naming the template key and
// what is wrong, before anything is written: the HTTPRoutes and ReferenceGrants of an earlier sync keep
// their resourceVersions, and no VirtualService appears. (The prefix header route, refused at route add
// with exit 2, is httproute-route.test.ts's; the same messages offline are the goldens httproute-template-*.)
// Run alone with
//   node test/harness/run-integration.ts test/integration/httproute-bad-input.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SEED_HTTPROUTE_TEMPLATE, SEED_TEMPLATE } from '../../src/core/template.ts';
import type { KubeObject } from '../../src/core/types.ts';
import { testCluster } from '../harness/cluster.ts';
import { gatewayApiPath } from '../harness/gateway-api.ts';
import { summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { get, makeWorld, type Cluster, type World, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

/** kind/namespace/name → resourceVersion of every HTTPRoute and ReferenceGrant of the world, and its VirtualServices. */
async function stored(w: World): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const ns of [w.prod, ...w.devs]) {
    for (const kind of ['HTTPRoute', 'ReferenceGrant'] as const) {
      const res = await get(w.admin, gatewayApiPath(kind, ns));
      assert.equal(res.status, 200, summary(res));
      for (const o of res.body.items as KubeObject[]) out[`${kind}/${ns}/${o.metadata.name}`] = o.metadata.resourceVersion as string;
    }
  }
  for (const vs of await w.virtualServices()) out[`VirtualService/${vs.metadata.namespace}/${vs.metadata.name}`] = vs.metadata.resourceVersion as string;
  return out;
}

const cases: [string, string, RegExp][] = [
  [
    'a VirtualService template given as the HTTPRoute template',
    SEED_TEMPLATE,
    /httpRouteTemplate: kind: "VirtualService" must be "HTTPRoute" \(a VirtualService template belongs in virtualServiceTemplate, used with routeKind: VirtualService\)/,
  ],
  [
    'a parentRef to a Gateway',
    SEED_HTTPROUTE_TEMPLATE.replace(/parentRefs:\n[\s\S]*?rules:/, 'parentRefs:\n  - name: public-gw\n    namespace: istio-system\n  rules:'),
    /httpRouteTemplate: spec.parentRefs\[0\]: \{"name":"public-gw","namespace":"istio-system"\} is not the production Service: use exactly one parentRef, the production Service/,
  ],
  [
    'a parentRef to another Service',
    SEED_HTTPROUTE_TEMPLATE.replace('    name: ${serviceName}\n  rules:', '    name: frontend\n  rules:'),
    /httpRouteTemplate: spec.parentRefs\[0\]: \{"group":"","kind":"Service","name":"frontend"\} is not the production Service/,
  ],
  [
    'a misspelt variable',
    SEED_HTTPROUTE_TEMPLATE.replace('"${serviceName}-routes"', '"${servicename}-routes"'),
    /httpRouteTemplate: (metadata\.name: )?unknown variable \$\{servicename\}/,
  ],
];

describe('routeKind HTTPRoute: a bad template stops sync with exit 3 and writes nothing (real apiserver)', { skip }, () => {
  let w: World;
  let before: Record<string, string>;
  it('an earlier sync leaves a route and a grant', async () => {
    w = await makeWorld(cluster, 'hrbad', { devs: 2, config: { routeKind: 'HTTPRoute' } });
    await w.service(w.prod, 'my-app');
    await w.service(w.devs[0]!, 'my-app');
    const r = await w.vsop(['sync']);
    assert.equal(r.code, 0, r.stderr);
    before = await stored(w);
    assert.deepEqual(Object.keys(before).sort(), [`HTTPRoute/${w.prod}/my-app-routes`, `ReferenceGrant/${w.devs[0]}/vsop-from-${w.prod}`]);
    // A second copy: from here a good template writes a grant and a route rule for it.
    await w.service(w.devs[1]!, 'my-app');
  });

  for (const [name, template, message] of cases) {
    it(name, async () => {
      await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: w.devs, routeKind: 'HTTPRoute', httpRouteTemplate: template });
      const r = await w.vsop(['sync']);
      assert.equal(r.code, 3, r.stderr);
      assert.match(r.stderr, /^error: invalid configuration:\n/);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
      assert.deepEqual(await stored(w), before);
    });
  }

  it('the same world with the default template writes the second copy: the runs above had something to write', async () => {
    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: w.devs, routeKind: 'HTTPRoute' });
    const r = await w.vsop(['sync']);
    assert.equal(r.code, 0, r.stderr);
    const now = await stored(w);
    assert.ok(now[`ReferenceGrant/${w.devs[1]}/vsop-from-${w.prod}`], JSON.stringify(now));
    assert.notEqual(now[`HTTPRoute/${w.prod}/my-app-routes`], before[`HTTPRoute/${w.prod}/my-app-routes`]);
  });
});
