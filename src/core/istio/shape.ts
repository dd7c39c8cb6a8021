// The shape of a VirtualService spec as far as vsop reads it, checked before anything is decided from it:
// the template's (exit 3) and those read from files (exit 4; in a cluster the CRD schema and Istio's
// webhook keep such objects out). Source: istio pkg/config/validation/virtualservice (validateHTTPRoute:
// "http, tcp or tls must be provided", a destination needs a host; validateStringMatchRegexp) and the
// VirtualService CRD's field types.

import { regexProblem } from './regex.ts';

export interface ShapeProblem {
  path: string;
  message: string;
}

/** A protobuf Duration as Istio's CRD reads it: units h, m, s, ms, us, µs, ns, e.g. "1m30s", "250ms". */
const DURATION = /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/;

const isMap = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/**
 * Every problem of `spec`, each with its path under spec (e.g. "spec.http[1].route[0].destination.host").
 * `requireRoutes`: also refuse a spec without http, tcp or tls routes (what vsop renders must have them).
 */
export function virtualServiceSpecProblems(spec: Record<string, unknown>, requireRoutes = false): ShapeProblem[] {
  const out: ShapeProblem[] = [];
  const problem = (path: string, message: string) => out.push({ path: `spec${path}`, message });
  if (spec.hosts !== undefined && (!Array.isArray(spec.hosts) || spec.hosts.some((h) => typeof h !== 'string' || h === ''))) {
    problem('.hosts', 'must be a list of host names');
  }
  for (const key of ['gateways', 'exportTo'] as const) {
    const v = spec[key];
    if (v !== undefined && (!Array.isArray(v) || v.some((x) => typeof x !== 'string'))) problem(`.${key}`, 'must be a list of strings');
  }
  if (Array.isArray(spec.exportTo) && spec.exportTo.includes('~')) problem('.exportTo', '"~" (visible to none) is not allowed for a VirtualService');
  const http = spec.http;
  if (http !== undefined && !Array.isArray(http)) {
    problem('.http', 'must be a list of HTTP routes');
    return out;
  }
  const some = (v: unknown) => Array.isArray(v) && v.length > 0;
  if (requireRoutes && !some(http) && !some(spec.tcp) && !some(spec.tls)) problem('', 'needs http, tcp or tls routes (Istio refuses a VirtualService without any)');
  (http ?? []).forEach((r: unknown, i: number) => {
    const at = `.http[${i}]`;
    if (!isMap(r)) return problem(at, 'must be a mapping');
    if (r.name !== undefined && typeof r.name !== 'string') problem(`${at}.name`, 'must be a string');
    if (r.match !== undefined) {
      if (!Array.isArray(r.match)) problem(`${at}.match`, 'must be a list of match conditions');
      else r.match.forEach((m: unknown, j: number) => (isMap(m) ? matchProblems(m, `${at}.match[${j}]`, problem) : problem(`${at}.match[${j}]`, 'must be a mapping')));
    }
    if (requireRoutes && !(Array.isArray(r.route) && r.route.length > 0) && r.redirect === undefined && r.directResponse === undefined && r.delegate === undefined) {
      problem(at, 'needs a route, redirect, directResponse or delegate (Istio refuses an HTTP route without one)');
    }
    for (const [path, d] of [
      ['timeout', r.timeout],
      ['retries.perTryTimeout', isMap(r.retries) ? r.retries.perTryTimeout : undefined],
    ] as const) {
      if (d !== undefined && !(typeof d === 'string' && DURATION.test(d) && !/^[0.]+[a-zµ]+$/.test(d)))
        problem(`${at}.${path}`, `${JSON.stringify(d)} is not a duration such as "5s" or "250ms" (the apiserver refuses it)`);
    }
    if (r.route !== undefined) {
      if (!Array.isArray(r.route)) return problem(`${at}.route`, 'must be a list of destinations');
      r.route.forEach((d: unknown, j: number) => {
        const dest = isMap(d) ? d.destination : undefined;
        if (!isMap(dest) || typeof dest.host !== 'string' || dest.host === '') problem(`${at}.route[${j}].destination.host`, 'is required (the Service to send to)');
      });
    }
  });
  return out;
}

/** The string matches of one match entry: a mapping of exact/prefix/regex, regexes in RE2 as Istio checks them. */
function matchProblems(m: Record<string, unknown>, at: string, problem: (path: string, message: string) => void): void {
  const check = (path: string, sm: unknown) => {
    if (!isMap(sm)) return problem(path, 'must be a string match (exact, prefix or regex)');
    const re = sm.regex;
    if (re === undefined) return;
    if (typeof re !== 'string') return problem(`${path}.regex`, 'must be a string');
    // A template's variables are filled in later; a regex holding one is checked by Istio on the object.
    if (re.includes('${')) return;
    const why = regexProblem(re);
    if (why) problem(`${path}.regex`, `${JSON.stringify(re)} ${why}`);
  };
  for (const key of ['uri', 'method', 'authority', 'scheme'] as const) if (m[key] !== undefined) check(`${at}.${key}`, m[key]);
  for (const key of ['headers', 'withoutHeaders', 'queryParams'] as const) {
    const v = m[key];
    if (v === undefined) continue;
    if (!isMap(v)) problem(`${at}.${key}`, 'must be a mapping of names to string matches');
    else for (const [name, sm] of Object.entries(v)) check(`${at}.${key}.${name}`, sm);
  }
  if (m.port !== undefined && (typeof m.port !== 'number' || !Number.isInteger(m.port))) problem(`${at}.port`, 'must be a port number');
}
