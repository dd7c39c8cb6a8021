// What the Kubernetes schemas say beyond JSON Schema, as the apiserver reads it: OpenAPI formats (int32
// and int64 ranges, base64 "byte", RFC 3339 "date-time"), and CEL rules (x-kubernetes-validations): the one
// of Istio's VirtualService CRD, implemented here as Go reads durations, and the Gateway API CRDs' (about
// forty on HTTPRoute), evaluated with a CEL library. The other x-kubernetes-* extensions need no code:
// int-or-string comes with its anyOf, and preserve-unknown-fields is the absence of additionalProperties:
// false (see scripts/schemas.ts). compile.ts teaches these to ajv; the precompiled validators call them at
// run time.

import { parse as celParse } from '@marcbachmann/cel-js';

/** The rule of Istio's VirtualService CRD implemented by durationAtLeast1ms (Go's duration syntax, exactly). */
export const DURATION_RULE = "duration(self) >= duration('1ms')";

type Program = (context: Record<string, unknown>) => unknown;
const programs = new Map<string, Program>();

/**
 * A CEL rule parsed by the library (@marcbachmann/cel-js: CEL is a language of its own, with macros such
 * as all, exists_one and filter, and has(), duration() and matches(); no parser is hand-written here),
 * once per rule. Throws when the library cannot parse it: scripts/schemas.ts calls this for every rule of
 * the bundle, so a CRD with a rule vsop cannot evaluate fails there, not at run time.
 */
export function celProgram(rule: string): Program {
  let program = programs.get(rule);
  if (!program) programs.set(rule, (program = celParse(indexedHas(rule)) as unknown as Program));
  return program;
}

/**
 * `has(x[0].f)` as `('f' in x[0])`: the library's has() takes only a chain of fields from a variable
 * (cel-js 8.0.0 macros.js, "has() invalid argument"), and four rules of the HTTPRoute CRD test
 * `has(self.matches[0].path)`. On an object (a CEL map, as a custom resource's objects are to the
 * library), a field is present exactly when its name is a key, so the two agree.
 */
function indexedHas(rule: string): string {
  return rule.replace(/\bhas\(((?:\w+)(?:\.\w+|\[\d+\])*\[\d+\])\.(\w+)\)/g, "('$2' in $1)");
}

/**
 * Whether `self` (a value of the object being checked, at the rule's place) satisfies a CRD's CEL rule, as
 * the apiserver evaluates x-kubernetes-validations: on the object after its defaults are filled in (the
 * caller's part), with property names escaped as Kubernetes escapes them, integers as CEL ints. A rule
 * whose evaluation fails (a field it reads is missing) fails, as the apiserver reports it as invalid.
 */
export function celRule(rule: string, self: unknown): boolean {
  try {
    return celProgram(rule)({ self: celValue(self) }) === true;
  } catch {
    return false;
  }
}

// Each object of a validation is converted once, however many rules read it (a route's rules are read by
// the rules of spec.rules and by those of each rule); celForget starts a new validation.
let converted = new WeakMap<object, unknown>();

/** Forgets the values converted for CEL: call before validating an object that may have changed since. */
export function celForget(): void {
  converted = new WeakMap();
}

/**
 * CEL's reserved words, which a property name is escaped from as __word__ (k8s.io/apiserver pkg/cel
 * escaping.go, celReservedSymbols; rules read a ReferenceGrant's or parentRef's `namespace` as
 * `__namespace__`).
 */
const RESERVED = new Set('true false null in as break const continue else for function if import let loop package namespace return var void while'.split(' '));

/** A property name as CEL rules spell it (escaping.go Escape): reserved words, "__", ".", "-" and "/" escaped. */
function escapeName(name: string): string {
  if (RESERVED.has(name)) return `__${name}__`;
  return name.replace(/__|[-./]/g, (m) => ({ __: '__underscores__', '.': '__dot__', '-': '__dash__', '/': '__slash__' })[m]!);
}

/** A JSON value as CEL sees it: integers as ints (bigint), property names escaped. */
function celValue(v: unknown): unknown {
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (v === null || typeof v !== 'object') return v;
  let out = converted.get(v);
  if (out !== undefined) return out;
  if (Array.isArray(v)) out = v.map(celValue);
  else {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) o[escapeName(k)] = celValue(x);
    out = o;
  }
  converted.set(v, out);
  return out;
}

const NANOS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const MAX_NANOS = 2 ** 63 - 1;

/**
 * A duration as Go's time.ParseDuration reads it (CEL's duration() calls it), in nanoseconds, or
 * undefined: an optional sign, then numbers with a unit each ("1h30m", "1.5s", ".5ms"), or "0" alone.
 */
export function goDuration(text: string): number | undefined {
  const sign = text[0] === '-' || text[0] === '+' ? text[0] : '';
  const body = text.slice(sign.length);
  if (body === '0') return 0;
  if (body === '') return undefined;
  let total = 0;
  const part = /(\d*)(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;
  let at = 0;
  while (at < body.length) {
    part.lastIndex = at;
    const p = part.exec(body);
    if (!p || (p[1] === '' && (p[2] ?? '') === '')) return undefined;
    total += Number(`${p[1] || '0'}.${p[2] || '0'}`) * NANOS[p[3]!]!;
    at = part.lastIndex;
  }
  if (total > MAX_NANOS) return undefined;
  return sign === '-' ? -total : total;
}

/** The rule "duration(self) >= duration('1ms')" on a string (another type is the type keyword's to report). */
export function durationAtLeast1ms(value: unknown): boolean {
  if (typeof value !== 'string') return true;
  const d = goDuration(value);
  return d !== undefined && d >= 1e6;
}

/** A string's length in code points (ajv's maxLength and minLength call it; Go counts runes). */
export function ucs2length(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
// Go's encoding/json decodes []byte with base64.StdEncoding, which skips \r and \n.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** The formats of the bundle, each as ajv's format definition. */
export const FORMATS = {
  int32: { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 },
  int64: { type: 'number', validate: (n: number) => Number.isInteger(n) && Math.abs(n) <= 2 ** 63 },
  double: { type: 'number', validate: () => true },
  'int-or-string': { validate: () => true },
  binary: { validate: () => true },
  byte: { type: 'string', validate: (s: string) => BASE64.test(s.replace(/[\r\n]/g, '')) },
  'date-time': { type: 'string', validate: (s: string) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)) },
} as const;
