// vsop clear: production-only routing for some Services or all (istiops "clear"), recorded as an override
// so that sync and watch keep it; `clear --purge --all` instead deletes every managed VirtualService and
// placeholder Service, the emergency cleanup, after a confirmation.

import { clearRoutes } from '../core/edit.ts';
import type { Plan } from '../core/plan.ts';
import { UsageError } from '../errors.ts';
import type { KubePort } from '../k8s/port.ts';
import type { Io } from './io.ts';
import { type PlanOptions, runPlan } from './plan-run.ts';

export interface ClearOptions extends PlanOptions {
  all?: boolean;
  purge?: boolean;
  yes?: boolean;
}

export async function clear(io: Io, services: string[], opts: ClearOptions): Promise<number> {
  if (opts.all && services.length > 0) throw new UsageError('name Services or pass --all, not both');
  if (!opts.all && services.length === 0) throw new UsageError('name the Services to clear, or pass --all for every one');
  if (opts.purge && !opts.all) throw new UsageError('--purge deletes everything vsop made, so it goes with --all', { hint: 'vsop clear --purge --all' });
  // A Service that cannot be rendered does not hold the others back: they are cleared, then exit 3 names it.
  if (!opts.purge) return runPlan(io, opts, { services, reconcile: { edit: clearRoutes, refusedApart: true }, checkFirst: true });

  const writes = !opts.diff && opts.dryRun === 'none' && !opts.filename?.length;
  if (writes && !opts.yes && !(io.stdinIsTTY && io.prompt)) {
    throw new UsageError(
      'clear --purge --all deletes everything vsop made (its VirtualServices, HTTPRoutes, ReferenceGrants and placeholder Services), and there is no terminal to confirm on',
      {
        hint: 'pass --yes to go ahead; see first what goes with --diff',
      },
    );
  }
  return runPlan(io, opts, { services, reconcile: { purge: true }, checkFirst: true, ...(opts.yes ? {} : { confirm: (plan, port) => confirm(io, plan, port) }) });
}

async function confirm(io: Io, plan: Plan, port: KubePort): Promise<void> {
  const deletes = plan.actions.filter((a) => a.type === 'delete');
  if (deletes.length === 0) return;
  const count = (kind: string, label: string) => {
    const n = deletes.filter((a) => a.kind === kind).length;
    return `${n} ${label}${n === 1 ? '' : 's'}`;
  };
  const gateway = deletes.some((a) => a.kind === 'HTTPRoute' || a.kind === 'ReferenceGrant')
    ? `, ${count('HTTPRoute', 'HTTPRoute')}, ${count('ReferenceGrant', 'ReferenceGrant')}`
    : '';
  for (const a of deletes) io.err(`  ${a.kind.toLowerCase()} ${a.namespace}/${a.name}\n`);
  const question = `Delete these ${count('VirtualService', 'VirtualService')}${gateway} and ${count('Service', 'placeholder Service')} from ${port.server}? Every request then reaches production, and every override is lost. [y/N] `;
  const answer = await io.prompt!(question);
  if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('not confirmed: nothing was deleted');
}
