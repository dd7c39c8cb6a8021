// Property tests over random configurations and Service sets.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parse } from 'yaml';
import { plan, hasChanges } from '../../src/core/plan.ts';
import { toYamlStream } from '../../src/core/render.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { Service, VirtualService } from '../../src/core/types.ts';
import { config, service } from '../helpers/fixtures.ts';

const POOL = ['dev-a', 'dev-b', 'dev-c', 'dev-d', 'staging', 'qa'];
const SYSTEM = ['kube-system', 'istio-system', 'kube-public'];
const NAMES = ['api', 'web', 'auth', 'db'];

/** Developer namespaces in random order; each may name an earlier one as parent (so no cycles). */
const developerNamespaces = fc
  .shuffledSubarray(POOL, { minLength: 0, maxLength: POOL.length })
  .chain((names) =>
    fc.tuple(
      ...names.map((name, i) =>
        (i === 0 ? fc.constant(undefined) : fc.option(fc.constantFrom(...names.slice(0, i)), { nil: undefined })).map((parent) => (parent ? { name, parent } : name)),
      ),
    ),
  )
  .map((entries): unknown[] => entries);

const services = fc
  .uniqueArray(
    fc.record({
      namespace: fc.constantFrom('prod', 'elsewhere', ...POOL, ...SYSTEM),
      name: fc.constantFrom(...NAMES),
      placeholder: fc.boolean(),
      ports: fc.uniqueArray(fc.constantFrom(80, 8080, 9090), { minLength: 1, maxLength: 3 }),
    }),
    { selector: (s) => `${s.namespace}/${s.name}` },
  )
  .map((list) => list.map((s) => service(s.namespace, s.name, { ports: s.ports, placeholder: s.placeholder && s.namespace !== 'prod' })));

const world = fc.record({ devs: developerNamespaces, services });

function setup({ devs, services: svcs }: { devs: unknown[]; services: Service[] }) {
  const { config: c, template } = config({ defaultNamespace: 'prod', developerNamespaces: devs });
  return { c, template, svcs, r: resolve(c, template, svcs) };
}

const hostOf = (host: string) => {
  const [name, namespace] = host.split('.');
  return { name: name!, namespace: namespace! };
};

describe('resolver and planner properties', () => {
  it('output is deterministic whatever the input order', () => {
    fc.assert(
      fc.property(world, fc.integer(), (w, seed) => {
        const { c, template, svcs, r } = setup(w);
        const shuffled = [...svcs].sort((a, b) => ((a.metadata.name.length * 31 + seed) % 7) - ((b.metadata.name.length * 17 + seed) % 5));
        assert.deepEqual(resolve(c, template, shuffled), r);
      }),
    );
  });

  it('never routes to a namespace lacking a real copy of the Service (and port), nor to a system namespace', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { svcs, r } = setup(w);
        const real = new Map(svcs.filter((s) => !s.metadata.labels?.['virtualservice-operator/placeholder-service']).map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
        for (const vs of r.virtualServices) {
          for (const route of vs.spec.http ?? []) {
            for (const d of route.route ?? []) {
              const { name, namespace } = hostOf(d.destination.host);
              assert.ok(!SYSTEM.includes(namespace), `route into system namespace ${namespace}`);
              const svc = real.get(`${namespace}/${name}`);
              assert.ok(svc, `route to ${namespace}/${name}, which has no real Service`);
              if (d.destination.port)
                assert.ok(
                  svc.spec!.ports!.some((p) => p.port === d.destination.port!.number),
                  'route to a missing port',
                );
            }
          }
        }
      }),
    );
  });

  it('routes each configured namespace whose copy serves the port Istio sends to, to itself, and the default route comes last', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { c, svcs, r } = setup(w);
        for (const vs of r.virtualServices) {
          const http = vs.spec.http!;
          assert.equal(http.at(-1)!.name, 'vsop-default');
          assert.equal(http.at(-1)!.match, undefined);
          const svcName = vs.metadata.annotations!['vsop.io/service']!;
          const prod = svcs.find((s) => s.metadata.namespace === 'prod' && s.metadata.name === svcName)!;
          if (prod.spec!.ports!.length > 1) continue;
          for (const dev of c.developerNamespaces) {
            // Sidecars send a port-less destination to the port called (routing/ports.ts): the copy must serve it.
            const prodPort = prod.spec!.ports![0]!.port;
            const own = svcs.some((s) => s.metadata.namespace === dev.name && s.metadata.name === svcName && !s.metadata.labels && s.spec!.ports!.some((p) => p.port === prodPort));
            const route = http.find((h) => h.name === `vsop-dev-${dev.name}`);
            if (own) assert.equal(route?.route?.[0]?.destination.host, `${svcName}.${dev.name}.svc.cluster.local`);
          }
        }
      }),
    );
  });

  it('planning against its own rendered output (through YAML) changes nothing', () => {
    fc.assert(
      fc.property(world, (w) => {
        const { c, r } = setup(w);
        const live = toYamlStream(r.virtualServices)
          .split(/^---$/m)
          .filter((d) => d.trim())
          .map((d) => parse(d) as VirtualService);
        const p = plan(r.virtualServices, live, { defaultNamespace: c.defaultNamespace });
        assert.equal(hasChanges(p), false);
        assert.equal(p.actions.length, r.virtualServices.length);
      }),
    );
  });
});
