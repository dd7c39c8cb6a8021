// Routing by hand against the real apiserver: route add / rm / reset and clear change the managed
// VirtualService, a following sync and a running watch keep the change, reset and clear followed by sync
// give exactly the automatic state, Istio's xDS simulation sends the header routes and the weights where
// they should go, every bad input fails with its message and exit code with nothing written, and every
// object written passes Istio's validation. Run alone with
//   node test/harness/run-integration.ts test/integration/route.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { simulate, type Call, type CallResult } from '../harness/istio.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { withoutServerFields } from '../../src/core/normalize.ts';
import { toYamlStream } from '../../src/core/render.ts';
import type { VirtualService } from '../../src/core/types.ts';
import { eventually, startWatch } from '../helpers/watcher.ts';
import { makeWorld, routesOf, writtenByVsop, type Cluster, type World, useTestCluster } from '../helpers/world.ts';

const skip = skipReason();
const written = writtenByVsop();
const cluster = useTestCluster(skip, () => written.assertValid({ strict: true }));

const FAST = ['--retry-base', '20ms'];
const OVERRIDES = 'vsop.io/overrides';

async function ok(w: World, args: string[], opts: { answer?: string } = {}): Promise<string> {
  const r = await w.vsop(args, opts);
  assert.equal(r.code, 0, `vsop ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** vsop's objects in the world, for Istio's validation at the end. */
const collect = (w: World) => written.collect(w);

const vsName = (service: string) => `${service}-virtual-service`;
const line = (w: World, service: string, result: string) => `virtualservice ${w.prod}/${vsName(service)} ${result}\n`;
const host = (service: string, ns: string) => `${service}.${ns}.svc.cluster.local`;
const clusterOf = (service: string, ns: string, port = 80) => `outbound|${port}||${host(service, ns)}`;

/** What a person compares between two objects: labels, annotations and spec. */
const comparable = (vs: VirtualService | undefined) => {
  assert.ok(vs, 'VirtualService missing');
  return { labels: vs.metadata.labels, annotations: vs.metadata.annotations, spec: vs.spec };
};

const overridesOf = async (w: World, service: string) => {
  const text = (await w.virtualService(vsName(service)))?.metadata.annotations?.[OVERRIDES];
  return text === undefined ? undefined : JSON.parse(text);
};

/** Every object the test could have written, with its resourceVersion: equal before and after = nothing written. */
async function inventory(w: World): Promise<string[]> {
  const vs = (await w.virtualServices()).map((v) => `virtualservice ${v.metadata.name} ${v.metadata.resourceVersion}`);
  const svc = (await Promise.all([w.prod, ...w.devs].map((ns) => w.services(ns))))
    .flat()
    .map((s) => `service ${s.metadata.namespace}/${s.metadata.name} ${s.metadata.resourceVersion}`);
  return [...vs, ...svc].sort();
}

/** Istio's xDS simulation over the world's real Services and the VirtualServices as they are in the cluster. */
async function routeCalls(w: World, calls: Call[]): Promise<CallResult[]> {
  const services = (await Promise.all([w.prod, ...w.devs].map((ns) => w.services(ns))))
    .flat()
    .filter((s) => s.spec?.type !== 'ExternalName')
    .map((s) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: s.metadata.name, namespace: s.metadata.namespace },
      spec: { ports: s.spec!.ports!.map((p) => ({ name: `http-${p.port}`, port: p.port })) },
    }));
  const virtualServices = (await w.virtualServices()).map(withoutServerFields);
  return simulate({ services: toYamlStream(services), virtualServices: toYamlStream(virtualServices), calls });
}

async function expectClusters(w: World, table: [Call, string][]): Promise<void> {
  const results = await routeCalls(
    w,
    table.map(([c]) => c),
  );
  assert.deepEqual(
    results.map((r) => `${JSON.stringify(r.call.headers ?? {})} -> ${r.error ?? r.cluster}`),
    table.map(([c, expected]) => `${JSON.stringify(c.headers ?? {})} -> ${expected}`),
  );
}

describe('vsop route and clear (real apiserver)', { skip }, () => {
  it('route add --header: the header reaches the developer copy, sync keeps it, route reset + sync give exactly the automatic state', async () => {
    const w = await makeWorld(cluster, 'rhdr', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'my-app'), w.service(a, 'my-app'), w.service(b, 'my-app')]);
    await ok(w, ['sync']);
    const automatic = await w.virtualService(vsName('my-app'));

    assert.equal(await ok(w, ['route', 'add', 'my-app', '-n', a, '--header', 'x-cid=alice']), line(w, 'my-app', 'updated'));
    const vs = await w.virtualService(vsName('my-app'));
    assert.deepEqual(routesOf(vs), [
      `vsop-route-${a}-1 -> ${host('my-app', a)}`,
      `vsop-dev-${a} -> ${host('my-app', a)}`,
      `vsop-dev-${b} -> ${host('my-app', b)}`,
      `vsop-default -> ${host('my-app', w.prod)}`,
    ]);
    assert.deepEqual(await overridesOf(w, 'my-app'), {
      version: 1,
      routes: [{ namespace: a, id: 1, headers: [{ name: 'x-cid', value: 'alice', match: 'exact' }] }],
      weights: [],
      removed: [],
      cleared: false,
    });
    await collect(w);

    // A following sync leaves it in place, without writing; so does adding the same route again.
    assert.equal(await ok(w, ['sync']), line(w, 'my-app', 'unchanged'));
    assert.equal(await ok(w, ['route', 'add', 'my-app', '-n', a, '--header', 'x-cid=alice']), line(w, 'my-app', 'unchanged'));
    assert.equal((await w.virtualService(vsName('my-app')))!.metadata.resourceVersion, vs!.metadata.resourceVersion);

    const h = host('my-app', w.prod);
    await expectClusters(w, [
      [{ host: h, port: 80, headers: { 'x-cid': 'alice' } }, clusterOf('my-app', a)],
      [{ host: 'my-app', port: 80, headers: { 'x-cid': 'alice' }, from: w.prod }, clusterOf('my-app', a)],
      [{ host: h, port: 80, headers: { 'x-cid': 'bob' } }, clusterOf('my-app', w.prod)],
      [{ host: h, port: 80, headers: { 'x-developer': b } }, clusterOf('my-app', b)],
      [{ host: h, port: 80 }, clusterOf('my-app', w.prod)],
    ]);

    assert.equal(await ok(w, ['route', 'reset', 'my-app']), line(w, 'my-app', 'updated'));
    assert.equal(await ok(w, ['sync']), line(w, 'my-app', 'unchanged'));
    const back = await w.virtualService(vsName('my-app'));
    assert.deepEqual(comparable(back), comparable(automatic));
    assert.equal(back!.metadata.annotations![OVERRIDES], undefined);
  });

  it('route add --weight: Istio splits the requests without a matching header as asked, production keeping the rest', async () => {
    const w = await makeWorld(cluster, 'rwgt', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'web'), w.service(a, 'web'), w.service(b, 'web')]);
    await ok(w, ['sync']);
    await ok(w, ['route', 'add', 'web', '-n', a, '--weight', '20']);
    await ok(w, ['route', 'add', 'web', '-n', b, '--weight', '30', '--header', 'x-team=b-', '--match', 'prefix']);
    const vs = await w.virtualService(vsName('web'));
    assert.deepEqual(vs!.spec.http!.at(-1), {
      name: 'vsop-default',
      route: [
        { destination: { host: host('web', w.prod) }, weight: 50 },
        { destination: { host: host('web', a) }, weight: 20 },
        { destination: { host: host('web', b) }, weight: 30 },
      ],
    });
    assert.equal(await ok(w, ['sync']), line(w, 'web', 'unchanged'));
    await collect(w);

    const h = host('web', w.prod);
    const [plain, team, dev] = await routeCalls(w, [
      { host: h, port: 80 },
      { host: h, port: 80, headers: { 'x-team': 'b-feature' } },
      { host: h, port: 80, headers: { 'x-developer': a } },
    ]);
    assert.deepEqual(plain!.weights, [
      { cluster: clusterOf('web', w.prod), weight: 50 },
      { cluster: clusterOf('web', a), weight: 20 },
      { cluster: clusterOf('web', b), weight: 30 },
    ]);
    assert.equal(plain!.route, 'vsop-default');
    assert.deepEqual([team!.cluster, team!.route], [clusterOf('web', b), `vsop-route-${b}-1`]);
    assert.deepEqual([dev!.cluster, dev!.weights], [clusterOf('web', a), undefined]);

    // More than 100% in all is refused, with nothing written.
    const before = await inventory(w);
    const over = await w.vsop(['route', 'add', 'web', '-n', a, '--weight', '80']);
    assert.equal(over.code, 2);
    assert.match(over.stderr, new RegExp(`^error: weights for service ${w.prod}/web would add up to 110% \\(${b} 30%, ${a} 80%\\); at most 100%\\n`));
    assert.deepEqual(await inventory(w), before);
  });

  it('route rm takes the automatic route away for good (sync and a redeployed copy do not bring it back); route reset -n does', async () => {
    const w = await makeWorld(cluster, 'rrm', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'api'), w.service(a, 'api'), w.service(b, 'api')]);
    await ok(w, ['sync']);
    const automatic = await w.virtualService(vsName('api'));
    await ok(w, ['route', 'add', 'api', '-n', a, '--header', 'x-cid=a']);
    assert.equal(await ok(w, ['route', 'rm', 'api', '-n', a]), line(w, 'api', 'updated'));
    const expected = [`vsop-dev-${b} -> ${host('api', b)}`, `vsop-default -> ${host('api', w.prod)}`];
    assert.deepEqual(routesOf(await w.virtualService(vsName('api'))), expected);
    assert.deepEqual(await overridesOf(w, 'api'), { version: 1, routes: [], weights: [], removed: [a], cleared: false });
    await collect(w);

    await w.deleteService(a, 'api');
    await w.service(a, 'api');
    assert.equal(await ok(w, ['sync']), line(w, 'api', 'unchanged'));
    assert.deepEqual(routesOf(await w.virtualService(vsName('api'))), expected);
    const h = host('api', w.prod);
    await expectClusters(w, [
      [{ host: h, port: 80, headers: { 'x-developer': a } }, clusterOf('api', w.prod)],
      [{ host: h, port: 80, headers: { 'x-cid': 'a' } }, clusterOf('api', w.prod)],
      [{ host: h, port: 80, headers: { 'x-developer': b } }, clusterOf('api', b)],
    ]);

    assert.equal(await ok(w, ['route', 'reset', 'api', '-n', a]), line(w, 'api', 'updated'));
    assert.equal(await ok(w, ['sync']), line(w, 'api', 'unchanged'));
    assert.deepEqual(comparable(await w.virtualService(vsName('api'))), comparable(automatic));
  });

  it('clear leaves production only and sync keeps it; routes added after count; clear --all; route reset + sync give the automatic state', async () => {
    const w = await makeWorld(cluster, 'rclr', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await Promise.all(['one', 'two'].flatMap((s) => [w.service(w.prod, s), w.service(a, s), w.service(b, s)]));
    await ok(w, ['sync']);
    const automatic = await w.virtualServices();

    assert.equal(await ok(w, ['clear', 'one']), line(w, 'one', 'updated'));
    assert.deepEqual(routesOf(await w.virtualService(vsName('one'))), [`vsop-default -> ${host('one', w.prod)}`]);
    assert.equal((await w.virtualService(vsName('two')))!.metadata.resourceVersion, automatic[1]!.metadata.resourceVersion, 'two untouched');
    assert.equal(await ok(w, ['sync']), `${line(w, 'one', 'unchanged')}${line(w, 'two', 'unchanged')}`);
    await expectClusters(w, [[{ host: host('one', w.prod), port: 80, headers: { 'x-developer': a } }, clusterOf('one', w.prod)]]);

    await ok(w, ['route', 'add', 'one', '-n', a, '--header', 'x-cid=a']);
    assert.deepEqual(routesOf(await w.virtualService(vsName('one'))), [`vsop-route-${a}-1 -> ${host('one', a)}`, `vsop-default -> ${host('one', w.prod)}`]);
    await collect(w);

    assert.equal(await ok(w, ['clear', '--all']), `${line(w, 'one', 'updated')}${line(w, 'two', 'updated')}`);
    for (const s of ['one', 'two']) {
      assert.deepEqual(routesOf(await w.virtualService(vsName(s))), [`vsop-default -> ${host(s, w.prod)}`]);
      assert.deepEqual(await overridesOf(w, s), { version: 1, routes: [], weights: [], removed: [], cleared: true });
    }
    await collect(w);

    await ok(w, ['route', 'reset', 'one']);
    await ok(w, ['route', 'reset', 'two']);
    assert.equal(await ok(w, ['sync']), `${line(w, 'one', 'unchanged')}${line(w, 'two', 'unchanged')}`);
    assert.deepEqual((await w.virtualServices()).map(comparable), automatic.map(comparable));
  });

  it('clear --purge --all asks on a terminal, refuses without one, and deletes every managed VirtualService and placeholder only when told to', async () => {
    const w = await makeWorld(cluster, 'rpur', { devs: 2, config: { enablePlaceholderServices: true } });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'shop'), w.service(w.prod, 'cart'), w.service(a, 'shop')]);
    await ok(w, ['sync']);
    const handMade = {
      apiVersion: 'networking.istio.io/v1beta1',
      kind: 'VirtualService',
      metadata: { name: 'by-hand', namespace: w.prod },
      spec: { hosts: ['by-hand'], http: [{ route: [{ destination: { host: 'by-hand' } }] }] },
    };
    const res = await kubeRequest(w.admin, 'POST', `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices`, { body: handMade });
    assert.equal(res.status, 201, summary(res));
    const before = await inventory(w);

    const refused = await w.vsop(['clear', '--purge', '--all']);
    assert.equal(refused.code, 2);
    assert.match(
      refused.stderr,
      /^error: clear --purge --all deletes everything vsop made \(its VirtualServices, HTTPRoutes, ReferenceGrants and placeholder Services\), and there is no terminal to confirm on\nhint: pass --yes/,
    );
    const declined = await w.vsop(['clear', '--purge', '--all'], { answer: 'n' });
    assert.equal(declined.code, 2);
    assert.match(
      declined.stderr,
      new RegExp(
        `  virtualservice ${w.prod}/cart-virtual-service\\n[^]*Delete these 2 VirtualServices and 3 placeholder Services from https://[^ ]+\\? [^\\n]*\\[y/N\\] n\\nerror: not confirmed: nothing was deleted\\n`,
      ),
    );
    const server = await w.vsop(['clear', '--purge', '--all', '--dry-run=server']);
    assert.equal(server.code, 0, server.stderr);
    assert.equal(server.stdout.split('\n').filter(Boolean).length, 5);
    assert.ok(
      server.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => l.endsWith(' deleted (server dry run)')),
      server.stdout,
    );
    assert.deepEqual(await inventory(w), before, 'nothing deleted before the confirmation');

    const purged = await w.vsop(['clear', '--purge', '--all'], { answer: 'y' });
    assert.equal(purged.code, 0, purged.stderr);
    assert.equal(
      purged.stdout,
      [
        `service ${a}/cart deleted`,
        `virtualservice ${w.prod}/cart-virtual-service deleted`,
        `virtualservice ${w.prod}/shop-virtual-service deleted`,
        `service ${b}/cart deleted`,
        `service ${b}/shop deleted`,
      ]
        .sort((x, y) => (x.split(' ')[1]! < y.split(' ')[1]! ? -1 : 1))
        .map((l) => `${l}\n`)
        .join(''),
    );
    assert.deepEqual(
      (await w.virtualServices()).map((v) => v.metadata.name),
      ['by-hand'],
    );
    assert.deepEqual(
      (await w.services(a)).map((s) => s.metadata.name),
      ['shop'],
      "the developer's real Service stays",
    );
    assert.deepEqual(await w.services(b), []);

    await ok(w, ['sync']);
    const again = await w.vsop(['clear', '--purge', '--all', '--yes', '-o', 'json']);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout).results as { result: string }[]).filter((r) => r.result === 'deleted').length, 5);
  });

  it('bad inputs: each gives its message and exit code, and nothing is written', async () => {
    const w = await makeWorld(cluster, 'rbad', { devs: 3, config: { enablePlaceholderServices: true } });
    const [a, b, c] = w.devs as [string, string, string];
    await Promise.all(['my-app', 'other', 'broken'].flatMap((s) => [w.service(w.prod, s), w.service(a, s)]));
    const mine = { apiVersion: 'networking.istio.io/v1beta1', kind: 'VirtualService', metadata: { name: 'other-virtual-service', namespace: w.prod }, spec: { hosts: ['other'] } };
    assert.equal((await kubeRequest(w.admin, 'POST', `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices`, { body: mine })).status, 201);
    assert.equal((await w.vsop(['sync'])).code, 8, 'the unmanaged VirtualService is in the way');
    // Someone edits the overrides of "broken" by hand and gets them wrong; c loses its placeholder.
    const broken = (await w.virtualService(vsName('broken')))!;
    broken.metadata.annotations = { ...broken.metadata.annotations, [OVERRIDES]: '{"version":1,"weights":[{"namespace":"x","percent":150}]}' };
    const put = await kubeRequest(w.admin, 'PUT', `/apis/networking.istio.io/v1beta1/namespaces/${w.prod}/virtualservices/${vsName('broken')}`, { body: broken });
    assert.equal(put.status, 200, summary(put));
    const brokenVersion = (put.body as VirtualService).metadata.resourceVersion;
    await w.deleteService(c, 'my-app');
    const before = await inventory(w);

    const table: [string[], number, RegExp][] = [
      [['route', 'add', 'nope', '-n', a, '--header', 'x-cid=1'], 7, new RegExp(`^error: service ${w.prod}/nope not found among the production Services\\n`)],
      [
        ['route', 'add', 'my-app', '-n', 'dev-nowhere', '--header', 'x-cid=1'],
        2,
        /^error: namespace "dev-nowhere" is not a developer namespace in the configuration\nhint: developer namespaces: /,
      ],
      [['route', 'add', 'my-app', '-n', w.prod, '--weight', '5'], 2, new RegExp(`^error: namespace "${w.prod}" is the production namespace, not a developer namespace\\n`)],
      [
        ['route', 'add', 'my-app', '-n', b, '--header', 'x-cid=1'],
        7,
        new RegExp(`^error: service ${b}/my-app is only a placeholder vsop created, not a real Service\\nhint: deploy my-app to ${b} first, or pass --force`),
      ],
      [['route', 'add', 'my-app', '-n', c, '--weight', '10'], 7, new RegExp(`^error: service ${c}/my-app not found\\n`)],
      [['route', 'add', 'my-app', '-n', a, '--weight', '101'], 2, /^error: option '--weight <percent>' argument '101' is invalid\. expected a whole number from 0 to 100\n/],
      [['route', 'add', 'my-app', '-n', a, '--weight', '-1'], 2, /^error: option '--weight <percent>' argument '-1' is invalid/],
      [['route', 'add', 'my-app', '-n', a, '--header', 'x-cid'], 2, /^error: --header "x-cid": expected NAME=VALUE, such as x-cid=alice\n/],
      [['route', 'add', 'my-app', '-n', a, '--header', 'X-Cid=1'], 2, /^error: --header "X-Cid=1": header name "X-Cid" is not lower case/],
      [['route', 'add', 'my-app', '-n', a, '--header', 'x-cid=(?!a)', '--match', 'regex'], 2, /is not an RE2 regular expression/],
      [
        ['route', 'add', 'other', '-n', a, '--header', 'x-cid=1'],
        8,
        new RegExp(`conflict: virtualservice ${w.prod}/other-virtual-service exists without the label managed-by=virtualservice-operator`),
      ],
      [
        ['route', 'add', 'broken', '-n', a, '--header', 'x-cid=1'],
        4,
        new RegExp(
          `^error: cannot change the overrides of service ${w.prod}/broken:\\n  virtualservice ${w.prod}/broken-virtual-service: annotation vsop\\.io/overrides: weights\\[0\\]\\.percent: must be a whole number from 0 to 100, not 150\\n`,
        ),
      ],
      [['route', 'rm', 'my-app', '-n', 'dev-nowhere'], 2, /is not a developer namespace/],
      [['route', 'reset', 'nope'], 7, /not found among the production Services/],
      [['clear', 'other'], 8, /exists without the label managed-by/],
      [['clear'], 2, /^error: name the Services to clear, or pass --all for every one\n/],
    ];
    for (const [args, code, message] of table) {
      const r = await w.vsop(args);
      assert.equal(r.code, code, `vsop ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, `vsop ${args.join(' ')}`);
      assert.equal(r.stdout, '', `vsop ${args.join(' ')}`);
      assert.deepEqual(await inventory(w), before, `vsop ${args.join(' ')} wrote something`);
    }

    // A sync brings the rest in line and leaves the unreadable object alone, saying why (exit 4).
    const s = await w.vsop(['sync']);
    assert.equal(s.code, 4);
    assert.match(
      s.stderr,
      new RegExp(`error: invalid overrides; vsop leaves this VirtualService alone:\\n  virtualservice ${w.prod}/broken-virtual-service: annotation vsop\\.io/overrides: `),
    );
    assert.equal((await w.virtualService(vsName('broken')))!.metadata.resourceVersion, brokenVersion, 'the unreadable object is not written');
    // route reset needs no readable annotation: it is the way out.
    assert.match(await ok(w, ['route', 'reset', 'broken']), new RegExp(`^${line(w, 'broken', 'updated')}`));
    assert.equal((await w.virtualService(vsName('broken')))!.metadata.annotations![OVERRIDES], undefined);
    await collect(w);
  });

  it('--diff, --dry-run=client and --dry-run=server write nothing; -o json gives the results as data', async () => {
    const w = await makeWorld(cluster, 'rdry', { devs: 1 });
    const [a] = w.devs as [string];
    await Promise.all([w.service(w.prod, 'cart'), w.service(a, 'cart')]);
    await ok(w, ['sync']);
    const before = await inventory(w);
    const add = ['route', 'add', 'cart', '-n', a, '--header', 'x-cid=1'];
    const diff = await w.vsop([...add, '--diff']);
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stdout, /^\+ {4}vsop\.io\/overrides: '\{"version":1,"routes":\[\{"namespace":/m);
    assert.match(diff.stdout, new RegExp(`^\\+    - name: vsop-route-${a}-1$`, 'm'));
    assert.equal(diff.stderr, 'Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged.\n');
    assert.deepEqual([(await w.vsop([...add, '--dry-run=client'])).stdout], [line(w, 'cart', 'updated (dry run)')]);
    const server = await w.vsop([...add, '--dry-run=server', '-o', 'json']);
    assert.equal(server.code, 0, server.stderr);
    assert.deepEqual(JSON.parse(server.stdout), {
      version: 1,
      results: [{ kind: 'VirtualService', namespace: w.prod, name: vsName('cart'), result: 'updated', dryRun: 'server dry run' }],
    });
    assert.deepEqual(await inventory(w), before);
    const applied = JSON.parse(await ok(w, [...add, '-o', 'json']));
    assert.deepEqual(applied, { version: 1, results: [{ kind: 'VirtualService', namespace: w.prod, name: vsName('cart'), result: 'updated' }] });
    const nothing = await w.vsop([...add, '--diff']);
    assert.deepEqual([nothing.code, nothing.stdout], [0, '']);
  });

  it('route commands and a sync at the same time: every change lands, none undone', async () => {
    const w = await makeWorld(cluster, 'rrace', { devs: 3 });
    const [a, b, c] = w.devs as [string, string, string];
    await Promise.all([w.prod, a, b, c].map((ns) => w.service(ns, 'hot')));
    await ok(w, ['sync']);
    const results = await Promise.all([
      w.vsop(['route', 'add', 'hot', '-n', a, '--weight', '10', ...FAST]),
      w.vsop(['route', 'add', 'hot', '-n', b, '--header', 'x-b=1', ...FAST]),
      w.vsop(['route', 'rm', 'hot', '-n', c, ...FAST]),
      w.vsop(['sync', ...FAST]),
      w.vsop(['sync', ...FAST]),
    ]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const o = await overridesOf(w, 'hot');
    assert.deepEqual([o.weights, o.routes.map((r: { namespace: string }) => r.namespace), o.removed], [[{ namespace: a, percent: 10 }], [b], [c]]);
    assert.deepEqual(routesOf(await w.virtualService(vsName('hot'))), [
      `vsop-route-${b}-1 -> ${host('hot', b)}`,
      `vsop-dev-${a} -> ${host('hot', a)}`,
      `vsop-dev-${b} -> ${host('hot', b)}`,
      `vsop-default -> ${host('hot', w.prod)},${host('hot', a)}`,
    ]);
    assert.equal(await ok(w, ['sync']), line(w, 'hot', 'unchanged'));
    await collect(w);
  });

  it('a running watch keeps what was routed by hand, holds it back while the copy is gone and renders it again when it returns', async () => {
    const w = await makeWorld(cluster, 'rwatch', { devs: 1 });
    const [a] = w.devs as [string];
    await Promise.all([w.service(w.prod, 'api'), w.service(a, 'api')]);
    const watcher = await startWatch(['--config-namespace', w.configNamespace, 'watch', '--retry-base', '50ms'], { KUBECONFIG: cluster.adminKubeconfig });
    const routes = async () => {
      const vs = await w.virtualService(vsName('api'));
      return vs ? JSON.stringify(routesOf(vs)) : undefined;
    };
    const until = (what: string, expected: string[]) => eventually(what, async () => (await routes()) === JSON.stringify(expected));
    try {
      await until('the automatic routes', [`vsop-dev-${a} -> ${host('api', a)}`, `vsop-default -> ${host('api', w.prod)}`]);
      await ok(w, ['route', 'add', 'api', '-n', a, '--header', 'x-cid=a', '--weight', '25', ...FAST]);
      const byHand = [`vsop-route-${a}-1 -> ${host('api', a)}`, `vsop-dev-${a} -> ${host('api', a)}`, `vsop-default -> ${host('api', w.prod)},${host('api', a)}`];
      assert.equal(await routes(), JSON.stringify(byHand));
      const rv = (await w.virtualService(vsName('api')))!.metadata.resourceVersion;
      // The watch sees the change and finds nothing to undo.
      await new Promise((r) => setTimeout(r, 2000));
      assert.equal((await w.virtualService(vsName('api')))!.metadata.resourceVersion, rv, 'the watch wrote over the route added by hand');
      await collect(w);

      await w.deleteService(a, 'api');
      await until('the routes to the deleted copy held back', [`vsop-default -> ${host('api', w.prod)}`]);
      assert.equal((await overridesOf(w, 'api')).weights[0].percent, 25, 'still recorded');
      await w.service(a, 'api');
      await until('the routes by hand back with the copy', byHand);

      await ok(w, ['route', 'reset', 'api', ...FAST]);
      await until('automatic routing again', [`vsop-dev-${a} -> ${host('api', a)}`, `vsop-default -> ${host('api', w.prod)}`]);
      assert.equal((await w.virtualService(vsName('api')))!.metadata.annotations![OVERRIDES], undefined);
    } finally {
      const { code } = await watcher.stop();
      assert.equal(code, 0, watcher.logs.map((l) => JSON.stringify(l)).join('\n'));
    }
  });

  it("route add refuses, per match kind, a header route that would take requests another namespace's route catches, with nothing written; Istio sends each witness to that namespace's copy", async () => {
    const w = await makeWorld(cluster, 'rovl', { devs: 2 });
    const [a, b] = w.devs as [string, string];
    await Promise.all([w.service(w.prod, 'my-app'), w.service(a, 'my-app'), w.service(b, 'my-app')]);
    await ok(w, ['sync']);
    await ok(w, ['route', 'add', 'my-app', '-n', b, '--header', 'x-cid=qa-[0-9]+', '--match', 'regex']);
    await ok(w, ['route', 'add', 'my-app', '-n', b, '--header', 'x-team=pay-', '--match', 'prefix']);
    const before = await inventory(w);
    const route1 = `${b}'s route vsop-route-${b}-1 \\(x-cid matching "qa-\\[0-9\\]\\+"\\)`;
    const auto = `${b}'s automatic route \\(x-developer equal to "${b}"\\)`;
    // [args of route add for namespace a, the header the witness is of, the message]
    const table: [string[], string, RegExp][] = [
      [
        ['--header', 'x-cid=qa-7'],
        'x-cid',
        new RegExp(`^error: --header x-cid=qa-7 would take requests meant for other developer namespaces: a request with x-cid: "qa-7" would match both it and ${route1}\\n`),
      ],
      [
        ['--header', `x-developer=${b}`],
        'x-developer',
        new RegExp(`^error: requests with x-developer: ${b} are ${b}'s: its automatic route sends them there\\nhint: .*vsop route rm my-app -n ${b}\\n`),
      ],
      [
        ['--header', 'x-team=pay', '--match', 'prefix'],
        'x-team',
        new RegExp(
          `^error: --header x-team=pay with --match prefix would take .*: a request with x-team: "pay-" would match both it and ${b}'s route vsop-route-${b}-2 \\(x-team starting with "pay-"\\)\\n`,
        ),
      ],
      [['--header', `x-developer=${b.slice(0, -1)}`, '--match', 'prefix'], 'x-developer', new RegExp(`: a request with x-developer: "${b}" would match both it and ${auto}\\n`)],
      [
        ['--header', 'x-cid=(qa|dev)-.*', '--match', 'regex'],
        'x-cid',
        new RegExp(`^error: --header x-cid=\\(qa\\|dev\\)-\\.\\* with --match regex would take .*: a request with x-cid: "qa-0" would match both it and ${route1}\\n`),
      ],
      [
        ['--header', `x-developer=(?i)${b.toUpperCase()}`, '--match', 'regex'],
        'x-developer',
        new RegExp(`: a request with x-developer: "${b}" would match both it and ${auto}\\n`),
      ],
    ];
    const witnesses: [string, string][] = [];
    for (const [args, header, message] of table) {
      const r = await w.vsop(['route', 'add', 'my-app', '-n', a, ...args]);
      assert.equal(r.code, 2, `route add ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, `route add ${args.join(' ')}`);
      assert.equal(r.stdout, '');
      assert.deepEqual(await inventory(w), before, `route add ${args.join(' ')} wrote something`);
      const value = new RegExp(`(?:a request with|requests with) ${header}: "?([^"\\s]+)"?`).exec(r.stderr)?.[1];
      assert.ok(value, r.stderr);
      witnesses.push([header, value]);
    }
    // Where the witness goes is Istio's answer, on the objects as they stand: to b's copy, every one.
    const h = host('my-app', w.prod);
    await expectClusters(
      w,
      witnesses.map(([name, value]) => [{ host: h, port: 80, headers: { [name]: value } }, clusterOf('my-app', b)]),
    );

    // Two regexes vsop cannot compare: refused, saying so, unless --force.
    const unknown = await w.vsop(['route', 'add', 'my-app', '-n', a, '--header', 'x-cid=qa-\\pL+', '--match', 'regex']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, new RegExp(`^error: cannot tell whether .* from ${route1}: the two regexes cannot be compared: .*\\nhint: pass --force`));
    assert.deepEqual(await inventory(w), before);
    assert.equal(await ok(w, ['route', 'add', 'my-app', '-n', a, '--header', 'x-cid=qa-\\pL+', '--match', 'regex', '--force']), line(w, 'my-app', 'updated'));
    await expectClusters(w, [
      [{ host: h, port: 80, headers: { 'x-cid': 'qa-7' } }, clusterOf('my-app', b)],
      [{ host: h, port: 80, headers: { 'x-cid': 'qa-x' } }, clusterOf('my-app', a)],
    ]);
    await collect(w);
  });
});
