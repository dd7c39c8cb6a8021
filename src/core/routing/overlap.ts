// Whether one request can satisfy two routes' conditions, as Istio matches headers: the question route add
// asks before a hand route may go in next to another namespace's route. The rules are Istio's StringMatch
// for headers (istio.io/api networking/v1alpha3 virtual_service.proto; pilot's translateHeaderMatch hands
// them to Envoy's HeaderMatcher): `exact` equals the whole value, `prefix` starts it, `regex` is RE2 and
// matches the whole value (Envoy's safe_regex, RE2::FullMatch; see istio/regex.ts). Header names are
// compared without case (RFC 9110; Envoy keeps them in lower case), and conditions on different headers
// are independent: one request can carry every header. A header value is taken to be any string, a
// superset of what a request can carry, so "disjoint" is never said of two routes some request matches.
//
// A regex against an exact value is decided by matching that value (Istio's own rule, regex.ts). Anything
// else with a regex is decided on automata (refa): a prefix p is the language p·Σ*, a regex its RE2
// meaning, written out as an equivalent JavaScript regex by a translator that reads only the RE2 syntax
// whose meaning it can state exactly and answers "unknown" for the rest, never a guess.

import { getIntersectionWordSets, JS, NFA, TooManyNodesError, Words } from 'refa';
import { fullMatch, regexProblem } from '../istio/regex.ts';
import type { HeaderCondition } from '../overrides.ts';

/** The conditions of one route: every header must match (AND), on its port or, without one, on every port. */
export interface RouteCondition {
  headers: readonly HeaderCondition[];
  port?: number;
}

/** Header values (names in lower case) of a request that satisfies both routes, in the order the routes name them. */
export type Witness = [name: string, value: string][];

export type Overlap =
  | { verdict: 'disjoint' }
  /** `shared`: the headers both routes test (none: they select on different headers). */
  | { verdict: 'overlap'; witness: Witness; shared: string[] }
  /** Undecided: `reason` says which regex could not be compared, on `header`. */
  | { verdict: 'unknown'; header: string; reason: string; shared: string[] };

const DISJOINT: Overlap = Object.freeze({ verdict: 'disjoint' });

/** Can one request satisfy both `a` and `b`? With a witness when it can. */
export function overlap(a: RouteCondition, b: RouteCondition): Overlap {
  // A route for one port never sees another port's requests (the match's port, TranslateRoute).
  if (a.port !== undefined && b.port !== undefined && a.port !== b.port) return DISJOINT;
  const groups = new Map<string, HeaderCondition[]>();
  for (const h of [...a.headers, ...b.headers]) {
    const name = h.name.toLowerCase();
    const list = groups.get(name);
    if (list) list.push(h);
    else groups.set(name, [h]);
  }
  const shared = sharedHeaders(a, b);
  const witness: Witness = [];
  let unknown: { header: string; reason: string } | undefined;
  for (const [name, conditions] of groups) {
    const v = satisfy(conditions);
    if (v === NONE) return DISJOINT;
    if ('reason' in v) unknown ??= { header: name, reason: v.reason };
    else witness.push([name, v.value]);
  }
  return unknown ? { verdict: 'unknown', ...unknown, shared } : { verdict: 'overlap', witness, shared };
}

/** The headers both routes test, in lower case. */
export function sharedHeaders(a: RouteCondition, b: RouteCondition): string[] {
  const inA = new Set(a.headers.map((h) => h.name.toLowerCase()));
  return [...new Set(b.headers.map((h) => h.name.toLowerCase()))].filter((n) => inA.has(n));
}

const NONE = Symbol('no value');
type Value = { value: string } | { reason: string } | typeof NONE;

/** A value of one header that every condition on it accepts, NONE when there is none. */
function satisfy(conditions: readonly HeaderCondition[]): Value {
  // The only value an exact match accepts decides it.
  const exact = conditions.find((c) => c.match === 'exact');
  if (exact) return conditions.every((c) => holds(c, exact.value)) ? { value: exact.value } : NONE;
  const prefixes = conditions.filter((c) => c.match === 'prefix').map((c) => c.value);
  const longest = prefixes.reduce((x, y) => (y.length > x.length ? y : x), '');
  if (!prefixes.every((p) => longest.startsWith(p))) return NONE;
  const regexes = conditions.filter((c) => c.match === 'regex').map((c) => c.value);
  // The longest prefix itself (or the empty value) is the simplest candidate, judged by Istio's rule.
  if (regexes.every((r) => holds({ name: '', match: 'regex', value: r }, longest))) return { value: longest };
  try {
    const languages: NFA[] = [];
    const opaque: { re: string; why: string }[] = [];
    for (const re of regexes) {
      const a = automaton(re);
      if ('why' in a) opaque.push({ re, why: a.why });
      else languages.push(a.nfa);
    }
    if (prefixes.length > 0) languages.push(compile(`${literal(longest)}${ANY}*`));
    if (languages.length === 0) return { reason: uncomparable(prefixes.length > 0 ? longest : undefined, regexes, opaque) };
    let both = languages[0]!;
    for (const l of languages.slice(1)) both = NFA.fromIntersection(both, l, new NFA.LimitedNodeFactory(MAX_NODES));
    if (opaque.length === 0) {
      const w = words(both).next();
      return w.done ? NONE : { value: w.value };
    }
    // A value of the rest that Istio's rule finds the other regexes matching is still a witness.
    let tried = 0;
    for (const w of words(both)) {
      if (opaque.every((o) => holds({ name: '', match: 'regex', value: o.re }, w))) return { value: w };
      if (++tried >= CANDIDATES) break;
    }
    return { reason: uncomparable(prefixes.length > 0 ? longest : undefined, regexes, opaque) };
  } catch (err) {
    if (!(err instanceof TooManyNodesError)) throw err;
    return { reason: `${describe(prefixes.length > 0 ? longest : undefined, regexes)} are too large to compare (more than ${MAX_NODES} automaton states)` };
  }
}

/** Limits the work of one comparison: regexes of up to 1,024 bytes with repeats of up to 1,000 stay well within. */
const MAX_NODES = 20_000;
/** Values of the comparable part tried against a regex that cannot be compared. */
const CANDIDATES = 64;

/** Istio's StringMatch rule for a header value (istio/match.ts, whose regex is regex.ts's). */
function holds(c: HeaderCondition, value: string): boolean {
  if (c.match === 'exact') return value === c.value;
  if (c.match === 'prefix') return value.startsWith(c.value);
  return regexProblem(c.value) === undefined && fullMatch(c.value, value);
}

function describe(prefix: string | undefined, regexes: readonly string[]): string {
  const rs = regexes.map((r) => JSON.stringify(r));
  const what = rs.length === 1 ? `regex ${rs[0]}` : `regexes ${rs.join(' and ')}`;
  return prefix === undefined ? what : `${what} and prefix ${JSON.stringify(prefix)}`;
}

function uncomparable(prefix: string | undefined, regexes: readonly string[], opaque: readonly { re: string; why: string }[]): string {
  const whys = opaque.map((o) => `${JSON.stringify(o.re)} uses ${o.why}`).join('; ');
  const subject = regexes.length === 2 && prefix === undefined ? 'the two regexes' : describe(prefix, regexes);
  return `${subject} cannot be compared: ${whys}, which vsop does not compare`;
}

/** Words of an automaton, shortest first, each the most readable of its set; visible ASCII values first. */
function* words(nfa: NFA): Generator<string> {
  let any = false;
  for (const set of getIntersectionWordSets(nfa, visible(), MAX_NODES)) {
    any = true;
    yield String.fromCodePoint(...Words.pickMostReadableWord(set));
  }
  if (any) return;
  for (const set of nfa.wordSets()) yield String.fromCodePoint(...Words.pickMostReadableWord(set));
}

let visibleValues: NFA | undefined;
/** What a header value looks like when written by hand: visible ASCII, inner spaces (names.ts). */
function visible(): NFA {
  visibleValues ??= compile(`(?:[\\u{21}-\\u{7e}](?:[\\u{20}-\\u{7e}]*[\\u{21}-\\u{7e}])?)?`);
  return visibleValues;
}

const automata = new Map<string, { nfa: NFA } | { why: string }>();

/** The set of values an RE2 regex matches in full, or why it cannot be stated. */
function automaton(re: string): { nfa: NFA } | { why: string } {
  let a = automata.get(re);
  if (a) return a;
  const t = regexProblem(re) === undefined ? re2ToJs(re) : { unsupported: 'syntax Istio refuses' };
  a = 'source' in t ? { nfa: compile(t.source) } : { why: t.unsupported };
  if (automata.size >= 1000) automata.clear();
  automata.set(re, a);
  return a;
}

/** A JavaScript pattern (u flag, no anchors) as an automaton of its language. */
function compile(source: string): NFA {
  const { expression, maxCharacter } = JS.Parser.fromLiteral({ source, flags: 'u' }).parse({ maxNodes: MAX_NODES });
  return NFA.fromRegex(expression, { maxCharacter }, {}, new NFA.LimitedNodeFactory(MAX_NODES));
}

// ---- RE2 syntax, read as Go's regexp/syntax (Perl flags, which Istio and RE2 use) reads it ----

const MAX_RUNE = 0x10ffff;
const ANY = `[\\u{0}-\\u{${MAX_RUNE.toString(16)}}]`;
type Ranges = [number, number][];
interface Flags {
  /** (?i): Unicode simple case folding. */
  fold: boolean;
  /** (?s): `.` matches \n too. */
  dotNL: boolean;
  /** (?m): ^ and $ at line ends. */
  multiLine: boolean;
}

class Unsupported extends Error {}

/**
 * An RE2 regex as a JavaScript pattern (for the `u` flag) that matches in full exactly the strings the RE2
 * regex matches in full, or what it uses that is not translated. Every character comes out as `\u{…}` and
 * every set as explicit ranges, so no JavaScript rule (its `.`, `\s`, case folding, `$`) ever applies.
 * Translated: literals, `\Q…\E`, `.`, classes with ranges and `\d \s \w` (and negations), escapes
 * `\xHH \x{H…} \a \f \t \n \r \v` and escaped punctuation, groups (also named), alternation, the repeats
 * `* + ? {n} {n,} {n,m}` (lazy or not: the same values match), flags i, s, U, m, and `^`/`$` at the ends of
 * a top-level alternative (where full match makes them say nothing). Not translated: `\p` Unicode classes,
 * `[[:name:]]` classes, `\b \B \A \z \C`, octal escapes, anchors elsewhere, a `{` that is no repeat, and case
 * folding of non-ASCII characters (whose RE2 fold orbits vsop does not hold).
 */
export function re2ToJs(re: string): { source: string } | { unsupported: string } {
  try {
    return { source: translate(re) };
  } catch (err) {
    if (err instanceof Unsupported) return { unsupported: err.message };
    throw err;
  }
}

function translate(re: string): string {
  const cs = [...re];
  let i = 0;
  const fail = (what: string): never => {
    throw new Unsupported(what);
  };

  function alternation(depth: number, outer: Flags): string {
    // A flag set by (?i) lasts to the end of its group, across `|` (Go's parser restores flags at `)` only).
    const f = { ...outer };
    const alternatives = [concatenation(depth, f)];
    while (cs[i] === '|') {
      i++;
      alternatives.push(concatenation(depth, f));
    }
    return alternatives.join('|');
  }

  function concatenation(depth: number, f: Flags): string {
    let out = '';
    let atoms = 0;
    for (let c = cs[i]; c !== undefined && c !== '|' && c !== ')'; c = cs[i]) {
      if (c === '^' || c === '$') {
        if (f.multiLine) fail(`${c} under the m flag`);
        if (depth > 0 || (c === '^' && atoms > 0)) fail(`${c} inside the pattern`);
        i++;
        if (c === '$' && cs[i] !== undefined && cs[i] !== '|') fail('$ inside the pattern');
        if (cs[i] !== undefined && '*+?{'.includes(cs[i]!)) fail(`a repeated ${c}`);
        continue;
      }
      const a = atom(depth, f);
      if (a === undefined) continue;
      out += repeated(a);
      atoms++;
    }
    return out;
  }

  function repeated(a: string): string {
    const q = repeat();
    if (q === undefined) return a;
    if (repeat() !== undefined) fail('a repeat of a repeat');
    return `(?:${a})${q}`;
  }

  function repeat(): string | undefined {
    const c = cs[i];
    let q: string;
    if (c === '*' || c === '+' || c === '?') q = c;
    else if (c === '{') {
      // Go reads {n}, {n,}, {n,m} without leading zeros as a repeat; any other { is a literal (not translated).
      const m = /^\{(0|[1-9][0-9]*)(,(0|[1-9][0-9]*)?)?\}/.exec(cs.slice(i, i + 12).join(''));
      if (!m) return undefined;
      q = m[0];
    } else return undefined;
    i += q.length;
    if (cs[i] === '?') i++;
    return q;
  }

  function atom(depth: number, f: Flags): string | undefined {
    const c = cs[i++]!;
    switch (c) {
      case '(':
        return group(depth, f);
      case '[':
        return set(charClass(f));
      case '.':
        return set(f.dotNL ? [[0, MAX_RUNE]] : complement([[10, 10]]));
      case '\\':
        return escapeSequence(f);
      case '*':
      case '+':
      case '?':
      case '{':
        return fail(c === '{' ? 'a { that is no repeat (Go reads it as a literal)' : `${c} where no repeat can be`);
      default:
        return char(c.codePointAt(0)!, f);
    }
  }

  function group(depth: number, f: Flags): string | undefined {
    let inner = f;
    if (cs[i] === '?') {
      const rest = cs.slice(i, i + 300).join('');
      const named = /^\?P?<[A-Za-z0-9_]+>/.exec(rest);
      const flags = /^\?([A-Za-z]*)(?:-([A-Za-z]*))?([:)])/.exec(rest);
      if (named) i += named[0].length;
      else if (flags) {
        i += flags[0].length;
        const g = { ...f };
        for (const [letters, on] of [
          [flags[1] ?? '', true],
          [flags[2] ?? '', false],
        ] as const) {
          for (const l of letters) {
            if (l === 'i') g.fold = on;
            else if (l === 's') g.dotNL = on;
            else if (l === 'm') g.multiLine = on;
            else if (l !== 'U') fail(`the flag ${l}`); // U swaps greed: the same values match
          }
        }
        if (flags[3] === ')') {
          Object.assign(f, g);
          return undefined;
        }
        inner = g;
      } else fail(`the group (${rest.slice(0, 3)}`);
    }
    const body = alternation(depth + 1, inner);
    if (cs[i++] !== ')') fail('an unclosed group');
    return `(?:${body})`;
  }

  function escapeSequence(f: Flags): string {
    const c = cs[i++];
    if (c === 'Q') {
      let out = '';
      while (i < cs.length && !(cs[i] === '\\' && cs[i + 1] === 'E')) out += char(cs[i++]!.codePointAt(0)!, f);
      if (i < cs.length) i += 2;
      // Go repeats only the last character of \Q…\E.
      if (cs[i] !== undefined && '*+?{'.includes(cs[i]!)) fail('a repeat after \\Q…\\E');
      return `(?:${out})`;
    }
    const perl = c === undefined ? undefined : perlClass(c, f);
    if (perl) return set(perl);
    return char(escapedChar(c), f);
  }

  /** The character of `\c` (Go's parseEscape), for the escapes translated. */
  function escapedChar(c: string | undefined): number {
    if (c === undefined) return fail('a trailing \\');
    const simple: Record<string, number> = { a: 7, f: 12, t: 9, n: 10, r: 13, v: 11 };
    if (simple[c] !== undefined) return simple[c];
    if (c === 'x') {
      const m = /^(?:\{([0-9A-Fa-f]+)\}|([0-9A-Fa-f]{2}))/.exec(cs.slice(i, i + 10).join(''));
      if (!m) return fail('\\x without hex digits');
      i += m[0].length;
      const cp = Number.parseInt(m[1] ?? m[2]!, 16);
      return cp <= MAX_RUNE ? cp : fail('\\x past U+10FFFF');
    }
    // Go: an escaped ASCII character other than a letter or digit is itself.
    if (c.length === 1 && c < '\x80' && !/[A-Za-z0-9]/.test(c)) return c.codePointAt(0)!;
    if (c === 'p' || c === 'P') return fail('\\p Unicode classes');
    if ('bBAz'.includes(c)) return fail(`the assertion \\${c}`);
    return fail(`\\${c}`);
  }

  function charClass(f: Flags): Ranges {
    const negated = cs[i] === '^';
    if (negated) i++;
    const ranges: Ranges = [];
    // Go: `]` first is a literal; `-` is a literal unless it makes a range.
    for (let first = true; first || cs[i] !== ']'; first = false) {
      if (cs[i] === undefined) fail('an unclosed class');
      if (cs[i] === '[' && cs[i + 1] === ':') fail('[:name:] classes');
      const perl = cs[i] === '\\' && cs[i + 1] !== undefined ? perlClass(cs[i + 1]!, f) : undefined;
      if (perl) {
        i += 2;
        ranges.push(...perl);
        continue;
      }
      const lo = classChar();
      let hi = lo;
      if (cs[i] === '-' && cs[i + 1] !== undefined && cs[i + 1] !== ']') {
        i++;
        hi = classChar();
      }
      if (hi < lo) fail('a backwards range');
      ranges.push(...(f.fold ? fold([[lo, hi]]) : ([[lo, hi]] as Ranges)));
    }
    i++;
    return negated ? complement(ranges) : normalize(ranges);
  }

  function classChar(): number {
    const c = cs[i++]!;
    return c === '\\' ? escapedChar(cs[i++]) : c.codePointAt(0)!;
  }

  function char(cp: number, f: Flags): string {
    return f.fold ? set(fold([[cp, cp]])) : esc(cp);
  }

  const out = alternation(0, { fold: false, dotNL: false, multiLine: false });
  if (i < cs.length) fail('an unbalanced )');
  return out;
}

/** \d \s \w and their negations, as Go's perl_groups.go has them (ASCII only; folded first under (?i), then negated). */
function perlClass(c: string, f: Flags): Ranges | undefined {
  const groups: Record<string, Ranges> = {
    d: [[0x30, 0x39]],
    s: [
      [0x09, 0x0a],
      [0x0c, 0x0d],
      [0x20, 0x20],
    ],
    w: [
      [0x30, 0x39],
      [0x41, 0x5a],
      [0x5f, 0x5f],
      [0x61, 0x7a],
    ],
  };
  const base = groups[c.toLowerCase()];
  if (!base) return undefined;
  const folded = f.fold ? fold(base) : base;
  return c === c.toLowerCase() ? folded : complement(folded);
}

/**
 * The ranges with every character's RE2 case-fold orbit added. Held for ASCII only: a letter and its other
 * case, and k with U+212A (Kelvin sign), s with U+017F (long s), as RE2's simple folding pairs them
 * (checked against re2js in the unit tests). A range reaching past ASCII is not translated.
 */
function fold(ranges: Ranges): Ranges {
  const out: Ranges = [...ranges];
  for (const [lo, hi] of ranges) {
    if (hi > 0x7f) throw new Unsupported('case folding (?i) of non-ASCII characters');
    for (let c = lo; c <= hi; c++) {
      const lower = c | 0x20;
      if (lower < 0x61 || lower > 0x7a) continue;
      out.push([lower, lower], [lower - 0x20, lower - 0x20]);
      if (lower === 0x6b) out.push([0x212a, 0x212a]);
      if (lower === 0x73) out.push([0x17f, 0x17f]);
    }
  }
  return normalize(out);
}

function normalize(ranges: Ranges): Ranges {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Ranges = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function complement(ranges: Ranges): Ranges {
  const out: Ranges = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

function esc(cp: number): string {
  return `\\u{${cp.toString(16)}}`;
}

function set(ranges: Ranges): string {
  return `[${ranges.map(([lo, hi]) => (lo === hi ? esc(lo) : `${esc(lo)}-${esc(hi)}`)).join('')}]`;
}

/** A string as a JavaScript pattern matching exactly it. */
function literal(s: string): string {
  return [...s].map((c) => esc(c.codePointAt(0)!)).join('');
}
