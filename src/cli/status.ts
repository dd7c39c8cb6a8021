// vsop status: production Services × developer namespaces, showing for each pair whether requests with the
// header reach the namespace's own copy (route), an ancestor's (→ parent), or production (- ), whether a
// placeholder stands in, and whether the live VirtualService has drifted from what it should be.

import Table from 'cli-table3';
import type { Action } from '../core/plan.ts';
import type { ServiceRouting } from '../core/resolve.ts';
import { reconcileOnce } from '../reconcile.ts';
import type { Io } from './io.ts';
import { paint } from './paint.ts';
import { openSource, printWarnings, type SourceOptions } from './source.ts';

interface StatusOptions extends SourceOptions {
  output: 'table' | 'wide' | 'json';
}

type Sync = 'in sync' | 'missing' | 'drift' | 'orphan';

export async function status(io: Io, services: string[], opts: StatusOptions): Promise<number> {
  const c = paint(io, opts.color);
  const result = await reconcileOnce((await openSource(io, opts)).source, { ...(services.length ? { services } : {}), routing: true });
  printWarnings(io, result.warnings, c.err.yellow);
  const vsActions = new Map(result.plan.actions.filter((a) => a.kind === 'VirtualService').map((a) => [a.service, a]));
  const only = services.length ? new Set(services) : undefined;
  const rows = result.resolution.routing.filter((r) => !only || only.has(r.service));
  const namespaces = result.loaded.config.developerNamespaces.map((d) => d.name);

  const syncOf = (a: Action | undefined): Sync => (!a || a.type === 'create' ? 'missing' : a.type === 'unchanged' ? 'in sync' : a.type === 'delete' ? 'orphan' : 'drift');
  const totals = { services: rows.length, routes: 0, fallbacks: 0, placeholders: 0, production: 0, drifted: 0 };
  for (const r of rows) {
    for (const n of r.namespaces) {
      if (n.route.state === 'route') totals.routes++;
      else if (n.route.state === 'fallback') totals.fallbacks++;
      else totals.production++;
      if (n.placeholder) totals.placeholders++;
    }
    if (syncOf(vsActions.get(r.service)) !== 'in sync') totals.drifted++;
  }

  if (opts.output === 'json') {
    const data = rows.map((r) => {
      const a = vsActions.get(r.service);
      return {
        service: r.service,
        virtualService: a ? { namespace: a.namespace, name: a.name, resourceVersion: a.live?.metadata.resourceVersion ?? null, state: syncOf(a) } : null,
        namespaces: Object.fromEntries(r.namespaces.map((n) => [n.namespace, { ...n.route, placeholder: n.placeholder }])),
      };
    });
    io.out(`${JSON.stringify({ version: 1, production: result.loaded.config.defaultNamespace, services: data, totals }, null, 2)}\n`);
    return 0;
  }

  const wide = opts.output === 'wide';
  const table = new Table({
    head: ['SERVICE', ...namespaces.map((n) => n.toUpperCase()), 'VIRTUALSERVICE', ...(wide ? ['NAME', 'RESOURCEVERSION'] : [])],
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '   ' },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rows) {
    const a = vsActions.get(r.service);
    const sync = syncOf(a);
    table.push([
      r.service,
      ...r.namespaces.map((n) => cell(n, c.out)),
      sync === 'in sync' ? c.out.green(sync) : c.out.yellow(sync),
      ...(wide ? [a?.name ?? '', a?.live?.metadata.resourceVersion ?? ''] : []),
    ]);
  }
  io.out(`${table.toString().split('\n').map((l) => l.trimEnd()).join('\n')}\n`);
  io.out(
    `\n${totals.services} service${totals.services === 1 ? '' : 's'}: ${totals.routes} routed to their own copy, ${totals.fallbacks} to a parent's, ${totals.production} to production; ${totals.placeholders} placeholder${totals.placeholders === 1 ? '' : 's'}; ${totals.drifted} not in sync\n`,
  );
  return 0;
}

function cell(n: ServiceRouting['namespaces'][number], c: { green(s: string): string; cyan(s: string): string; dim(s: string): string }): string {
  const placeholder = n.placeholder ? ' (placeholder)' : '';
  if (n.route.state === 'route') return c.green('route');
  if (n.route.state === 'fallback') return c.cyan(`→ ${n.route.target}`) + placeholder;
  return c.dim('-') + placeholder;
}
