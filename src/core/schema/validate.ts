// Checks objects read from files against the schemas the apiserver validates them with (schemas.gen.json:
// Kubernetes' OpenAPI for Service and ConfigMap, Istio's CRD schema for VirtualService, the Gateway API's
// CRD schemas with their CEL rules for the HTTPRoutes and ReferenceGrants vsop renders), through the
// validators ajv generated from them (validators.gen.js), then against the apiserver's own rules that no
// schema states (rules.ts). A problem names the path and the value, in vsop's words
// ("spec.ports: \"80\" is not a list").

import { httpRouteSpecWithDefaults } from '../gateway/defaults.ts';
import { celForget } from './keywords.ts';
import bundle from './schemas.gen.json' with { type: 'json' };
import { type Path, ruleProblems, type SchemaProblem } from './rules.ts';
import * as validators from './validators.gen.js';
import type { Validator, ValidatorError as AjvError } from './validators.gen.js';

export type { Path, SchemaProblem } from './rules.ts';

type Schema = Record<string, unknown>;
const DEFINITIONS = bundle.definitions as Record<string, Schema>;
const KINDS: Record<string, string> = bundle.kinds;

/** At most this many problems are reported per object; the rest are counted. */
const MAX_PROBLEMS = 20;

/** The schema's name for `apiVersion`/`kind` when vsop checks that kind, e.g. for "v1"/"Service". */
export function checkedKind(apiVersion: string, kind: string): string | undefined {
  return KINDS[`${apiVersion}/${kind}`];
}

/** The API versions the bundle knows for a kind, e.g. ["networking.istio.io/v1", …] for VirtualService. */
export function knownVersions(kind: string): string[] {
  return Object.keys(KINDS)
    .filter((k) => k.endsWith(`/${kind}`))
    .map((k) => k.slice(0, -kind.length - 1));
}

/**
 * Every problem of one object of a checked kind: the schema's first, then (if the schema holds) the
 * apiserver's rules. Fields set to null are removed first, in place: the apiserver reads a null field
 * as an absent one (a built-in type decodes it to its zero value; a custom resource's null fields are
 * pruned), so that is what vsop reads too. An HTTPRoute is checked with the CRD's defaults filled in (on
 * a copy of its spec), as the apiserver defaults a custom resource before it validates it: its CEL rules
 * read defaulted fields, such as a backendRef's group and kind.
 */
export function objectProblems(value: Record<string, unknown>): SchemaProblem[] {
  const kind = String(value.kind);
  const ref = checkedKind(String(value.apiVersion), kind);
  if (!ref) throw new Error(`no schema for ${String(value.apiVersion)} ${kind}`);
  dropNulls(value);
  const checked = kind === 'HTTPRoute' && value.spec !== undefined ? { ...value, spec: httpRouteSpecWithDefaults(value.spec) } : value;
  const validate = VALIDATOR_OF[kind] ?? validators.VirtualService;
  const problems = run(validate, checked, { $ref: `#/definitions/${ref}` }, kind);
  return problems.length > 0 ? problems : ruleProblems(value);
}

const VALIDATOR_OF: Record<string, Validator> = {
  Service: validators.Service,
  ConfigMap: validators.ConfigMap,
  HTTPRoute: validators.HTTPRoute,
  ReferenceGrant: validators.ReferenceGrant,
};

/** The schema's problems of a VirtualService's spec alone (a template's), with paths from "spec". */
export function virtualServiceSpecSchemaProblems(spec: Record<string, unknown>): SchemaProblem[] {
  dropNulls(spec);
  const schema = (DEFINITIONS[KINDS['networking.istio.io/v1/VirtualService']!]!.properties as Record<string, Schema>).spec!;
  return run(validators.VirtualServiceSpec, spec, schema, 'VirtualService').map((p) => ({ ...p, path: ['spec', ...p.path] }));
}

function run(validate: Validator, value: unknown, schema: Schema, kind: string): SchemaProblem[] {
  celForget();
  if (validate(value)) return [];
  const problems = describe(validate.errors ?? [], value, schema, kind);
  // Never an invalid object without a word: should no error be worded, say where the first one is.
  if (problems.length === 0) return [{ path: pathOf(validate.errors?.[0]?.instancePath ?? '', value), message: 'does not fit the schema' }];
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_PROBLEMS), { path: [], message: `and ${problems.length - MAX_PROBLEMS} more problems` }];
}

function dropNulls(value: unknown, seen = new Set<object>()): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value); // aliases share objects
  if (Array.isArray(value)) {
    for (const v of value) dropNulls(v, seen);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(record)) {
    if (v === null) delete record[k];
    else dropNulls(v, seen);
  }
}

/**
 * ajv's errors as problems, one per place: a oneOf or anyOf is one problem, not one per alternative, and
 * a value of the wrong type says so once, not again for its format or range.
 */
function describe(errors: readonly AjvError[], root: unknown, schema: Schema, kind: string): SchemaProblem[] {
  // The errors of a oneOf's alternatives (their types, their `required`, a `not`) are the oneOf's own.
  const alternative = (e: AjvError) => /\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath);
  const mistyped = new Set(errors.filter((e) => e.keyword === 'type' && !alternative(e)).map((e) => e.instancePath));
  // The apiserver runs no CEL rule of an object with a value of the wrong type or outside an enum
  // (apiextensions-apiserver customresource strategy.go, hasBlockingErr): those are reported alone.
  const blocking = errors.some((e) => (e.keyword === 'type' || e.keyword === 'enum') && !alternative(e));
  const out: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    if (alternative(e) || (e.keyword !== 'type' && mistyped.has(e.instancePath)) || (blocking && e.keyword === 'x-kubernetes-validations')) continue;
    const path = pathOf(e.instancePath, root);
    const value = valueAt(root, path);
    if (e.keyword === 'required') path.push(e.params.missingProperty as string);
    if (e.keyword === 'additionalProperties') path.push(e.params.additionalProperty as string);
    const problem = { path, message: messageOf(e, value, schemaAt(schema, path), kind) };
    const key = JSON.stringify(problem);
    if (!seen.has(key)) out.push(problem), seen.add(key);
  }
  return out;
}

/** A JSON pointer back to keys and indexes, telling a list's index from a mapping's key by the data. */
function pathOf(pointer: string, root: unknown): Path {
  if (pointer === '') return [];
  const path: Path = [];
  let at: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const step = Array.isArray(at) ? Number(key) : key;
    path.push(step);
    at = (at as Record<string | number, unknown> | undefined)?.[step];
  }
  return path;
}

function valueAt(root: unknown, path: Path): unknown {
  let at = root;
  for (const step of path) at = (at as Record<string | number, unknown> | undefined)?.[step];
  return at;
}

/** The schema that applies at `path`, following properties, items, map values and references. */
function schemaAt(root: Schema, path: Path): Schema {
  const resolve = (s: Schema | undefined): Schema => {
    let out = s ?? {};
    for (let i = 0; i < 10 && typeof out.$ref === 'string'; i++) out = DEFINITIONS[out.$ref.replace('#/definitions/', '')] ?? {};
    return out;
  };
  let at = resolve(root);
  for (const step of path) {
    const properties = at.properties as Record<string, Schema> | undefined;
    if (typeof step === 'number') at = resolve(at.items as Schema | undefined);
    else if (properties?.[step]) at = resolve(properties[step]);
    else at = resolve(typeof at.additionalProperties === 'object' ? (at.additionalProperties as Schema) : undefined);
  }
  return at;
}

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'an integer',
  number: 'a number',
  boolean: 'true or false',
};

function typeName(t: unknown): string {
  return (Array.isArray(t) ? t : [t]).map((x) => TYPE_NAMES[String(x)] ?? String(x)).join(' or ');
}

const FORMATS: Record<string, string> = {
  int32: 'is not a 32-bit integer',
  int64: 'is not a 64-bit integer',
  byte: 'is not base64 (binaryData holds base64-encoded bytes)',
  'date-time': 'is not a date and time (RFC 3339, such as "2024-05-01T12:00:00Z")',
};

/** `schema` is the one at the error's place (for required and additionalProperties: the field's). */
function messageOf(e: AjvError, data: unknown, schema: Schema, kind: string): string {
  const value = show(data);
  const p = e.params;
  switch (e.keyword) {
    case 'type':
      return `${value} is not ${typeName(p.type)}`;
    case 'required':
      return 'is required';
    case 'additionalProperties': {
      const source =
        kind === 'VirtualService'
          ? `Istio's VirtualService schema (istio.io/api ${bundle.versions.istioApi})`
          : kind === 'HTTPRoute' || kind === 'ReferenceGrant'
            ? `the Gateway API's ${kind} schema (sigs.k8s.io/gateway-api ${bundle.versions.gatewayApi}, standard channel)`
            : `the ${kind} schema of Kubernetes ${bundle.versions.kubernetes}`;
      return `is not a field of ${source}: unknown fields are refused, as kubectl apply refuses them (check the spelling and the indentation)`;
    }
    case 'enum':
      return `${value} is not one of ${(p.allowedValues as unknown[]).map(show).join(', ')}`;
    case 'minimum':
    case 'maximum':
      return `${value} is ${e.keyword === 'minimum' ? 'less' : 'more'} than ${String(p.limit)}`;
    case 'pattern':
      return `${value} does not match ${String(p.pattern)}`;
    case 'maxLength':
    case 'minLength':
      return `${value} is ${e.keyword === 'maxLength' ? 'longer' : 'shorter'} than ${String(p.limit)} characters`;
    case 'maxItems':
    case 'minItems':
      return `${value} has ${e.keyword === 'maxItems' ? 'more' : 'fewer'} than ${String(p.limit)} items`;
    case 'format':
      return `${value} ${FORMATS[String(p.format)] ?? `is not in the format ${String(p.format)}`}`;
    case 'oneOf':
    case 'anyOf':
      return alternatives(schema[e.keyword] as Schema[], p, value);
    case 'x-kubernetes-validations': {
      // The CRD's own message for the rule broken (the apiserver's too), and the rule when it has none.
      const rule = (schema['x-kubernetes-validations'] as { rule: string; message?: string }[] | undefined)?.[Number(p.rule ?? 0)];
      // Istio's messages continue the value ("…" must be a valid duration…); the Gateway API's are sentences.
      const text = rule?.message ?? (rule ? `breaks the rule ${rule.rule}` : 'breaks a rule of the schema');
      return kind === 'VirtualService' ? `${value} ${text}` : `${value}: ${text}`;
    }
    default:
      return `${value} does not fit the schema (${e.keyword})`;
  }
}

/** oneOf/anyOf: "an integer or a string", or "sets more than one of exact, prefix, regex" (a protobuf oneof). */
function alternatives(branches: Schema[] | undefined, params: Record<string, unknown>, value: string): string {
  const fields = (branches ?? []).flatMap((b) => (Array.isArray(b.required) ? (b.required as string[]) : []));
  const passing = params.passingSchemas as number[] | null | undefined;
  if (passing && passing.length > 1 && fields.length > 0) return `sets more than one of ${fields.join(', ')}: choose one`;
  const types = (branches ?? []).map((b) => b.type);
  if (types.length > 0 && types.every((t) => t !== undefined)) return `${value} is not ${typeName(types)}`;
  return `${value} does not match any form the schema allows`;
}

/** A value as it reads in a message: JSON, cut short, or a short description of a large collection. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'number') return String(v);
  const json = JSON.stringify(v) ?? String(v);
  if (json.length <= 60) return json;
  if (Array.isArray(v)) return `a list of ${v.length} items`;
  if (v !== null && typeof v === 'object') return `a mapping (${Object.keys(v).length} keys)`;
  return `${json.slice(0, 57)}..."`;
}

/** A path as vsop prints it: spec.ports[0].port, metadata.labels["app.kubernetes.io/name"]. */
export function pathText(path: Path): string {
  let out = '';
  for (const step of path) {
    if (typeof step === 'number') out += `[${step}]`;
    else if (/^[A-Za-z_][\w-]*$/.test(step)) out += out === '' ? step : `.${step}`;
    else out += `[${JSON.stringify(step)}]`;
  }
  return out;
}

/** The steps of a printed path (pathText's, or "spec.http[0].match[0].headers.x-developer.regex"). */
export function pathSteps(text: string): Path {
  const steps: Path = [];
  for (const m of text.matchAll(/\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/g)) {
    steps.push(m[1] !== undefined ? Number(m[1]) : m[2] !== undefined ? (JSON.parse(m[2]) as string) : m[3]!);
  }
  return steps;
}
