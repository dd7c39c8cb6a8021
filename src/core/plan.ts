// The planner: desired VirtualServices against live ones → what to create, update, delete or leave.
// The same plan is printed by --diff and executed by apply. Each update is the three-way merge of
// render/merge.ts: what others set stays; objects without the managed label are never planned for change.

import { serviceHost } from './istio/hosts.ts';
import { bindsToMesh, hostIndex, namesHost, selectVirtualService } from './istio/select.ts';
import { sameObject, semanticEqual } from './normalize.ts';
import { foreignRoutes, foreignSpecFields, mergeVirtualService, sameGroup } from './render/merge.ts';
import {
  foreignPlaceholder,
  hasPlaceholderMarker,
  isManaged,
  isPlaceholder,
  OVERRIDES_ANNOTATION,
  placeholderScope,
  placeholderScopeOf,
  RENDERED_ANNOTATION,
  SERVICE_ANNOTATION,
} from './ownership.ts';
import type { HTTPRoute, ReferenceGrant } from './render/httproute.ts';
import type { Config, KubeObject, Service, VirtualService } from './types.ts';

export const PLAN_VERSION = 1;

export type ActionType = 'create' | 'update' | 'delete' | 'unchanged';

/**
 * What vsop writes: VirtualServices, and placeholder Services in developer namespaces; with routeKind
 * HTTPRoute, HTTPRoutes and ReferenceGrants instead of VirtualServices (gateway/plan.ts).
 */
export type ManagedKind = 'VirtualService' | 'Service' | 'HTTPRoute' | 'ReferenceGrant';

interface ActionOf<K extends ManagedKind> {
  kind: K;
  namespace: string;
  name: string;
  /** The production Service the object is for. */
  service: string | undefined;
  /** Why a delete happens. */
  reason?: string;
}

/**
 * What to do with one object of kind K (objects of type T), a union on `type`: `live` is the object as it
 * is now, `desired` what vsop wants before it is laid onto the live one, `after` the object to write.
 */
type ActionsOf<K extends ManagedKind, T extends KubeObject> =
  | (ActionOf<K> & { type: 'create'; live?: undefined; desired: T; after: T })
  // A placeholder's hand-over has no desired object: the markers come off whatever is there.
  | (ActionOf<K> & { type: 'update'; live: T; desired?: T; after: T })
  | (ActionOf<K> & { type: 'unchanged'; live?: T; desired?: T; after?: T })
  | (ActionOf<K> & { type: 'delete'; live: T; desired?: undefined; after?: undefined });

export type VirtualServiceAction = ActionsOf<'VirtualService', VirtualService>;
export type ServiceAction = ActionsOf<'Service', Service>;
export type HTTPRouteAction = ActionsOf<'HTTPRoute', HTTPRoute>;
export type ReferenceGrantAction = ActionsOf<'ReferenceGrant', ReferenceGrant>;
/** One planned change, narrowed by `kind` to its object type and by `type` to the objects it carries. */
export type Action = VirtualServiceAction | ServiceAction | HTTPRouteAction | ReferenceGrantAction;

/** foreign-placeholder: a Service with the placeholder marker that is not vsop's to write (ownership.ts placeholderScope). */
export type FindingCode = 'unmanaged-conflict' | 'host-overlap' | 'shadowed' | 'taken' | 'invalid-overrides' | 'foreign-placeholder' | 'foreign-routes-dropped';

export interface Finding {
  code: FindingCode;
  /** 'error' findings block the object; 'warning' ones only matter under --strict. */
  severity: 'error' | 'warning';
  namespace: string;
  name: string;
  message: string;
  /** The production Service the object is for, where it matters to the user's next step. */
  service?: string;
  /** The object's kind, when it is not a VirtualService (an HTTPRoute or ReferenceGrant). */
  objectKind?: string;
  /** shadowed, host-overlap: the other VirtualService (namespace/name). */
  other?: string;
  /** shadowed: the namespaces whose requests it takes. */
  callers?: string[];
}

export interface Plan {
  version: typeof PLAN_VERSION;
  actions: Action[];
  findings: Finding[];
}

export interface PlanOptions {
  /** The production namespace: managed objects there that nothing renders any more are deleted. */
  defaultNamespace: string;
  /** Limit the plan to these production Services (sync SERVICE...). */
  services?: readonly string[];
  /** Take over a same-named VirtualService that lacks the managed label (keeping its routes). */
  adopt?: boolean;
  /** Namespaces requests come from, for which Istio's choice of VirtualService is checked (default: production). */
  callers?: readonly string[];
  /** The ports of a production Service, on which Istio's choice is checked. */
  ports?: (service: string) => readonly number[] | undefined;
  /** Objects (namespace/name) that must not be written, and why: their overrides cannot be read. */
  blocked?: ReadonlyMap<string, { service: string; message: string }>;
  /**
   * The production Services and the kind of object vsop routes them with (config routeKind): a managed
   * VirtualService of a Service still in production goes because the kind changed, not because the Service
   * went, and its delete says so.
   */
  routing?: { kind: 'VirtualService' | 'HTTPRoute'; services: ReadonlySet<string> };
  /**
   * Production Services whose objects could not be rendered (resolve's `refused`, for status, trace and
   * clear): their objects are neither written nor deleted, as if out of scope.
   */
  skip?: ReadonlySet<string>;
}

export function plan(desired: readonly VirtualService[], live: readonly VirtualService[], opts: PlanOptions): Plan {
  const only = scopeOf(opts);
  const liveKeys = live.map(key);
  const liveByKey = new Map(live.map((vs, i) => [liveKeys[i]!, vs]));
  const actions: Action[] = [];
  const findings: Finding[] = [];
  const desiredKeys = new Set<string>();
  const planned: VirtualService[] = [];

  for (const want of desired) {
    const service = want.metadata.annotations?.[SERVICE_ANNOTATION];
    if (only && (service === undefined || !only.has(service))) continue;
    const k = key(want);
    desiredKeys.add(k);
    // Istio's choice is judged on the object as it will stand: merged with the live one (foreign routes
    // count), keeping its creation time (istio/select.ts); one not written stays as it is.
    const have = liveByKey.get(k);
    const blocked = opts.blocked?.get(k);
    if (blocked && have) planned.push(have);
    if (blocked) {
      findings.push(blockedFinding(want, blocked));
      continue;
    }
    const outcome = planVirtualService(want, have, opts.adopt ?? false);
    if ('code' in outcome) findings.push(outcome);
    else {
      actions.push(outcome);
      planned.push(outcome.after ?? want);
    }
  }

  // An object is never its own overlap, and objects about to go cannot overlap: index only the others.
  const others: VirtualService[] = [];
  live.forEach((have, i) => {
    if (desiredKeys.has(liveKeys[i]!)) return;
    const service = have.metadata.annotations?.[SERVICE_ANNOTATION];
    const goes = isManaged(have) && have.metadata.namespace === opts.defaultNamespace && !(only && (service === undefined || !only.has(service)));
    if (!goes) {
      others.push(have);
      return;
    }
    actions.push({
      type: 'delete',
      kind: 'VirtualService',
      namespace: have.metadata.namespace!,
      name: have.metadata.name,
      service,
      live: have,
      reason: deleteReason(service, 'VirtualService', opts.defaultNamespace, opts.routing),
    });
    const dropped = droppedRoutesFinding(have, service, opts);
    if (dropped) findings.push(dropped);
  });

  findings.push(...hostFindings(planned, others, opts));
  sortByKey(actions);
  sortFindings(findings);
  return { version: PLAN_VERSION, actions, findings };
}

/**
 * The Services whose objects a plan may change (`services` without `skip`; every production Service but
 * `skip`'s when `services` is not given and `skip` is), or undefined for every object.
 */
export function scopeOf(opts: Pick<PlanOptions, 'services' | 'skip' | 'routing'>): Set<string> | undefined {
  const skip = opts.skip;
  if (!skip || skip.size === 0) return opts.services ? new Set(opts.services) : undefined;
  return new Set([...(opts.services ?? opts.routing?.services ?? [])].filter((s) => !skip.has(s)));
}

/**
 * foreign-routes-dropped: a managed VirtualService that a switch to routeKind HTTPRoute deletes holds
 * routes someone else put there (render/merge.ts foreignRoutes), or top-level spec fields (gateways, tcp,
 * tls, exportTo, …: merge.ts foreignSpecFields), which merging kept in VirtualService mode and which no
 * HTTPRoute of vsop's carries (vsop's HTTPRoutes hold its own rules and the template's, and an Istio route
 * has no faithful HTTPRoute form in general). A warning naming them, so the user can move them to Gateway
 * API routes of their own first; under --strict it stops the sync.
 */
function droppedRoutesFinding(have: VirtualService, service: string | undefined, opts: PlanOptions): Finding | undefined {
  if (service === undefined || opts.routing?.kind !== 'HTTPRoute' || !opts.routing.services.has(service)) return undefined;
  const foreign = foreignRoutes(have);
  const fields = foreignSpecFields(have);
  if (foreign.length === 0 && fields.length === 0) return undefined;
  const names = foreign.map((r) => (typeof r.name === 'string' ? JSON.stringify(r.name) : `an unnamed route (http[${(have.spec.http ?? []).indexOf(r)}])`)).slice(0, 10);
  const parts = [
    ...(foreign.length ? [`${foreign.length} route${foreign.length === 1 ? '' : 's'} vsop did not render (${names.join(', ')}${foreign.length > 10 ? ', …' : ''})`] : []),
    ...(fields.length ? [`field${fields.length === 1 ? '' : 's'} vsop did not render (${fields.map((f) => `spec.${f}`).join(', ')})`] : []),
  ];
  const one = foreign.length + fields.length === 1;
  const where = fields.length
    ? `Gateway API routes of your own (an HTTPRoute attached to Service ${have.metadata.namespace}/${service}; ${FIELD_REMEDY})`
    : `an HTTPRoute of your own attached to Service ${have.metadata.namespace}/${service}`;
  return {
    code: 'foreign-routes-dropped',
    severity: 'warning',
    namespace: have.metadata.namespace!,
    name: have.metadata.name,
    objectKind: 'VirtualService',
    service,
    message: `virtualservice ${have.metadata.namespace}/${have.metadata.name} holds ${parts.join(' and ')}: deleting it for routeKind HTTPRoute drops ${one ? 'it' : 'them'}, and vsop's HTTPRoute does not carry ${one ? 'it' : 'them'}; put ${one ? 'it' : 'them'} in ${where} before you sync`,
  };
}

/** Where the routing of a VirtualService's other fields goes in the Gateway API (standard channel and experimental). */
const FIELD_REMEDY =
  "spec.gateways: a route whose parentRef is the Gateway; spec.tcp and spec.tls: a TCPRoute or TLSRoute; spec.exportTo: none for a route in the Service's namespace, which applies to every caller; consumer routes in the callers' namespaces";

/**
 * Why a managed object (a VirtualService, or an HTTPRoute of gateway/plan.ts) nothing renders is deleted:
 * its Service left production, the route kind changed (routeKind, `routing`), or the template renders
 * another name for it.
 */
export function deleteReason(service: string | undefined, kind: 'VirtualService' | 'HTTPRoute', production: string, routing: PlanOptions['routing']): string {
  if (service === undefined) return 'no production Service renders this name any more';
  if (routing && routing.kind !== kind && routing.services.has(service))
    return `routeKind is ${routing.kind}: vsop routes ${production}/${service} with ${routing.kind}s now, which replace this ${kind}`;
  // Without `routing` (clear, older callers): a VirtualService's Service is taken as gone, an HTTPRoute's name as no longer rendered.
  if (routing ? !routing.services.has(service) : kind === 'VirtualService') return `production Service ${production}/${service} is gone`;
  return `vsop renders no ${kind} of this name for ${production}/${service}`;
}

/**
 * One VirtualService: what to do with `have` to bring it in line with `want`, or why it cannot be.
 * apply calls this again with a fresh read when its write meets a conflict.
 */
export function planVirtualService(want: VirtualService, have: VirtualService | undefined, adopt: boolean): VirtualServiceAction | Finding {
  const base = {
    kind: 'VirtualService' as const,
    namespace: want.metadata.namespace!,
    name: want.metadata.name,
    service: want.metadata.annotations?.[SERVICE_ANNOTATION],
    desired: want,
  };
  if (!have) return { type: 'create', ...base, after: want };
  if (!isManaged(have) && !adopt) {
    return {
      code: 'unmanaged-conflict',
      severity: 'error',
      namespace: base.namespace,
      name: base.name,
      message: `virtualservice ${key(want)} exists without the label managed-by=virtualservice-operator; vsop leaves it alone (use --adopt to take it over, keeping its routes)`,
    };
  }
  if (alreadyInLine(want, have)) return { type: 'unchanged', ...base, live: have, after: have };
  const after = mergeVirtualService(want, have);
  return { type: sameObject(after, have) ? 'unchanged' : 'update', ...base, live: have, after };
}

/**
 * The common case, decided without building the merged object: the live spec is exactly the desired one
 * (so it holds no foreign or stale route or field), the live labels and annotations include vsop's, and
 * the record of what was rendered is the same (so no label or annotation is stale).
 */
function alreadyInLine(want: VirtualService, have: VirtualService): boolean {
  const includes = (mine: Record<string, string> | undefined, theirs: Record<string, string> | undefined) => {
    for (const k in mine) if (theirs?.[k] !== mine[k]) return false;
    return true;
  };
  return (
    want.kind === have.kind &&
    sameGroup(want.apiVersion, have.apiVersion) &&
    want.metadata.annotations?.[OVERRIDES_ANNOTATION] === have.metadata.annotations?.[OVERRIDES_ANNOTATION] &&
    want.metadata.annotations?.[RENDERED_ANNOTATION] === have.metadata.annotations?.[RENDERED_ANNOTATION] &&
    includes(want.metadata.labels, have.metadata.labels) &&
    includes(want.metadata.annotations, have.metadata.annotations) &&
    semanticEqual(want.spec, have.spec)
  );
}

/** The finding for an object that is not written because its overrides cannot be read. */
export function blockedFinding(want: KubeObject, blocked: { service: string; message: string }): Finding {
  return {
    code: 'invalid-overrides',
    severity: 'error',
    namespace: want.metadata.namespace!,
    name: want.metadata.name,
    message: blocked.message,
    service: blocked.service,
    ...(want.kind !== 'VirtualService' ? { objectKind: want.kind } : {}),
  };
}

/** True when applying the plan would write something. */
export function hasChanges(p: Plan): boolean {
  return p.actions.some((a) => a.type !== 'unchanged');
}

/**
 * clear --purge --all, the emergency cleanup: every managed VirtualService of the production namespace and
 * every placeholder vsop may write (placeholderScope) goes; a placeholder a developer has made real is no
 * longer one, and stays; a Service with the marker outside the scope stays, with a warning.
 */
export function planPurge(live: readonly VirtualService[], services: readonly Service[], config: Config): Plan {
  const defaultNamespace = config.defaultNamespace;
  const actions: Action[] = [];
  const findings: Finding[] = [];
  for (const vs of live) {
    if (!isManaged(vs) || vs.metadata.namespace !== defaultNamespace) continue;
    const service = vs.metadata.annotations?.[SERVICE_ANNOTATION];
    actions.push({ type: 'delete', kind: 'VirtualService', namespace: defaultNamespace, name: vs.metadata.name, service, live: vs, reason: 'clear --purge' });
  }
  const scope = placeholderScopeOf(config, services);
  for (const svc of services) {
    if (!hasPlaceholderMarker(svc)) continue;
    const verdict = placeholderScope(scope, svc);
    if (!verdict.writable) findings.push(foreignPlaceholder(svc, verdict.reason));
    else if (isPlaceholder(svc)) {
      actions.push({
        type: 'delete',
        kind: 'Service',
        namespace: svc.metadata.namespace!,
        name: svc.metadata.name,
        service: svc.metadata.name,
        live: svc,
        reason: 'clear --purge',
      });
    }
  }
  sortByKey(actions);
  sortFindings(findings);
  return { version: PLAN_VERSION, actions, findings };
}

/**
 * Istio applies one VirtualService per host to sidecar traffic and ignores the others (IST0109). For each
 * VirtualService vsop writes, and each namespace requests come from (production and developer
 * namespaces), the one Istio would use is worked out by its own rules (istio/select.ts: mesh binding,
 * exportTo, creation time): another one winning is `shadowed` (vsop's routes do nothing there); another
 * one that also binds the host to the mesh but loses is `host-overlap`. Gateway-only ones are no concern.
 */
function hostFindings(desired: readonly VirtualService[], others: readonly VirtualService[], opts: PlanOptions): Finding[] {
  const { defaultNamespace } = opts;
  const callers = opts.callers ?? [defaultNamespace];
  const findings: Finding[] = [];
  // Indexed by host, so each Service looks at the few that name it (wildcards are few).
  const candidates = hostIndex(others.filter(bindsToMesh));
  for (const want of desired) {
    const service = want.metadata.annotations?.[SERVICE_ANNOTATION];
    if (service === undefined || !bindsToMesh(want)) continue;
    const fqdn = serviceHost(service, defaultNamespace);
    const rivals = candidates(fqdn).filter((vs) => namesHost(vs, fqdn));
    if (rivals.length === 0) continue;
    const shadowedBy = new Map<string, string[]>();
    for (const from of callers) {
      const winner = shadowingWinner([want, ...rivals], want, fqdn, from, opts.ports?.(service));
      if (winner) shadowedBy.set(key(winner), [...(shadowedBy.get(key(winner)) ?? []), from]);
    }
    const base = { severity: 'warning' as const, namespace: want.metadata.namespace!, name: want.metadata.name, service };
    for (const [other, from] of shadowedBy) {
      findings.push({
        ...base,
        code: 'shadowed',
        other,
        callers: from,
        message: `virtualservice ${other} also routes host ${fqdn} and Istio uses it instead of this one for requests from namespace${from.length > 1 ? 's' : ''} ${from.join(', ')} (one VirtualService per host for sidecars: an exact host before a wildcard, the caller's own namespace's first, then the oldest); vsop cannot change that: take the host out of ${other}, narrow its exportTo or gateways, or delete it`,
      });
    }
    for (const vs of rivals) {
      if (shadowedBy.has(key(vs))) continue;
      findings.push({
        ...base,
        code: 'host-overlap',
        other: key(vs),
        message: `virtualservice ${key(vs)} also routes host ${fqdn} for sidecars; Istio uses only one VirtualService per host (IST0109) and ignores ${key(vs)} where this one applies`,
      });
    }
  }
  return findings;
}

/**
 * The VirtualService other than `ours` that Istio uses for the host from `from`, on any of the Service's
 * ports (or, without them, on any port ours names and one it does not).
 */
function shadowingWinner(
  candidates: readonly VirtualService[],
  ours: VirtualService,
  fqdn: string,
  from: string,
  servicePorts: readonly number[] | undefined,
): VirtualService | undefined {
  const ports = new Set<number>(servicePorts ?? [0]);
  if (!servicePorts) for (const r of ours.spec.http ?? []) for (const m of r.match ?? []) if (typeof m.port === 'number') ports.add(m.port);
  for (const port of ports) {
    const winner = selectVirtualService(candidates, fqdn, port, from).winner?.virtualService;
    if (winner && winner !== ours) return winner;
  }
  return undefined;
}

function key(vs: { metadata: { namespace?: string; name: string } }): string {
  return `${vs.metadata.namespace ?? ''}/${vs.metadata.name}`;
}

/** Sorts in place by namespace/name, computing each key once; the usual already-sorted list costs one pass. */
export function sortByKey(actions: Action[]): void {
  const keys = new Map(actions.map((a) => [a, `${a.namespace}/${a.name}`]));
  if (actions.every((a, i) => i === 0 || keys.get(actions[i - 1]!)! <= keys.get(a)!)) return;
  actions.sort((a, b) => {
    const ka = keys.get(a)!;
    const kb = keys.get(b)!;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
}

/** Findings in their printed order: by object (namespace/name), then code. Sorts in place. */
export function sortFindings(findings: Finding[]): void {
  findings.sort((a, b) => compareKeys(a, b) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
}

function compareKeys(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  const ka = `${a.namespace}/${a.name}`;
  const kb = `${b.namespace}/${b.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
