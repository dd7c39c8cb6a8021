// What marks an object or a route as vsop's. The label and placeholder markers are the seed operator's,
// so objects it created are recognised as managed and an existing installation can switch without edits.

import type { ConfigLocation, HttpRoute, KubeObject, Service } from './types.ts';

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
