// The routing decision, apart from any output format: configuration + the Services that exist + the
// overrides recorded by hand → per production Service, an ordered list of rules (conditions, origin,
// port scope, backend) and the weights that split what no rule catches. Renderers (VirtualService today)
// turn a table into objects; status and trace read it. Nothing here knows an Istio object's shape.

import type { Problem } from '../../errors.ts';
import { httpRouteHeaderProblem } from '../gateway/shape.ts';
import { type HeaderCondition, isEmpty, type Overrides, routeIds } from '../overrides.ts';
import { devRouteName, headerRouteName, OVERRIDES_ANNOTATION } from '../ownership.ts';
import type { Config, DeveloperNamespace, Service } from '../types.ts';
import { destinationPort, distinctPorts, reaches, routablePorts } from './ports.ts';

/** Where a rule sends requests: the Service of the same name in `namespace`. */
export interface Backend {
  namespace: string;
  /** The destination port, named when the production Service has several ports; Istio's default otherwise. */
  port?: number;
}

export interface RoutingRule {
  /** The route's name in every output, unique within the Service (vsop-dev-…, vsop-route-…). */
  name: string;
  origin: 'automatic' | 'hand';
  /** The developer namespace the rule is for. */
  namespace: string;
  /** Every one must hold (AND). */
  headers: readonly HeaderCondition[];
  /** Only requests to this port of the production Service; every port without it. */
  port?: number;
  backend: Backend;
}

/** A share, in percent, of the requests no rule catches, sent to a developer namespace's copy. */
export interface WeightShare {
  namespace: string;
  percent: number;
}

/** Where the routing header would lead, from the Services alone. */
export type CopyState =
  | { state: 'route'; target: string } // its own copy
  | { state: 'fallback'; target: string } // an ancestor's copy (parent chain)
  | { state: 'missing' }; // production serves it

/** How one developer namespace is served for one production Service. */
export type RouteState =
  | CopyState
  | { state: 'removed' } // production serves it: `route rm` took the automatic route away
  | { state: 'cleared' }; // production serves it: `clear` took every automatic route away

/** What was added by hand for one namespace, as rendered. */
export interface NamespaceOverrides {
  /** Header routes recorded for the namespace. */
  headerRoutes: number;
  /** The recorded share of requests without a matching header, in percent. */
  weight?: number;
  /** Recorded, but not rendered until the namespace has a real copy of the Service (see the warnings). */
  waiting?: true;
  /** Header routes recorded but not in force: the route kind in use cannot express them (see NotRendered). */
  notRendered?: NotRendered[];
}

/**
 * A header route recorded by hand that the route kind in force cannot express (routeKind HTTPRoute: a
 * prefix header match, which the Gateway API lacks), so no output renders it: it is kept in the overrides,
 * as recorded (a switch back to routeKind VirtualService renders it again), but routes nothing.
 */
export interface NotRendered {
  /** The route's name (vsop-route-…), as the other outputs would name it. */
  route: string;
  namespace: string;
  headers: readonly HeaderCondition[];
  /** The production Service's port it was recorded for; every port without it. */
  port?: number;
  /** Why it is not rendered, for people. */
  reason: string;
}

export interface NamespaceRouting {
  namespace: string;
  placeholder: boolean;
  /** For the Service as a whole: the first port's state that routes anywhere (see byPort). */
  route: RouteState;
  /** Per port, when the Service has several and they are not routed alike (a copy lacking a port). */
  byPort?: { port: number; route: CopyState }[];
  overrides?: NamespaceOverrides;
}

export interface RoutingTable {
  /** The production Service's name. */
  service: string;
  production: Service;
  /** The production Service's ports. */
  ports: number[];
  /** In precedence order: header routes by hand (in the order added), then automatic ones (config order). */
  rules: RoutingRule[];
  /** Shares of what no rule catches, in config order; production keeps the rest. */
  weights: WeightShare[];
  /** The overrides as recorded (non-empty), or undefined. */
  overrides: Overrides | undefined;
  /** Per developer namespace, in config order: status's view (only when asked for, DecideInput.view). */
  namespaces: NamespaceRouting[];
  /** Where a placeholder Service should lead, per developer namespace lacking a real copy (enablePlaceholderServices). */
  placeholderTargets: { namespace: string; target: string }[];
  /** Header routes recorded by hand that the route kind in force cannot express: kept, not in force. */
  notRendered: NotRendered[];
  /** Recorded overrides that cannot be rendered now. */
  warnings: Problem[];
}

/** Real Services indexed by name, then namespace; placeholders kept apart, as they never count. */
export interface ServiceIndex {
  real: Map<string, Map<string, Service>>;
  placeholders: Map<string, Set<string>>;
}

/** What the decision for one production Service needs besides its own Service. */
export interface DecideInput {
  config: Config;
  production: Service;
  /** Real copies of the Service (placeholders excluded), by namespace, production included. */
  copies: ReadonlyMap<string, Service>;
  /** Developer namespaces where only a placeholder stands in. */
  placeholders: ReadonlySet<string>;
  overrides: Overrides | undefined;
  /** Where warnings about the overrides point (the managed VirtualService). */
  source: string;
  /** Also fill in `namespaces`, status's per-namespace view. */
  view?: boolean;
}

const MISSING: CopyState = Object.freeze({ state: 'missing' });
const REMOVED: RouteState = Object.freeze({ state: 'removed' });
const CLEARED: RouteState = Object.freeze({ state: 'cleared' });

/**
 * One production Service's routing table. Rules for a port reach a copy only where Istio would deliver
 * them to a port the copy serves (ports.ts `reaches`), so what is decided is what Istio does; a
 * namespace without such a copy falls back along its parent chain, then to production.
 */
export function decide(input: DecideInput): RoutingTable {
  const { config, production, copies, overrides: o } = input;
  const service = production.metadata.name;
  const ports = distinctPorts(production);
  const active = o && !isEmpty(o) ? o : undefined;
  const hand = active ? handRules(active, input, ports) : undefined;
  const rules: RoutingRule[] = hand ? [...hand.rules] : [];
  const namespaces: NamespaceRouting[] = [];
  const placeholderTargets: RoutingTable['placeholderTargets'] = [];
  const devs = config.developerNamespaces;
  const parents = parentIndexes(devs);
  // One rule for a single-port Service (Istio takes the port called); one per port otherwise.
  const scopes: (number | undefined)[] = ports.length <= 1 ? [undefined] : ports;
  const nearest = scopes.map((port) => nearestCopy(devs, parents, copies, port ?? ports[0], port));
  for (let d = 0; d < devs.length; d++) {
    const dev = devs[d]!;
    const off = o !== undefined && (o.cleared || o.removed.includes(dev.name));
    let state: CopyState = MISSING;
    const perPort: CopyState[] | undefined = input.view && scopes.length > 1 ? [] : undefined;
    for (const [i, port] of scopes.entries()) {
      const at = nearest[i]!(d);
      const s: CopyState = at < 0 ? MISSING : at === d ? { state: 'route', target: dev.name } : { state: 'fallback', target: devs[at]!.name };
      perPort?.push(s);
      if (s.state === 'missing') continue;
      if (state === MISSING) state = s;
      if (off) continue;
      rules.push(
        port === undefined
          ? { name: devRouteName(dev.name), origin: 'automatic', namespace: dev.name, headers: routingCondition(config, dev), backend: { namespace: s.target } }
          : { name: devRouteName(dev.name, port), origin: 'automatic', namespace: dev.name, headers: routingCondition(config, dev), port, backend: { namespace: s.target, port } },
      );
    }
    if (input.view) {
      const route = off ? (o!.cleared ? CLEARED : REMOVED) : state;
      const overrides = hand?.byNamespace.get(dev.name);
      const same = (a: CopyState, b: CopyState) => a.state === b.state && (a.state === 'missing' || a.target === (b as { target: string }).target);
      const byPort = !off && perPort && perPort.some((x) => !same(x, perPort[0]!)) ? ports.map((port, i) => ({ port, route: perPort[i]! })) : undefined;
      namespaces.push({ namespace: dev.name, placeholder: input.placeholders.has(dev.name), route, ...(byPort ? { byPort } : {}), ...(overrides ? { overrides } : {}) });
    }
    if (config.enablePlaceholderServices && state.state !== 'route' && !copies.has(dev.name)) {
      // A placeholder leads where the namespace's header leads: production, once its route is taken away.
      placeholderTargets.push({ namespace: dev.name, target: state.state === 'fallback' && !off ? state.target : config.defaultNamespace });
    }
  }
  return {
    service,
    production,
    ports,
    rules,
    weights: hand?.weights ?? [],
    overrides: active,
    namespaces,
    placeholderTargets,
    notRendered: hand?.notRendered ?? [],
    warnings: hand?.warnings ?? [],
  };
}

const parentCache = new WeakMap<readonly DeveloperNamespace[], Int32Array>();

/** Each namespace's parent, as an index into `devs` (-1: none), worked out once per configuration. */
function parentIndexes(devs: readonly DeveloperNamespace[]): Int32Array {
  let parents = parentCache.get(devs);
  if (!parents) {
    const index = new Map(devs.map((d, i) => [d.name, i]));
    parents = Int32Array.from(devs, (d) => (d.parent === undefined ? -1 : (index.get(d.parent) ?? -1)));
    parentCache.set(devs, parents);
  }
  return parents;
}

/**
 * For one Service and port: the index of the nearest namespace along each namespace's fallback chain (the
 * namespace itself, its parent, its parent's parent…) holding a real copy that serves the port (see
 * ports.ts), or -1. Each namespace's answer is worked out once and shared by the namespaces below it, so
 * the cost is linear in the number of namespaces however deep the chains (a loop, which the configuration
 * refuses, ends the walk).
 */
function nearestCopy(
  devs: readonly DeveloperNamespace[],
  parents: Int32Array,
  copies: ReadonlyMap<string, Service>,
  listenerPort: number | undefined,
  explicit: number | undefined,
): (d: number) => number {
  const UNKNOWN = -2;
  const memo = new Int32Array(devs.length).fill(UNKNOWN);
  const path: number[] = [];
  return (d) => {
    let found = -1;
    path.length = 0;
    for (let cur = d; cur >= 0 && path.length <= devs.length; cur = parents[cur]!) {
      if (memo[cur] !== UNKNOWN) {
        found = memo[cur]!;
        break;
      }
      path.push(cur);
      const svc = copies.get(devs[cur]!.name);
      if (svc && (listenerPort === undefined || serves(svc, destinationPort(listenerPort, explicit)))) {
        found = cur;
        break;
      }
    }
    for (const p of path) memo[p] = found;
    return found;
  };
}

const conditions = new WeakMap<DeveloperNamespace, readonly HeaderCondition[]>();

/**
 * The routing header's condition for a developer namespace: one frozen list per namespace, shared by the
 * rules of every Service (10,000 Services render 10,000 fewer objects per namespace), which also lets the
 * renderer share what it derives from it.
 */
function routingCondition(config: Config, dev: DeveloperNamespace): readonly HeaderCondition[] {
  let c = conditions.get(dev);
  if (!c || c[0]!.name !== config.routingHeader) {
    c = Object.freeze([Object.freeze({ name: config.routingHeader, value: dev.headerValue, match: 'exact' as const })]);
    conditions.set(dev, c);
  }
  return c;
}

/** Whether a route can reach `port` on a copy: ports.ts routablePorts, without building the list. */
function serves(svc: Service, port: number): boolean {
  const ports = svc.spec?.ports;
  if (ports) for (const p of ports) if (p.port === port && p.protocol !== 'UDP') return true;
  return false;
}

interface HandRules {
  rules: RoutingRule[];
  weights: WeightShare[];
  notRendered: NotRendered[];
  byNamespace: Map<string, NamespaceOverrides>;
  warnings: Problem[];
}

/**
 * The header routes and weights recorded by hand, for the namespaces that can take them: a configured
 * developer namespace with a real copy of the Service that serves the port (the same rule as automatic
 * routes), or any namespace the user forced. The rest stay recorded and are reported, so that a deleted
 * copy never turns a share of production traffic into errors, and routes come back when the copy does.
 */
function handRules(o: Overrides, input: DecideInput, ports: number[]): HandRules {
  const { config, copies, source } = input;
  const service = input.production.metadata.name;
  const out: HandRules = { rules: [], weights: [], notRendered: [], byNamespace: new Map(), warnings: [] };
  const warn = (message: string) => out.warnings.push({ source, path: `annotation ${OVERRIDES_ANNOTATION}`, message });
  const configured = new Set(config.developerNamespaces.map((d) => d.name));
  const note = (ns: string) => {
    let n = out.byNamespace.get(ns);
    if (!n) out.byNamespace.set(ns, (n = { headerRoutes: 0 }));
    return n;
  };
  const reset = (ns: string) => `vsop route reset ${service} -n ${ns}`;
  const waiting = new Set<string>();
  const wait = (ns: string, message: string) => {
    note(ns).waiting = true;
    if (!waiting.has(message)) warn(message), waiting.add(message);
  };
  const absent = (ns: string) => `routes to ${ns} wait for service ${ns}/${service}, which does not exist (or is only a placeholder)`;
  const ids = routeIds(o.routes);
  for (const [i, r] of o.routes.entries()) {
    const n = ids[i]!;
    if (!configured.has(r.namespace)) {
      warn(`header route ${headerRouteName(r.namespace, n)} is not rendered: "${r.namespace}" is not a developer namespace in the configuration (${reset(r.namespace)} drops it)`);
      continue;
    }
    note(r.namespace).headerRoutes++;
    if (r.port !== undefined && !ports.includes(r.port)) {
      warn(`header route ${headerRouteName(r.namespace, n)} is not rendered: service ${config.defaultNamespace}/${service} has no port ${r.port}`);
      continue;
    }
    // What the route kind cannot express is not in force, whatever the copies: kept, reported, never routed.
    const why = config.routeKind === 'HTTPRoute' ? r.headers.map(httpRouteHeaderProblem).find((p) => p !== undefined) : undefined;
    if (why) {
      const route = headerRouteName(r.namespace, n);
      const left: NotRendered = { route, namespace: r.namespace, headers: r.headers, ...(r.port !== undefined ? { port: r.port } : {}), reason: why };
      out.notRendered.push(left);
      const ns = note(r.namespace);
      ns.notRendered = [...(ns.notRendered ?? []), left];
      warn(`header route ${route} is recorded but not in force: ${why} (${reset(r.namespace)} drops it)`);
      continue;
    }
    const copy = copies.get(r.namespace);
    if (!copy && !r.force) {
      wait(r.namespace, absent(r.namespace));
      continue;
    }
    // Per port when the route names one or the Service has several; else one rule, Istio picks the port.
    const perPort = r.port !== undefined || ports.length > 1;
    const scopes = perPort ? (r.port !== undefined ? [r.port] : ports) : [undefined];
    const copyPorts = copy ? routablePorts(copy) : [];
    const reachable = r.force ? scopes : scopes.filter((p) => reaches(copyPorts, p ?? ports[0] ?? 0, p));
    if (reachable.length === 0) {
      const wanted = scopes.map((p) => destinationPort(p ?? ports[0] ?? 0, p));
      wait(r.namespace, `header route ${headerRouteName(r.namespace, n)} waits for service ${r.namespace}/${service} to have port ${wanted.join(', ')}`);
      continue;
    }
    for (const port of reachable) {
      out.rules.push({
        name: headerRouteName(r.namespace, n, r.port === undefined ? port : undefined),
        origin: 'hand',
        namespace: r.namespace,
        headers: r.headers,
        ...(port !== undefined ? { port } : {}),
        backend: { namespace: r.namespace, ...(port !== undefined ? { port } : {}) },
      });
    }
  }
  for (const w of o.weights) {
    if (!configured.has(w.namespace)) {
      warn(`the weight of ${w.namespace} is not rendered: it is not a developer namespace in the configuration (${reset(w.namespace)} drops it)`);
      continue;
    }
    note(w.namespace).weight = w.percent;
    const copy = copies.get(w.namespace);
    const copyPorts = copy ? routablePorts(copy) : [];
    // A weight sends a share of every port's requests, keeping the production destination's port.
    if (!w.force && (!copy || ports.some((p) => !reaches(copyPorts, p, ports.length > 1 ? p : undefined)))) {
      wait(
        w.namespace,
        copy ? `the weight of ${w.namespace} waits for service ${w.namespace}/${service} to have every port of ${config.defaultNamespace}/${service}` : absent(w.namespace),
      );
      continue;
    }
    if (w.percent > 0) out.weights.push({ namespace: w.namespace, percent: w.percent });
  }
  const order = new Map(config.developerNamespaces.map((d, i) => [d.name, i]));
  out.weights.sort((a, b) => order.get(a.namespace)! - order.get(b.namespace)!);
  return out;
}
