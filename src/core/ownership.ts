// What marks an object or a route as vsop's, and which objects vsop may write at all (the object scope).
// The label and placeholder markers are the seed operator's, so objects it created are recognised as
// managed and an existing installation can switch without edits.

import type { Config, ConfigLocation, HttpRoute, KubeObject, Service } from './types.ts';

export const MANAGED_LABEL = 'managed-by';
export const MANAGED_VALUE = 'virtualservice-operator';

/** Names the production Service a managed VirtualService was rendered for. */
export const SERVICE_ANNOTATION = 'vsop.io/service';

/** Routing by hand (route add/rm, clear) for that Service, as versioned JSON (see overrides.ts). */
export const OVERRIDES_ANNOTATION = 'vsop.io/overrides';

/** What vsop rendered beyond its baseline, for the three-way merge (render/merge.ts), as JSON. */
export const RENDERED_ANNOTATION = 'vsop.io/rendered';

export const PLACEHOLDER_LABEL = 'virtualservice-operator/placeholder-service';
export const PLACEHOLDER_SOURCE_ANNOTATION = 'virtualservice-operator/source-service';

/** Every route vsop renders carries a name with this prefix, so routes others add can be told apart. */
export const ROUTE_PREFIX = 'vsop-';

export const DEFAULT_CONFIG_LOCATION: ConfigLocation = {
  namespace: 'virtualservice-operator-system',
  name: 'virtualservice-operator-config',
};
export const CONFIG_KEY = 'config.yaml';

/** The seed operator's list: never route to, or read Services from, these namespaces. */
export const SYSTEM_NAMESPACES: readonly string[] = ['kube-system', 'kube-public', 'kube-node-lease', 'istio-system', 'istio-injection'];

/** Cluster plumbing that must never get a VirtualService (the seed operator skips them by name). */
export const SYSTEM_SERVICES: readonly string[] = ['kubernetes', 'kube-dns'];

export function isManaged(obj: KubeObject): boolean {
  return obj.metadata.labels?.[MANAGED_LABEL] === MANAGED_VALUE;
}

/**
 * A placeholder stands in for a missing developer Service; it never counts as the Service existing. One
 * that someone turned into a real Service (a selector, another type) is no longer a placeholder.
 */
export function isPlaceholder(svc: Service): boolean {
  if (!hasPlaceholderMarker(svc)) return false;
  const spec = svc.spec ?? {};
  const selector = spec.selector as Record<string, string> | undefined;
  return (spec.type === undefined || spec.type === 'ExternalName') && (!selector || Object.keys(selector).length === 0);
}

/** Carries vsop's placeholder marker (label or annotation), whatever happened to the object since. */
export function hasPlaceholderMarker(svc: Service): boolean {
  return svc.metadata.labels?.[PLACEHOLDER_LABEL] === 'true' || svc.metadata.annotations?.[PLACEHOLDER_LABEL] === 'true';
}

/** What the object-scope rule weighs: the configuration, and the production Services that exist. */
export interface PlaceholderScope {
  config: Config;
  developers: ReadonlySet<string>;
  excluded: ReadonlySet<string>;
  /** The names of the production Services (real ones, in the production namespace, not the cluster's own). */
  production: ReadonlySet<string>;
}

export function placeholderScopeOf(config: Config, services: readonly Service[]): PlaceholderScope {
  const production = new Set<string>();
  for (const svc of services) {
    if (svc.metadata.namespace === config.defaultNamespace && !isPlaceholder(svc) && !SYSTEM_SERVICES.includes(svc.metadata.name)) production.add(svc.metadata.name);
  }
  return { config, developers: new Set(config.developerNamespaces.map((d) => d.name)), excluded: new Set(config.excludedNamespaces), production };
}

export type ScopeVerdict = { writable: true } | { writable: false; reason: string };

const WRITABLE: ScopeVerdict = { writable: true };

/**
 * The object scope: the one rule every path that writes a Service follows (sync and its conflict retry,
 * watch, clear --purge, the hand-over). vsop may create, change or delete a Service only in a developer
 * namespace of the configuration (never the production namespace, a system or an excluded one), and only
 * a placeholder vsop would render there: one named after a production Service that exists, or one made
 * for a production Service since gone (its source-service annotation names it, in vsop's form or the
 * seed operator's), which is vsop's to remove. Anything else carrying the marker is reported, not written.
 */
export function placeholderScope(scope: PlaceholderScope, svc: Service): ScopeVerdict {
  const ns = svc.metadata.namespace ?? '';
  const name = svc.metadata.name;
  const prod = scope.config.defaultNamespace;
  if (SYSTEM_NAMESPACES.includes(ns)) return { writable: false, reason: `namespace ${ns} is a system namespace` };
  if (scope.excluded.has(ns)) return { writable: false, reason: `namespace ${ns} is excluded (excludedNamespaces)` };
  if (ns === prod) return { writable: false, reason: `namespace ${ns} is the production namespace` };
  if (!scope.developers.has(ns)) return { writable: false, reason: `namespace ${ns} is not a developer namespace of the configuration` };
  if (SYSTEM_SERVICES.includes(name)) return { writable: false, reason: `vsop renders no placeholder for the cluster's own Service ${name}` };
  if (scope.production.has(name) || madeFor(svc, prod)) return WRITABLE;
  return {
    writable: false,
    reason: `is no placeholder vsop would render there (there is no production Service ${prod}/${name}, and its annotation ${PLACEHOLDER_SOURCE_ANNOTATION} does not name one)`,
  };
}

/** The source-service annotation names the production Service of the same name, as vsop and the seed operator write it. */
function madeFor(svc: Service, prod: string): boolean {
  const source = svc.metadata.annotations?.[PLACEHOLDER_SOURCE_ANNOTATION];
  const name = svc.metadata.name;
  return source === `${prod}/${name}` || source === `${name}.${prod}.svc.cluster.local`;
}

/** The warning (a plan Finding) for a Service carrying the marker that vsop leaves alone, and why. */
export function foreignPlaceholder(svc: Service, reason: string) {
  const { namespace = '', name } = svc.metadata;
  return {
    code: 'foreign-placeholder' as const,
    severity: 'warning' as const,
    namespace,
    name,
    service: name,
    message: `service ${namespace}/${name} carries the placeholder marker (${PLACEHOLDER_LABEL}) but ${reason}: vsop leaves it alone (delete it by hand if it is a placeholder left behind, or remove the marker)`,
  };
}

export function isVsopRoute(route: HttpRoute): boolean {
  return typeof route.name === 'string' && route.name.startsWith(ROUTE_PREFIX);
}

export function devRouteName(namespace: string, port?: number): string {
  return port === undefined ? `${ROUTE_PREFIX}dev-${namespace}` : `${ROUTE_PREFIX}dev-${namespace}-${port}`;
}

/** A route added by hand: the namespace's header route numbered n (overrides.ts routeIds), per port when it covers several. */
export function headerRouteName(namespace: string, n: number, port?: number): string {
  return `${ROUTE_PREFIX}route-${namespace}-${n}${port === undefined ? '' : `-${port}`}`;
}

export const DEFAULT_ROUTE_NAME = `${ROUTE_PREFIX}default`;

export function templateRouteName(index: number): string {
  return `${ROUTE_PREFIX}template-${index}`;
}
