// The ADS server (src/xds/server.ts) against a real xDS client nobody here wrote: Node's @grpc/grpc-js-xds
// resolving `xds:///my-app.default.svc.cluster.local:80`, calling real gRPC servers on loopback ("production"
// and "dev-alice") whose addresses the server learns from EndpointSlices. No Kubernetes here: the resources
// are rendered from objects in memory (test/integration/xds.test.ts does the same from an apiserver, with
// grpc-go's client).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as xdsClient from '@grpc/grpc-js-xds';
import type { Overrides } from '../../src/core/overrides.ts';
import { renderXds, type XdsResources } from '../../src/core/render/xds.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { EndpointSlice, Service } from '../../src/core/types.ts';
import { createLogger } from '../../src/watch/log.ts';
import { XdsMetrics } from '../../src/xds/metrics.ts';
import { AdsServer } from '../../src/xds/server.ts';
import { echoBackend, who } from '../helpers/echo.ts';
import { config, overrides, service } from '../helpers/fixtures.ts';

const TARGET = 'xds:///my-app.default.svc.cluster.local:80';
const CFG = config({ developerNamespaces: ['dev-alice'] });

function slice(namespace: string, port: number): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `my-app-${namespace}`, namespace, labels: { 'kubernetes.io/service-name': 'my-app' } },
    addressType: 'IPv4',
    ports: [{ port }],
    endpoints: [{ addresses: ['127.0.0.1'], conditions: { ready: true } }],
  };
}

function render(services: Service[], slices: EndpointSlice[], o?: Overrides): XdsResources {
  const r = resolve(CFG.config, CFG.template, services, { overrides: () => o });
  return renderXds({ tables: r.tables, services, endpointSlices: slices, namespace: 'default' }).resources;
}

describe('src/xds/envoy.gen.json', () => {
  it('is what scripts/xds-protos.ts generates from the installed @grpc/grpc-js-xds (npm run xds-protos regenerates it)', async () => {
    const { generate, OUT } = await import('../../scripts/xds-protos.ts');
    assert.deepEqual(JSON.parse(generate()), JSON.parse(readFileSync(OUT, 'utf8')));
  });
});

describe('vsop xds server with @grpc/grpc-js-xds as the client', () => {
  const logs: string[] = [];
  const metrics = new XdsMetrics();
  const ads = new AdsServer({ log: createLogger((l) => logs.push(l), 'debug'), metrics });
  let prod: Awaited<ReturnType<typeof echoBackend>>;
  let alice: Awaited<ReturnType<typeof echoBackend>>;
  let client: grpc.Client;
  let world: { services: Service[]; slices: EndpointSlice[] };

  const call = (developer?: string) => who(client, developer);
  /** Calls until `want` answers (a config change reaches the client asynchronously); at most 200 calls. */
  const until = async (want: string, developer?: string) => {
    let last = '';
    for (let i = 0; i < 200; i++) {
      last = await call(developer).catch((e: Error) => `error: ${e.message}`);
      if (last === want) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.fail(`calls${developer ? ` with x-developer: ${developer}` : ''} never reached ${want}; the last answer was ${last}`);
  };
  const nacks = async () => (await metrics.nacks.get()).values.reduce((s, v) => s + v.value, 0);

  before(async () => {
    [prod, alice] = await Promise.all([echoBackend('production'), echoBackend('dev-alice')]);
    const port = await ads.listen('127.0.0.1:0');
    process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
      xds_servers: [{ server_uri: `127.0.0.1:${port}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'xds-server-test', locality: {} },
    });
    xdsClient.register();
    world = {
      services: [service('default', 'my-app'), service('dev-alice', 'my-app')],
      slices: [slice('default', prod.port), slice('dev-alice', alice.port)],
    };
    ads.update(render(world.services, world.slices));
    client = new grpc.Client(TARGET, grpc.credentials.createInsecure());
  });

  after(async () => {
    client?.close();
    await ads.stop();
    prod?.server.forceShutdown();
    alice?.server.forceShutdown();
  });

  it('sends calls with the routing header to the developer copy, the others to production', async () => {
    assert.equal(await call(), 'production');
    assert.equal(await call('dev-alice'), 'dev-alice');
    assert.equal(await call('dev-bob'), 'production');
    assert.equal(await nacks(), 0, logs.join(''));
    const acks = (await metrics.acks.get()).values.filter((v) => v.value > 0).map((v) => v.labels.type);
    assert.deepEqual(acks.sort(), ['cluster', 'endpoint', 'listener', 'route']);
  });

  it('pushes nothing when a snapshot changes nothing', async () => {
    const pushes = async () => (await metrics.pushes.get()).values.reduce((s, v) => s + v.value, 0);
    const before = await pushes();
    ads.update(render(world.services, world.slices));
    ads.update(render([...world.services].reverse(), [...world.slices].reverse()));
    assert.equal(await pushes(), before);
  });

  it('moves the header calls as the developer copy goes and comes back, while the client runs', async () => {
    ads.update(render([world.services[0]!], [world.slices[0]!]));
    await until('production', 'dev-alice');
    ads.update(render(world.services, world.slices));
    await until('dev-alice', 'dev-alice');
    assert.equal(await call(), 'production');
  });

  it('splits calls without the header by weight', async () => {
    ads.update(render(world.services, world.slices, overrides({ weights: [{ namespace: 'dev-alice', percent: 30 }] })));
    // Wait until the split is in force (some call reaches dev-alice), then count.
    await until('dev-alice');
    const n = 400;
    let toAlice = 0;
    for (let i = 0; i < n; i++) if ((await call()) === 'dev-alice') toAlice++;
    // 30% of 400 is 120, standard deviation √(400·0.3·0.7) ≈ 9.2: ±5σ.
    assert.ok(toAlice >= 74 && toAlice <= 166, `${toAlice} of ${n} calls reached dev-alice, 120 expected`);
    ads.update(render(world.services, world.slices));
    await until('production');
  });

  it('counts and logs a NACK; the client keeps its last good version and the refused one is not sent again', async () => {
    const good = render(world.services, world.slices);
    // grpc-js-xds refuses a Cluster of a discovery type it does not support (it takes EDS, LOGICAL_DNS and aggregate).
    const bad = { ...good, cluster: good.cluster.map((c) => ({ ...c, type: 'STATIC' })) };
    ads.update(bad);
    for (let i = 0; i < 100 && (await nacks()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok((await nacks()) >= 1, 'no NACK counted');
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.msg.includes('NACK'));
    assert.equal(line.type, 'cluster');
    // The client's own words.
    assert.match(line.error, /Unsupported type STATIC/);
    // Still served by the last good version.
    assert.equal(await call('dev-alice'), 'dev-alice');
    assert.equal(await call(), 'production');
    const counted = await nacks();
    ads.update(bad);
    assert.equal(await nacks(), counted);
    ads.update(good);
    assert.equal(await call('dev-alice'), 'dev-alice');
  });
});

describe("grpc-js's log lines go through vsop's logger", () => {
  it('with GRPC_TRACE=all, from the Server\'s construction on: nothing raw on stderr (a tester\'s finding: "Server constructed" was)', () => {
    // A child process: grpc-js reads GRPC_TRACE and GRPC_VERBOSITY when it is loaded.
    const script = `
      import { createLogger } from ${JSON.stringify(new URL('../../src/watch/log.ts', import.meta.url).href)};
      import { XdsMetrics } from ${JSON.stringify(new URL('../../src/xds/metrics.ts', import.meta.url).href)};
      import { AdsServer } from ${JSON.stringify(new URL('../../src/xds/server.ts', import.meta.url).href)};
      const ads = new AdsServer({ log: createLogger((l) => process.stdout.write(l), 'debug'), metrics: new XdsMetrics() });
      await ads.listen('127.0.0.1:0');
      await ads.stop();
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, GRPC_TRACE: 'all', GRPC_VERBOSITY: 'DEBUG' },
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stderr, '');
    const details = run.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((l) => l.msg === 'grpc-js')
      .map((l) => l.detail as string);
    assert.ok(
      details.some((d) => d.includes('Server constructed')),
      details.join('\n'),
    );
  });
});
