// Istio's own validation and xDS generation, through test/istio's
// istio-check binary (built once, cached by its recipe hash).

import { spawn } from 'node:child_process';
import { istioCheckBinary } from './build.ts';

export type ObjectReport = {
  source: string;
  index: number;
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  /** False for kinds that are neither Istio's nor the Gateway API's (e.g. Service): nothing was checked. */
  validated: boolean;
  errors: string[];
  warnings: string[];
  /** For a Gateway API route: the conditions Istio's gateway controller sets on it, per parent. */
  conditions?: RouteCondition[];
};

/** One status condition of a Gateway API route for one of its parents, as Istio sets it. */
export type RouteCondition = {
  /** "Kind/namespace/name" of the parentRef, with ":port" when it names one, e.g. "Service/prod/web:8080". */
  parent: string;
  /** "Accepted" (the parent takes the route) or "ResolvedRefs" (every backendRef can be used). */
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
};

export type ValidationResult = {
  /** Every error, prefixed with Kind/namespace/name. */
  errors: string[];
  warnings: string[];
  objects: ObjectReport[];
};

/**
 * Validates multi-document YAML as `istioctl validate` does; errors and warnings are kept apart.
 * Gateway API objects (standard channel) are checked as the apiserver checks a strict create
 * (unknown fields, schema, CEL rules); each route also gets the conditions Istio's gateway
 * controller sets on it, judged against the Services and Namespaces of the same YAML, which
 * stand for the whole cluster, and each False one is an error too (a route naming a Service
 * not in the YAML gets "BackendNotFound" or "NoMatchingParent").
 */
export async function validate(yaml: string): Promise<ValidationResult> {
  const { code, stdout, stderr } = await run(['validate'], yaml);
  if (code !== 0 && code !== 1) throw new Error(`istio-check validate failed (exit ${code}): ${stderr.trim()}`);
  const { objects } = JSON.parse(stdout) as { objects: ObjectReport[] };
  const label = (o: ObjectReport) => `${o.kind}/${o.namespace ?? ''}/${o.name ?? ''}`;
  return {
    errors: objects.flatMap((o) => o.errors.map((e) => `${label(o)}: ${e}`)),
    warnings: objects.flatMap((o) => o.warnings.map((w) => `${label(o)}: ${w}`)),
    objects,
  };
}

export type Call = {
  /** Host header (:authority) as the client sends it, e.g. "my-app" or "my-app.default.svc.cluster.local". */
  host: string;
  port: number;
  /** :method; default "GET". */
  method?: string;
  headers?: Record<string, string>;
  /** :path; default "/". May carry a query string ("/a?x=1"), which VirtualService queryParams match. */
  path?: string;
  /** Namespace of the calling sidecar; default "default". */
  from?: string;
};

export type CallResult = {
  call: Call;
  /** Envoy cluster of a single-destination route, e.g. outbound|80||my-app.dev-alice.svc.cluster.local; "" otherwise. */
  cluster: string;
  /** Set when the route splits traffic by weight. */
  weights?: { cluster: string; weight: number }[];
  action?: 'route' | 'redirect' | 'directResponse' | 'other';
  listener?: string;
  routeConfig?: string;
  virtualHost?: string;
  route?: string;
  /**
   * "namespace/name" of the VirtualService the route came from; absent for a Service's default route.
   * For a Gateway API route, the VirtualService Istio generated from it: "<ns>/<ns>~<host>", or
   * "<ns>/<ns>~<port>~<host>" for a parentRef with a port, where ns is the route's namespace.
   */
  virtualService?: string;
  /** "Kind/namespace/name" of the object the route came from: "VirtualService/default/my-app", "HTTPRoute/prod/web"; absent for a Service's default route. */
  config?: string;
  /** Clusters the route names that Istio generated none for (a port the Service lacks, no such Service): Envoy answers 503. */
  missingClusters?: string[];
  /** Why the call reached no route (e.g. "no route matched"). */
  error?: string;
};

export type SimulationInput = {
  /** Multi-document YAML of Services (other Kubernetes kinds allowed, not the Gateway API's); a Service without clusterIP gets one. */
  services: string;
  /**
   * Multi-document YAML of the routing config: VirtualServices (and other Istio config), which must
   * pass Istio's validation, and Gateway API objects (HTTPRoute v1, ReferenceGrant v1beta1, ...),
   * which must pass the standard CRDs' schema and CEL rules and are defaulted as the apiserver does.
   */
  virtualServices: string;
  calls: Call[];
};

/**
 * Builds the xDS config Istio would send a sidecar (its in-process fake
 * discovery server, as in Istio's own sidecar simulation tests) and reports,
 * for each call in order, which route and Envoy cluster it reaches. Every
 * attribute a VirtualService HTTPMatchRequest matches on is followed as Envoy
 * does (uri, headers, withoutHeaders, method, authority, scheme, queryParams,
 * port, gateways, sourceNamespace); see test/istio/match.go. VirtualServices
 * without metadata.creationTimestamp count as created now, in document order
 * (Istio prefers the older of two for one host); so do HTTPRoutes.
 *
 * HTTPRoutes are translated by Istio's own gateway controller, as istiod does
 * for sidecars (GAMMA): one whose parentRef is a Service (group "", kind
 * Service) routes that Service's traffic; see the README, Development, for
 * what Istio does with them. Throws if istio-check fails, e.g. on config
 * Istio's validation or the Gateway API CRDs refuse.
 */
export async function simulate(input: SimulationInput): Promise<CallResult[]> {
  const { code, stdout, stderr } = await run(['simulate'], JSON.stringify(input));
  if (code !== 0) throw new Error(`istio-check simulate failed (exit ${code}): ${stderr.trim().split('\n').slice(-20).join('\n')}`);
  return JSON.parse(stdout) as CallResult[];
}

/**
 * Many simulations in one istio-check process (`simulate-batch`): each input gets
 * a fake discovery server of its own, `parallel` at a time (default 2, the
 * cores of the development machine). Answers one CallResult array per input,
 * in order. A case Istio cannot simulate (invalid config, a failure inside the
 * fake server) does not stop the others: each of its calls carries `error`.
 * Measured on the 2-core machine: see README, Development.
 */
export async function simulateBatch(inputs: SimulationInput[], opts: { parallel?: number } = {}): Promise<CallResult[][]> {
  if (inputs.length === 0) return [];
  const args = ['simulate-batch', '-parallel', String(opts.parallel ?? 2)];
  const { code, stdout, stderr } = await run(args, JSON.stringify(inputs));
  if (code !== 0) throw new Error(`istio-check simulate-batch failed (exit ${code}): ${stderr.trim().split('\n').slice(-20).join('\n')}`);
  const results = JSON.parse(stdout) as CallResult[][];
  if (results.length !== inputs.length) throw new Error(`istio-check simulate-batch answered ${results.length} cases for ${inputs.length}`);
  return results;
}

/**
 * simulateBatch over any number of inputs, `chunk` per istio-check process (bounds its stdin and memory,
 * and lets progress show); answers in order, one CallResult array per input.
 */
export async function simulateChunked(inputs: SimulationInput[], chunk = 100): Promise<CallResult[][]> {
  const out: CallResult[][] = [];
  for (let at = 0; at < inputs.length; at += chunk) out.push(...(await simulateBatch(inputs.slice(at, at + chunk))));
  return out;
}

async function run(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const bin = await istioCheckBinary();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}
