// What the Kubernetes schemas say beyond JSON Schema, as the apiserver reads it: OpenAPI formats (int32
// and int64 ranges, base64 "byte", RFC 3339 "date-time"), and the one CEL rule Istio's VirtualService CRD
// uses (x-kubernetes-validations). The other x-kubernetes-* extensions need no code: int-or-string comes
// with its anyOf, and preserve-unknown-fields is the absence of additionalProperties: false (see
// scripts/schemas.ts). compile.ts teaches these to ajv; the precompiled validators call them at run time.

/** The CEL rules the bundle may hold, each implemented below; scripts/schemas.ts refuses any other. */
export const KNOWN_RULES: readonly string[] = ["duration(self) >= duration('1ms')"];

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
