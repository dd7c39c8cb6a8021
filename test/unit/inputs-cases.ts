// Which production Services a VirtualService of some namespace bears on: the table both the unit test
// (vsop's answer, test/unit/inputs.test.ts) and the referee (Istio's own xDS generation decides whether the
// VirtualService takes the Service's traffic, test/integration/inputs.test.ts) read. Production namespace
// "default" with Services my-app and web; the seed template.

export interface AffectCase {
  name: string;
  namespace: string;
  hosts: string[];
  /** The production Services whose traffic (Host: NAME.default.svc.cluster.local) this VirtualService takes. */
  takes: readonly ('my-app' | 'web')[] | 'all';
}

export const PRODUCTION_SERVICES = ['my-app', 'web'] as const;

export const AFFECT_CASES: AffectCase[] = [
  { name: 'the full name, from another namespace', namespace: 'other', hosts: ['my-app.default.svc.cluster.local'], takes: ['my-app'] },
  { name: 'the short name, in the production namespace', namespace: 'default', hosts: ['my-app'], takes: ['my-app'] },
  { name: 'the short name, in another namespace: that namespace’s my-app', namespace: 'other', hosts: ['my-app'], takes: [] },
  { name: 'name.namespace is taken as written, not qualified', namespace: 'other', hosts: ['my-app.default'], takes: [] },
  { name: 'two hosts', namespace: 'other', hosts: ['my-app.default.svc.cluster.local', 'web.default.svc.cluster.local'], takes: ['my-app', 'web'] },
  { name: 'a wildcard over the production namespace', namespace: 'other', hosts: ['*.default.svc.cluster.local'], takes: 'all' },
  { name: 'a wildcard over every namespace', namespace: 'other', hosts: ['*.svc.cluster.local'], takes: 'all' },
  { name: 'a wildcard over another namespace', namespace: 'other', hosts: ['*.other.svc.cluster.local'], takes: [] },
  { name: 'an external host', namespace: 'other', hosts: ['my-app.example.com'], takes: [] },
];
