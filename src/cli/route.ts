// vsop route add | rm | reset: routing by hand. The change is recorded in the Service's managed
// VirtualService (annotation vsop.io/overrides) and planned and applied exactly as `vsop sync SERVICE`
// is, so --diff, --dry-run, -o json and the conflict retry behave the same; later syncs keep it.

import { addRoute, removeRoutes, resetOverrides } from '../core/edit.ts';
import { headerNameProblem } from '../core/names.ts';
import { headerConditionProblem, type HeaderCondition, type MatchType } from '../core/overrides.ts';
import { UsageError } from '../errors.ts';
import type { Io } from './io.ts';
import { type PlanOptions, runPlan } from './plan-run.ts';

export interface RouteAddOptions extends PlanOptions {
  namespace: string;
  header?: string[];
  match?: MatchType;
  weight?: number;
  port?: number;
  force?: boolean;
}

export async function add(io: Io, service: string, opts: RouteAddOptions): Promise<number> {
  const texts = opts.header ?? [];
  if (texts.length === 0 && opts.weight === undefined) {
    throw new UsageError('route add needs --header NAME=VALUE, --weight PERCENT, or both', { hint: `vsop route add ${service} -n ${opts.namespace} --header x-cid=alice` });
  }
  if (texts.length === 0 && opts.match !== undefined) throw new UsageError('--match says how --header values match: give --header too');
  if (texts.length === 0 && opts.port !== undefined) throw new UsageError('--port limits header routes to one port: give --header too (a weight splits every port)');
  const headers = texts.map((t) => parseHeader(t, opts.match ?? 'exact'));
  const seen = new Set<string>();
  for (const h of headers) {
    if (seen.has(h.name)) throw new UsageError(`--header ${h.name} is given twice; a route matches each header once (all of them must match)`);
    seen.add(h.name);
  }
  const edit = addRoute({
    namespace: opts.namespace,
    headers,
    ...(opts.port !== undefined ? { port: opts.port } : {}),
    ...(opts.weight !== undefined ? { weight: opts.weight } : {}),
    ...(opts.force ? { force: true } : {}),
  });
  return runPlan(io, opts, { services: [service], reconcile: { edit }, checkFirst: true });
}

export async function rm(io: Io, service: string, opts: PlanOptions & { namespace: string }): Promise<number> {
  return runPlan(io, opts, { services: [service], reconcile: { edit: removeRoutes(opts.namespace) }, checkFirst: true });
}

export async function reset(io: Io, service: string, opts: PlanOptions & { namespace?: string }): Promise<number> {
  return runPlan(io, opts, { services: [service], reconcile: { edit: resetOverrides(opts.namespace) }, checkFirst: true });
}

/** --header NAME=VALUE, checked as Istio would check it. */
export function parseHeader(text: string, match: MatchType): HeaderCondition {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`--header ${JSON.stringify(text)}: expected NAME=VALUE, such as x-cid=alice`);
  const name = text.slice(0, at);
  const value = text.slice(at + 1);
  const nameProblem = headerNameProblem(name);
  if (nameProblem) throw new UsageError(`--header ${JSON.stringify(text)}: header name ${JSON.stringify(name)} ${nameProblem}`);
  const condition = { name, value, match };
  const valueProblem = headerConditionProblem(condition);
  if (valueProblem) throw new UsageError(`--header ${JSON.stringify(text)}: value ${JSON.stringify(value)} ${valueProblem}`);
  return condition;
}
