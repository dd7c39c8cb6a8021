// Issue 14 on the real apiserver: (1) a template's unknown field (a misspelt `matchs`, which the apiserver
// would drop without strict validation, leaving a catch-all rule) stops sync offline, naming the field
// (exit 3), and nothing is stored; the apiserver refuses the same route under the fieldValidation=Strict
// that vsop writes with (httproute-crd-rules.test.ts holds that and the CRD's other rules); (2) two Services
// whose routes would share a name (metadata.name "${serviceName}": Service a with ports 80 and 90 renders
// a-80 and a-90, Service a-80 renders a-80) stop sync with exit 3 before any write.
// Run alone with
//   node test/harness/run-integration.ts test/integration/httproute-strict.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SEED_HTTPROUTE_TEMPLATE } from '../../src/core/template.ts';
import type { KubeObject } from '../../src/core/types.ts';
import { testCluster } from '../harness/cluster.ts';
import { gatewayApiPath } from '../harness/gateway-api.ts';
import { summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { get, makeWorld, type Cluster, type World, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const cluster = useTestCluster(skip);

async function routes(w: World): Promise<string[]> {
  const res = await get(w.admin, gatewayApiPath('HTTPRoute', w.prod));
  assert.equal(res.status, 200, summary(res));
  return (res.body.items as KubeObject[]).map((o) => o.metadata.name).sort();
}

describe('routeKind HTTPRoute: strict writes and names taken (real apiserver)', { skip }, () => {
  it('an unknown template field is refused, naming the field; nothing is stored', async () => {
    const w = await makeWorld(cluster, 'hrstrict', { devs: 1, config: { routeKind: 'HTTPRoute' } });
    await w.service(w.prod, 'my-app');
    const template = SEED_HTTPROUTE_TEMPLATE.replace(
      '  rules:\n',
      '  rules:\n  - matchs:\n    - path: {type: PathPrefix, value: /api}\n    backendRefs:\n    - name: ${serviceName}\n',
    );
    assert.notEqual(template, SEED_HTTPROUTE_TEMPLATE);
    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: w.devs, routeKind: 'HTTPRoute', httpRouteTemplate: template });
    const r = await w.vsop(['sync']);
    assert.equal(r.code, 3, r.stdout);
    assert.match(r.stderr, /spec\.rules\[0\]\.matchs: is not a field of the Gateway API's HTTPRoute schema/);
    assert.deepEqual(await routes(w), []);
  });

  it("a Service whose route takes another Service's route name stops sync with exit 3; nothing is written", async () => {
    const w = await makeWorld(cluster, 'hrtaken', { devs: 1, config: { routeKind: 'HTTPRoute' } });
    await w.service(w.prod, 'a', { ports: [80, 90] });
    await w.service(w.prod, 'a-80');
    const template = SEED_HTTPROUTE_TEMPLATE.replace('"${serviceName}-routes"', '"${serviceName}"');
    assert.notEqual(template, SEED_HTTPROUTE_TEMPLATE);
    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: w.devs, routeKind: 'HTTPRoute', httpRouteTemplate: template });
    const r = await w.vsop(['sync']);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, new RegExp(`service ${w.prod}/a-80: httproute ${w.prod}/a-80: Service ${w.prod}/a renders this HTTPRoute too`));
    assert.equal(r.stdout, '');
    assert.deepEqual(await routes(w), []);
  });
});
