// What vsop reads, declared once. `vsop sync` (src/k8s/source.ts: one LIST per collection) and `vsop watch`
// (src/watch/controller.ts: one informer per collection, and an index by production Service) both take
// from here what to read under a given config, what to read instead when a right is missing, and which
// production Services an object bears on. A new input is one more entry in INPUTS.
//
// Pure: no client, no I/O. Istio's host rules used here: short names are qualified in the VirtualService's
// own namespace (pilot/pkg/model/virtualservice.go, resolveVirtualServiceShortnames), and a wildcard host
// `*.suffix` covers every host ending in `.suffix` (pilot/pkg/model/sidecar.go, host.Name.Matches).

import type { LoadedConfig } from './core/config.ts';
import { refersToService } from './core/gateway/shape.ts';
import { MANAGED_LABEL, MANAGED_VALUE, PLACEHOLDER_LABEL, SERVICE_ANNOTATION } from './core/ownership.ts';
import type { HTTPRoute } from './core/render/httproute.ts';
import { qualify, serviceHost } from './core/istio/hosts.ts';
import { renderTemplate } from './core/template.ts';
import { SERVICE_NAME_LABEL } from './core/render/xds.ts';
import type { ConfigLocation, EndpointSlice, KubeObject, Service, VirtualService } from './core/types.ts';
import type { Collection } from './k8s/port.ts';

/** The production Services (by name) an object bears on, or every one of them ('all'). */
export type Affected = readonly string[] | 'all';

/** What to read when a collection is forbidden (403), which right that is, and what it costs. */
export interface Fallback {
  collections: readonly Collection[];
  /** The right missing, as a person would grant it. */
  right: string;
  /** What vsop cannot see without it. */
  cost: string;
}

/** One collection to read, with its narrower fallback if there is one. */
export interface Scope {
  collection: Collection;
  fallback?: Fallback;
  /**
   * A kind that may not be installed or readable (the Gateway API's in VirtualService mode: vsop's own
   * objects, to delete after a switch back, and the HTTPRoutes that take part in the routing): a 404 or
   * 403 reads nothing, without a warning.
   */
  optional?: boolean;
}

/** One kind of object vsop reads into the Snapshot. */
export interface Input<T extends KubeObject = KubeObject> {
  /** The Snapshot field its objects go to (deduplicated by namespace/name across its collections). */
  readonly field: 'services' | 'virtualServices' | 'httpRoutes' | 'referenceGrants' | 'endpointSlices';
  /** What to list (sync) and list+watch (watch) under this config. */
  scopes(loaded: LoadedConfig): Scope[];
  /** The production Services whose reconcile reads this object: a change to it requeues them (watch). */
  affects(obj: T, loaded: LoadedConfig): Affected;
}

/**
 * The ConfigMap: sync GETs it, watch watches it by name. A change bears on every production Service.
 * Read before the others, since their scopes come from it.
 */
export function configCollection(location: ConfigLocation): Collection {
  return { resource: 'configmaps', namespace: location.namespace, fieldSelector: `metadata.name=${location.name}` };
}

/**
 * Services: of the production namespace and of every developer namespace of the config, and placeholders
 * by label cluster-wide (so those in namespaces outside the config are found and reported, never written). A
 * Service bears on the production Service of its name.
 */
export const services: Input<Service> = {
  field: 'services',
  scopes(loaded) {
    const cfg = loaded.config;
    const namespaces = [cfg.defaultNamespace, ...cfg.developerNamespaces.map((d) => d.name)];
    return [
      ...[...new Set(namespaces)].map((namespace) => ({ collection: { resource: 'services', namespace } as Collection })),
      { collection: { resource: 'services', namespace: '', labelSelector: `${PLACEHOLDER_LABEL}=true` } },
    ];
  },
  affects: (svc) => [svc.metadata.name],
};

/** Why vsop lists VirtualServices cluster-wide, and what happens without the right to. */
export const VIRTUALSERVICES_FALLBACK_COST = "cannot see VirtualServices of other namespaces: a VirtualService elsewhere may shadow vsop's unseen";

/**
 * VirtualServices of every namespace, read-only outside the production namespace: Istio applies one
 * VirtualService per host to sidecar traffic, and one in any namespace can shadow vsop's (subject to its
 * exportTo and gateways, which the route-selection module weighs; every one naming the host is read).
 * Without the cluster-wide right, the production namespace only.
 */
export const virtualServices: Input<VirtualService> = {
  field: 'virtualServices',
  scopes(loaded) {
    const namespace = loaded.config.defaultNamespace;
    if (loaded.config.routeKind === 'HTTPRoute') {
      // Only vsop's own, to delete them after the switch (and a mesh without Istio has no VirtualServices).
      const collection: Collection = { resource: 'virtualservices', namespace, apiVersion: 'networking.istio.io/v1', labelSelector: MANAGED };
      return [{ collection, optional: true }];
    }
    const apiVersion = loaded.template.value.apiVersion;
    return [
      {
        collection: { resource: 'virtualservices', namespace: '', apiVersion },
        fallback: {
          collections: [{ resource: 'virtualservices', namespace, apiVersion }],
          right: 'list and watch on virtualservices.networking.istio.io at cluster scope (a ClusterRole)',
          cost: VIRTUALSERVICES_FALLBACK_COST,
        },
      },
    ];
  },
  affects: affectedByVirtualService,
};

const MANAGED = `${MANAGED_LABEL}=${MANAGED_VALUE}`;
const GATEWAY_GROUP = 'gateway.networking.k8s.io';

/** Why vsop lists HTTPRoutes cluster-wide, and what happens without the right to. */
export const HTTPROUTES_FALLBACK_COST = 'cannot see HTTPRoutes of other namespaces: a consumer route elsewhere that attaches to a production Service goes unseen';

/**
 * HTTPRoutes. routeKind HTTPRoute: of every namespace, since every route attached to a production Service
 * takes part in its routing (GAMMA: a route in the Service's namespace applies to every caller, one in
 * another namespace to that namespace's callers), read-only outside the production namespace; without the
 * cluster-wide right, the production namespace only. routeKind VirtualService: vsop's own in the
 * production namespace, to delete them after a switch back, and those of every namespace, read-only: Istio
 * applies the routes it generates from an HTTPRoute attached to a production Service before the Service's
 * VirtualService for callers in the route's namespace (istio/select.ts), so a foreign one takes part in the
 * routing in this mode too. Both optional: without the Gateway API's CRDs (404) there are none; without
 * the right (403) none are read and foreign ones go unseen, quietly (the shipped roles grant it; a
 * person's own kubeconfig may not, and VirtualService mode must not warn of a kind it does not use).
 */
export const httpRoutes: Input<HTTPRoute> = {
  field: 'httpRoutes',
  scopes(loaded) {
    const namespace = loaded.config.defaultNamespace;
    const apiVersion = `${GATEWAY_GROUP}/v1`;
    if (loaded.config.routeKind !== 'HTTPRoute') {
      return [
        { collection: { resource: 'httproutes', namespace, apiVersion, labelSelector: MANAGED }, optional: true },
        { collection: { resource: 'httproutes', namespace: '', apiVersion }, optional: true },
      ];
    }
    return [
      {
        collection: { resource: 'httproutes', namespace: '', apiVersion },
        fallback: {
          collections: [{ resource: 'httproutes', namespace, apiVersion }],
          right: 'list and watch on httproutes.gateway.networking.k8s.io at cluster scope (a ClusterRole)',
          cost: HTTPROUTES_FALLBACK_COST,
        },
      },
    ];
  },
  affects: affectedByHTTPRoute,
};

/**
 * ReferenceGrants: vsop's own (by label) in every namespace, so that one left in a namespace that has left
 * the configuration is found and deleted, and every grant of the developer namespaces, so that a foreign
 * one of the name vsop wants is seen (and left alone) rather than met as a failed create. Without the
 * cluster-wide right, the developer namespaces only. routeKind VirtualService: vsop's own, optional.
 */
export const referenceGrants: Input = {
  field: 'referenceGrants',
  scopes(loaded) {
    const apiVersion = `${GATEWAY_GROUP}/v1beta1`;
    const own: Collection = { resource: 'referencegrants', namespace: '', apiVersion, labelSelector: MANAGED };
    if (loaded.config.routeKind !== 'HTTPRoute') return [{ collection: own, optional: true }];
    const developers = [...new Set(loaded.config.developerNamespaces.map((d) => d.name))];
    const inDevelopers = developers.map((namespace) => ({ resource: 'referencegrants', namespace, apiVersion }) as Collection);
    return [
      {
        collection: own,
        fallback: {
          collections: [],
          right: 'list and watch on referencegrants.gateway.networking.k8s.io at cluster scope (a ClusterRole)',
          cost: "cannot see vsop's ReferenceGrants in namespaces that have left the configuration, which stay",
        },
      },
      ...inDevelopers.map((collection) => ({ collection })),
    ];
  },
  // A grant serves every Service it names: a change to it bears on them.
  affects: (grant) => {
    const to = (grant as { spec?: { to?: unknown } }).spec?.to;
    return Array.isArray(to) ? to.flatMap((t: { name?: unknown }) => (typeof t?.name === 'string' ? [t.name] : [])) : [];
  },
};

/**
 * EndpointSlices (discovery.k8s.io/v1) of the production namespace and of every developer namespace: the
 * endpoints of every Cluster `vsop xds` serves. Read by `vsop xds` alone (sync and watch write routing
 * objects, which do not depend on endpoints). A slice bears on the Service its kubernetes.io/service-name
 * label names (discovery.k8s.io/v1 LabelServiceName), in whichever of those namespaces it is.
 */
export const endpointSlices: Input<EndpointSlice> = {
  field: 'endpointSlices',
  scopes(loaded) {
    const cfg = loaded.config;
    const namespaces = [...new Set([cfg.defaultNamespace, ...cfg.developerNamespaces.map((d) => d.name)])];
    return namespaces.map((namespace) => ({ collection: { resource: 'endpointslices', namespace } as Collection }));
  },
  affects: (slice) => {
    const name = slice.metadata.labels?.[SERVICE_NAME_LABEL];
    return name ? [name] : [];
  },
};

/** Every input of sync and watch besides the ConfigMap, in the order the Snapshot lists them. */
export const INPUTS: readonly Input[] = [services as Input, virtualServices as Input, httpRoutes as Input, referenceGrants];

/** What `vsop xds` reads: the same, and the EndpointSlices. */
export const XDS_INPUTS: readonly Input[] = [...INPUTS, endpointSlices as Input];

/**
 * The production Services an HTTPRoute bears on: the one its `vsop.io/service` annotation names (vsop's,
 * in the production namespace), and each production Service a parentRef names (group "", kind Service;
 * the namespace defaults to the route's own).
 */
export function affectedByHTTPRoute(route: HTTPRoute, loaded: LoadedConfig): Affected {
  const prod = loaded.config.defaultNamespace;
  const keys = new Set<string>();
  const annotated = route.metadata.annotations?.[SERVICE_ANNOTATION];
  if (annotated && route.metadata.namespace === prod) keys.add(annotated);
  const parents = Array.isArray(route.spec?.parentRefs) ? route.spec.parentRefs : [];
  for (const p of parents) {
    if (p === null || typeof p !== 'object' || typeof p.name !== 'string') continue;
    if (refersToService({ ...p, namespace: p.namespace ?? route.metadata.namespace }, p.name, prod, 'parent')) keys.add(p.name);
  }
  return [...keys];
}

/**
 * The production Services a VirtualService bears on: in the production namespace, the one its
 * `vsop.io/service` annotation names and the one whose rendered name it has; in any namespace, those whose
 * host it names (`my-app.default.svc.cluster.local`, or `my-app` in namespace default), or whose host in
 * the template's rendering it names; 'all' for a wildcard that covers such hosts. Over-approximates: a
 * VirtualService bound only to gateways, or not exported, still counts (the selection module decides).
 */
export function affectedByVirtualService(vs: VirtualService, loaded: LoadedConfig): Affected {
  const { namePattern, hostPatterns } = patternsOf(loaded);
  const prod = loaded.config.defaultNamespace;
  const keys = new Set<string>();
  if (vs.metadata.namespace === prod) {
    const annotated = vs.metadata.annotations?.[SERVICE_ANNOTATION];
    if (annotated) keys.add(annotated);
    const named = namePattern.match(vs.metadata.name);
    if (named) keys.add(named);
  }
  for (const host of vs.spec?.hosts ?? []) {
    if (typeof host !== 'string') continue;
    const fqdn = qualify(host.toLowerCase(), vs.metadata.namespace ?? prod);
    if (fqdn.startsWith('*')) {
      const suffix = fqdn.slice(1);
      if (hostPatterns.some((p) => p.mayEndWith(suffix))) return 'all';
      continue;
    }
    for (const p of hostPatterns) {
      const name = p.match(fqdn);
      if (name === '') return 'all';
      if (name !== undefined) keys.add(name);
    }
  }
  return [...keys];
}

/**
 * A string the template renders from a Service's name: fixed parts around each `${serviceName}`.
 * `match` gives the name it was rendered from ('' when the string does not depend on the name), or
 * undefined; `mayEndWith` says whether some rendering ends with `suffix`.
 */
interface Pattern {
  match(s: string): string | undefined;
  mayEndWith(suffix: string): boolean;
}

// NUL never occurs in a host or a name: it marks where the Service's name goes in a rendering.
const MARK = '\u0000';
const patterns = new WeakMap<LoadedConfig, { namePattern: Pattern; hostPatterns: Pattern[] }>();

function patternsOf(loaded: LoadedConfig): { namePattern: Pattern; hostPatterns: Pattern[] } {
  let p = patterns.get(loaded);
  if (p) return p;
  const prod = loaded.config.defaultNamespace;
  const rendered = renderTemplate(loaded.template, { serviceName: MARK, defaultNamespace: prod });
  const hosts = new Set([serviceHost(MARK, prod), ...(rendered.spec?.hosts ?? []).filter((h): h is string => typeof h === 'string').map((h) => qualify(h, prod))]);
  p = { namePattern: pattern(rendered.metadata.name), hostPatterns: [...hosts].map(pattern) };
  patterns.set(loaded, p);
  return p;
}

function pattern(rendered: string): Pattern {
  const parts = rendered.split(MARK);
  const last = parts[parts.length - 1]!;
  if (parts.length === 1) return { match: (s) => (s === rendered ? '' : undefined), mayEndWith: (suffix) => rendered.endsWith(suffix) };
  const escaped = parts.map((x) => x.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const re = new RegExp(`^${escaped[0]}(?<name>[^.]+)${escaped.slice(1).join('\\k<name>')}$`);
  return {
    match: (s) => re.exec(s)?.groups?.name,
    // A rendering ends with `suffix` for every name when the last fixed part does, for some when the suffix
    // reaches into the name: both count.
    mayEndWith: (suffix) => last.endsWith(suffix) || suffix.endsWith(last),
  };
}

/**
 * The one warning for a fallback taken, the same in sync and watch: what was refused, what is read instead,
 * what that costs, and the right to grant. `refusal` is the 403's own message.
 */
export function fallbackMessage(fallback: Fallback, refusal: string): string {
  const where = fallback.collections.map((c) => (c.namespace ? `namespace ${c.namespace}` : 'all namespaces')).join(', ');
  return `${refusal}; ${where ? `reading ${where} only` : 'reading the rest'}: ${fallback.cost} (grant ${fallback.right})`;
}

/** Identifies a collection, e.g. to keep one informer per collection. */
export function collectionKey(c: Collection): string {
  return [c.resource, c.namespace, c.apiVersion ?? '', c.labelSelector ?? '', c.fieldSelector ?? ''].join('|');
}
