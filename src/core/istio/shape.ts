// A VirtualService spec checked before anything is decided from it: the template's (exit 3) and those
// read from files (exit 4; in a cluster the CRD schema and Istio's webhook keep such objects out). Types,
// required fields, unknown fields and durations are the CRD schema's (../schema/, the same schema the
// apiserver applies); what is left here are Istio's webhook rules the schema does not express, from istio
// pkg/config/validation/virtualservice (validateHTTPRoute: "http, tcp or tls must be provided", a
// destination needs a host; validateStringMatchRegexp: RE2; the hosts, hosts.ts) and validation.go
// (exportTo "~").

import { pathText, virtualServiceSpecSchemaProblems } from '../schema/validate.ts';
import { hostsOverlap, virtualServiceHostProblem } from './hosts.ts';
import { regexProblem } from './regex.ts';

export interface ShapeProblem {
  path: string;
  message: string;
}

type Spec = {
  hosts?: string[];
  gateways?: string[];
  exportTo?: string[];
  http?: Route[];
  tcp?: unknown[];
  tls?: unknown[];
};
type Route = { match?: Record<string, unknown>[]; route?: { destination: { host: string } }[]; redirect?: unknown; directResponse?: unknown; delegate?: unknown };
type StringMatch = { exact?: string; prefix?: string; regex?: string };

/**
 * Every problem of `spec` (a template's), each with its path under spec (e.g.
 * "spec.http[1].route[0].destination.host"): the CRD schema's, then Istio's rules.
 * `requireRoutes`: also refuse a spec without http, tcp or tls routes (what vsop renders must have them).
 */
export function virtualServiceSpecProblems(spec: Record<string, unknown>, requireRoutes = false): ShapeProblem[] {
  const schema = virtualServiceSpecSchemaProblems(spec);
  if (schema.length > 0) return schema.map((p) => ({ path: pathText(p.path), message: p.message }));
  return istioRuleProblems(spec, requireRoutes);
}

/** Istio's rules alone, for a spec the CRD schema already accepted (an object read from a file). */
export function istioRuleProblems(value: Record<string, unknown> | undefined, requireRoutes = false): ShapeProblem[] {
  // No spec at all (a VirtualService the apiserver stored without one, a template cut short): Istio reads {}.
  const spec = (value ?? {}) as Spec;
  const out: ShapeProblem[] = [];
  const problem = (path: string, message: string) => out.push({ path: `spec${path}`, message });
  // A VirtualService bound to the mesh: no gateways, or "mesh" among them (validation.go isGateway).
  const boundToMesh = spec.gateways === undefined || spec.gateways.length === 0 || spec.gateways.includes('mesh');
  const hosts = spec.hosts ?? [];
  let hostsValid = true;
  hosts.forEach((h, i) => {
    // A template's variables are filled in later; the template is checked rendered too (template.ts).
    if (h.includes('${')) return;
    const why = h === '' ? 'is empty (a host name, or a wildcard such as *.example.com)' : virtualServiceHostProblem(h, boundToMesh);
    if (why !== undefined) {
      hostsValid = false;
      problem(`.hosts[${i}]`, why); // Istio's words name the host
    }
  });
  if (hostsValid) {
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i + 1; j < hosts.length; j++) {
        if (!hosts[i]!.includes('${') && !hosts[j]!.includes('${') && hostsOverlap(hosts[i]!, hosts[j]!))
          problem(`.hosts[${j}]`, `duplicate hosts in virtual service: ${hosts[i]} & ${hosts[j]}`);
      }
    }
  }
  if (spec.exportTo?.includes('~')) problem('.exportTo', '"~" (visible to none) is not allowed for a VirtualService');
  const some = (v: unknown[] | undefined) => v !== undefined && v.length > 0;
  if (requireRoutes && !some(spec.http) && !some(spec.tcp) && !some(spec.tls)) problem('', 'needs http, tcp or tls routes (Istio refuses a VirtualService without any)');
  (spec.http ?? []).forEach((r, i) => {
    const at = `.http[${i}]`;
    r.match?.forEach((m, j) => matchProblems(m, `${at}.match[${j}]`, problem));
    if (requireRoutes && !some(r.route) && r.redirect === undefined && r.directResponse === undefined && r.delegate === undefined) {
      problem(at, 'needs a route, redirect, directResponse or delegate (Istio refuses an HTTP route without one)');
    }
    r.route?.forEach((d, j) => d.destination.host === '' && problem(`${at}.route[${j}].destination.host`, 'is required (the Service to send to)'));
  });
  return out;
}

/** The regexes of one match entry's string matches, in RE2 as Istio checks them. */
function matchProblems(m: Record<string, unknown>, at: string, problem: (path: string, message: string) => void): void {
  const check = (path: string, sm: StringMatch) => {
    const re = sm.regex;
    // A template's variables are filled in later; a regex holding one is checked by Istio on the object.
    if (re === undefined || re.includes('${')) return;
    const why = regexProblem(re);
    if (why) problem(`${path}.regex`, `${JSON.stringify(re)} ${why}`);
  };
  for (const key of ['uri', 'method', 'authority', 'scheme'] as const) if (m[key] !== undefined) check(`${at}.${key}`, m[key] as StringMatch);
  for (const key of ['headers', 'withoutHeaders', 'queryParams'] as const) {
    for (const [name, sm] of Object.entries((m[key] ?? {}) as Record<string, StringMatch>)) check(`${at}.${key}.${name}`, sm);
  }
}
