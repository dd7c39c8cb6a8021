// vsop render: the VirtualServices (or, with routeKind HTTPRoute, the HTTPRoutes and ReferenceGrants) that
// should exist, as YAML or JSON.

import { SERVICE_ANNOTATION } from '../core/ownership.ts';
import { toJsonList, toYamlStream } from '../core/render.ts';
import { type HTTPRoute, referenceGrants as referenceGrantsFor } from '../core/render/httproute.ts';
import { reconcileOnce } from '../reconcile.ts';
import type { Io } from './io.ts';
import { paint } from './paint.ts';
import { openSource, printWarnings, type SourceOptions } from './source.ts';

interface RenderOptions extends SourceOptions {
  output: 'yaml' | 'json';
}

export async function render(io: Io, services: string[], opts: RenderOptions): Promise<number> {
  const result = await reconcileOnce((await openSource(io, opts)).source, { renderOnly: true, ...(services.length ? { services } : {}) });
  printWarnings(io, result.warnings, paint(io, opts.color).err.yellow);
  const only = services.length ? new Set(services) : undefined;
  const { virtualServices, httpRoutes, referenceGrants } = result.resolution;
  const routes = [...virtualServices, ...httpRoutes].filter((o) => !only || only.has(o.metadata.annotations?.[SERVICE_ANNOTATION] ?? ''));
  // The grants follow the routes shown: only the Services those send to.
  const grants = only ? referenceGrantsFor(routes as HTTPRoute[], result.loaded.config.defaultNamespace) : referenceGrants;
  const objects = [...routes, ...grants];
  io.out(opts.output === 'json' ? toJsonList(objects) : toYamlStream(objects));
  return 0;
}
