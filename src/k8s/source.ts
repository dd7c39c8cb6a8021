// The cluster as the state source: one GET of the ConfigMap, then one LIST per collection that
// src/inputs.ts declares under that config (Services of the namespaces that matter, placeholders by label
// cluster-wide, VirtualServices, HTTPRoutes and ReferenceGrants; `vsop xds render` also the EndpointSlices, as
// the server reads them: XDS_INPUTS), all at once. A collection refused (403) that has a
// narrower fallback is read through the fallback, with one warning saying what that costs.

import { loadConfig } from '../core/config.ts';
import { CONFIG_KEY } from '../core/ownership.ts';
import { configMapText } from '../core/text.ts';
import type { ConfigLocation, KubeObject } from '../core/types.ts';
import { ApiError, InputError, NotFoundError, type Problem } from '../errors.ts';
import { fallbackMessage, INPUTS, type Input } from '../inputs.ts';
import type { Snapshot, StateSource } from '../reconcile.ts';
import type { Collection, KubePort } from './port.ts';

/** `inputs`: what to read besides the ConfigMap (INPUTS, as sync and watch; XDS_INPUTS, as vsop xds). */
export function clusterSource(port: KubePort, location: ConfigLocation, inputs: readonly Input[] = INPUTS): StateSource {
  return {
    async read(): Promise<Snapshot> {
      const config = await readConfig(port, location);
      const loaded = loadConfig(config.text, config.source);
      const warnings: Problem[] = [];
      const read = await Promise.all(inputs.map((input) => readInput(port, input, loaded, warnings)));
      const snapshot: Snapshot = { config, services: [], virtualServices: [] };
      inputs.forEach((input, i) => (snapshot[input.field] = read[i] as never));
      if (warnings.length > 0) snapshot.warnings = warnings;
      return snapshot;
    },
  };
}

/** Every collection of one input, each object once (a placeholder is in its namespace's list and the label's). */
async function readInput(port: KubePort, input: Input, loaded: ReturnType<typeof loadConfig>, warnings: Problem[]): Promise<KubeObject[]> {
  const lists = await Promise.all(
    input.scopes(loaded).map(async ({ collection, fallback, optional }) => {
      try {
        return await list(port, collection);
      } catch (err) {
        if (optional && err instanceof ApiError && (err.status === 403 || err.status === 404)) return [];
        if (!fallback || !(err instanceof ApiError) || err.status !== 403) throw err;
        warnings.push({ path: '', message: fallbackMessage(fallback, err.message) });
        return (await Promise.all(fallback.collections.map((c) => list(port, c)))).flat();
      }
    }),
  );
  const seen = new Set<string>();
  const objects: KubeObject[] = [];
  for (const obj of lists.flat()) {
    const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
    if (!seen.has(key)) objects.push(obj), seen.add(key);
  }
  return objects;
}

function list(port: KubePort, c: Collection): Promise<KubeObject[]> {
  switch (c.resource) {
    case 'services':
      return port.listServices(c.namespace, c.labelSelector);
    case 'virtualservices':
      return c.labelSelector ? port.listObjects(c) : port.listVirtualServices(c.namespace, c.apiVersion!);
    case 'httproutes':
    case 'referencegrants':
    case 'endpointslices':
      return port.listObjects(c);
    default:
      throw new Error(`sync does not list ${c.resource}`);
  }
}

/** The config.yaml text of the ConfigMap at `location`, and where it came from; 404 is NotFoundError (exit 7). */
export async function readConfig(port: KubePort, location: ConfigLocation): Promise<Snapshot['config']> {
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
  const found = configMapText(cm);
  if (!found || 'problem' in found) {
    const keys = [...Object.keys(cm.data ?? {}), ...Object.keys((cm.binaryData as Record<string, string> | undefined) ?? {})];
    throw new InputError('invalid configuration', [
      {
        source: label,
        path: found?.field ?? `data["${CONFIG_KEY}"]`,
        message: found ? found.problem : `is missing${keys.length ? ` (the ConfigMap has: ${keys.join(', ')})` : ''}`,
      },
    ]);
  }
  return { text: found.text, source: `${label}, ${found.field === `data["${CONFIG_KEY}"]` ? CONFIG_KEY : found.field}` };
}
