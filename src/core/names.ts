// Kubernetes and HTTP name rules, as the API server and Istio apply them.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
// RFC 9110 token characters, lower case only: Envoy and Istio match header names in lower case.
const HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
// Visible ASCII, inner spaces allowed: what can travel in a header value without escaping.
const HEADER_VALUE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/** Returns why `name` is not a valid namespace name, or undefined when it is. */
export function namespaceNameProblem(name: string): string | undefined {
  if (name.length > 63) return 'is longer than 63 characters';
  if (!DNS1123_LABEL.test(name)) {
    return 'is not a valid namespace name (lower-case letters, digits and "-", starting and ending with a letter or digit)';
  }
  return undefined;
}

export function objectNameProblem(name: string): string | undefined {
  if (name.length > 253) return 'is longer than 253 characters';
  if (!DNS1123_SUBDOMAIN.test(name)) {
    return 'is not a valid object name (lower-case letters, digits, "-" and ".", starting and ending with a letter or digit)';
  }
  return undefined;
}

export function headerNameProblem(name: string): string | undefined {
  if (name.startsWith(':')) return 'is an HTTP/2 pseudo-header, which cannot carry routing';
  if (name.toLowerCase() !== name && HEADER_NAME.test(name.toLowerCase())) {
    return `is not lower case (Istio matches header names in lower case: use "${name.toLowerCase()}")`;
  }
  if (!HEADER_NAME.test(name)) return 'is not a valid HTTP header name';
  return undefined;
}

export function headerValueProblem(value: string): string | undefined {
  if (!HEADER_VALUE.test(value)) {
    return 'is not a valid header value (visible ASCII characters, no leading or trailing space)';
  }
  return undefined;
}

/** Levenshtein distance, for "did you mean" hints on unknown keys. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
