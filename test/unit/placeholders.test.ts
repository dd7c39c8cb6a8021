import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { applyPlan } from '../../src/apply.ts';
import { type Action, plan, planPurge } from '../../src/core/plan.ts';
import { placeholderScope, placeholderScopeOf } from '../../src/core/ownership.ts';
import { handOver, planPlaceholders } from '../../src/core/placeholders.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { Service, VirtualService } from '../../src/core/types.ts';
import { planSnapshot } from '../../src/reconcile.ts';
import { FakePort } from '../helpers/fake-port.ts';
import { config, seedVirtualService, service } from '../helpers/fixtures.ts';

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

  it('are created, kept, deleted when unwanted, and handed over when someone made them real; never written outside the configuration', () => {
    const { config: c, template } = config({ enablePlaceholderServices: true, developerNamespaces: ['a', 'b'] });
    const live = [service('default', 'api'), service('default', 'web')];
    const desired = resolve(c, template, live).placeholders;
    const kept = structuredClone(desired.find((p) => p.metadata.namespace === 'a' && p.metadata.name === 'api')!);
    const taken: Service = structuredClone(desired.find((p) => p.metadata.namespace === 'b' && p.metadata.name === 'api')!);
    taken.spec = { ...taken.spec, selector: { app: 'api' } }; // kubectl apply of the real Service over it
    const gone = rename(kept, 'a', 'old'); // its production Service default/old was deleted
    const orphan = rename(kept, 'left-config', 'api');
    const all = [...live, kept, taken, gone, orphan];
    const { actions, findings } = planPlaceholders(desired, all, placeholderScopeOf(c, all));
    assert.deepEqual(actions.map((a) => `${a.type} ${a.namespace}/${a.name}`).sort(), ['create a/web', 'create b/web', 'delete a/old', 'unchanged a/api', 'update b/api'].sort());
    const handed = actions.find((a) => a.namespace === 'b' && a.name === 'api')!;
    assert.equal(handed.after!.spec!.type, 'ClusterIP', 'the real Service is never turned back into a placeholder');
    assert.equal(handed.desired, undefined);
    assert.deepEqual(
      findings.map((f) => [f.code, f.severity, `${f.namespace}/${f.name}`]),
      [['foreign-placeholder', 'warning', 'left-config/api']],
    );
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

/** A copy of a placeholder at another namespace/name, its source annotation following the name. */
function rename(svc: Service, namespace: string, name: string): Service {
  const out = structuredClone(svc);
  out.metadata.namespace = namespace;
  out.metadata.name = name;
  out.metadata.annotations = { ...out.metadata.annotations, 'virtualservice-operator/source-service': `default/${name}` };
  return out;
}

const MARK = 'virtualservice-operator/placeholder-service';

/** A Service with the marker: an ExternalName placeholder, or (real) one with a selector; `source` as the annotation. */
function marked(namespace: string, name: string, opts: { source?: string; real?: boolean; annotationOnly?: boolean } = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      ...(opts.annotationOnly ? {} : { labels: { [MARK]: 'true' } }),
      annotations: { [MARK]: 'true', ...(opts.source ? { 'virtualservice-operator/source-service': opts.source } : {}) },
    },
    spec: opts.real
      ? { type: 'ClusterIP', selector: { app: name }, ports: [{ port: 80 }] }
      : { type: 'ExternalName', externalName: `${name}.default.svc.cluster.local`, ports: [{ port: 80 }] },
  };
}

describe('the object scope (placeholderScope): which Services vsop may write', () => {
  const { config: c } = config({ enablePlaceholderServices: true, excludedNamespaces: ['private'] });
  const fake = marked('default', 'fake');
  const production = [service('default', 'api'), service('default', 'kubernetes'), fake];
  const scope = placeholderScopeOf(c, production);
  const notConfigured = 'namespace left is not a developer namespace of the configuration';
  const cases: [string, Service, string | undefined][] = [
    ['a placeholder of an existing production Service, in a developer namespace', marked('dev-alice', 'api'), undefined],
    ['the same, made real (to be handed over)', marked('dev-alice', 'api', { real: true }), undefined],
    ["one made for a production Service since gone (vsop's source form)", marked('dev-bob', 'old', { source: 'default/old' }), undefined],
    [
      "one made for a production Service since gone (the seed operator's form)",
      marked('dev-bob', 'old', { source: 'old.default.svc.cluster.local', annotationOnly: true }),
      undefined,
    ],
    ['a namespace not in the configuration', marked('left', 'api', { source: 'default/api' }), notConfigured],
    ['a real Service with the marker there', marked('left', 'web', { real: true }), notConfigured],
    ['kube-system', marked('kube-system', 'api'), 'namespace kube-system is a system namespace'],
    ['istio-system', marked('istio-system', 'api', { source: 'default/api' }), 'namespace istio-system is a system namespace'],
    ['an excluded namespace', marked('private', 'api', { source: 'default/api' }), 'namespace private is excluded (excludedNamespaces)'],
    ['the production namespace', fake, 'namespace default is the production namespace'],
    ["the cluster's own Service", marked('dev-alice', 'kubernetes', { source: 'default/kubernetes' }), "vsop renders no placeholder for the cluster's own Service kubernetes"],
    [
      'no production Service, and made for none',
      marked('dev-alice', 'ghost'),
      'is no placeholder vsop would render there (there is no production Service default/ghost, and its annotation virtualservice-operator/source-service does not name one)',
    ],
    [
      'no production Service, and made for another',
      marked('dev-alice', 'ghost', { source: 'other/ghost' }),
      'is no placeholder vsop would render there (there is no production Service default/ghost, and its annotation virtualservice-operator/source-service does not name one)',
    ],
    [
      'a production Service that is itself only marked does not count',
      marked('dev-alice', 'fake'),
      'is no placeholder vsop would render there (there is no production Service default/fake, and its annotation virtualservice-operator/source-service does not name one)',
    ],
  ];
  for (const [name, svc, reason] of cases) {
    it(`${name}: ${reason ?? 'writable'}`, () => {
      assert.deepEqual(placeholderScope(scope, svc), reason === undefined ? { writable: true } : { writable: false, reason });
    });
  }

  it('every Service with the marker outside the scope is a warning naming it and why, and never an action', () => {
    const outside = cases.filter(([, , reason]) => reason !== undefined).map(([, svc]) => svc);
    const live = [...production.filter((s) => !outside.includes(s)), ...outside];
    const { actions, findings } = planPlaceholders([], live, placeholderScopeOf(c, live));
    assert.deepEqual(actions, []);
    assert.equal(findings.length, outside.length);
    for (const f of findings) {
      assert.equal(f.code, 'foreign-placeholder');
      assert.equal(f.severity, 'warning');
      assert.match(
        f.message,
        new RegExp(
          `^service ${f.namespace}/${f.name} carries the placeholder marker \\(${MARK}\\) but .+: vsop leaves it alone \\(delete it by hand if it is a placeholder left behind, or remove the marker\\)$`,
        ),
      );
    }
    assert.equal(
      findings.find((f) => f.namespace === 'kube-system')!.message,
      `service kube-system/api carries the placeholder marker (${MARK}) but namespace kube-system is a system namespace: vsop leaves it alone (delete it by hand if it is a placeholder left behind, or remove the marker)`,
    );
  });

  it('sync (planSnapshot) reports them among its findings and plans nothing for them', () => {
    const text = stringify({ defaultNamespace: 'default', developerNamespaces: ['dev-alice'], enablePlaceholderServices: true, excludedNamespaces: ['private'] });
    const services = [
      service('default', 'api'),
      marked('left', 'api', { source: 'default/api' }),
      marked('kube-system', 'dns'),
      marked('private', 'api'),
      marked('dev-alice', 'ghost'),
    ];
    const r = planSnapshot({ config: { text, source: 'test' }, services, virtualServices: [] });
    assert.deepEqual(
      r.plan.actions.map((a) => `${a.type} ${a.kind} ${a.namespace}/${a.name}`),
      ['create VirtualService default/api-virtual-service', 'create Service dev-alice/api'],
    );
    assert.deepEqual(
      r.plan.findings.map((f) => `${f.code} ${f.namespace}/${f.name}`),
      ['foreign-placeholder dev-alice/ghost', 'foreign-placeholder kube-system/dns', 'foreign-placeholder left/api', 'foreign-placeholder private/api'],
    );
    // Watch reconciles one name at a time: the same findings for that name.
    const one = planSnapshot({ config: { text, source: 'test' }, services, virtualServices: [] }, { services: ['api'], allowGone: true });
    assert.deepEqual(
      one.plan.findings.map((f) => `${f.namespace}/${f.name}`),
      ['left/api', 'private/api'],
    );
  });

  it('clear --purge --all (planPurge) deletes only the placeholders in scope, and reports the rest', () => {
    const live = [
      ...production,
      marked('dev-alice', 'api', { source: 'default/api' }),
      marked('dev-bob', 'old', { source: 'default/old' }),
      marked('dev-bob', 'api', { real: true }),
      marked('left', 'api', { source: 'default/api' }),
      marked('kube-system', 'api'),
      marked('private', 'api'),
      marked('staging', 'ghost'),
    ];
    const p = planPurge([seedVirtualService('api', []), seedVirtualService('api', [], 'other')], live, c);
    assert.deepEqual(
      p.actions.map((a) => `${a.type} ${a.kind} ${a.namespace}/${a.name}`),
      ['delete VirtualService default/api-virtual-service', 'delete Service dev-alice/api', 'delete Service dev-bob/old'],
    );
    assert.deepEqual(
      p.findings.map((f) => `${f.code} ${f.namespace}/${f.name}`),
      [
        'foreign-placeholder default/fake',
        'foreign-placeholder kube-system/api',
        'foreign-placeholder left/api',
        'foreign-placeholder private/api',
        'foreign-placeholder staging/ghost',
      ],
    );
  });

  it('the conflict retry deletes a placeholder only while it is still the one planned (the same marker and source, still a placeholder)', async () => {
    const cases: [string, (s: Service) => void, string][] = [
      ['unchanged but for a label', (s) => void (s.metadata.labels!.team = 'x'), 'deleted'],
      ['its source annotation gone', (s) => void delete s.metadata.annotations!['virtualservice-operator/source-service'], 'unchanged'],
      ['its marker gone', (s) => void (delete s.metadata.labels![MARK], delete s.metadata.annotations![MARK]), 'unchanged'],
      ['made real', (s) => void (s.spec = { type: 'ClusterIP', selector: { app: 'old' }, ports: [{ port: 80 }] }), 'unchanged'],
    ];
    for (const [name, change, result] of cases) {
      const port = new FakePort();
      const live = port.put(marked('dev-bob', 'old', { source: 'default/old' })) as Service;
      const { actions } = planPlaceholders([], [live], placeholderScopeOf(c, [live]));
      assert.deepEqual(
        actions.map((a) => a.type),
        ['delete'],
      );
      let once = false;
      port.beforeWrite = (verb) => {
        if (verb !== 'delete' || once) return;
        once = true;
        const now = port.get('Service', 'dev-bob', 'old') as Service;
        change(now);
        port.put(now);
      };
      const [r] = await applyPlan(actions as Action[], port, { retry: { retries: 2, minTimeout: 1, factor: 1, maxTimeout: 1, randomize: false } });
      assert.equal(r!.result, result, name);
      assert.equal(port.get('Service', 'dev-bob', 'old') === undefined, result === 'deleted', name);
    }
  });
});

describe('the object scope of VirtualServices: only the production namespace, only with the managed label', () => {
  it('plan never creates, changes or deletes one elsewhere or without the label', () => {
    const elsewhere = seedVirtualService('api', ['dev-alice'], 'other'); // managed label, vsop's name, another namespace
    const stale = seedVirtualService('gone', [], 'other'); // would be deleted if it were in production
    const byHand: VirtualService = { ...seedVirtualService('by-hand', []), metadata: { name: 'by-hand', namespace: 'default' } };
    const p = plan([seedVirtualService('api', [])], [elsewhere, stale, byHand], { defaultNamespace: 'default' });
    assert.deepEqual(
      p.actions.map((a) => `${a.type} ${a.namespace}/${a.name}`),
      ['create default/api-virtual-service'],
    );
  });

  it('nor does the purge', () => {
    const { config: c } = config();
    const byHand: VirtualService = { ...seedVirtualService('by-hand', []), metadata: { name: 'by-hand', namespace: 'default' } };
    const p = planPurge([seedVirtualService('api', [], 'other'), byHand, seedVirtualService('api', [])], [], c);
    assert.deepEqual(
      p.actions.map((a) => `${a.type} ${a.namespace}/${a.name}`),
      ['delete default/api-virtual-service'],
    );
  });
});
