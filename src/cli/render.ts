// vsop render: the VirtualServices (or, with routeKind HTTPRoute, the HTTPRoutes and ReferenceGrants) that
// should exist, as YAML or JSON.

import { grantsShown } from '../core/gateway/grants.ts';
import { SERVICE_ANNOTATION } from '../core/ownership.ts';
import { toJsonList, toYamlStream } from '../core/render.ts';
import { reconcileOnce } from '../reconcile.ts';
import type { Io } from './io.ts';
import { paint } from './paint.ts';
import { openSource, printWarnings, type SourceOptions } from './source.ts';

interface RenderOptions extends SourceOptions {
  output: 'yaml' | 'json';
}

export async function render(io: Io, services: string[], opts: RenderOptions): Promise<number> {
  const opened = await openSource(io, opts);
  const result = await reconcileOnce(opened.source, { renderOnly: true, ...(services.length ? { services } : {}) });
  const only = services.length ? new Set(services) : undefined;
  // As sync treats it: a Service whose recorded overrides cannot be read keeps its live object untouched
  // (sync: exit 4), so it is left out here, said in a warning, rather than shown routed without its hand routes.
  const unreadable = result.unreadable.filter((i) => !only || only.has(i.service));
  const refused = new Set(unreadable.map((i) => i.service));
  const left = unreadable.map((i) => ({
    ...i.problem,
    message: `${i.problem.message}; service ${i.service} left out (sync leaves its object as it is until the annotation is fixed)`,
  }));
  printWarnings(io, [...result.warnings, ...left], paint(io, opts.color).err.yellow);
  const { virtualServices, httpRoutes, referenceGrants } = result.resolution;
  const serviceOf = (o: { metadata: { annotations?: Record<string, string> } }) => o.metadata.annotations?.[SERVICE_ANNOTATION] ?? '';
  const routes = [...virtualServices, ...httpRoutes].filter((o) => (!only || only.has(serviceOf(o))) && !refused.has(serviceOf(o)));
  // Grants are printed whole (kubectl apply of a partial one would shrink it): as sync leaves them, which
  // keeps a refused Service's entries too; for SERVICE..., those holding its entries (gateway/grants.ts).
  const scoped = only && result.loaded.config.routeKind === 'HTTPRoute';
  const grants = scoped
    ? grantsShown(
        httpRoutes.filter((r) => only.has(serviceOf(r))),
        referenceGrants,
        { grants: result.snapshot.referenceGrants ?? [], cluster: opened.port !== undefined },
        result.loaded.config.defaultNamespace,
        only,
      )
    : referenceGrants;
  const objects = [...routes, ...grants];
  io.out(opts.output === 'json' ? toJsonList(objects) : toYamlStream(objects));
  return 0;
}
