// vsop status: production Services × developer namespaces, showing for each pair whether requests with the
// header reach the namespace's own copy (route), an ancestor's (→ parent), or production (-, or removed /
// cleared by hand), what was routed by hand (+header, +20%), whether a placeholder stands in, and whether
// the live VirtualService has drifted from what it should be.

import Table from 'cli-table3';
import type { Action } from '../core/plan.ts';
import { SERVICE_ANNOTATION } from '../core/ownership.ts';
import type { ServiceRouting } from '../core/resolve.ts';
import { reconcileOnce } from '../reconcile.ts';
import type { Io } from './io.ts';
import { paint } from './paint.ts';
import { openSource, printWarnings, type SourceOptions } from './source.ts';

interface StatusOptions extends SourceOptions {
  output: 'table' | 'wide' | 'json';
}

type Sync = 'in sync' | 'missing' | 'drift' | 'orphan' | 'invalid overrides';

export async function status(io: Io, services: string[], opts: StatusOptions): Promise<number> {
  const c = paint(io, opts.color);
  const result = await reconcileOnce((await openSource(io, opts)).source, { ...(services.length ? { services } : {}), routing: true });
  printWarnings(io, result.warnings, c.err.yellow);
  const vsActions = new Map(result.plan.actions.filter((a) => a.kind === 'VirtualService').map((a) => [a.service, a]));
  const only = services.length ? new Set(services) : undefined;
  const rows = result.resolution.routing.filter((r) => !only || only.has(r.service));
  const namespaces = result.loaded.config.developerNamespaces.map((d) => d.name);

  const serviceOf = new Map(result.resolution.virtualServices.map((vs) => [`${vs.metadata.namespace}/${vs.metadata.name}`, vs.metadata.annotations?.[SERVICE_ANNOTATION]]));
  const unreadable = new Set(result.plan.findings.filter((f) => f.code === 'invalid-overrides').map((f) => serviceOf.get(`${f.namespace}/${f.name}`)));
  const syncOf = (a: Action | undefined, service: string): Sync =>
    unreadable.has(service) ? 'invalid overrides' : !a || a.type === 'create' ? 'missing' : a.type === 'unchanged' ? 'in sync' : a.type === 'delete' ? 'orphan' : 'drift';
  // Another VirtualService that Istio uses for the host instead (istio/select.ts): vsop's routes do nothing.
  const shadowedBy = new Map<string, string[]>();
  for (const f of result.plan.findings) {
    if (f.code === 'shadowed' && f.service && f.other) shadowedBy.set(f.service, [...(shadowedBy.get(f.service) ?? []), f.other]);
  }
  const totals = { services: rows.length, routes: 0, fallbacks: 0, placeholders: 0, production: 0, drifted: 0, overridden: 0, shadowed: 0 };
  for (const r of rows) {
    if (shadowedBy.has(r.service)) totals.shadowed++;
    for (const n of r.namespaces) {
      if (shadowedBy.has(r.service)) totals.production++;
      else if (n.route.state === 'route') totals.routes++;
      else if (n.route.state === 'fallback') totals.fallbacks++;
      else totals.production++;
      if (n.placeholder) totals.placeholders++;
    }
    if (syncOf(vsActions.get(r.service), r.service) !== 'in sync') totals.drifted++;
    if (r.overrides) totals.overridden++;
  }

  if (opts.output === 'json') {
    const data = rows.map((r) => {
      const a = vsActions.get(r.service);
      return {
        service: r.service,
        virtualService: a ? { namespace: a.namespace, name: a.name, resourceVersion: a.live?.metadata.resourceVersion ?? null, state: syncOf(a, r.service) } : null,
        ...(shadowedBy.has(r.service) ? { shadowedBy: shadowedBy.get(r.service) } : {}),
        overrides: r.overrides,
        namespaces: Object.fromEntries(
          r.namespaces.map((n) => [
            n.namespace,
            { ...n.route, ...(n.byPort ? { byPort: n.byPort } : {}), placeholder: n.placeholder, ...(n.overrides ? { overrides: n.overrides } : {}) },
          ]),
        ),
      };
    });
    io.out(`${JSON.stringify({ version: 1, production: result.loaded.config.defaultNamespace, services: data, totals }, null, 2)}\n`);
    return 0;
  }

  const wide = opts.output === 'wide';
  const table = new Table({
    head: ['SERVICE', ...namespaces.map((n) => n.toUpperCase()), 'VIRTUALSERVICE', ...(wide ? ['NAME', 'RESOURCEVERSION'] : [])],
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '',
      'mid-mid': '',
      right: '',
      'right-mid': '',
      middle: '   ',
    },
    style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
  });
  for (const r of rows) {
    const a = vsActions.get(r.service);
    const sync = syncOf(a, r.service);
    table.push([
      r.service,
      ...r.namespaces.map((n) => (shadowedBy.has(r.service) ? c.out.red('shadowed') : cell(n, c.out))),
      shadowedBy.has(r.service) ? c.out.red(`shadowed by ${shadowedBy.get(r.service)!.join(', ')}`) : sync === 'in sync' ? c.out.green(sync) : c.out.yellow(sync),
      ...(wide ? [a?.name ?? '', a?.live?.metadata.resourceVersion ?? ''] : []),
    ]);
  }
  io.out(
    `${table
      .toString()
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n')}\n`,
  );
  io.out(
    `\n${totals.services} service${totals.services === 1 ? '' : 's'}: ${totals.routes} routed to their own copy, ${totals.fallbacks} to a parent's, ${totals.production} to production; ${totals.placeholders} placeholder${totals.placeholders === 1 ? '' : 's'}; ${totals.drifted} not in sync${totals.overridden ? `; ${totals.overridden} routed by hand` : ''}${totals.shadowed ? `; ${totals.shadowed} shadowed by another VirtualService (not routed)` : ''}\n`,
  );
  return 0;
}

function cell(n: ServiceRouting['namespaces'][number], c: { green(s: string): string; cyan(s: string): string; dim(s: string): string; magenta(s: string): string }): string {
  if (n.byPort) {
    // A copy that serves only some of the ports: each port says where its header requests go.
    return n.byPort.map((p) => `${p.port}:${p.route.state === 'route' ? c.green('route') : p.route.state === 'fallback' ? c.cyan(`→ ${p.route.target}`) : c.dim('-')}`).join(' ');
  }
  const placeholder = n.placeholder ? ' (placeholder)' : '';
  const o = n.overrides;
  const hand = o
    ? c.magenta(
        `${o.headerRoutes ? ` +${o.headerRoutes === 1 ? 'header' : `${o.headerRoutes} headers`}` : ''}${o.weight !== undefined ? ` +${o.weight}%` : ''}${o.waiting ? ' (waiting)' : ''}`,
      )
    : '';
  if (n.route.state === 'route') return c.green('route') + hand;
  if (n.route.state === 'fallback') return c.cyan(`→ ${n.route.target}`) + hand + placeholder;
  if (n.route.state === 'removed' || n.route.state === 'cleared') return c.magenta(n.route.state) + hand + placeholder;
  return c.dim('-') + hand + placeholder;
}
