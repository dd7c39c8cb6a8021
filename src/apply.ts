// Executing a plan. Each write carries the resourceVersion it was planned against; when the server
// answers 409 (someone else wrote first), the object is read again, planned again on its own, and written
// again, with exponential backoff. Writes to different objects go out concurrently, a few at a time;
// deletes only once every create and update has been written, so that a Service whose routing moves from
// one object to another (a VirtualService to an HTTPRoute, when routeKind changes) is never without one.
// ReferenceGrants are written around the routes: entries added before any route (a route never sends to
// a Service no grant allows), entries removed after the deletes, once every route was rewritten or deleted
// (a switch back to VirtualServices, clear --purge --all).

import pRetry from 'p-retry';
import { isManaged, OVERRIDES_ANNOTATION } from './core/ownership.ts';
import { planVirtualService, type Action, type ActionType, type VirtualServiceAction } from './core/plan.ts';
import { grantOrder, grantWithLiveEntries } from './core/gateway/grants.ts';
import { planGatewayObject } from './core/gateway/plan.ts';
import { replanPlaceholder } from './core/placeholders.ts';
import type { KubeObject, VirtualService } from './core/types.ts';
import { ApiError, ConflictError, UnreachableError } from './errors.ts';
import type { KubePort, WriteOptions } from './k8s/port.ts';
import { sleep } from './sleep.ts';

export interface RetryPolicy {
  /** Retries with backoff after the first conflict's immediate one. The seed operator promises 1 s, 2 s, 4 s, 8 s, 16 s: five retries. */
  retries: number;
  minTimeout: number;
  factor: number;
  maxTimeout: number;
  /** Spread each delay by a random factor between 1 and 2, so that racing writers do not meet again. */
  randomize: boolean;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 5, minTimeout: 1000, factor: 2, maxTimeout: 16_000, randomize: true };

export interface ApplyOptions {
  dryRun?: boolean;
  adopt?: boolean;
  /** How many writes are in flight at once. */
  concurrency?: number;
  retry?: RetryPolicy;
  /** Ends retries (and their waits) early: Ctrl-C, SIGTERM, --timeout. */
  signal?: AbortSignal;
  /** The longest time to keep retrying one object, in milliseconds. */
  maxRetryTime?: number;
  /**
   * Told of each object once it is done, in the order of `actions` within each phase (writes, then
   * deletes): an object is told as soon as it and every one before it in its phase are done, so what is
   * told is deterministic and already stored. When an object fails, the others of its phase that were
   * done are told before the run fails.
   */
  onResult?: (result: Result) => void;
  /**
   * What vsop wants for a Service's VirtualService given a fresh read (Reconciled.desire): the overrides
   * recorded in it may have changed since the plan. Without it, a conflict on an object whose overrides
   * changed fails that object instead of overwriting them.
   */
  desire?: (service: string, fresh: VirtualService | undefined) => VirtualService | undefined;
}

export type Outcome = 'created' | 'updated' | 'deleted' | 'unchanged';

export interface Result {
  kind: Action['kind'];
  namespace: string;
  name: string;
  result: Outcome;
  /** Writes attempted for this object (more than one after conflicts). */
  attempts: number;
  /** The object as the server stored it (created or updated, not in a dry run). */
  object?: KubeObject;
}

const PAST: Record<ActionType, Outcome> = { create: 'created', update: 'updated', delete: 'deleted', unchanged: 'unchanged' };

/**
 * Applies every action, creates and updates first, then deletes, then the grants' removals (each phase
 * only if the one before wrote everything; grant entries added go before the routes); the first
 * object that cannot be written fails the run after the others of its phase finish. Results are in the
 * order of `actions`.
 */
export async function applyPlan(actions: readonly Action[], port: KubePort, opts: ApplyOptions = {}): Promise<Result[]> {
  const results: Result[] = new Array(actions.length);
  const failures: unknown[] = [];
  const indexed = actions.map((action, i) => ({ action, i }));
  const order = (a: Action) => (a.kind === 'ReferenceGrant' ? grantOrder(a) : a.type === 'delete' ? 'last' : 'writes');
  // A grant that adds entries and removes others is written twice: with the live entries kept, first;
  // then as planned, last, planned again on what the first write stored.
  const first = indexed
    .filter(({ action }) => order(action) === 'first' || order(action) === 'both')
    .map(({ action, i }) => (action.kind === 'ReferenceGrant' && action.type === 'update' && order(action) === 'both' ? { action: widened(action), i } : { action, i }));
  const writes = indexed.filter(({ action }) => order(action) === 'writes');
  // The deletes, and then the grants' removals: a route deleted goes before the grant entries it used.
  const deletes = indexed.filter(({ action }) => action.kind !== 'ReferenceGrant' && order(action) === 'last');
  const last = indexed.filter(({ action }) => action.kind === 'ReferenceGrant' && (order(action) === 'last' || order(action) === 'both'));
  for (const phase of [first, writes, deletes, last]) {
    if (phase === last) {
      for (const p of last) {
        const done = results[p.i];
        if (done?.object && p.action.kind === 'ReferenceGrant' && p.action.type === 'update' && p.action.desired)
          p.action = planGatewayObject(p.action.desired, done.object as never, opts.adopt ?? false) as Action;
      }
    }
    let told = 0; // phase[0..told) have been told
    const tell = (past: (i: number) => boolean) => {
      for (; told < phase.length && past(phase[told]!.i); told++) {
        const r = results[phase[told]!.i];
        if (r) opts.onResult?.(r);
      }
    };
    await forEachLimit(phase, opts.concurrency ?? 8, async ({ action, i }) => {
      try {
        results[i] = await applyAction(action, port, opts);
        tell((j) => results[j] !== undefined);
      } catch (err) {
        failures.push(err);
      }
    });
    tell(() => true); // after a failure: the rest that were done
    if (failures.length > 0) throw failures[0];
  }
  return results;
}

async function applyAction(planned: Action, port: KubePort, opts: ApplyOptions): Promise<Result> {
  const base = { kind: planned.kind, namespace: planned.namespace, name: planned.name };
  if (planned.type === 'unchanged') return { ...base, result: 'unchanged', attempts: 0 };
  const retry = opts.retry ?? DEFAULT_RETRY;
  let attempts = 0;
  let lastConflict: ApiError | undefined;
  let stored: KubeObject | undefined;
  try {
    const result = await pRetry(
      async (attempt) => {
        const action = attempt === 1 ? planned : await replan(planned, port, opts);
        if (action.type === 'unchanged') return 'unchanged' as const;
        attempts++;
        try {
          stored = await write(action, port, opts.dryRun ? { dryRun: true } : {});
          return PAST[action.type];
        } catch (err) {
          // The first conflict is tried again at once, on a fresh read (client-go's RetryOnConflict waits
          // 10 ms): usually one other writer got in between, and waiting a second leaves its change, which
          // may have broken vsop's routes, in force for that second. Later conflicts back off.
          if (attempt !== 1 || !(err instanceof ApiError) || err.status !== 409) throw err;
          lastConflict = err;
          const again = await replan(planned, port, opts);
          if (again.type === 'unchanged') return 'unchanged' as const;
          attempts++;
          stored = await write(again, port, opts.dryRun ? { dryRun: true } : {});
          return PAST[again.type];
        }
      },
      {
        ...retry,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.maxRetryTime ? { maxRetryTime: opts.maxRetryTime } : {}),
        shouldRetry: ({ error }) => retryable(error),
        onFailedAttempt: async ({ error, retryDelay }) => {
          if (error instanceof ApiError && error.status === 409) lastConflict = error;
          // The server's Retry-After is a floor under vsop's own backoff.
          const floor = error instanceof ApiError && error.retryAfter ? error.retryAfter * 1000 : 0;
          if (floor > retryDelay && retryable(error)) await sleep(floor - retryDelay, opts.signal);
        },
      },
    );
    return { ...base, result, attempts, ...(stored && !opts.dryRun ? { object: stored } : {}) };
  } catch (err) {
    if (err instanceof ApiError && err.status === 409 && lastConflict) {
      throw new ConflictError(
        `${planned.kind.toLowerCase()} ${planned.namespace}/${planned.name}: still being changed by someone else after ${attempts} attempts: ${err.message}`,
        {
          cause: err,
          hint: 'another writer keeps changing this object; find it (kubectl get -o yaml shows managedFields), or raise --timeout',
        },
      );
    }
    throw err;
  }
}

/** A grant update with the live entries kept beside the planned ones (apply's first write of a grant that also removes some). */
function widened(action: Extract<Action, { kind: 'ReferenceGrant'; type: 'update' }>): Action {
  if (!action.desired) return action;
  const want = grantWithLiveEntries(action.desired, action.live);
  const outcome = planGatewayObject(want, action.live, true);
  return 'code' in outcome ? action : (outcome as Action);
}

/** Reads the object again and plans it again, alone: the conflict retry's fresh look. */
async function replan(planned: Action, port: KubePort, opts: ApplyOptions): Promise<Action> {
  if (planned.kind === 'VirtualService') {
    const apiVersion = (planned.desired ?? planned.live)!.apiVersion;
    const fresh = await port.getVirtualService(planned.namespace, planned.name, apiVersion);
    if (planned.type === 'delete') return fresh && isManaged(fresh) ? { ...planned, live: fresh } : { ...planned, type: 'unchanged' };
    const outcome = planVirtualService(desiredNow(planned, fresh, opts), fresh, opts.adopt ?? false);
    if ('code' in outcome) throw new ConflictError(outcome.message);
    return outcome;
  }
  if (planned.kind === 'HTTPRoute' || planned.kind === 'ReferenceGrant') {
    const apiVersion = (planned.desired ?? planned.live)!.apiVersion;
    const fresh = await port.getObject(planned.kind, apiVersion, planned.namespace, planned.name);
    if (planned.type === 'delete') return fresh && isManaged(fresh) ? ({ ...planned, live: fresh } as Action) : { ...planned, type: 'unchanged' };
    if (!planned.desired) return planned;
    // Overrides are written by the route commands, which do not plan HTTPRoutes yet: one changed since the
    // read is not overwritten.
    if (fresh?.metadata.annotations?.[OVERRIDES_ANNOTATION] !== planned.live?.metadata.annotations?.[OVERRIDES_ANNOTATION]) {
      throw new ConflictError(
        `${planned.kind.toLowerCase()} ${planned.namespace}/${planned.name}: its overrides (${OVERRIDES_ANNOTATION}) changed since it was read; not overwriting them`,
        {
          hint: 'run again: the next run reads them',
        },
      );
    }
    const outcome = planGatewayObject(planned.desired, fresh as typeof planned.desired | undefined, opts.adopt ?? false);
    if ('code' in outcome) throw new ConflictError(outcome.message);
    return outcome;
  }
  if (planned.type === 'unchanged') return planned;
  // A delete or a hand-over goes ahead only while the object is still there and still vsop's.
  return replanPlaceholder(planned, await port.getService(planned.namespace, planned.name));
}

/** The desired object again, from the fresh one's overrides; or as planned when they did not change. */
function desiredNow(planned: Exclude<VirtualServiceAction, { type: 'delete' }>, fresh: VirtualService | undefined, opts: ApplyOptions): VirtualService {
  const wanted = planned.desired ?? planned.after!;
  if (opts.desire && planned.service !== undefined) return opts.desire(planned.service, fresh) ?? wanted;
  const overrides = (vs: VirtualService | undefined) => vs?.metadata.annotations?.[OVERRIDES_ANNOTATION];
  if (overrides(fresh) !== overrides(planned.live)) {
    throw new ConflictError(`virtualservice ${planned.namespace}/${planned.name}: its overrides (${OVERRIDES_ANNOTATION}) changed since it was read; not overwriting them`, {
      hint: 'run again: the next run reads them',
    });
  }
  return wanted;
}

/** One write; the server's copy of what it stored comes back (nothing for a delete). */
async function write(action: Action, port: KubePort, opts: WriteOptions): Promise<KubeObject | undefined> {
  if (action.type === 'unchanged') return undefined;
  const pre = { uid: action.live?.metadata.uid as string | undefined, resourceVersion: action.live?.metadata.resourceVersion };
  if (action.kind === 'VirtualService') {
    if (action.type === 'create') return port.createVirtualService(action.after, opts);
    if (action.type === 'update') return port.replaceVirtualService(action.after, opts);
    await deleteIgnoringGone(() => port.deleteVirtualService(action.namespace, action.name, action.live.apiVersion, pre, opts));
    return undefined;
  }
  if (action.kind === 'HTTPRoute' || action.kind === 'ReferenceGrant') {
    if (action.type === 'create') return port.createObject(action.after, opts);
    if (action.type === 'update') return port.replaceObject(action.after, opts);
    await deleteIgnoringGone(() => port.deleteObject(action.kind, action.live.apiVersion, action.namespace, action.name, pre, opts));
    return undefined;
  }
  if (action.type === 'create') return port.createService(action.after, opts);
  if (action.type === 'update') return port.replaceService(action.after, opts);
  await deleteIgnoringGone(() => port.deleteService(action.namespace, action.name, pre, opts));
  return undefined;
}

async function deleteIgnoringGone(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
  }
}

/** Conflicts, throttling, server errors and dropped connections are worth another try; nothing else is. */
function retryable(err: unknown): boolean {
  if (err instanceof ApiError) return err.status === 409 || err.status === 429 || err.status >= 500;
  return err instanceof UnreachableError;
}

async function forEachLimit<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
