// vsop sync against the real apiserver: the seed README's "Operator Behavior" section, idempotence, safety
// beside other writers, and every way the cluster can say no. Run one suite alone with
//   node test/harness/run-integration.ts test/integration/sync.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import type { HttpRoute, VirtualService } from '../../src/core/types.ts';
import { makeWorld, routesOf, writtenByVsop, type Cluster, type World } from '../helpers/world.ts';

const skip = skipReason();
let cluster: Cluster;
const written = writtenByVsop();

before(async () => {
  if (!skip) cluster = await testCluster();
});
after(async () => {
  // Every VirtualService these tests made vsop write passes Istio's own validation.
  await written.assertValid();
  await cluster?.release();
});

const collect = (w: World) => written.collect(w);

const FAST = ['--retry-base', '20ms'];

describe('vsop sync (real apiserver)', { skip }, () => {
  it('creates the VirtualService of the seed README, then a second run changes nothing', async () => {
    const w = await makeWorld(cluster, 'seed', { devs: 3 });
    const [alice, bob, staging] = w.devs as [string, string, string];
    await w.service(w.prod, 'my-app');
    await w.service(alice, 'my-app');
    await w.service(staging, 'my-app');
    const first = await w.vsop(['sync']);
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, `virtualservice ${w.prod}/my-app-virtual-service created\n`);
    const vs = await w.virtualService('my-app-virtual-service');
    assert.deepEqual(routesOf(vs), [
      `vsop-dev-${alice} -> my-app.${alice}.svc.cluster.local`,
      `vsop-dev-${staging} -> my-app.${staging}.svc.cluster.local`,
      `vsop-default -> my-app.${w.prod}.svc.cluster.local`,
    ]);
    assert.equal(vs!.metadata.labels!['managed-by'], 'virtualservice-operator');
    assert.ok(!routesOf(vs).some((r) => r.includes(bob)), 'no route to a namespace without the Service');
    const second = await w.vsop(['sync']);
    assert.deepEqual([second.code, second.stdout], [0, `virtualservice ${w.prod}/my-app-virtual-service unchanged\n`]);
    const after = await w.virtualService('my-app-virtual-service');
    assert.equal(after!.metadata.resourceVersion, vs!.metadata.resourceVersion, 'no write on the second run');
    await collect(w);
  });

  it('follows Services through their lifecycle: production and developer, created, updated, deleted', async () => {
    const w = await makeWorld(cluster, 'life', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await w.service(w.prod, 'api');
    assert.equal((await w.vsop(['sync'])).code, 0);
    assert.deepEqual(routesOf(await w.virtualService('api-virtual-service')), [`vsop-default -> api.${w.prod}.svc.cluster.local`]);

    await w.service(a, 'api'); // developer Service created: its route appears
    assert.equal((await w.vsop(['sync'])).stdout, `virtualservice ${w.prod}/api-virtual-service updated\n`);
    assert.deepEqual(routesOf(await w.virtualService('api-virtual-service')), [`vsop-dev-${a} -> api.${a}.svc.cluster.local`, `vsop-default -> api.${w.prod}.svc.cluster.local`]);

    // Production Service updated to two ports: routes per port.
    await w.deleteService(w.prod, 'api');
    await w.service(w.prod, 'api', { ports: [80, 9090] });
    await w.deleteService(a, 'api');
    await w.service(a, 'api', { ports: [80, 9090] });
    assert.equal((await w.vsop(['sync'])).code, 0);
    const multi = await w.virtualService('api-virtual-service');
    assert.deepEqual(
      multi!.spec.http!.map((r) => [r.name, r.match?.[0]?.port ?? null, r.route![0]!.destination.port?.number ?? null]),
      [
        [`vsop-dev-${a}-80`, 80, 80],
        [`vsop-dev-${a}-9090`, 9090, 9090],
        ['vsop-default', null, null],
      ],
    );
    await collect(w);

    await w.deleteService(a, 'api'); // developer Service deleted: its routes go
    assert.equal((await w.vsop(['sync'])).code, 0);
    assert.deepEqual(routesOf(await w.virtualService('api-virtual-service')), [`vsop-default -> api.${w.prod}.svc.cluster.local`]);

    await w.deleteService(w.prod, 'api'); // production Service deleted: the VirtualService goes
    const gone = await w.vsop(['sync']);
    assert.deepEqual([gone.code, gone.stdout], [0, `virtualservice ${w.prod}/api-virtual-service deleted\n`]);
    assert.equal(await w.virtualService('api-virtual-service'), undefined);
    void b;
  });

  it('removes routes of a namespace that left the config, and ignores system namespaces', async () => {
    const w = await makeWorld(cluster, 'stale', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'web'), w.service(a, 'web'), w.service(b, 'web'), w.service('kube-system', `web-${w.prod}`)]);
    assert.equal((await w.vsop(['sync'])).code, 0);
    await w.setConfig({ defaultNamespace: w.prod, developerNamespaces: [a] });
    assert.equal((await w.vsop(['sync'])).code, 0);
    assert.deepEqual(routesOf(await w.virtualService('web-virtual-service')), [`vsop-dev-${a} -> web.${a}.svc.cluster.local`, `vsop-default -> web.${w.prod}.svc.cluster.local`]);
    assert.deepEqual(
      (await w.virtualServices()).map((v) => v.metadata.name),
      ['web-virtual-service'],
    );
    await collect(w);
  });

  it('keeps a route someone else added, where they put it, through updates', async () => {
    const w = await makeWorld(cluster, 'foreign', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'shop'), w.service(a, 'shop')]);
    assert.equal((await w.vsop(['sync'])).code, 0);
    const vs = (await w.virtualService('shop-virtual-service'))!;
    const canary: HttpRoute = {
      name: 'canary',
      match: [{ headers: { 'x-canary': { exact: 'on' } } }],
      route: [{ destination: { host: `shop-canary.${w.prod}.svc.cluster.local` } }],
    };
    vs.spec.http!.splice(1, 0, canary); // after Alice's route, before the default
    const put = await kubeRequest(w.admin, 'PUT', `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices/shop-virtual-service`, { body: vs });
    assert.equal(put.status, 200, summary(put));
    await w.service(b, 'shop');
    assert.equal((await w.vsop(['sync'])).code, 0);
    assert.deepEqual(
      (await w.virtualService('shop-virtual-service'))!.spec.http!.map((r) => r.name),
      [`vsop-dev-${a}`, 'canary', `vsop-dev-${b}`, 'vsop-default'],
    );
    await collect(w);
  });

  it('never touches an unmanaged VirtualService of the same name, and --adopt takes it over keeping its routes', async () => {
    const w = await makeWorld(cluster, 'adopt', { devs: 1 });
    const [a] = w.devs as [string];
    await Promise.all([w.service(w.prod, 'pay'), w.service(a, 'pay')]);
    const mine = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'pay-virtual-service', namespace: w.prod },
      spec: {
        hosts: ['pay'],
        http: [{ name: 'legacy', match: [{ uri: { prefix: '/v1' } }], route: [{ destination: { host: 'pay-v1' } }] }, { route: [{ destination: { host: 'pay' } }] }],
      },
    };
    const created = await kubeRequest(w.admin, 'POST', `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices`, { body: mine });
    assert.equal(created.status, 201, summary(created));
    const refused = await w.vsop(['sync']);
    assert.equal(refused.code, 8);
    assert.match(refused.stderr, new RegExp(`conflict: virtualservice ${w.prod}/pay-virtual-service exists without the label managed-by=virtualservice-operator`));
    assert.equal((await w.virtualService('pay-virtual-service'))!.metadata.resourceVersion, created.body.metadata.resourceVersion, 'not written');

    const adopted = await w.vsop(['sync', '--adopt']);
    assert.equal(adopted.code, 0, adopted.stderr);
    const vs = (await w.virtualService('pay-virtual-service'))!;
    assert.equal(vs.metadata.labels!['managed-by'], 'virtualservice-operator');
    assert.deepEqual(
      vs.spec.http!.map((r) => r.name ?? '(unnamed)'),
      ['legacy', `vsop-dev-${a}`, '(unnamed)', 'vsop-default'],
    );
    await collect(w);
  });

  it('--diff and --dry-run write nothing; --dry-run=server has the server check the writes', async () => {
    const w = await makeWorld(cluster, 'dry', { devs: 1 });
    await w.service(w.prod, 'cart');
    const diff = await w.vsop(['sync', '--diff']);
    assert.equal(diff.code, 1);
    assert.match(diff.stdout, new RegExp(`^--- /dev/null\\n\\+\\+\\+ b/networking\\.istio\\.io\\.v1beta1\\.VirtualService\\.${w.prod}\\.cart-virtual-service`));
    const client = await w.vsop(['sync', '--dry-run=client']);
    assert.deepEqual([client.code, client.stdout], [0, `virtualservice ${w.prod}/cart-virtual-service created (dry run)\n`]);
    const server = await w.vsop(['sync', '--dry-run=server', '-o', 'json']);
    assert.equal(server.code, 0, server.stderr);
    assert.deepEqual(JSON.parse(server.stdout).results, [{ kind: 'VirtualService', namespace: w.prod, name: 'cart-virtual-service', result: 'created', dryRun: 'server dry run' }]);
    assert.deepEqual(await w.virtualServices(), []);
  });

  it("--dry-run=server deletes nothing (the apiserver reads a DELETE's dryRun from its body)", async () => {
    const w = await makeWorld(cluster, 'drydel', { devs: 1 });
    await w.service(w.prod, 'gone');
    assert.equal((await w.vsop(['sync'])).code, 0);
    await w.deleteService(w.prod, 'gone');
    const server = await w.vsop(['sync', '--dry-run=server']);
    assert.deepEqual([server.code, server.stdout], [0, `virtualservice ${w.prod}/gone-virtual-service deleted (server dry run)\n`], server.stderr);
    assert.ok(await w.virtualService('gone-virtual-service'), 'the VirtualService is still there');
  });

  it('converges while another client keeps editing the same VirtualService, losing none of its edits', async () => {
    const w = await makeWorld(cluster, 'race', { devs: 3 });
    const [a, b, c] = w.devs as [string, string, string];
    await Promise.all([w.service(w.prod, 'hot'), w.service(a, 'hot')]);
    assert.equal((await w.vsop(['sync'])).code, 0);
    const path = `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices/hot-virtual-service`;
    let edits = 0;
    let stop = false;
    // The other client: read, add its own route and a label, write; 409s make it read again, as it should.
    const other = (async () => {
      while (!stop && edits < 40) {
        const cur = await kubeRequest(w.admin, 'GET', path);
        const vs = cur.body as VirtualService;
        vs.spec.http = [{ name: `other-${edits}`, match: [{ headers: { 'x-other': { exact: String(edits) } } }], route: [{ destination: { host: 'other' } }] }, ...vs.spec.http!];
        vs.metadata.labels = { ...vs.metadata.labels, [`other-${edits}`]: 'yes' };
        const res = await kubeRequest(w.admin, 'PUT', path, { body: vs });
        if (res.status === 200) edits++;
        else assert.equal(res.status, 409, summary(res));
      }
    })();
    await Promise.all([w.service(b, 'hot'), w.service(c, 'hot')]);
    const results = await Promise.all([w.vsop(['sync', ...FAST]), w.vsop(['sync', ...FAST]), w.vsop(['sync', ...FAST])]);
    stop = true;
    await other;
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    assert.equal((await w.vsop(['sync', ...FAST])).code, 0);
    const vs = (await w.virtualService('hot-virtual-service'))!;
    const names = vs.spec.http!.map((r) => r.name!);
    for (let i = 0; i < edits; i++) {
      assert.ok(names.includes(`other-${i}`), `the other client's route other-${i} was lost`);
      assert.equal(vs.metadata.labels![`other-${i}`], 'yes', `the other client's label other-${i} was lost`);
    }
    assert.deepEqual(
      names.filter((n) => n.startsWith('vsop-')),
      [`vsop-dev-${a}`, `vsop-dev-${b}`, `vsop-dev-${c}`, 'vsop-default'],
    );
    assert.ok(edits > 0);
    await collect(w);
  });

  it('two sync runs at once converge to the same state, and a third finds nothing to do', async () => {
    const w = await makeWorld(cluster, 'twice', { devs: 2 });
    const names = Array.from({ length: 12 }, (_, i) => `svc${i}`);
    await Promise.all(names.flatMap((n, i) => [w.service(w.prod, n), ...(i % 2 ? [w.service(w.devs[0]!, n)] : [])]));
    const [one, two] = await Promise.all([w.vsop(['sync', ...FAST]), w.vsop(['sync', ...FAST])]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    const third = await w.vsop(['sync', '-o', 'json']);
    const results = JSON.parse(third.stdout).results as { result: string }[];
    assert.equal(results.length, 12);
    assert.ok(
      results.every((r) => r.result === 'unchanged'),
      third.stdout,
    );
    await collect(w);
  });
});
