// vsop render: the VirtualServices that should exist, as YAML or JSON.

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
  const result = await reconcileOnce((await openSource(io, opts)).source, services.length ? { services } : {});
  printWarnings(io, result.warnings, paint(io, opts.color).err.yellow);
  const only = services.length ? new Set(services) : undefined;
  const objects = result.resolution.virtualServices.filter((vs) => !only || only.has(vs.metadata.annotations?.[SERVICE_ANNOTATION] ?? ''));
  io.out(opts.output === 'json' ? toJsonList(objects) : toYamlStream(objects));
  return 0;
}
