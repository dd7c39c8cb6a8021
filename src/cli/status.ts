// vsop status: production Services × developer namespaces, showing for each pair whether requests with the
// header reach the namespace's own copy (route), an ancestor's (→ parent), or production (-, or removed /
// cleared by hand), what was routed by hand (+header, +20%), whether a placeholder stands in, and whether
// the live VirtualService has drifted from what it should be.
//
// The table is a matrix, a column per developer namespace, while it fits the width of the output (COLUMNS,
// else the terminal's, also when piped to a pager; with no terminal at all, as in CI, there is no width
// and always the matrix). Past that, as with 30 namespaces on an 80-column terminal, it takes kubectl's
// shape for objects across namespaces (`kubectl get -A`): one row per Service and developer namespace,
// with a NAMESPACE column, as wide for 30 namespaces as for 3, and one grep away from a Service's or a
// namespace's rows. The table is for people; scripts read -o json or -o yaml.

import { stripVTControlCharacters } from 'node:util';
import type { Action } from '../core/plan.ts';
import { toYaml } from '../core/render.ts';
import { statusView, type NamespaceStatus } from '../core/status.ts';
import { UsageError } from '../errors.ts';
import { reconcileOnce, worldAfter } from '../reconcile.ts';
import { wrapWords } from './help.ts';
import { type Io, outputWidth } from './io.ts';
import { paint } from './paint.ts';
import { progress } from './progress.ts';
import { openSource, printWarnings, refusedWarnings, type SourceOptions } from './source.ts';

interface StatusOptions extends SourceOptions {
  output: 'table' | 'wide' | 'json' | 'yaml';
  /** Only this developer namespace's column. */
  namespace?: string;
}

type Sync = 'in sync' | 'missing' | 'drift' | 'orphan' | 'invalid overrides';

export async function status(io: Io, services: string[], opts: StatusOptions): Promise<number> {
  const c = paint(io, opts.color);
  const spinner = progress(io, opts.color, 'Reading the cluster');
  let result: Awaited<ReturnType<typeof reconcileOnce>>;
  try {
    // A Service that cannot be rendered (over the HTTPRoute limits) is reported and left out; the others are shown.
    result = await reconcileOnce((await openSource(io, opts)).source, { ...(services.length ? { services } : {}), routing: true, refusedApart: true });
  } finally {
    spinner.stop();
  }
  // Scoped (status SERVICE): only the named Services' refusals, as result.warnings keeps only theirs.
  const refusedHere = result.resolution.problems.filter((p) => !services.length || (p.service !== undefined && services.includes(p.service)));
  printWarnings(io, [...result.warnings, ...refusedWarnings(refusedHere)], c.err.yellow);
  const prod = result.loaded.config.defaultNamespace;
  // routeKind HTTPRoute: vsop's object per Service is its HTTPRoute (one per port: the state of the worst).
  const kind = result.loaded.config.routeKind === 'HTTPRoute' ? 'HTTPRoute' : 'VirtualService';
  const vsActions = new Map<string | undefined, Action>();
  const rank = (a: Action) => ['unchanged', 'update', 'delete', 'create'].indexOf(a.type);
  for (const a of result.plan.actions) {
    if (a.kind !== kind) continue;
    const had = vsActions.get(a.service);
    if (!had || rank(a) > rank(had)) vsActions.set(a.service, a);
  }
  const only = services.length ? new Set(services) : undefined;
  const view = statusView({
    defaultNamespace: prod,
    tables: result.resolution.tables,
    virtualServices: result.resolution.virtualServices,
    ...(kind === 'HTTPRoute' ? { httpRoutes: result.resolution.httpRoutes } : {}),
    findings: result.plan.findings,
    world: worldAfter(result),
  });
  // -n: one developer namespace's column (kubectl's habit), for 30 namespaces as for 3.
  const configured = result.loaded.config.developerNamespaces.map((d) => d.name);
  if (opts.namespace !== undefined && !configured.includes(opts.namespace)) {
    throw new UsageError(`namespace "${opts.namespace}" is not a developer namespace in the configuration`, { hint: `developer namespaces: ${configured.join(', ') || '(none)'}` });
  }
  const namespaces = opts.namespace === undefined ? configured : [opts.namespace];
  const rows = view
    .filter((r) => !only || only.has(r.service))
    .map((r) => (opts.namespace === undefined ? r : { ...r, namespaces: r.namespaces.filter((n) => n.namespace === opts.namespace) }));

  const unreadable = new Set(result.plan.findings.filter((f) => f.code === 'invalid-overrides').map((f) => f.service));
  const syncOf = (a: Action | undefined, service: string): Sync =>
    unreadable.has(service) ? 'invalid overrides' : !a || a.type === 'create' ? 'missing' : a.type === 'unchanged' ? 'in sync' : a.type === 'delete' ? 'orphan' : 'drift';
  const totals = { services: rows.length, routes: 0, fallbacks: 0, placeholders: 0, production: 0, drifted: 0, overridden: 0, shadowed: 0, taken: 0 };
  // Not in -o json's totals (their shape stays); said in the summary line.
  let consumers = 0;
  for (const r of rows) {
    if (r.shadowedBy.length) totals.shadowed++;
    if (r.consumerRoutes) consumers++;
    for (const n of r.namespaces) {
      // A claim a witness disproved (another route or VirtualService takes the requests) is not routed.
      if (n.taken) totals.taken++;
      else if (n.route.state === 'route') totals.routes++;
      else if (n.route.state === 'fallback') totals.fallbacks++;
      else totals.production++;
      if (n.placeholder) totals.placeholders++;
    }
    if (syncOf(vsActions.get(r.service), r.service) !== 'in sync') totals.drifted++;
    if (r.overrides) totals.overridden++;
  }

  const httpRouteState = (key: string, service: string) => {
    const [namespace, name] = key.split('/') as [string, string];
    const a = result.plan.actions.find((x) => x.kind === 'HTTPRoute' && x.namespace === namespace && x.name === name);
    return { namespace, name, resourceVersion: a?.live?.metadata.resourceVersion ?? null, state: syncOf(a, service) };
  };
  if (opts.output === 'json' || opts.output === 'yaml') {
    const data = rows.map((r) => {
      const a = vsActions.get(r.service);
      const [namespace, name] = r.virtualService.split('/') as [string, string];
      return {
        service: r.service,
        ...(r.httpRoutes
          ? { httpRoutes: r.httpRoutes.map((key) => httpRouteState(key, r.service)) }
          : { virtualService: { namespace, name, resourceVersion: a?.live?.metadata.resourceVersion ?? null, state: syncOf(a, r.service) } }),
        ...(r.shadowedBy.length ? { shadowedBy: r.shadowedBy } : {}),
        ...(r.shadowedFor.length ? { shadowedFor: r.shadowedFor } : {}),
        ...(r.consumerRoutes ? { consumerRoutes: r.consumerRoutes } : {}),
        overrides: r.overrides,
        namespaces: Object.fromEntries(
          r.namespaces.map((n) => [
            n.namespace,
            {
              ...n.route,
              ...(n.byPort ? { byPort: n.byPort } : {}),
              ...(n.taken ? { taken: n.taken } : {}),
              placeholder: n.placeholder,
              ...(n.overrides ? { overrides: n.overrides } : {}),
            },
          ]),
        ),
      };
    });
    const doc = { version: 1, production: prod, services: data, totals };
    io.out(opts.output === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toYaml(doc));
    return 0;
  }

  const wide = opts.output === 'wide';
  // Per Service: its namespaces' cells, then the VirtualService's (and with -o wide its name and resourceVersion).
  const cells = rows.map((r) => {
    const a = vsActions.get(r.service);
    const sync = syncOf(a, r.service);
    const also =
      r.shadowedFor.map((x) => `; ${x.other} takes it for ${x.callers.join(', ')}`).join('') +
      // routeKind HTTPRoute: consumer routes decide every request from their namespace (and may take header requests).
      (r.consumerRoutes ?? [])
        .map((x) => {
          const taken = [...new Set(x.taken.map((t) => t.namespace))];
          return `; httproute ${x.httpRoutes.join(', ')} decides requests from ${x.namespace}${taken.length ? ` (and the header requests of ${taken.join(', ')})` : ''}`;
        })
        .join('');
    return {
      service: r.service,
      namespaces: r.namespaces.map((n) => [n.namespace, r.shadowedBy.length && n.taken ? c.out.red('shadowed') : cell(n, c.out)] as const),
      rest: [
        r.shadowedBy.length ? c.out.red(`shadowed by ${r.shadowedBy.join(', ')}`) : (sync === 'in sync' ? c.out.green(sync) : c.out.yellow(sync)) + c.out.yellow(also),
        ...(wide ? [a?.name ?? '', a?.live?.metadata.resourceVersion ?? ''] : []),
      ],
    };
  });
  const restHeader = [kind.toUpperCase(), ...(wide ? ['NAME', 'RESOURCEVERSION'] : [])];
  const width = outputWidth(io);
  let table = layout([['SERVICE', ...namespaces.map((n) => n.toUpperCase()), ...restHeader], ...cells.map((r) => [r.service, ...r.namespaces.map(([, text]) => text), ...r.rest])]);
  if (width !== undefined && table.width > width) {
    table = layout([['SERVICE', 'NAMESPACE', 'ROUTE', ...restHeader], ...cells.flatMap((r) => r.namespaces.map(([namespace, text]) => [r.service, namespace, text, ...r.rest]))]);
  }
  io.out(columns(table));
  const summary = `${totals.services} service${totals.services === 1 ? '' : 's'}: ${totals.routes} routed to their own copy, ${totals.fallbacks} to a parent's, ${totals.production} to production; ${totals.placeholders} placeholder${totals.placeholders === 1 ? '' : 's'}; ${totals.drifted} not in sync${totals.overridden ? `; ${totals.overridden} routed by hand` : ''}${totals.taken ? `; ${totals.taken} taken by another route or VirtualService (not routed)` : ''}${totals.shadowed ? `; ${totals.shadowed} shadowed by another VirtualService` : ''}${consumers ? `; ${consumers} with consumer routes (deciding the requests of their namespace's callers)` : ''}`;
  io.out(`\n${width === undefined ? summary : wrapClauses(summary, width)}\n`);
  return 0;
}

function cell(n: NamespaceStatus, c: { green(s: string): string; cyan(s: string): string; dim(s: string): string; magenta(s: string): string; red(s: string): string }): string {
  const o = n.overrides;
  const hand = o
    ? c.magenta(
        `${o.headerRoutes ? ` +${o.headerRoutes === 1 ? 'header' : `${o.headerRoutes} headers`}` : ''}${o.notRendered ? ` (${o.notRendered.length === o.headerRoutes ? '' : `${o.notRendered.length} `}not in force)` : ''}${o.weight !== undefined ? ` +${o.weight}%` : ''}${o.waiting ? ' (waiting)' : ''}`,
      )
    : '';
  const placeholder = n.placeholder ? ' (placeholder)' : '';
  const taken = (port?: number) => n.taken?.find((t) => port === undefined || t.port === port);
  const label = (r: NamespaceStatus['route'], port?: number) => {
    const t = taken(port);
    if (t && (r.state === 'route' || r.state === 'fallback')) return c.red(`✗ ${t.by}`);
    return r.state === 'route' ? c.green('route') : r.state === 'fallback' ? c.cyan(`→ ${r.target}`) : c.dim('-');
  };
  // A copy that serves only some of the ports: each port says where its header requests go.
  if (n.byPort) return n.byPort.map((p) => `${p.port}:${label(p.route, p.port)}`).join(' ') + hand;
  if (n.taken) return label(n.route) + hand + placeholder;
  if (n.route.state === 'route') return c.green('route') + hand;
  if (n.route.state === 'fallback') return c.cyan(`→ ${n.route.target}`) + hand + placeholder;
  if (n.route.state === 'removed' || n.route.state === 'cleared') return c.magenta(n.route.state) + hand + placeholder;
  return c.dim('-') + hand + placeholder;
}

/** The summary within `width`: broken after a "; " where it can be, else between words. */
function wrapClauses(text: string, width: number): string {
  const lines: string[] = [];
  for (const clause of text.split('; ')) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 2 + clause.length <= width) lines[lines.length - 1] = `${last}; ${clause}`;
    else {
      if (last !== undefined) lines[lines.length - 1] = `${last};`;
      lines.push(...wrapWords(clause, width));
    }
  }
  return lines.join('\n');
}

const GAP = 3;

interface Layout {
  rows: readonly (readonly string[])[];
  /** Each column's widest cell, and each cell's width, colour codes not counted. */
  widths: number[];
  visible: number[][];
  /** The longest line: every column padded to its widest cell but the last. */
  width: number;
}

function layout(rows: readonly (readonly string[])[]): Layout {
  const widths: number[] = [];
  const visible = rows.map((row) =>
    row.map((cell, i) => {
      const w = stripVTControlCharacters(cell).length;
      if (w > (widths[i] ?? 0)) widths[i] = w;
      return w;
    }),
  );
  return { rows, widths, visible, width: widths.reduce((sum, w) => sum + w + GAP, -GAP) };
}

/**
 * Rows as kubectl prints them: columns three spaces apart, each as wide as its widest cell, no trailing
 * blanks. Written here, in one pass over the cells, because cli-table3 took 11 of the 15 seconds `status`
 * needed for 10,000 Services (its layout is quadratic in the rows).
 */
function columns({ rows, widths, visible }: Layout): string {
  let out = '';
  rows.forEach((row, r) => {
    let line = '';
    row.forEach((cell, i) => {
      line += i === row.length - 1 ? cell : cell + ' '.repeat(widths[i]! - visible[r]![i]! + GAP);
    });
    out += `${line.trimEnd()}\n`;
  });
  return out;
}
