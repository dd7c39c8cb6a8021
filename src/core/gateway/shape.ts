// The shape of an HTTPRoute template as far as vsop reads it, checked before anything is rendered from
// it. Sources: the Gateway API v1.3.0 standard channel (sigs.k8s.io/gateway-api apis/v1/httproute_types.go
// and shared_types.go: ParentReference, BackendRef, HTTPHeaderMatch; the CRD's CEL rule "Must have port
// for Service reference" is met by vsop, which adds the ports), and GAMMA (GEP-1426: a route whose parent
// is a Service applies to that Service's mesh traffic).

import { regexProblem } from '../istio/regex.ts';

export interface ShapeProblem {
  path: string;
  message: string;
}

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Why a header condition cannot be an HTTPRoute header match, or undefined when it can: HTTPHeaderMatch's
 * types are Exact and RegularExpression only, so a prefix has none. route add refuses it (edit.ts); one
 * recorded before (in routeKind VirtualService) is kept but not in force (routing/table.ts). `h`: a
 * HeaderCondition (overrides.ts; its type is not imported, as overrides.ts reaches this file).
 */
export function httpRouteHeaderProblem(h: { match: string; value: string }): string | undefined {
  if (h.match === 'prefix') return `the Gateway API has no prefix match for headers (only Exact and RegularExpression): use --match regex with "${regexPrefix(h.value)}"`;
  return undefined;
}

/** An RE2 pattern matching every value that starts with `prefix`. */
function regexPrefix(prefix: string): string {
  return `${prefix.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')}.*`;
}

/**
 * A reference (parentRef or backendRef) to the production Service: core group, kind Service (the
 * default for a backendRef, not for a parentRef, whose defaults are the Gateway's), its name, and no
 * other namespace.
 */
export function refersToService(ref: Record<string, unknown>, service: string, namespace: string, defaults: 'parent' | 'backend'): boolean {
  const group = ref.group ?? (defaults === 'backend' ? '' : 'gateway.networking.k8s.io');
  const kind = ref.kind ?? (defaults === 'backend' ? 'Service' : 'Gateway');
  return group === '' && kind === 'Service' && ref.name === service && (ref.namespace === undefined || ref.namespace === namespace);
}

/** The rule with the Service's port on each backendRef to production that names none (the CRD requires one). */
export function withPort<R extends { backendRefs?: Record<string, unknown>[] }>(r: R, service: string, namespace: string, port: number | undefined): R {
  // A template's rule may hold anything here (checked after this): only mappings are given a port.
  if (!Array.isArray(r.backendRefs) || port === undefined) return r;
  return { ...r, backendRefs: r.backendRefs.map((b) => (isMap(b) && b.port === undefined && refersToService(b, service, namespace, 'backend') ? { ...b, port } : b)) };
}

/**
 * Every problem of an HTTPRoute template's spec, each with its path under spec. The template's parent
 * must be exactly the production Service (`${serviceName}`, no port: vsop adds one per port), and at least
 * one rule must send to it: developer rules stand in for those rules.
 */
export function httpRouteSpecProblems(spec: Record<string, unknown>): ShapeProblem[] {
  const out: ShapeProblem[] = [];
  const problem = (path: string, message: string) => out.push({ path: `spec${path}`, message });
  const SERVICE = '${serviceName}';
  const NS = '${defaultNamespace}';
  const parents = spec.parentRefs;
  const parentHint =
    'exactly one parentRef, the production Service: {group: "", kind: Service, name: ${serviceName}} (vsop adds the port); routes for other parents belong in an HTTPRoute of their own';
  if (!Array.isArray(parents) || parents.length !== 1 || !isMap(parents[0])) problem('.parentRefs', `must hold ${parentHint}`);
  else {
    const p = parents[0];
    if (!refersToService(p, SERVICE, NS, 'parent')) problem('.parentRefs[0]', `${JSON.stringify(p)} is not the production Service: use ${parentHint}`);
    else if (p.port !== undefined || p.sectionName !== undefined)
      problem('.parentRefs[0]', 'must not set port or sectionName: vsop renders one route per port of the Service, each with its port');
  }
  if (spec.hostnames !== undefined) problem('.hostnames', 'has no meaning for a route whose parent is a Service (GAMMA); leave it out');
  const rules = spec.rules;
  if (!Array.isArray(rules) || rules.length === 0) {
    problem('.rules', 'must be a list of rules, one of them sending to the production Service');
    return out;
  }
  let toProduction = false;
  rules.forEach((r: unknown, i: number) => {
    const at = `.rules[${i}]`;
    if (!isMap(r)) return problem(at, 'must be a mapping');
    if (r.name !== undefined)
      problem(`${at}.name`, 'is not part of the Gateway API standard channel (v1.3.0), and the apiserver refuses it with strict field validation; leave it out');
    if (r.matches !== undefined) {
      if (!Array.isArray(r.matches)) problem(`${at}.matches`, 'must be a list of matches');
      else
        r.matches.forEach((m: unknown, j: number) => {
          if (!isMap(m)) return problem(`${at}.matches[${j}]`, 'must be a mapping');
          if (m.headers === undefined) return;
          if (!Array.isArray(m.headers)) return problem(`${at}.matches[${j}].headers`, 'must be a list of header matches');
          m.headers.forEach((h: unknown, k: number) => {
            const hp = `${at}.matches[${j}].headers[${k}]`;
            if (!isMap(h) || typeof h.name !== 'string' || typeof h.value !== 'string') return problem(hp, 'must have a name and a value');
            const type = h.type ?? 'Exact';
            if (type !== 'Exact' && type !== 'RegularExpression') problem(`${hp}.type`, `${JSON.stringify(type)} must be Exact or RegularExpression`);
            // Istio reads RegularExpression as RE2 (pilot/pkg/config/kube/gateway conversion.go createHeadersMatch).
            if (type === 'RegularExpression' && !h.value.includes('${')) {
              const why = regexProblem(h.value);
              if (why) problem(`${hp}.value`, `${JSON.stringify(h.value)} ${why}`);
            }
          });
        });
    }
    const refs = r.backendRefs;
    if (refs === undefined) return;
    if (!Array.isArray(refs)) return problem(`${at}.backendRefs`, 'must be a list of backendRefs');
    refs.forEach((b: unknown, j: number) => {
      if (!isMap(b) || typeof b.name !== 'string' || b.name === '') return problem(`${at}.backendRefs[${j}].name`, 'is required (the Service to send to)');
      if (refersToService(b, SERVICE, NS, 'backend')) toProduction = true;
    });
  });
  if (!toProduction) problem('.rules', 'has no rule sending to the production Service (a backendRef named ${serviceName}): developer routes stand in for such rules');
  return out;
}
