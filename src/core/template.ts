// The template of the object vsop renders per production Service (a VirtualService, or an HTTPRoute with
// routeKind: HTTPRoute): parsed once, then rendered per Service by substituting into string values of the
// parsed document (never into raw text, so no value can change the document's structure).

import { LineCounter, parseDocument } from 'yaml';
import { documentValue, READ_OPTIONS } from './yaml.ts';
import type { Problem } from '../errors.ts';
import { httpRouteSpecProblems, withPort } from './gateway/shape.ts';
import { istioRuleProblems, virtualServiceSpecProblems } from './istio/shape.ts';
import { MANAGED_LABEL, MANAGED_VALUE, ROUTE_PREFIX } from './ownership.ts';
import { TEMPLATE_METADATA } from './render/merge.ts';
import { objectProblems, pathSteps, pathText } from './schema/validate.ts';
import type { VirtualService } from './types.ts';

/** The template the seed README shows; used when the ConfigMap has none. */
export const SEED_TEMPLATE = `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: "\${serviceName}-virtual-service"
  namespace: "\${defaultNamespace}"
spec:
  hosts:
  - \${serviceName}
  http:
  # Developer routes will be injected here
  - route:
    - destination:
        host: \${serviceName}.\${defaultNamespace}.svc.cluster.local
`;

/**
 * The HTTPRoute template used when the ConfigMap has none (routeKind: HTTPRoute): the GAMMA shape (Gateway
 * API, "Gateway API for Service Mesh"): a route in the production namespace whose parent is the production
 * Service, sending to it. vsop adds the port of each parentRef and backendRef (one route per port of a
 * multi-port Service) and the developer rules.
 */
export const SEED_HTTPROUTE_TEMPLATE = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: "\${serviceName}-routes"
  namespace: "\${defaultNamespace}"
spec:
  parentRefs:
  - group: ""
    kind: Service
    name: \${serviceName}
  rules:
  # Developer routes will be injected here
  - backendRefs:
    - name: \${serviceName}
`;

/** What vsop renders per production Service (config routeKind). */
export type RouteKind = 'VirtualService' | 'HTTPRoute';
export const ROUTE_KINDS: readonly RouteKind[] = ['VirtualService', 'HTTPRoute'];

export const TEMPLATE_VARIABLES = ['serviceName', 'defaultNamespace'] as const;
export type TemplateVariables = Record<(typeof TEMPLATE_VARIABLES)[number], string>;

const ISTIO_GROUP = 'networking.istio.io';
export const ISTIO_VERSIONS: readonly string[] = ['v1', 'v1beta1', 'v1alpha3'];
export const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** The HTTPRoute versions of the Gateway API's standard channel (v1.3.0, the release Istio 1.27 reads). */
export const GATEWAY_VERSIONS: readonly string[] = ['v1', 'v1beta1'];
// A name holds no brace and no white space: an unclosed `${` never swallows the template's next lines.
const VARIABLE = /\$\{([^{}\s]*)\}/g;
/** A `${` that no `}` closes right after a name (see VARIABLE). */
const UNCLOSED = /\$\{(?![^{}\s]*\})/g;
const TOKEN = '__vsop_variable_';
const TOKENS = /__vsop_variable_(\d+)_/g;

/** The parsed template with each variable token back as the `${...}` it stood for (keys too). */
function restore(value: unknown, variables: readonly string[]): unknown {
  if (variables.length === 0) return value;
  const put = (s: string) => s.replace(TOKENS, (t, i: string) => variables[Number(i)] ?? t);
  if (typeof value === 'string') return put(value);
  if (Array.isArray(value)) return value.map((v) => restore(v, variables));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [put(k), restore(v, variables)]));
  return value;
}

export interface Template {
  readonly kind: RouteKind;
  /** The parsed template, still holding `${...}` variables (an HTTPRoute's shape when kind says so). */
  readonly value: VirtualService;
  /** Builds a fresh copy with the variables filled in; compiled once from `value`. */
  readonly build: (vars: TemplateVariables) => unknown;
  /**
   * Whether a Service's name can make its rendering invalid other than by its length: ${serviceName} in
   * a regex (a name's "-" inside a character class). Otherwise one Service per name length is checked.
   */
  readonly nameInRegex: boolean;
}

/**
 * Parses and checks a template. Problems carry paths relative to the template document; the caller
 * prefixes them with where the template came from.
 */
export function parseTemplate(text: string, defaultNamespace: string, kind: RouteKind = 'VirtualService'): { template?: Template; problems: Problem[] } {
  const lineCounter = new LineCounter();
  // `${name}` is no YAML, and `{` inside a flow collection ({host: ${serviceName}.default}) would start a
  // mapping: each variable is parsed as a plain token and put back into the parsed strings. The document's
  // structure comes from the template alone, as before.
  const variables: string[] = [];
  const guarded = text.replace(VARIABLE, (v) => `${TOKEN}${variables.push(v) - 1}_`);
  const doc = parseDocument(guarded, { lineCounter, ...READ_OPTIONS });
  const read = documentValue(doc, lineCounter);
  if ('problem' in read) return { problems: [{ path: `line ${read.problem.line}, column ${read.problem.col}`, message: read.problem.message }] };
  const value: unknown = restore(read.value, variables);
  const problems: Problem[] = variableProblems(value);
  if (problems.length > 0) return { problems };

  problems.push(...(kind === 'HTTPRoute' ? httpRouteShapeProblems(value, defaultNamespace) : shapeProblems(value, defaultNamespace)));
  const build = compile(value);
  // What no Service could render validly is the template's fault, found once here (exit 3) rather than
  // once per Service; what depends on the Service's name is checked as each renders (resolve.ts). Run
  // beside the template's own problems (none again where one was found), unless it is no object of its kind.
  if (isRecord(value) && problems.every((p) => p.path !== 'apiVersion' && p.path !== 'kind' && p.path !== 'metadata')) {
    const said = problems.map((p) => p.path);
    const covered = (path: string) => said.some((s) => path === s || path.startsWith(`${s}.`) || path.startsWith(`${s}[`));
    const probe = build({ serviceName: PROBE_SERVICE, defaultNamespace });
    for (const p of renderedProblems(probe, kind, PROBE_SERVICE, defaultNamespace))
      if (!covered(p.path)) problems.push({ ...p, message: `${p.message}${probeNote(value, p.path)}` });
  }
  if (problems.length > 0) return { problems };
  const template = { kind, value: value as VirtualService, build, nameInRegex: nameInRegex(value) };
  return { template, problems };
}

/** Renders the template for one Service: a fresh object, sharing nothing with the template. */
export function renderTemplate(template: Template, vars: TemplateVariables): VirtualService {
  return template.build(vars) as VirtualService;
}

/**
 * Turns the parsed template into a builder: strings with variables become a join of their parts, the
 * rest is copied as is. Rendering thousands of Services then costs one allocation per node, no regex.
 */
function compile(value: unknown): (vars: TemplateVariables) => unknown {
  if (typeof value === 'string') {
    if (!value.includes('${')) return () => value;
    const parts = value.split(VARIABLE); // odd indexes are variable names
    return (vars) => {
      let out = parts[0]!;
      for (let i = 1; i < parts.length; i += 2) out += vars[parts[i] as keyof TemplateVariables] + parts[i + 1]!;
      return out;
    };
  }
  if (Array.isArray(value)) {
    const items = value.map(compile);
    return (vars) => items.map((b) => b(vars));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([k, v]) => [k, compile(v)] as const);
    return (vars) => {
      const out: Record<string, unknown> = {};
      // defineProperty, not out[k] =: a key "__proto__" must stay a key, not replace the prototype.
      for (const [k, b] of entries) Object.defineProperty(out, k, { value: b(vars), enumerable: true, writable: true, configurable: true });
      return out;
    };
  }
  return () => value;
}

/**
 * The template's `${...}` that would not be filled in: an unknown name, or a variable in a mapping key
 * (only values are filled in, so the key would be written as typed). Each names the variable and its path.
 */
function variableProblems(value: unknown, path = ''): Problem[] {
  const at = (key: string) => (path === '' ? key : `${path}.${key}`);
  const known = TEMPLATE_VARIABLES.map((v) => `\${${v}}`).join(', ');
  const unknown = (s: string, where: string) => [
    ...[...s.matchAll(VARIABLE)]
      .filter((m) => !(TEMPLATE_VARIABLES as readonly string[]).includes(m[1]!))
      .map((m) => ({ path: where, message: `unknown variable \${${m[1]}} (known: ${known})` })),
    ...[...s.matchAll(UNCLOSED)].map((m) => ({
      path: where,
      message: `${JSON.stringify(s.slice(m.index, m.index + 24).split('\n')[0])}: a "\${" that no "}" closes right after a name (known: ${known})`,
    })),
  ];
  if (typeof value === 'string') return unknown(value, path);
  if (Array.isArray(value)) return value.flatMap((v, i) => variableProblems(v, `${path}[${i}]`));
  if (!isRecord(value)) return [];
  return Object.entries(value).flatMap(([k, v]) => {
    const misplaced = [...k.matchAll(VARIABLE)].map((m) => ({
      path: at(k),
      message: `\${${m[1]}} stands in a key, where variables are not filled in (the key would be written as typed); use it in a value`,
    }));
    return [...misplaced, ...variableProblems(v, at(k))];
  });
}

function nameInRegex(value: unknown, key = ''): boolean {
  if (typeof value === 'string') return key === 'regex' && value.includes('${serviceName}');
  if (Array.isArray(value)) return value.some((v) => nameInRegex(v));
  return isRecord(value) && Object.entries(value).some(([k, v]) => nameInRegex(v, k));
}

/** The Service name a template is rendered for once when it is read, to find what no Service could render. */
const PROBE_SERVICE = 'my-app';
/** The port vsop puts on a rendered HTTPRoute template's backendRefs to production when it checks it (any port would do). */
const PROBE_PORT = 80;

/** Where a problem of the probe's rendering lies in a template string holding variables, say which. */
function probeNote(template: unknown, path: string): string {
  let v: unknown = template;
  for (const step of pathSteps(path)) v = isRecord(v) || Array.isArray(v) ? (v as Record<string | number, unknown>)[step] : undefined;
  return typeof v === 'string' && v.includes('${') ? ` (${JSON.stringify(v)} rendered for a Service named "${PROBE_SERVICE}")` : '';
}

/**
 * Every problem of a rendered template (before vsop adds its routes), as the apiserver and Istio would
 * find it on the object: a VirtualService against the CRD's schema and the apiserver's metadata rules
 * (schema/validate.ts), then Istio's webhook rules (istio/shape.ts, hosts included); an HTTPRoute against
 * the Gateway API CRD's schema and CEL rules and the apiserver's metadata rules (schema/validate.ts), with
 * a port on each backendRef to production that has none, as vsop renders it (render/httproute.ts). Paths
 * like "spec.hosts[0]". `rendered` is not changed.
 */
export function renderedProblems(object: unknown, kind: RouteKind, service = PROBE_SERVICE, defaultNamespace?: string): Problem[] {
  if (!isRecord(object)) return [];
  const rendered = structuredClone(object); // objectProblems drops null fields, as the apiserver does
  if (kind === 'HTTPRoute') {
    const metadata = isRecord(rendered.metadata) ? rendered.metadata : {};
    const namespace = defaultNamespace ?? (typeof metadata.namespace === 'string' ? metadata.namespace : '');
    const spec = rendered.spec;
    if (isRecord(spec) && Array.isArray(spec.rules))
      spec.rules = spec.rules.map((r: unknown) => (isRecord(r) ? withPort(r as { backendRefs?: Record<string, unknown>[] }, service, namespace, PROBE_PORT) : r));
    return objectProblems(rendered).map((p) => ({ path: pathText(p.path), message: p.message }));
  }
  const schema = objectProblems(rendered);
  if (schema.length > 0) return schema.map((p) => ({ path: pathText(p.path), message: p.message }));
  return istioRuleProblems(rendered.spec as Record<string, unknown> | undefined, true);
}

function shapeProblems(value: unknown, defaultNamespace: string): Problem[] {
  if (!isRecord(value)) return [{ path: '', message: 'must be a YAML mapping holding a VirtualService' }];
  const problems = headerProblems(value, 'VirtualService', ISTIO_GROUP, ISTIO_VERSIONS, defaultNamespace);
  // Another kind's spec would only add noise to the one problem that matters.
  if (value.kind !== 'VirtualService') return problems;
  const spec = value.spec;
  if (!isRecord(spec)) {
    problems.push({ path: 'spec', message: 'is missing or not a mapping' });
    return problems;
  }
  problems.push(...virtualServiceSpecProblems(spec, true));
  // vsop tells its routes from others' by name (ownership.ts): its own carry the prefix, the template's
  // are told apart by theirs, so each must be unique.
  if (Array.isArray(spec.http)) {
    const seen = new Map<string, number>();
    spec.http.forEach((r: unknown, i: number) => {
      const name = isRecord(r) ? r.name : undefined;
      if (typeof name !== 'string') return;
      if (name.startsWith(ROUTE_PREFIX)) {
        problems.push({
          path: `spec.http[${i}].name`,
          message: `${JSON.stringify(name)} starts with "${ROUTE_PREFIX}", which names the routes vsop renders; rename the route (or leave the name out)`,
        });
      }
      const first = seen.get(name);
      if (first !== undefined)
        problems.push({ path: `spec.http[${i}].name`, message: `${JSON.stringify(name)} is already the name of spec.http[${first}]; each route needs its own name` });
      else seen.set(name, i);
    });
  }
  return problems;
}

function httpRouteShapeProblems(value: unknown, defaultNamespace: string): Problem[] {
  if (!isRecord(value)) return [{ path: '', message: 'must be a YAML mapping holding an HTTPRoute' }];
  const problems = headerProblems(value, 'HTTPRoute', GATEWAY_GROUP, GATEWAY_VERSIONS, defaultNamespace);
  if (value.kind !== 'HTTPRoute') return problems;
  const spec = value.spec;
  if (!isRecord(spec)) {
    problems.push({ path: 'spec', message: 'is missing or not a mapping' });
    return problems;
  }
  problems.push(...httpRouteSpecProblems(spec));
  return problems;
}

/** apiVersion, kind and metadata, alike for both kinds of template. */
function headerProblems(value: Record<string, unknown>, kind: RouteKind, apiGroup: string, versions: readonly string[], defaultNamespace: string): Problem[] {
  const problems: Problem[] = [];
  const [group, version] = typeof value.apiVersion === 'string' ? value.apiVersion.split('/') : [];
  if (group !== apiGroup || !versions.includes(version ?? '')) {
    problems.push({
      path: 'apiVersion',
      message: `${JSON.stringify(value.apiVersion)} is not a version of ${kind} that vsop writes (use ${versions.map((v) => `${apiGroup}/${v}`).join(', ')})`,
    });
  }
  if (value.kind !== kind) {
    const other = kind === 'HTTPRoute' ? 'virtualServiceTemplate, used with routeKind: VirtualService' : 'httpRouteTemplate, used with routeKind: HTTPRoute';
    problems.push({
      path: 'kind',
      message: `${JSON.stringify(value.kind)} must be "${kind}"${value.kind === 'VirtualService' || value.kind === 'HTTPRoute' ? ` (a ${value.kind} template belongs in ${other})` : ''}`,
    });
  }
  const metadata = value.metadata;
  if (!isRecord(metadata)) {
    problems.push({ path: 'metadata', message: 'is missing or not a mapping' });
  } else {
    if (metadata.name === undefined) {
      problems.push({
        path: 'metadata.name',
        message: `is missing: give a name with \${serviceName}, such as "\${serviceName}-${kind === 'HTTPRoute' ? 'routes' : 'virtual-service'}", so that each Service's ${kind} has its own`,
      });
    } else if (typeof metadata.name !== 'string' || !metadata.name.includes('${serviceName}')) {
      problems.push({
        path: 'metadata.name',
        message: `${JSON.stringify(metadata.name)} must contain \${serviceName}, or every Service would render the same ${kind}`,
      });
    }
    const ns = metadata.namespace;
    if (ns !== undefined && ns !== '${defaultNamespace}' && ns !== defaultNamespace) {
      problems.push({
        path: 'metadata.namespace',
        message: `${JSON.stringify(ns)} must be "\${defaultNamespace}" (or be left out): ${kind}s live in the production namespace`,
      });
    }
    for (const key of ['labels', 'annotations'] as const) {
      const m = metadata[key];
      if (m !== undefined && (!isRecord(m) || Object.values(m).some((v) => typeof v !== 'string'))) {
        problems.push({ path: `metadata.${key}`, message: 'must be a mapping of strings to strings' });
      }
    }
    // vsop's own keys say what vsop manages and what was routed by hand: a template setting them would
    // undo route commands or hide objects from vsop.
    const managed = isRecord(metadata.labels) ? metadata.labels[MANAGED_LABEL] : undefined;
    if (managed !== undefined && managed !== MANAGED_VALUE) {
      problems.push({
        path: `metadata.labels.${MANAGED_LABEL}`,
        message: `${JSON.stringify(managed)}: vsop's own label marks the objects vsop manages with "${MANAGED_VALUE}"; leave it out`,
      });
    }
    for (const k of Object.keys(isRecord(metadata.annotations) ? metadata.annotations : {})) {
      if (k.startsWith('vsop.io/'))
        problems.push({
          path: `metadata.annotations.${k}`,
          message: `is vsop's own annotation (vsop.io/ keys record what vsop rendered and what was routed by hand); leave it out`,
        });
    }
    for (const k of Object.keys(metadata)) {
      if (!['name', 'namespace', 'labels', 'annotations', ...TEMPLATE_METADATA].includes(k)) {
        problems.push({ path: `metadata.${k}`, message: `is not set by a template (only name, namespace, labels, annotations, ${[...TEMPLATE_METADATA].join(', ')})` });
      }
    }
  }
  return problems;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
