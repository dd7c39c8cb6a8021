// The cluster as the state source: one GET of the ConfigMap, one LIST of Services per namespace that
// matters, one LIST of VirtualServices in the production namespace, and one cluster-wide LIST of
// placeholders by label (so placeholders left in namespaces that left the config are found too).

import { loadConfig } from '../core/config.ts';
import { CONFIG_KEY, PLACEHOLDER_LABEL } from '../core/ownership.ts';
import type { ConfigLocation, Service } from '../core/types.ts';
import { ApiError, InputError, NotFoundError } from '../errors.ts';
import type { Snapshot, StateSource } from '../reconcile.ts';
import type { KubePort } from './port.ts';

export function clusterSource(port: KubePort, location: ConfigLocation): StateSource {
  return {
    async read(): Promise<Snapshot> {
      const config = await readConfig(port, location);
      const { config: cfg, template } = loadConfig(config.text, config.source);
      const namespaces = [cfg.defaultNamespace, ...cfg.developerNamespaces.map((d) => d.name)];
      const [perNamespace, virtualServices, placeholders] = await Promise.all([
        Promise.all(namespaces.map((ns) => port.listServices(ns))),
        port.listVirtualServices(cfg.defaultNamespace, template.value.apiVersion),
        port.listServices('', `${PLACEHOLDER_LABEL}=true`),
      ]);
      const seen = new Set<string>();
      const services: Service[] = [];
      for (const svc of [...perNamespace.flat(), ...placeholders]) {
        const key = `${svc.metadata.namespace}/${svc.metadata.name}`;
        if (!seen.has(key)) services.push(svc), seen.add(key);
      }
      return { config, services, virtualServices };
    },
  };
}

async function readConfig(port: KubePort, location: ConfigLocation): Promise<Snapshot['config']> {
  const label = `configmap ${location.namespace}/${location.name}`;
  let cm;
  try {
    cm = await port.getConfigMap(location.namespace, location.name);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      throw new NotFoundError(`${label} not found`, {
        cause: err,
        hint: 'create it (see deployments/ and the README), or point --config-namespace/--config-name (VSOP_CONFIG_NAMESPACE/VSOP_CONFIG_NAME) at yours',
      });
    }
    throw err;
  }
  const text = cm.data?.[CONFIG_KEY];
  if (typeof text !== 'string') {
    const keys = Object.keys(cm.data ?? {});
    throw new InputError('invalid configuration', [{ source: label, path: `data["${CONFIG_KEY}"]`, message: `is missing${keys.length ? ` (the ConfigMap has: ${keys.join(', ')})` : ''}` }]);
  }
  return { text, source: `${label}, ${CONFIG_KEY}` };
}
