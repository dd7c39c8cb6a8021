import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { handOver, planPlaceholders } from '../../src/core/placeholders.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { Service } from '../../src/core/types.ts';
import { config, service } from '../helpers/fixtures.ts';

describe('placeholders', () => {
  it('stand in where a developer namespace lacks the Service, pointing where the header would lead, with its ports', () => {
    const { config: c, template } = config({ enablePlaceholderServices: true, developerNamespaces: ['team', { name: 'feature', parent: 'team' }, 'solo'] });
    const prod = service('prod-ns', 'api', { ports: [80, 9090] });
    prod.metadata.namespace = 'default';
    const r = resolve(c, template, [prod, service('team', 'api', { ports: [80, 9090] })]);
    assert.deepEqual(
      r.placeholders.map((p) => [p.metadata.namespace, p.spec!.externalName, p.spec!.ports]),
      [
        [
          'feature',
          'api.team.svc.cluster.local',
          [
            { port: 80, protocol: 'TCP' },
            { port: 9090, protocol: 'TCP' },
          ],
        ],
        [
          'solo',
          'api.default.svc.cluster.local',
          [
            { port: 80, protocol: 'TCP' },
            { port: 9090, protocol: 'TCP' },
          ],
        ],
      ],
    );
    const [p] = r.placeholders;
    assert.deepEqual(p!.metadata.labels, { 'virtualservice-operator/placeholder-service': 'true', 'managed-by': 'virtualservice-operator' });
    assert.deepEqual(p!.metadata.annotations, { 'virtualservice-operator/placeholder-service': 'true', 'virtualservice-operator/source-service': 'default/api' });
    assert.equal(p!.spec!.type, 'ExternalName');
  });

  it('are none when the feature is off', () => {
    const { config: c, template } = config({ developerNamespaces: ['team'] });
    assert.deepEqual(resolve(c, template, [service('default', 'api')]).placeholders, []);
  });

  it('are created, kept, deleted when unwanted, and handed over when someone made them real', () => {
    const { config: c, template } = config({ enablePlaceholderServices: true, developerNamespaces: ['a', 'b'] });
    const desired = resolve(c, template, [service('default', 'api'), service('default', 'web')]).placeholders;
    const kept = structuredClone(desired.find((p) => p.metadata.namespace === 'a' && p.metadata.name === 'api')!);
    const taken: Service = structuredClone(desired.find((p) => p.metadata.namespace === 'b' && p.metadata.name === 'api')!);
    taken.spec = { ...taken.spec, selector: { app: 'api' } }; // kubectl apply of the real Service over it
    const orphan = structuredClone(kept);
    orphan.metadata.namespace = 'left-config';
    const actions = planPlaceholders(desired, [kept, taken, orphan]);
    assert.deepEqual(
      actions.map((a) => `${a.type} ${a.namespace}/${a.name}`).sort(),
      ['create a/web', 'create b/web', 'delete left-config/api', 'unchanged a/api', 'update b/api'].sort(),
    );
    const handed = actions.find((a) => a.namespace === 'b' && a.name === 'api')!;
    assert.equal(handed.after!.spec!.type, 'ClusterIP', 'the real Service is never turned back into a placeholder');
    assert.equal(handed.desired, undefined);
  });

  it('hand over as an ordinary ClusterIP Service without vsop markers', () => {
    const svc: Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: {
        name: 'api',
        namespace: 'b',
        labels: { 'virtualservice-operator/placeholder-service': 'true', 'managed-by': 'virtualservice-operator', app: 'api' },
        annotations: { 'virtualservice-operator/placeholder-service': 'true', 'virtualservice-operator/source-service': 'default/api', note: 'x' },
      },
      spec: { type: 'ExternalName', externalName: 'api.default.svc.cluster.local', selector: { app: 'api' }, ports: [{ port: 80 }] },
    };
    const out = handOver(svc);
    assert.deepEqual(out.metadata.labels, { app: 'api' });
    assert.deepEqual(out.metadata.annotations, { note: 'x' });
    assert.deepEqual(out.spec, { type: 'ClusterIP', selector: { app: 'api' }, ports: [{ port: 80 }] });
  });
});
