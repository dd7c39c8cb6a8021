// vsop sync: read → resolve → plan, then print the plan (--diff, --dry-run=client) or apply it
// (--dry-run=server sends the writes with dryRun). route and clear run the same pipeline (plan-run.ts)
// with their change to the overrides.

import type { Io } from './io.ts';
import { type PlanOptions, runPlan } from './plan-run.ts';

export type SyncOptions = PlanOptions;

export async function sync(io: Io, services: string[], opts: SyncOptions): Promise<number> {
  return runPlan(io, opts, { services });
}
