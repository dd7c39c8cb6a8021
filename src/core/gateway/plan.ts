// The plan for the Gateway API objects vsop writes (routeKind HTTPRoute): HTTPRoutes in the production
// namespace and ReferenceGrants in developer namespaces, desired against live → create, update, delete or
// leave. Like VirtualServices (plan.ts): only objects with the managed label are changed or deleted; one
// of vsop's name without the label is a finding and stays (unless --adopt). Each update is the three-way
// merge of render/merge.ts (mergeOwned), laid onto the live object after the CRD's defaults are filled into
// what vsop wants (gateway/defaults.ts), so that a route stored as vsop wrote it plans nothing.

import { sameObject } from '../normalize.ts';
import { isManaged, SERVICE_ANNOTATION } from '../ownership.ts';
import { blockedFinding, deleteReason, type Finding, type HTTPRouteAction, type PlanOptions, type ReferenceGrantAction, scopeOf } from '../plan.ts';
import type { HTTPRoute, ReferenceGrant } from '../render/httproute.ts';
import { mergeOwned } from '../render/merge.ts';
import type { KubeObject } from '../types.ts';
import { httpRouteSpecWithDefaults } from './defaults.ts';
import { isGrantName, scopedGrants } from './grants.ts';

export { grantName } from './grants.ts';

export type GatewayAction = HTTPRouteAction | ReferenceGrantAction;

export interface GatewayObjects {
  httpRoutes: readonly HTTPRoute[];
  referenceGrants: readonly ReferenceGrant[];
}

export interface GatewayPlanOptions {
  /** The production namespace: vsop's HTTPRoutes live there, its grants are named after it. */
  defaultNamespace: string;
  /** Limit the HTTPRoutes to these production Services, and the grants to their entries (gateway/grants.ts scopedGrants). */
  services?: readonly string[];
  /** Take over an object of vsop's name that lacks the managed label. */
  adopt?: boolean;
  /** HTTPRoutes (namespace/name) that must not be written, and why: their overrides cannot be read. */
  blocked?: ReadonlyMap<string, { service: string; message: string }>;
  /** The production Services and the kind vsop routes them with (plan.ts PlanOptions.routing): a delete's reason. */
  routing?: PlanOptions['routing'];
  /** Services whose objects are neither written nor deleted, their grant entries kept (plan.ts PlanOptions.skip). */
  skip?: PlanOptions['skip'];
}

/**
 * Actions and findings for the Gateway API objects. `desired` is the resolution's (empty in VirtualService
 * mode, so vsop's own are deleted after a switch back); `live` what was read. Deleted are managed HTTPRoutes
 * of the production namespace that nothing renders (within `services`), and managed ReferenceGrants of
 * vsop's names for this production namespace (any bucket, gateway/buckets.ts), in any namespace, that nothing needs.
 */
export function planGateway(desired: GatewayObjects, live: GatewayObjects, opts: GatewayPlanOptions): { actions: GatewayAction[]; findings: Finding[] } {
  const only = scopeOf(opts);
  const inScope = (o: KubeObject) => {
    const service = o.metadata.annotations?.[SERVICE_ANNOTATION];
    return !only || (service !== undefined && only.has(service));
  };
  const actions: GatewayAction[] = [];
  const findings: Finding[] = [];
  const routes = planKind(desired.httpRoutes.filter(inScope), live.httpRoutes, (have) => have.metadata.namespace === opts.defaultNamespace && inScope(have), opts);
  // sync SERVICE: the grants change only by the entries of the Services in scope.
  const grantsWanted = only ? scopedGrants(desired.httpRoutes.filter(inScope), live.referenceGrants, opts.defaultNamespace, only) : desired.referenceGrants;
  const grants = planKind(grantsWanted, live.referenceGrants, (have) => isGrantName(opts.defaultNamespace, have.metadata.name), { ...opts, blocked: undefined });
  actions.push(...(routes.actions as HTTPRouteAction[]), ...(grants.actions as ReferenceGrantAction[]));
  findings.push(...routes.findings, ...grants.findings);
  return { actions, findings };
}

/** One kind: each desired object against the live one of its name; managed live ones `mayDelete` allows and nothing wants go. */
function planKind<T extends ReferenceGrant>(
  desired: readonly T[],
  live: readonly T[],
  mayDelete: (have: T) => boolean,
  opts: GatewayPlanOptions,
): { actions: GatewayAction[]; findings: Finding[] } {
  const liveByKey = new Map(live.map((o) => [key(o), o]));
  const wanted = new Set<string>();
  const actions: GatewayAction[] = [];
  const findings: Finding[] = [];
  for (const want of desired) {
    const k = key(want);
    wanted.add(k);
    const blocked = opts.blocked?.get(k);
    if (blocked) {
      findings.push(blockedFinding(want, blocked));
      continue;
    }
    const outcome = planGatewayObject(want, liveByKey.get(k), opts.adopt ?? false);
    if ('code' in outcome) findings.push(outcome);
    else actions.push(outcome);
  }
  for (const have of live) {
    if (wanted.has(key(have)) || !isManaged(have) || !mayDelete(have)) continue;
    const service = have.metadata.annotations?.[SERVICE_ANNOTATION];
    actions.push({
      type: 'delete',
      kind: have.kind as 'HTTPRoute',
      namespace: have.metadata.namespace!,
      name: have.metadata.name,
      service,
      live: have as unknown as HTTPRoute,
      reason: have.kind === 'ReferenceGrant' ? 'no HTTPRoute of vsop sends to this namespace any more' : deleteReason(service, 'HTTPRoute', opts.defaultNamespace, opts.routing),
    });
  }
  return { actions, findings };
}

/**
 * One HTTPRoute or ReferenceGrant: what to do with `have` to bring it in line with `want`, or why it
 * cannot be. apply calls this again with a fresh read when its write meets a conflict.
 */
export function planGatewayObject<T extends ReferenceGrant>(want: T, have: T | undefined, adopt: boolean): GatewayAction | Finding {
  const base = {
    kind: want.kind as 'HTTPRoute',
    namespace: want.metadata.namespace!,
    name: want.metadata.name,
    service: want.metadata.annotations?.[SERVICE_ANNOTATION],
    desired: want as unknown as HTTPRoute,
  };
  if (!have) return { type: 'create', ...base, after: base.desired };
  if (!isManaged(have) && !adopt) {
    return {
      code: 'unmanaged-conflict',
      severity: 'error',
      namespace: base.namespace,
      name: base.name,
      objectKind: want.kind,
      message: `${want.kind.toLowerCase()} ${key(want)} exists without the label managed-by=virtualservice-operator; vsop leaves it alone (use --adopt to take it over)`,
    };
  }
  const stored = want.kind === 'HTTPRoute' ? { ...want, spec: httpRouteSpecWithDefaults(want.spec) } : want;
  const after = mergeOwned(stored, have) as unknown as HTTPRoute;
  const live = have as unknown as HTTPRoute;
  return sameObject(after, live) ? { type: 'unchanged', ...base, live, after: live } : { type: 'update', ...base, live, after };
}

function key(o: KubeObject): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}
