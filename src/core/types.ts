// The few shapes vsop reads. Objects are plain JSON; vsop types only what it reads and keeps the rest
// of each object untouched, so writing back never drops a field it does not know.

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  resourceVersion?: string;
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
  [key: string]: unknown;
}

export interface Service extends KubeObject {
  spec?: {
    type?: string;
    externalName?: string;
    ports?: ServicePort[];
    [key: string]: unknown;
  };
}

export interface HttpRoute {
  name?: string;
  match?: Record<string, unknown>[];
  route?: { destination: { host: string; port?: { number: number } }; weight?: number }[];
  [key: string]: unknown;
}

export interface VirtualService extends KubeObject {
  spec: {
    hosts?: string[];
    http?: HttpRoute[];
    [key: string]: unknown;
  };
}

export interface DeveloperNamespace {
  name: string;
  /** The routing header's value that selects this namespace (defaults to the name). */
  headerValue: string;
  /** Another developer namespace to fall back to when this one lacks a Service. */
  parent?: string;
}

export interface Config {
  defaultNamespace: string;
  developerNamespaces: DeveloperNamespace[];
  /** The text of the template in force (routeKind's); the seed README's template when the ConfigMap has none. */
  virtualServiceTemplate: string;
  /** What is rendered per production Service: Istio VirtualServices, or Gateway API HTTPRoutes (GAMMA). */
  routeKind: 'VirtualService' | 'HTTPRoute';
  enablePlaceholderServices: boolean;
  routingHeader: string;
  /** Built-in system namespaces plus the config's `excludedNamespaces`. */
  excludedNamespaces: string[];
}

/** Where vsop's configuration lives in a cluster. */
export interface ConfigLocation {
  namespace: string;
  name: string;
}

/** discovery.k8s.io/v1 EndpointSlice, as far as vsop reads it (the xDS server's endpoints). */
export interface EndpointSlice extends KubeObject {
  /** IPv4, IPv6 or FQDN. */
  addressType?: string;
  endpoints?: {
    addresses?: string[];
    /** ready: absent means unknown, which consumers take as ready (the API's documentation of EndpointConditions). */
    conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
    [key: string]: unknown;
  }[];
  /** The Service port each endpoint port serves, by the Service port's name ('' or absent: the unnamed port). */
  ports?: { name?: string; port?: number; protocol?: string; [key: string]: unknown }[];
}
