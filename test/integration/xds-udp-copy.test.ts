// A developer copy whose port is served only over UDP, held to Istio's simulation: Istio builds no
// outbound cluster for a UDP port, so a route to such a copy names a cluster that does not exist
// (missingClusters: Envoy answers 503). vsop's routing table (routing/ports.ts routablePorts) counts only
// the ports a route can reach, so it renders no route there and the developer's header falls back, as
// VirtualService, HTTPRoute and xDS all render from that one table (test/unit/xds.test.ts checks the xDS
// side). Production serves 53 over TCP (named http-…, so Istio applies HTTP routes to it) and UDP.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { resolve } from '../../src/core/resolve.ts';
import type { Service } from '../../src/core/types.ts';
import { simulate } from '../harness/istio.ts';
import { skipReason } from '../harness/require.ts';
import { config, dns, service } from '../helpers/fixtures.ts';

const skip = skipReason();
const PROD: Service = dns.production();
const { udpOnly, tcp } = dns;
const docs = (objects: readonly object[]) => objects.map((o) => stringify(o)).join('---\n');

async function headerCall(services: Service[], devs: NonNullable<Parameters<typeof config>[0]>['developerNamespaces']) {
  const cfg = config({ developerNamespaces: devs });
  const { virtualServices } = resolve(cfg.config, cfg.template, services);
  const [result] = await simulate({
    services: docs(services),
    virtualServices: docs(virtualServices),
    calls: [{ host: 'dns', port: 53, headers: { 'x-developer': 'dev-alice' } }],
  });
  return result!;
}

describe("a copy serving a port only over UDP, in Istio's simulation", { skip }, () => {
  it("gets no route: the developer's header reaches production, not a cluster Istio never built", async () => {
    const r = await headerCall([PROD, udpOnly('dev-alice')], ['dev-alice']);
    assert.equal(r.cluster, 'outbound|53||dns.default.svc.cluster.local');
    assert.equal(r.missingClusters, undefined);
  });

  it('falls back to the parent whose copy serves it over TCP (the simulation routes there)', async () => {
    const r = await headerCall([PROD, udpOnly('dev-alice'), tcp('staging')], ['staging', { name: 'dev-alice', parent: 'staging' }]);
    assert.equal(r.cluster, 'outbound|53||dns.staging.svc.cluster.local');
    assert.equal(r.missingClusters, undefined);
  });
});
