// The pipeline that sync, route and clear share: read (files or the cluster) → reconcile → plan, then print
// the plan (--diff, --dry-run=client) or apply it (--dry-run=server sends the writes with dryRun). Each
// command adds only its change to the overrides (an edit, a purge) and its own checks.

import { applyPlan, DEFAULT_RETRY, type Result } from '../apply.ts';
import type { Action, Finding, Plan } from '../core/plan.ts';
import { hasChanges } from '../core/plan.ts';
import { planDiff, planJson, planMarkdown, summaryLine, toYaml } from '../core/render.ts';
import { ConfigError, ConflictError, EXIT, InputError, UnreachableError, UsageError, type Problem } from '../errors.ts';
import type { KubePort } from '../k8s/port.ts';
import { reconcileOnce, type Reconciled, type ReconcileOptions } from '../reconcile.ts';
import { EXTERNAL_DIFF, externalDiff } from './external-diff.ts';
import type { Io } from './io.ts';
import { colorDiff, paint, type Paint } from './paint.ts';
import { progress } from './progress.ts';
import { openSource, printWarnings, type SourceOptions } from './source.ts';

/** The flags of every command that plans and applies (see planCommand in program.ts). */
export interface PlanOptions extends SourceOptions {
  diff?: boolean;
  dryRun: 'none' | 'client' | 'server';
  output: 'text' | 'json' | 'yaml' | 'markdown';
  adopt?: boolean;
  /** sync's --strict: warnings fail the command too, before any write. */
  strict?: boolean;
  /** Milliseconds: how long an object that keeps conflicting is retried. */
  timeout: number;
  /** Milliseconds: the first conflict-retry delay. */
  retryBase: number;
}

const PAST: Record<Action['type'], Result['result']> = { create: 'created', update: 'updated', delete: 'deleted', unchanged: 'unchanged' };

/** What a command asks of the shared pipeline, besides the flags it shares with sync. */
export interface PlanRequest {
  services: string[];
  reconcile?: Pick<ReconcileOptions, 'edit' | 'purge' | 'refusedApart'>;
  /**
   * Check the findings before any write, so that an object in the way stops the whole command with
   * nothing written (route, clear). sync writes the other objects first.
   */
  checkFirst?: boolean;
  /** Asked right before real writes (not dry runs); throws to stop with nothing written. */
  confirm?: (plan: Plan, port: KubePort) => Promise<void>;
}

/**
 * Reads, reconciles and plans `req.services` (all when empty), then prints the plan or applies it, as the
 * flags say. Returns the exit code (EXIT.changes for a --diff with changes, else EXIT.ok); throws
 * UsageError for flags that do not go together, InputError for unreadable overrides, ConflictError for
 * blocking findings, and whatever reading or applying throws.
 */
export async function runPlan(io: Io, opts: PlanOptions, req: PlanRequest): Promise<number> {
  const services = req.services;
  const offline = (opts.filename?.length ?? 0) > 0;
  if (offline && !opts.diff && opts.dryRun !== 'client') {
    throw new UsageError('files cannot be applied to a cluster', {
      hint: 'add --diff to see the plan, or --dry-run=client to see what would be written',
    });
  }
  if (opts.diff && opts.dryRun !== 'none') throw new UsageError('--diff and --dry-run cannot be combined');
  if (opts.output === 'markdown' && !opts.diff) throw new UsageError('-o markdown is a plan summary: use it with --diff');

  const c = paint(io, opts.color);
  const spinner = progress(io, opts.color, 'Reading the cluster');
  let port: KubePort | undefined;
  // --timeout bounds the command's work, reading and writing with every retry, not each object: with the
  // API server gone, 1,000 objects retried eight at a time would otherwise take hours. A question asked
  // in between (clear --purge) does not count.
  const budget = new Budget(opts.timeout, io.signal);
  try {
    const opened = await openSource(budget.io(io), opts);
    const source = opened.source;
    port = opened.port;
    const result = await budget.run(() => reconcileOnce(source, { ...(services.length ? { services } : {}), ...(opts.adopt ? { adopt: true } : {}), ...req.reconcile }));
    spinner.stop();
    printWarnings(io, result.warnings, c.err.yellow);

    if (opts.diff) {
      // kubectl diff's KUBECTL_EXTERNAL_DIFF: the program's verdict is the exit code (0 or 1).
      const external = opts.output === 'text' ? io.env[EXTERNAL_DIFF] : undefined;
      let verdict: number = hasChanges(result.plan) ? EXIT.changes : EXIT.ok;
      if (external) {
        verdict = await externalDiff(io, external, result.plan.actions, (m) => io.err(`${c.err.yellow('warning:')} ${m}\n`));
        io.err(`${summaryLine(result.plan)}\n`);
      } else printPlan(io, c, result.plan, result.warnings, opts.output);
      checkFindings(io, c, result.plan.findings, opts.strict);
      failStrictWarnings(result.warnings, opts.strict);
      failRefused(result, services);
      return verdict;
    }
    // --strict findings stop everything before any write; for sync, an unmanaged object in the way stops only itself.
    const first = opts.strict || req.checkFirst;
    if (first) checkFindings(io, c, result.plan.findings, opts.strict);
    // Said before anything is written (a foreign-routes-dropped warning before the deletes it warns of).
    else printFindings(io, c, result.plan.findings, false);
    failStrictWarnings(result.warnings, opts.strict);
    if (opts.dryRun === 'client' || !port) {
      printOutcome(
        io,
        result.plan.actions.map((a) => ({ kind: a.kind, namespace: a.namespace, name: a.name, result: PAST[a.type], attempts: 0 })),
        opts.output,
        'dry run',
      );
    } else {
      // Off the clock: the budget runs only inside budget.run.
      if (opts.dryRun === 'none') await req.confirm?.(result.plan, port);
      const dryRun = opts.dryRun === 'server' ? 'server dry run' : undefined;
      // Text: each object's line as it is stored (kubectl's habit), so a sync killed halfway has said what
      // it wrote. -o json and yaml stay one document, at the end.
      const each = opts.output === 'text' ? (r: Result) => printOutcome(io, [r], 'text', dryRun) : undefined;
      const results = await budget.run(() => apply(budget.io(io), opts, port!, result, each));
      if (!each) printOutcome(io, results, opts.output, dryRun);
    }
    if (!first) checkFindings(io, c, result.plan.findings, false, { printed: true });
    failRefused(result, services);
    return EXIT.ok;
  } finally {
    spinner.stop();
    budget.stop();
    port?.close?.();
  }
}

/**
 * The command's time budget: an abort signal that fires when the time spent working (not waiting for a
 * person: it runs only inside `run`) passes `ms`, or on Ctrl-C. Work the budget cut short ends in an
 * UnreachableError (exit 5).
 */
class Budget {
  private readonly ms: number;
  private left: number;
  private started = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly abort = new AbortController();
  readonly signal: AbortSignal;

  constructor(ms: number, interrupt: AbortSignal) {
    this.ms = ms;
    this.left = ms;
    this.signal = AbortSignal.any([interrupt, this.abort.signal]);
  }

  /** The Io with the budget's signal, for the client and apply. */
  io(io: Io): Io {
    return { ...io, signal: this.signal };
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    this.started = performance.now();
    this.timer = setTimeout(() => this.abort.abort(new Error('--timeout')), Math.max(this.left, 0));
    try {
      return await work();
    } catch (err) {
      if (this.abort.signal.aborted) {
        throw new UnreachableError(`gave up after --timeout ${this.ms / 1000}s: the cluster did not let vsop finish in time`, {
          cause: err,
          hint: 'check the cluster (kubectl get --raw /readyz), or raise --timeout; a later run picks up where this one stopped',
        });
      }
      throw err;
    } finally {
      this.stopClock();
    }
  }

  stop(): void {
    this.stopClock();
  }

  private stopClock(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.started) this.left -= performance.now() - this.started;
    this.started = 0;
  }
}

/** Applies the plan; `each` is told of every object as applyPlan tells it (in plan order, once stored). */
async function apply(io: Io, opts: PlanOptions, port: KubePort, { plan, desire }: Reconciled, each?: (r: Result) => void): Promise<Result[]> {
  const writes = plan.actions.filter((a) => a.type !== 'unchanged').length;
  // Lines printed as they come on a terminal are the progress: no spinner drawn over them.
  const quiet = each !== undefined && io.stdoutIsTTY;
  const spinner = quiet ? { text: () => {}, stop: () => {} } : progress(io, opts.color, `Applying ${writes} change${writes === 1 ? '' : 's'}`);
  let done = 0;
  try {
    return await applyPlan(plan.actions, port, {
      dryRun: opts.dryRun === 'server',
      ...(opts.adopt ? { adopt: true } : {}),
      retry: { ...DEFAULT_RETRY, minTimeout: opts.retryBase, maxTimeout: opts.retryBase * 16 },
      maxRetryTime: opts.timeout,
      signal: io.signal,
      desire,
      onResult: (r) => {
        each?.(r);
        if (r.result !== 'unchanged') spinner.text(`Applying changes: ${++done}/${writes}`);
      },
    });
  } finally {
    spinner.stop();
  }
}

export function printPlan(io: Io, c: Paint, plan: Plan, warnings: readonly Problem[], output: PlanOptions['output']): void {
  if (output === 'json') io.out(planJson(plan, warnings));
  // The same data as -o json: the plan's one JSON shape, in YAML.
  else if (output === 'yaml') io.out(toYaml(JSON.parse(planJson(plan, warnings))));
  else if (output === 'markdown') io.out(planMarkdown(plan, warnings));
  else {
    io.out(colorDiff(planDiff(plan), c.out));
    io.err(`${summaryLine(plan)}\n`);
  }
}

/** One line per object, finishing the sentence "virtualservice default/foo ..."; or the same as data. */
export function printOutcome(io: Io, results: readonly Result[], output: PlanOptions['output'], dryRun: string | undefined): void {
  if (output === 'json' || output === 'yaml') {
    const data = { version: 1, results: results.map((r) => ({ kind: r.kind, namespace: r.namespace, name: r.name, result: r.result, ...(dryRun ? { dryRun } : {}) })) };
    io.out(output === 'json' ? `${JSON.stringify(data, null, 2)}\n` : toYaml(data));
    return;
  }
  const suffix = dryRun ? ` (${dryRun})` : '';
  for (const r of results) io.out(`${r.kind.toLowerCase()} ${r.namespace}/${r.name} ${r.result}${suffix}\n`);
}

/**
 * After the others are done: the Services named (or all) that were left out because they cannot be
 * rendered (refusedApart) fail the command as a Service that cannot be rendered fails sync, with exit 3
 * naming each.
 */
function failRefused(result: Reconciled, services: readonly string[]): void {
  const named = (s: string) => services.length === 0 || services.includes(s);
  const refused = result.resolution.refused.filter(named);
  if (refused.length === 0) return;
  const ns = result.loaded.config.defaultNamespace;
  throw new ConfigError(
    `cannot render valid ${result.loaded.config.routeKind}s for ${refused.join(', ')}; the other Services were done`,
    result.resolution.problems.filter((p) => refused.some((s) => p.source === `service ${ns}/${s}`)),
  );
}

/**
 * Findings go to stderr; an error-level one (or any, with --strict) fails the command after printing. An
 * overrides annotation that cannot be read is invalid input (exit 4), reported as such.
 */
export function checkFindings(io: Io, c: Paint, findings: readonly Finding[], strict: boolean | undefined, opts: { printed?: boolean } = {}): void {
  const unreadable = findings.filter((f) => f.code === 'invalid-overrides');
  if (!opts.printed) printFindings(io, c, findings, strict);
  if (unreadable.length > 0) {
    const first = unreadable[0]!;
    // The kind in play: vsop's HTTPRoutes carry the overrides with routeKind HTTPRoute.
    const kind = first.objectKind ?? 'VirtualService';
    throw new InputError(
      `invalid overrides; vsop leaves ${unreadable.length === 1 ? `this ${kind}` : `these ${kind}s`} alone`,
      unreadable.map((f) => ({ path: '', message: f.message })),
      {
        hint: `fix the annotation (kubectl edit ${kind.toLowerCase()} -n ${first.namespace} ${first.name}), or drop every override with: vsop route reset ${first.service ?? 'SERVICE'}`,
      },
    );
  }
  const blocking = findings.filter((f) => f.severity === 'error' || strict);
  if (blocking.length > 0) {
    throw new ConflictError(`${blocking.length} object${blocking.length === 1 ? '' : 's'} cannot be brought in line`, {
      hint: blocking.some((f) => f.code === 'unmanaged-conflict')
        ? `rename or label the existing ${blocking.find((f) => f.code === 'unmanaged-conflict')!.objectKind ?? 'VirtualService'}, or pass --adopt to take it over`
        : `${[...new Set(blocking.map((f) => STRICT_REMEDY[f.code] ?? 'do what each warning says'))].join(', or ')}, or drop --strict`,
    });
  }
}

/**
 * --strict: the warnings printed before the plan (reconcile's `warnings`: a hand route recorded but not in
 * force, an override waiting for its copy, what the read could not see) fail the command too, before any
 * write, as the findings do (exit 8): --help says --strict treats warnings as errors, and these are some.
 */
function failStrictWarnings(warnings: readonly Problem[], strict: boolean | undefined): void {
  if (!strict || warnings.length === 0) return;
  throw new ConflictError(`${warnings.length} warning${warnings.length === 1 ? '' : 's'} with --strict`, {
    hint: 'do what each warning says, or drop --strict',
  });
}

/** What the user does about a warning that --strict made blocking, per finding code. */
const STRICT_REMEDY: Partial<Record<Finding['code'], string>> = {
  shadowed: 'remove the other VirtualService on the host',
  'host-overlap': 'remove the other VirtualService on the host',
  taken: 'move or take away the route each warning names (its message says how)',
  'foreign-routes-dropped': 'move the routes and fields each warning names into Gateway API routes of your own',
};

/** Each finding on stderr, but unreadable overrides (checkFindings reports those as invalid input). */
function printFindings(io: Io, c: Paint, findings: readonly Finding[], strict: boolean | undefined): void {
  for (const f of findings) {
    if (f.code === 'invalid-overrides') continue;
    const label = f.severity === 'error' || strict ? c.err.red(`${f.severity === 'error' ? 'conflict' : 'error'}:`) : c.err.yellow('warning:');
    io.err(`${label} ${f.message}\n`);
  }
}
