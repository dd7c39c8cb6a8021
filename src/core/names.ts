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

// The apiserver's rules for the other names an object carries, from k8s.io/apimachinery
// pkg/util/validation (v0.33): IsDNS1035Label (a Service's name, ValidateServiceName), IsQualifiedName
// (label and annotation keys), IsValidLabelValue, IsValidPortName (a named targetPort) and IsConfigMapKey.

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;

/** A DNS-1123 label, such as a Service port's name. */
export function dnsLabelProblem(name: string): string | undefined {
  if (name.length > 63) return 'is longer than 63 characters';
  if (!DNS1123_LABEL.test(name)) return 'is not a valid DNS label (lower-case letters, digits and "-", starting and ending with a letter or digit)';
  return undefined;
}

/** A Service's name: a DNS-1035 label, since it becomes a DNS name of its own (my-app.default.svc). */
export function serviceNameProblem(name: string): string | undefined {
  if (name.length > 63) return 'is longer than 63 characters, the most a Service name may have (it is a DNS label)';
  if (!DNS1035_LABEL.test(name)) {
    return 'is not a valid Service name (lower-case letters, digits and "-", starting with a letter and ending with a letter or digit)';
  }
  return undefined;
}

/** A label's or an annotation's key: an optional DNS-subdomain prefix and "/", then a name of up to 63 characters. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const [prefix, name] = slash < 0 ? [undefined, key] : [key.slice(0, slash), key.slice(slash + 1)];
  if (prefix !== undefined && (prefix === '' || objectNameProblem(prefix))) return 'has a prefix that is not a DNS subdomain (such as example.com/)';
  if (name.length > 63) return 'has a name part longer than 63 characters';
  if (!QUALIFIED_NAME.test(name)) {
    return 'is not a valid key (letters, digits, "-", "_" and ".", starting and ending with a letter or digit, after an optional prefix and "/")';
  }
  return undefined;
}

export function labelValueProblem(value: string): string | undefined {
  if (value.length > 63) return 'is longer than 63 characters, the most a label value may have';
  if (value !== '' && !QUALIFIED_NAME.test(value)) {
    return 'is not a valid label value (letters, digits, "-", "_" and ".", starting and ending with a letter or digit, or empty)';
  }
  return undefined;
}

/** A port's name as a targetPort gives it (IANA_SVC_NAME). */
export function portNameProblem(name: string): string | undefined {
  if (name.length > 15 || !/^[-a-z0-9]+$/.test(name) || !/[a-z]/.test(name) || name.includes('--') || name.startsWith('-') || name.endsWith('-')) {
    return 'is not a valid port name (at most 15 lower-case letters, digits and single "-", with at least one letter, not starting or ending with "-")';
  }
  return undefined;
}

export function configMapKeyProblem(key: string): string | undefined {
  if (key.length > 253) return 'is longer than 253 characters';
  if (!CONFIG_MAP_KEY.test(key)) return 'is not a valid key (letters, digits, "-", "_" and ".")';
  if (key === '.' || key.startsWith('..')) return 'must not be "." or start with ".."';
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
