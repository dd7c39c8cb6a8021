// vsop xds render: the Envoy v3 resources `vsop xds` would serve (Listeners, RouteConfigurations, Clusters,
// ClusterLoadAssignments), as JSON, from files or the cluster: the pull-request review of xDS users.

import { renderXds, XDS_KINDS } from '../core/render/xds.ts';
import { reconcileOnce } from '../reconcile.ts';
import type { Io } from './io.ts';
import { paint } from './paint.ts';
import { openSource, printWarnings, type SourceOptions } from './source.ts';

export async function render(io: Io, services: string[], opts: SourceOptions): Promise<number> {
  const result = await reconcileOnce((await openSource(io, opts)).source, { renderOnly: true, ...(services.length ? { services } : {}) });
  const only = services.length ? new Set(services) : undefined;
  const { resources, warnings } = renderXds({
    tables: result.resolution.tables.filter((t) => !only || only.has(t.service)),
    services: result.snapshot.services,
    endpointSlices: result.snapshot.endpointSlices ?? [],
    namespace: result.loaded.config.defaultNamespace,
  });
  printWarnings(io, [...result.warnings, ...warnings], paint(io, opts.color).err.yellow);
  io.out(`${JSON.stringify({ resources: XDS_KINDS.flatMap((k) => resources[k]) }, null, 2)}\n`);
  return 0;
}
