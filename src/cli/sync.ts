// vsop sync: read → resolve → plan, then print the plan (--diff, --dry-run=client) or apply it.

import type { Finding, Plan } from '../core/plan.ts';
import { hasChanges } from '../core/plan.ts';
import { planDiff, planJson, planMarkdown, summaryLine } from '../core/render.ts';
import { ConflictError, EXIT, UsageError, type Problem } from '../errors.ts';
import { reconcileOnce } from '../reconcile.ts';
import type { Io } from './io.ts';
import { colorDiff, paint, type Paint } from './paint.ts';
import { printWarnings, stateSource, type SourceOptions } from './source.ts';

export interface SyncOptions extends SourceOptions {
  diff?: boolean;
  dryRun: 'none' | 'client' | 'server';
  output: 'text' | 'json' | 'markdown';
  adopt?: boolean;
  strict?: boolean;
}

const PAST: Record<string, string> = { create: 'created', update: 'updated', delete: 'deleted', unchanged: 'unchanged' };

export async function sync(io: Io, services: string[], opts: SyncOptions): Promise<number> {
  const offline = (opts.filename?.length ?? 0) > 0;
  if (offline && !opts.diff && opts.dryRun !== 'client') {
    throw new UsageError('files cannot be applied to a cluster', {
      hint: 'add --diff to see the plan, or --dry-run=client to see what would be written',
    });
  }
  if (opts.diff && opts.dryRun !== 'none') throw new UsageError('--diff and --dry-run cannot be combined');
  if (opts.output === 'markdown' && !opts.diff) throw new UsageError('-o markdown is a plan summary: use it with --diff');

  const c = paint(io, opts.color);
  const result = await reconcileOnce(stateSource(io, opts), {
    ...(services.length ? { services } : {}),
    ...(opts.adopt ? { adopt: true } : {}),
  });
  printWarnings(io, result.warnings, c.err.yellow);

  if (opts.diff) {
    printPlan(io, c, result.plan, result.warnings, opts.output);
    checkFindings(io, c, result.plan.findings, opts.strict);
    return hasChanges(result.plan) ? EXIT.changes : EXIT.ok;
  }
  // --dry-run=client: what would be written, in the apply's own words.
  checkFindings(io, c, result.plan.findings, opts.strict);
  printOutcome(io, result.plan, opts.output, true);
  return EXIT.ok;
}

export function printPlan(io: Io, c: Paint, plan: Plan, warnings: readonly Problem[], output: SyncOptions['output']): void {
  if (output === 'json') io.out(planJson(plan, warnings));
  else if (output === 'markdown') io.out(planMarkdown(plan, warnings));
  else {
    io.out(colorDiff(planDiff(plan), c.out));
    io.err(`${summaryLine(plan)}\n`);
  }
}

/** One line per object, finishing the sentence "virtualservice default/foo ..."; or the same as data. */
export function printOutcome(io: Io, plan: Plan, output: SyncOptions['output'], dryRun: boolean): void {
  const suffix = dryRun ? ' (dry run)' : '';
  if (output === 'json') {
    const results = plan.actions.map((a) => ({ kind: 'VirtualService', namespace: a.namespace, name: a.name, result: PAST[a.type], dryRun }));
    io.out(`${JSON.stringify({ version: plan.version, results }, null, 2)}\n`);
    return;
  }
  for (const a of plan.actions) io.out(`virtualservice ${a.namespace}/${a.name} ${PAST[a.type]}${suffix}\n`);
}

/** Findings go to stderr; an error-level one (or any, with --strict) fails the command after printing. */
export function checkFindings(io: Io, c: Paint, findings: readonly Finding[], strict: boolean | undefined): void {
  for (const f of findings) {
    const label = f.severity === 'error' || strict ? c.err.red(`${f.severity === 'error' ? 'conflict' : 'error'}:`) : c.err.yellow('warning:');
    io.err(`${label} ${f.message}\n`);
  }
  const blocking = findings.filter((f) => f.severity === 'error' || strict);
  if (blocking.length > 0) {
    throw new ConflictError(`${blocking.length} object${blocking.length === 1 ? '' : 's'} cannot be brought in line`, {
      hint: blocking.some((f) => f.code === 'unmanaged-conflict')
        ? 'rename or label the existing VirtualService, or pass --adopt to take it over'
        : 'remove the other VirtualService on the host, or drop --strict',
    });
  }
}
