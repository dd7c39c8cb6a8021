// Fixture builders: small, explicit objects instead of inline blobs.

import type { Config, HttpRoute, Service, VirtualService } from '../../src/core/types.ts';
import { loadConfig } from '../../src/core/config.ts';
import type { Template } from '../../src/core/template.ts';
import { serialize, type HeaderRoute, type MatchType, type Overrides } from '../../src/core/overrides.ts';
import { stringify } from 'yaml';

export function service(namespace: string, name: string, opts: { ports?: number[]; placeholder?: boolean } = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      ...(opts.placeholder ? { labels: { 'virtualservice-operator/placeholder-service': 'true' } } : {}),
    },
    spec: { ports: (opts.ports ?? [80]).map((port) => ({ port })) },
  };
}

/**
 * A DNS-like Service: production serves port 53 over TCP and UDP; `udpOnly` copies serve it over UDP
 * alone (no destination: Istio builds no cluster for it), `tcp` copies over TCP.
 */
export const dns = {
  production: (): Service => ({
    ...service('default', 'dns'),
    spec: {
      ports: [
        { name: 'http-dns', port: 53, protocol: 'TCP' },
        { name: 'dns-udp', port: 53, protocol: 'UDP' },
      ],
    },
  }),
  udpOnly: (namespace: string): Service => ({ ...service(namespace, 'dns'), spec: { ports: [{ name: 'dns-udp', port: 53, protocol: 'UDP' }] } }),
  tcp: (namespace: string): Service => ({ ...service(namespace, 'dns'), spec: { ports: [{ name: 'http-dns', port: 53 }] } }),
};

export interface ConfigInput {
  defaultNamespace?: string;
  developerNamespaces?: unknown[];
  [key: string]: unknown;
}

/** Loads a config from a plain object, through the real parser. */
export function config(input: ConfigInput = {}): { config: Config; template: Template } {
  const raw = { defaultNamespace: 'default', developerNamespaces: ['dev-alice', 'dev-bob', 'staging'], ...input };
  const { config: c, template } = loadConfig(stringify(raw), 'test');
  return { config: c, template };
}

export function configMap(configYaml: string, namespace = 'virtualservice-operator-system') {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'virtualservice-operator-config', namespace },
    data: { 'config.yaml': configYaml },
  };
}

/** A route as the seed README shows it, with vsop's name. */
export function devRoute(service: string, namespace: string, target = namespace, header = 'x-developer', value = namespace): HttpRoute {
  return {
    name: `vsop-dev-${namespace}`,
    match: [{ headers: { [header]: { exact: value } } }],
    route: [{ destination: { host: `${service}.${target}.svc.cluster.local` } }],
  };
}

export function defaultRoute(service: string, namespace = 'default'): HttpRoute {
  return { name: 'vsop-default', route: [{ destination: { host: `${service}.${namespace}.svc.cluster.local` } }] };
}

export function virtualService(
  name: string,
  http: HttpRoute[],
  opts: { namespace?: string; managed?: boolean; service?: string; hosts?: string[]; resourceVersion?: string } = {},
): VirtualService {
  const namespace = opts.namespace ?? 'default';
  return {
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: {
      name,
      namespace,
      ...(opts.managed === false ? {} : { labels: { 'managed-by': 'virtualservice-operator' } }),
      ...(opts.service ? { annotations: { 'vsop.io/service': opts.service } } : {}),
      ...(opts.resourceVersion ? { resourceVersion: opts.resourceVersion } : {}),
    },
    spec: { hosts: opts.hosts ?? [name.replace(/-virtual-service$/, '')], http },
  };
}

/** The object the seed README says the operator creates for `service`, with vsop's route names. */
export function seedVirtualService(service: string, devNamespaces: string[], namespace = 'default'): VirtualService {
  const vs = virtualService(`${service}-virtual-service`, [...devNamespaces.map((d) => devRoute(service, d)), defaultRoute(service, namespace)], {
    namespace,
    service,
    hosts: [service],
  });
  return vs;
}

/** Overrides as `route add` and friends record them; anything left out is empty. */
export function overrides(o: Partial<Overrides> = {}): Overrides {
  return { version: 1, routes: [], weights: [], removed: [], cleared: false, ...o };
}

/** A header route entry: `header('dev-alice', 'x-cid=alice')`, exact unless told. */
export function headerRoute(namespace: string, header: string, opts: { match?: MatchType; port?: number; force?: boolean } = {}): HeaderRoute {
  const [name, value] = header.split('=') as [string, string];
  return { namespace, headers: [{ name, value, match: opts.match ?? 'exact' }], ...(opts.port ? { port: opts.port } : {}), ...(opts.force ? { force: true } : {}) };
}

/** The object carrying these overrides in its annotation, as vsop writes it. */
export function withOverrides(vs: VirtualService, o: Overrides | string): VirtualService {
  const text = typeof o === 'string' ? o : serialize(o);
  return { ...vs, metadata: { ...vs.metadata, annotations: { ...vs.metadata.annotations, 'vsop.io/overrides': text } } };
}
