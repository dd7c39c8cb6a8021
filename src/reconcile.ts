// reconcileOnce = read → resolve → plan. Every command that looks at routing (render, sync, status, watch,
// route and clear) goes through here, whether the state comes from files or from a cluster. The overrides
// recorded by hand are read from the live VirtualServices here, changed here by the route commands, and
// rendered by the same resolver as everything else.

import { loadConfig, type LoadedConfig } from './core/config.ts';
import type { OverrideContext, OverrideEdit } from './core/edit.ts';
import type { ConfigText } from './core/inventory.ts';
import { type InvalidOverrides, invalidMessage, NO_OVERRIDES, readOverrides, type LiveOverrides, type Overrides } from './core/overrides.ts';
import { isManaged, OVERRIDES_ANNOTATION, placeholderScopeOf, SERVICE_ANNOTATION } from './core/ownership.ts';
import { planPlaceholders } from './core/placeholders.ts';
import { takenFindings } from './core/status.ts';
import { PLAN_VERSION, plan, planPurge, scopeOf, sortByKey, sortFindings, type Plan } from './core/plan.ts';
import { resolve, type Resolution } from './core/resolve.ts';
import { renderTemplate } from './core/template.ts';
import type { World } from './core/istio/trace.ts';
import type { EndpointSlice, KubeObject, Service, VirtualService } from './core/types.ts';
import { ConfigError, InputError, NotFoundError, type Problem } from './errors.ts';
import { planGateway } from './core/gateway/plan.ts';
import type { HTTPRoute, ReferenceGrant } from './core/render/httproute.ts';

/** What vsop reads, from wherever it comes (src/inputs.ts declares it for a cluster). */
export interface Snapshot {
  config: ConfigText;
  services: Service[];
  /**
   * The VirtualServices of every namespace read (any can shadow vsop's for a host); vsop writes only the
   * managed ones of the production namespace.
   */
  virtualServices: VirtualService[];
  /**
   * routeKind HTTPRoute: the HTTPRoutes of every namespace read (each one attached to a production Service
   * takes part in its routing); VirtualService mode too (vsop's own are deleted after a switch back, and
   * Istio applies any attached to a production Service before its VirtualService). Absent: none.
   */
  httpRoutes?: HTTPRoute[];
  /** vsop's ReferenceGrants, and (routeKind HTTPRoute) every grant of the developer namespaces. Absent: none. */
  referenceGrants?: ReferenceGrant[];
  /** discovery.k8s.io/v1 EndpointSlices, read only for the xDS server (`vsop xds`). */
  endpointSlices?: EndpointSlice[];
  /** What the read could not see, and what that costs (a right missing: read narrower, not failed). */
  warnings?: Problem[];
}

export interface StateSource {
  read(): Promise<Snapshot>;
}

export interface ReconcileOptions {
  /** Limit to these production Services. */
  services?: readonly string[];
  adopt?: boolean;
  /** Also work out, per Service and namespace, how requests are routed (for status). */
  routing?: boolean;
  /** A named Service that is not (or no longer) in production is not an error: its objects go (watch). */
  allowGone?: boolean;
  /** The snapshot's config, already parsed and checked (watch keeps it between reconciles). */
  loaded?: LoadedConfig;
  /** A change to the overrides of every Service in scope (route add, rm, reset; clear). */
  edit?: OverrideEdit;
  /** clear --purge --all: plan the deletion of every managed VirtualService and placeholder instead. */
  purge?: boolean;
  /** render: only the resolution is wanted (the plan stays empty). */
  renderOnly?: boolean;
  /**
   * With renderOnly: Services that cannot be rendered are left out of the resolution (their problems stay
   * in resolution.problems) instead of failing the call, so watch's grants, planned from every Service,
   * are not held back by one Service's refusal (its own reconcile reports it).
   */
  keepRefused?: boolean;
  /**
   * Services that cannot be rendered (resolution.problems: an HTTPRoute over the CRD's limits, say) are
   * left alone, neither written nor deleted, instead of failing the call; the others are planned (status,
   * trace and clear, which report them: resolution.problems and resolution.refused).
   */
  refusedApart?: boolean;
}

export interface Reconciled {
  loaded: LoadedConfig;
  resolution: Resolution;
  plan: Plan;
  snapshot: Snapshot;
  warnings: Problem[];
  /**
   * Managed objects whose overrides annotation cannot be read, one per object (renderOnly too). Their
   * Services are rendered without those overrides; sync and watch leave such an object alone (a finding,
   * invalid-overrides), `vsop render` leaves the Service out, and `vsop xds` holds the routing it served for
   * the Service (its endpoints kept current), or, with nothing served yet, serves it without the overrides.
   */
  unreadable: InvalidOverrides[];
  /**
   * What vsop wants for one Service's VirtualService, given a fresh read of it: the conflict retry's
   * re-plan (ApplyOptions.desire). It takes the overrides from the fresh object and applies the command's
   * edit again, so nobody's concurrent change to them is lost.
   */
  desire(service: string, fresh: VirtualService | undefined): VirtualService | undefined;
}

export async function reconcileOnce(source: StateSource, opts: ReconcileOptions = {}): Promise<Reconciled> {
  const snapshot = await source.read();
  return planSnapshot(snapshot, opts);
}

/** The pure half of reconcileOnce, for callers that already hold a snapshot. */
export function planSnapshot(read: Snapshot, opts: ReconcileOptions = {}): Reconciled {
  // A VirtualService without a spec mapping is stored by an apiserver with no Istio webhook (the CRD does
  // not require one); Istio reads it as routing nothing, and so does vsop. (Files are schema-checked.)
  const bare = (vs: VirtualService) => vs.spec === null || typeof vs.spec !== 'object' || Array.isArray(vs.spec);
  const snapshot = read.virtualServices.some(bare) ? { ...read, virtualServices: read.virtualServices.map((vs) => (bare(vs) ? { ...vs, spec: {} } : vs)) } : read;
  const loaded = opts.loaded ?? loadConfig(snapshot.config.text, snapshot.config.source, snapshot.config.locate);
  const { config, template } = loaded;
  const nameFor = (service: string) => renderTemplate(template, { serviceName: service, defaultNamespace: config.defaultNamespace }).metadata.name;
  const live = liveOverrides(snapshot, loaded, nameFor);
  const overrides = overridesOf(live, opts);
  const resolution = resolve(config, template, snapshot.services, { routing: opts.routing ?? false, overrides });
  // A command scoped to Services (sync SERVICE, route, render SERVICE) refuses only for a Service in its
  // scope: another one that cannot be rendered is left alone, as out of scope (its own command says why).
  const refusedHere = resolution.problems.filter((p) => inScope(opts, p.service));
  if (refusedHere.length > 0 && !(opts.renderOnly && opts.keepRefused) && !opts.refusedApart) throw new ConfigError(`cannot render valid ${template.kind}s`, refusedHere);
  if (opts.services && !opts.allowGone) {
    const known = new Set(resolution.services);
    const unknown = opts.services.filter((s) => !known.has(s));
    if (unknown.length > 0) {
      const ns = loaded.config.defaultNamespace;
      throw new NotFoundError(`${unknown.map((s) => `service ${ns}/${s}`).join(', ')} not found among the production Services`, {
        hint: known.size ? `production Services: ${[...known].slice(0, 20).join(', ')}${known.size > 20 ? ', …' : ''}` : `namespace ${ns} has no Services`,
      });
    }
  }
  if (opts.renderOnly) {
    const empty: Plan = { version: PLAN_VERSION, actions: [], findings: [] };
    const desire = () => undefined;
    const warnings = [...(snapshot.warnings ?? []), ...loaded.warnings, ...resolution.warnings.filter((w) => inScope(opts, w.service))];
    return { loaded, resolution, plan: empty, snapshot, warnings, unreadable: [...live.invalid.values()], desire };
  }
  const httpRouteMode = config.routeKind === 'HTTPRoute';
  // An annotation that cannot be read blocks its object alone, unless the command replaces it whole.
  const replaced = opts.edit && !opts.edit.readsCurrent;
  const blocked = new Map([...live.invalid].filter(([, i]) => !(replaced && inScope(opts, i.service))).map(([k, i]) => [k, { service: i.service, message: invalidMessage(i) }]));
  let portsOf: Map<string, number[]> | undefined;
  const routing = { kind: config.routeKind, services: new Set(resolution.services) };
  const skip = new Set(resolution.refused);
  const p = opts.purge
    ? planPurge(snapshot.virtualServices, snapshot.services, config)
    : plan(resolution.virtualServices, snapshot.virtualServices, {
        defaultNamespace: config.defaultNamespace,
        callers: [config.defaultNamespace, ...config.developerNamespaces.map((d) => d.name)],
        ports: (service) => (portsOf ??= new Map(resolution.tables.map((t) => [t.service, t.ports]))).get(service),
        ...(opts.services ? { services: opts.services } : {}),
        ...(opts.adopt ? { adopt: true } : {}),
        ...(blocked.size ? { blocked } : {}),
        ...(skip.size ? { skip } : {}),
        routing,
      });
  if (opts.purge) {
    // clear --purge --all: vsop's HTTPRoutes and ReferenceGrants go too, whichever routeKind is in force.
    const none = { httpRoutes: [], referenceGrants: [] };
    const live = { httpRoutes: snapshot.httpRoutes ?? [], referenceGrants: snapshot.referenceGrants ?? [] };
    const gateway = planGateway(none, live, { defaultNamespace: config.defaultNamespace });
    if (gateway.actions.length > 0) {
      p.actions.push(...gateway.actions);
      sortByKey(p.actions);
    }
  } else {
    // The Gateway API objects: those the resolution renders (routeKind HTTPRoute), else vsop's own go (a
    // switch back); the managed VirtualServices went the same way in plan() above, which rendered none.
    const gateway = planGateway(
      { httpRoutes: resolution.httpRoutes, referenceGrants: resolution.referenceGrants },
      { httpRoutes: snapshot.httpRoutes ?? [], referenceGrants: snapshot.referenceGrants ?? [] },
      {
        defaultNamespace: config.defaultNamespace,
        ...(opts.services ? { services: opts.services } : {}),
        ...(opts.adopt ? { adopt: true } : {}),
        ...(httpRouteMode && blocked.size ? { blocked } : {}),
        ...(skip.size ? { skip } : {}),
        routing,
      },
    );
    // Every Service with the marker, in any namespace read: those outside vsop's scope are reported.
    const scope = placeholderScopeOf(config, snapshot.services);
    const placeholders = planPlaceholders(resolution.placeholders, snapshot.services, scope, scopeOf({ ...(opts.services ? { services: opts.services } : {}), skip, routing }));
    p.actions.push(...gateway.actions, ...placeholders.actions);
    if (gateway.actions.length > 0) sortByKey(p.actions);
    // Foreign routes that take header requests (Why 2 of the routing-truth issue): vsop cannot move them, so it says so.
    const taken = takenFindings({
      defaultNamespace: config.defaultNamespace,
      tables: resolution.tables,
      virtualServices: resolution.virtualServices,
      ...(httpRouteMode ? { httpRoutes: resolution.httpRoutes } : {}),
      world: worldAfter({ plan: p, snapshot }),
      callers: [config.defaultNamespace, ...config.developerNamespaces.map((d) => d.name)],
    });
    // Judged on the whole world, said only for the Services in scope (sync SERVICE, status SERVICE).
    const takenHere = taken.filter((f) => inScope(opts, f.service));
    if (takenHere.length > 0 || placeholders.findings.length > 0 || gateway.findings.length > 0) {
      p.findings.push(...gateway.findings, ...placeholders.findings, ...takenHere);
      sortFindings(p.findings);
    }
  }
  const desire = (service: string, fresh: VirtualService | undefined): VirtualService | undefined => {
    const again = readOverrides(fresh && isManaged(fresh) ? [fresh] : [], config.defaultNamespace, nameFor);
    if (again.invalid.size > 0 && !replaced)
      throw new InputError(
        'invalid overrides',
        [...again.invalid.values()].map((i) => i.problem),
      );
    const services = snapshot.services.filter((s) => s.metadata.name === service);
    return resolve(config, template, services, { overrides: overridesOf(again, opts) }).virtualServices[0];
  };
  const warnings = [...(snapshot.warnings ?? []), ...loaded.warnings, ...resolution.warnings.filter((w) => inScope(opts, w.service))];
  return { loaded, resolution, plan: p, snapshot, warnings, unreadable: [...live.invalid.values()], desire };
}

/**
 * The overrides recorded by hand, per production Service: on the managed objects of the kind in force
 * (VirtualServices, or HTTPRoutes), and, for a Service that has no managed object of that kind yet, on its
 * managed object of the other kind, so that switching routeKind carries them over to the objects that
 * replace it.
 */
function liveOverrides(snapshot: Snapshot, loaded: LoadedConfig, nameFor: (service: string) => string): LiveOverrides {
  const prod = loaded.config.defaultNamespace;
  const routes = snapshot.httpRoutes ?? [];
  if (routes.length === 0 && loaded.config.routeKind !== 'HTTPRoute') return readOverrides(snapshot.virtualServices, prod, nameFor);
  const [primary, secondary] = loaded.config.routeKind === 'HTTPRoute' ? [routes, snapshot.virtualServices] : [snapshot.virtualServices, routes];
  const own = readOverrides(primary, prod, nameFor);
  const carried = readOverrides(secondary, prod, () => '');
  const served = new Set(primary.filter((o) => isManaged(o) && o.metadata.namespace === prod).map((o) => o.metadata.annotations?.[SERVICE_ANNOTATION]));
  for (const [service, overrides] of carried.byService) if (!served.has(service)) own.byService.set(service, overrides);
  return own;
}

/** Whether the command's scope (opts.services) takes in this Service; what is about no Service always is. */
function inScope(opts: ReconcileOptions, service: string | undefined): boolean {
  return !opts.services || service === undefined || opts.services.includes(service);
}

/** Each Service's overrides as recorded, with the command's edit applied to those in scope. */
function overridesOf(live: LiveOverrides, opts: ReconcileOptions): (service: string, ctx: OverrideContext) => Overrides | undefined {
  return (service, ctx) => {
    const current = live.byService.get(service);
    const edit = opts.edit;
    if (!edit || !inScope(opts, service)) return current;
    if (edit.readsCurrent) {
      const invalid = [...live.invalid.values()].filter((i) => i.service === service);
      if (invalid.length > 0) {
        throw new InputError(
          `cannot change the overrides of service ${ctx.config.defaultNamespace}/${service}`,
          invalid.map((i) => i.problem),
          {
            hint: `fix the annotation ${OVERRIDES_ANNOTATION} (kubectl edit), or drop every override with: vsop route reset ${service}`,
          },
        );
      }
    }
    return edit.apply(current ?? NO_OVERRIDES, ctx);
  };
}

/**
 * The objects as they would be after the plan is applied (`vsop sync`): live objects with each planned
 * create, update and delete done. What trace and status ask Istio's rules about.
 */
export function worldAfter(r: Pick<Reconciled, 'plan' | 'snapshot'>): World {
  const k = (o: KubeObject) => `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`;
  const changes = new Map(r.plan.actions.filter((a) => a.type !== 'unchanged').map((a) => [`${a.kind}/${a.namespace}/${a.name}`, a]));
  const apply = <T extends KubeObject>(live: readonly T[], kind: string): T[] => {
    const out: T[] = [];
    for (const o of live) {
      const a = changes.get(k(o));
      if (!a) out.push(o);
      else if (a.type === 'update') out.push(a.after as unknown as T);
    }
    for (const a of changes.values()) if (a.kind === kind && a.type === 'create') out.push(a.after as unknown as T);
    return out;
  };
  return {
    services: apply(r.snapshot.services, 'Service'),
    virtualServices: apply(r.snapshot.virtualServices, 'VirtualService'),
    httpRoutes: apply(r.snapshot.httpRoutes ?? [], 'HTTPRoute'),
  };
}
