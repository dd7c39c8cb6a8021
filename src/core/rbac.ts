// The rights that follow from the configuration, as namespaced Roles: VirtualServices and HTTPRoutes in the
// production namespace, and (least privilege) placeholder Services and ReferenceGrants in each developer
// namespace. `vsop config rbac`
// prints them; the Helm chart renders the same objects (charts/vsop/templates/_rbac.tpl), and
// test/integration/chart.test.ts holds the two to each other.

import type { Config, KubeObject } from './types.ts';

/** The identity the Roles are bound to. */
export interface RbacSubject {
  /** Prefix of every Role name: "virtualservice-operator" gives virtualservice-operator-services. */
  name: string;
  serviceAccount: { namespace: string; name: string };
}

const GATEWAY_GROUP = 'gateway.networking.k8s.io';

interface Grant {
  namespace: string;
  suffix: string;
  apiGroup: string;
  resource: string;
  verbs: string[];
}

/**
 * A Role and a RoleBinding per grant, in this order: VirtualServices, then HTTPRoutes (get, list, watch,
 * create, update, delete) in config.defaultNamespace, then Services and ReferenceGrants (create, update,
 * delete) in each developer namespace in the config's order. Both kinds of route are granted whatever the
 * routeKind, so a switch in the ConfigMap needs no new rights (and vsop deletes its objects of the other
 * kind after one). Reading Services and ReferenceGrants and listing VirtualServices and HTTPRoutes stay
 * cluster-wide (ClusterRoles, not printed here): placeholders and vsop's grants are found by label in
 * every namespace, and a route in any namespace can take part in a Service's routing. Objects carry no
 * labels; the chart adds its own.
 */
export function configRoles(config: Pick<Config, 'defaultNamespace' | 'developerNamespaces'>, subject: RbacSubject): KubeObject[] {
  const grants: Grant[] = [
    {
      namespace: config.defaultNamespace,
      suffix: 'virtualservices',
      apiGroup: 'networking.istio.io',
      resource: 'virtualservices',
      verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
    },
    {
      namespace: config.defaultNamespace,
      suffix: 'httproutes',
      apiGroup: GATEWAY_GROUP,
      resource: 'httproutes',
      verbs: ['get', 'list', 'watch', 'create', 'update', 'delete'],
    },
    ...config.developerNamespaces.flatMap((d) => [
      { namespace: d.name, suffix: 'services', apiGroup: '', resource: 'services', verbs: ['create', 'update', 'delete'] },
      { namespace: d.name, suffix: 'referencegrants', apiGroup: GATEWAY_GROUP, resource: 'referencegrants', verbs: ['create', 'update', 'delete'] },
    ]),
  ];
  return grants.flatMap((g) => {
    const name = `${subject.name}-${g.suffix}`;
    return [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name, namespace: g.namespace },
        rules: [{ apiGroups: [g.apiGroup], resources: [g.resource], verbs: g.verbs }],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name, namespace: g.namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
        subjects: [{ kind: 'ServiceAccount', ...subject.serviceAccount }],
      },
    ];
  });
}
