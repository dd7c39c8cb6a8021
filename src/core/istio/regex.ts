// Regular expressions as Istio and Envoy read them. Both use RE2, not JavaScript's engine: Istio's
// validation compiles a StringMatch regex with Go's regexp (RE2 syntax), and Envoy matches a header's
// `safe_regex` with RE2 itself, against the whole value. re2js is a port of RE2/J, itself a port of Go's
// regexp, so it accepts and refuses what Go does, with Go's own error texts: checked against Go 1.26's
// regexp on the table in test/unit/regex.test.ts and on 36,000 generated patterns (verdicts and full
// matches), with one difference, repaired below (duplicate group names).

import { RE2JS, RE2JSSyntaxException } from 're2js';

/**
 * The longest regex Istio accepts, in bytes of UTF-8 (Go's `len` of the string, not JavaScript's
 * `length`). Istio uses it as a stand-in for Envoy's RE2 program-size limit: istio.io/istio
 * pkg/config/validation/validation.go, validateStringRegexp.
 */
export const MAX_REGEX_BYTES = 1024;

const SYNTAX = 'https://github.com/google/re2/wiki/Syntax';
const CACHE_LIMIT = 1000;

type Compiled = { re: RE2JS } | { problem: string };
const cache = new Map<string, Compiled>();

/**
 * Why Istio refuses `re` as the regex of a StringMatch (a header, uri, method, authority or query match),
 * or undefined when it accepts it. The verdict is Istio 1.27's, in the order Istio checks:
 * empty (validateStringMatchRegexp), longer than {@link MAX_REGEX_BYTES} bytes, then RE2 syntax as Go's
 * `regexp.Compile` parses it (validateStringRegexp), both in istio.io/istio
 * pkg/config/validation/validation.go. The Kubernetes CRD schema has no rule of its own on regexes.
 *
 * The text continues a sentence that names the value: `"a{1001}" is not an RE2 regular expression: ...`.
 */
export function regexProblem(re: string): string | undefined {
  if (re === '') return 'is empty: Istio refuses an empty regex (".*" matches every value)';
  const bytes = utf8Length(re);
  if (bytes > MAX_REGEX_BYTES) {
    return `is ${bytes} bytes long: Istio accepts a regex of at most ${MAX_REGEX_BYTES} bytes (Envoy's RE2 program-size limit)`;
  }
  const c = compiled(re);
  return 'problem' in c ? c.problem : undefined;
}

/**
 * Whether `value` matches `re` as Envoy's `safe_regex` matches a header: RE2 semantics, and the whole
 * value must match (RE2::FullMatch: envoy source/common/common/regex.cc, CompiledGoogleReMatcher::match),
 * not a part of it as JavaScript's `test` would. `(?i)` and the other flags work as in RE2; `.` does not
 * match a newline unless `(?s)`. Each regex is compiled once and kept (up to 1,000 of them).
 *
 * Throws an Error naming the regex when {@link regexProblem} refuses it: Istio would not accept such a
 * route, so there is nothing to match.
 */
export function fullMatch(re: string, value: string): boolean {
  const problem = regexProblem(re);
  if (problem !== undefined) throw new Error(`regex ${JSON.stringify(re)} ${problem}`);
  return (compiled(re) as { re: RE2JS }).re.matches(value);
}

function compiled(re: string): Compiled {
  let c = cache.get(re);
  if (c) return c;
  c = compile(re);
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(re, c);
  return c;
}

function compile(re: string): Compiled {
  try {
    return { re: RE2JS.compile(re) };
  } catch (err) {
    if (!(err instanceof RE2JSSyntaxException)) throw err;
    // Go's regexp (and so Istio) accepts two groups of one name (checked with Go 1.26, which builds
    // test/istio's validator); RE2/J does not. Names change nothing about matching, so the pattern is compiled without them.
    if (err.error === 'duplicate capture group name') {
      const plain = withoutGroupNames(re);
      const c = compile(plain);
      return 'problem' in c ? { problem: c.problem.replace(`\`${plain}\``, `\`${re}\``) } : c;
    }
    return { problem: syntaxProblem(err) };
  }
}

/** What RE2 leaves out, told by the part of the pattern that Go's error quotes, or by the kind of error. */
const HINTS: { when: (quoted: string, kind: string) => boolean; hint: string }[] = [
  { when: (q) => /^\(\?<?[=!]/.test(q), hint: 'RE2 has no lookahead or lookbehind' },
  { when: (q) => /^\\[1-9]/.test(q), hint: 'RE2 has no backreferences' },
  {
    when: (q) => q.startsWith('(?>') || /[*+?}]\+$/.test(q),
    hint: 'RE2 has no atomic groups or possessive repeats; its repeats never backtrack',
  },
  { when: (_, kind) => kind === 'invalid repeat count', hint: 'RE2 repeats at most 1000 times, nested repeats multiplied' },
];

/** Go's error text (the one Istio reports), without Go's prefix, and a hint for what RE2 leaves out. */
function syntaxProblem(err: RE2JSSyntaxException): string {
  const what = err.message.replace(/^error parsing regexp: /, '');
  const quoted = err.getPattern() ?? '';
  const hint = HINTS.find((h) => h.when(quoted, err.error))?.hint;
  return `is not an RE2 regular expression: ${what}${hint ? ` (${hint})` : ''}; Istio and Envoy use RE2: ${SYNTAX}`;
}

/**
 * `re` with `(?P<name>` and `(?<name>` turned into plain `(`, outside character classes and `\Q...\E`
 * (where they are literal text). Only used on a pattern the parser has already read up to a second
 * group of one name, so the structure around names is valid.
 */
function withoutGroupNames(re: string): string {
  let out = '';
  let i = 0;
  while (i < re.length) {
    if (re.startsWith('\\Q', i)) {
      const end = re.indexOf('\\E', i + 2);
      const stop = end < 0 ? re.length : end + 2;
      out += re.slice(i, stop);
      i = stop;
    } else if (re[i] === '\\') {
      out += re.slice(i, i + 2);
      i += 2;
    } else if (re[i] === '[') {
      const stop = classEnd(re, i);
      out += re.slice(i, stop);
      i = stop;
    } else {
      const named = /^\(\?P?<[^>]*>/.exec(re.slice(i, i + 300));
      if (named && !/^\(\?<[=!]/.test(named[0])) {
        out += '(';
        i += named[0].length;
      } else {
        out += re[i];
        i += 1;
      }
    }
  }
  return out;
}

/** The index just past the character class opening at `start`, as Go's parseClass reads one. */
function classEnd(re: string, start: number): number {
  let i = start + 1;
  if (re[i] === '^') i++;
  if (re[i] === ']') i++; // a leading ] is literal
  while (i < re.length && re[i] !== ']') {
    if (re[i] === '\\') i += 2;
    else if (re.startsWith('[:', i) && re.indexOf(':]', i + 2) >= 0) i = re.indexOf(':]', i + 2) + 2;
    else i++;
  }
  return i + 1;
}

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
  }
  return n;
}
