// routing/overlap.ts: whether one request can satisfy two routes' header conditions. Expected verdicts
// and witnesses are worked out by hand from Istio's StringMatch rules; the properties judge every answer
// by istio/match.ts (Istio's rule module, with re2js for RE2), never by overlap.ts itself.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RE2JS } from 're2js';
import { matches } from '../../src/core/istio/match.ts';
import { fullMatch, regexProblem } from '../../src/core/istio/regex.ts';
import type { HeaderCondition, MatchType } from '../../src/core/overrides.ts';
import { overlap, type RouteCondition, re2ToJs } from '../../src/core/routing/overlap.ts';

const h = (name: string, value: string, match: MatchType = 'exact'): HeaderCondition => ({ name, value, match });
const route = (...headers: HeaderCondition[]): RouteCondition => ({ headers });
const on = (port: number, ...headers: HeaderCondition[]): RouteCondition => ({ headers, port });

/** Whether a request with these headers meets the route, as Istio's rule module judges it. */
function istioMatches(r: RouteCondition, headers: Record<string, string>): boolean {
  const m = { headers: Object.fromEntries(r.headers.map((c) => [c.name, { [c.match]: c.value }])) };
  return matches(m, { host: 'my-app', port: r.port ?? 80, path: '/', method: 'GET', headers, from: 'default' });
}

describe('overlap: one header, each pair of match kinds', () => {
  const cases: [string, RouteCondition, RouteCondition, string | undefined][] = [
    // [what, a, b, the witness value of x-cid (undefined: disjoint)]
    ['exact = exact', route(h('x-cid', 'alice')), route(h('x-cid', 'alice')), 'alice'],
    ['exact ≠ exact', route(h('x-cid', 'alice')), route(h('x-cid', 'Alice')), undefined], // exact is case-sensitive
    ['exact starting with the prefix', route(h('x-cid', 'alice')), route(h('x-cid', 'al', 'prefix')), 'alice'],
    ['exact not starting with the prefix', route(h('x-cid', 'bob')), route(h('x-cid', 'al', 'prefix')), undefined],
    ['a prefix shorter than the exact value is no match the other way', route(h('x-cid', 'al')), route(h('x-cid', 'alice', 'prefix')), undefined],
    ['prefix within prefix: the longer one', route(h('x-cid', 'al', 'prefix')), route(h('x-cid', 'ali', 'prefix')), 'ali'],
    ['prefixes that part', route(h('x-cid', 'al', 'prefix')), route(h('x-cid', 'bo', 'prefix')), undefined],
    ['exact matched in full by the regex', route(h('x-cid', 'dev-bob')), route(h('x-cid', 'dev-.*', 'regex')), 'dev-bob'],
    ['exact matched only in part by the regex (full match)', route(h('x-cid', 'xdev-bob')), route(h('x-cid', 'dev-.*', 'regex')), undefined],
    ['exact against an RE2 (?i) regex', route(h('x-cid', 'alice')), route(h('x-cid', '(?i)ALICE', 'regex')), 'alice'],
    ['prefix against a regex: the shortest value', route(h('x-cid', 'st', 'prefix')), route(h('x-cid', 'stag.*', 'regex')), 'stag'],
    ['prefix against an alternation: the shorter branch', route(h('x-cid', 'dev-', 'prefix')), route(h('x-cid', 'dev-(alice|bob)', 'regex')), 'dev-bob'],
    ['a prefix the regex never starts with', route(h('x-cid', 'dev-', 'prefix')), route(h('x-cid', '[a-z]+', 'regex')), undefined],
    ['a prefix longer than every value of the regex', route(h('x-cid', 'abc', 'prefix')), route(h('x-cid', 'a[bc]', 'regex')), undefined],
    ['regexes meeting in one value', route(h('x-cid', 'dev-[a-z]+', 'regex')), route(h('x-cid', '.*-b.*', 'regex')), 'dev-b'],
    ['regexes whose classes part', route(h('x-cid', 'dev-[a-z]+', 'regex')), route(h('x-cid', 'dev-[0-9]+', 'regex')), undefined],
    ['regexes that both take the empty value', route(h('x-cid', 'a*', 'regex')), route(h('x-cid', 'b*', 'regex')), ''],
    ['RE2 dot stops at a newline', route(h('x-cid', 'a.b', 'regex')), route(h('x-cid', 'a\\nb', 'regex')), undefined],
    ['RE2 (?s) dot takes a newline', route(h('x-cid', '(?s)a.b', 'regex')), route(h('x-cid', 'a\\nb', 'regex')), 'a\nb'],
    ['RE2 \\s has no vertical tab', route(h('x-cid', '\\s', 'regex')), route(h('x-cid', '\\x0b', 'regex')), undefined],
    ['RE2 (?i) folds k with the Kelvin sign (U+212A)', route(h('x-cid', '(?i)k', 'regex')), route(h('x-cid', '\\x{212A}', 'regex')), '\u212a'],
    ['\\Q…\\E is literal', route(h('x-cid', '\\Qa.b\\E', 'regex')), route(h('x-cid', 'a[^.]b', 'regex')), undefined],
  ];
  for (const [what, a, b, value] of cases) {
    it(what, () => {
      for (const [x, y] of [
        [a, b],
        [b, a],
      ] as const) {
        const got = overlap(x, y);
        if (value === undefined) assert.deepEqual(got, { verdict: 'disjoint' });
        else assert.deepEqual(got, { verdict: 'overlap', witness: [['x-cid', value]], shared: ['x-cid'] });
      }
    });
  }
});

describe('overlap: several headers and ports', () => {
  it('compares header names without case', () => {
    assert.deepEqual(overlap(route(h('X-Developer', 'staging')), route(h('x-developer', 'staging'))), {
      verdict: 'overlap',
      witness: [['x-developer', 'staging']],
      shared: ['x-developer'],
    });
    assert.deepEqual(overlap(route(h('X-Developer', 'staging')), route(h('x-developer', 'qa'))), { verdict: 'disjoint' });
  });

  it('takes different headers as independent: one request carries both, and nothing is shared', () => {
    assert.deepEqual(overlap(route(h('x-a', 'a')), route(h('x-b', 'b'))), {
      verdict: 'overlap',
      witness: [
        ['x-a', 'a'],
        ['x-b', 'b'],
      ],
      shared: [],
    });
  });

  it('needs every header of both routes: one header that parts makes them disjoint', () => {
    const a = route(h('x-team', 'pay-', 'prefix'), h('x-env', 'qa'));
    assert.deepEqual(overlap(a, route(h('x-team', 'pay-eu'))), {
      verdict: 'overlap',
      witness: [
        ['x-team', 'pay-eu'],
        ['x-env', 'qa'],
      ],
      shared: ['x-team'],
    });
    assert.deepEqual(overlap(a, route(h('x-team', 'pay-eu'), h('x-env', 'prod'))), { verdict: 'disjoint' });
  });

  it('never overlaps across two different ports; a route for every port meets one for a port', () => {
    assert.deepEqual(overlap(on(80, h('x-cid', 'a')), on(9090, h('x-cid', 'a'))), { verdict: 'disjoint' });
    assert.equal(overlap(on(80, h('x-cid', 'a')), route(h('x-cid', 'a'))).verdict, 'overlap');
    assert.equal(overlap(on(80, h('x-cid', 'a')), on(80, h('x-cid', 'a'))).verdict, 'overlap');
  });
});

describe('overlap: RE2 that cannot be compared', () => {
  const unknown: [string, HeaderCondition, HeaderCondition, RegExp][] = [
    ['a \\p Unicode class', h('x-cid', '\\pL+', 'regex'), h('x-cid', 'dev-[0-9]+', 'regex'), /^the two regexes cannot be compared: "\\\\pL\+" uses \\p Unicode classes/],
    ['a POSIX class', h('x-cid', '[[:digit:]]+', 'regex'), h('x-cid', 'x.*', 'regex'), /uses \[:name:\] classes/],
    ['a word boundary', h('x-cid', '\\bfoo', 'regex'), h('x-cid', '.*-foo', 'regex'), /uses the assertion \\b/],
    ['\\A and \\z', h('x-cid', '\\Afoo\\z', 'regex'), h('x-cid', 'fo{3,}', 'regex'), /uses the assertion \\A/],
    ['an octal escape', h('x-cid', '\\101', 'regex'), h('x-cid', 'b', 'regex'), /uses \\1/],
    ['case folding beyond ASCII', h('x-cid', '(?i)é', 'regex'), h('x-cid', '[^a]', 'regex'), /case folding \(\?i\) of non-ASCII characters/],
    ['an anchor inside the pattern', h('x-cid', '(^a|b)', 'regex'), h('x-cid', 'c', 'regex'), /uses \^ inside the pattern/],
    ['against a prefix', h('x-cid', '\\pN+', 'regex'), h('x-cid', 'a', 'prefix'), /^regex "\\\\pN\+" and prefix "a" cannot be compared/],
  ];
  for (const [what, a, b, reason] of unknown) {
    it(`says "unknown" for ${what}`, () => {
      const got = overlap(route(a), route(b));
      assert.equal(got.verdict, 'unknown', JSON.stringify(got));
      assert.match((got as { reason: string }).reason, reason);
      assert.equal((got as { header: string }).header, 'x-cid');
    });
  }

  it('still finds an overlap when a value of the comparable regex matches the other by RE2', () => {
    // "dev" is the shortest value of dev.*, and \pL+ (letters) matches it: a witness, whatever \pL means in JavaScript.
    assert.deepEqual(overlap(route(h('x-cid', '\\pL+', 'regex')), route(h('x-cid', 'dev.*', 'regex'))), { verdict: 'overlap', witness: [['x-cid', 'dev']], shared: ['x-cid'] });
  });

  it('and an exact value is always compared, by matching it', () => {
    assert.equal(overlap(route(h('x-cid', '\\pL+', 'regex')), route(h('x-cid', 'dev'))).verdict, 'overlap');
    assert.equal(overlap(route(h('x-cid', '\\pL+', 'regex')), route(h('x-cid', 'dev1'))).verdict, 'disjoint');
  });
});

describe('re2ToJs: only RE2 syntax whose meaning it can state', () => {
  const translated: [string, string][] = [
    ['a.b', '\\u{61}[\\u{0}-\\u{9}\\u{b}-\\u{10ffff}]\\u{62}'],
    ['(?i)k', '[\\u{4b}\\u{6b}\\u{212a}]'],
    ['(?i)[^a-z]', '[\\u{0}-\\u{40}\\u{5b}-\\u{60}\\u{7b}-\\u{17e}\\u{180}-\\u{2129}\\u{212b}-\\u{10ffff}]'],
    ['\\d\\s', '[\\u{30}-\\u{39}][\\u{9}-\\u{a}\\u{c}-\\u{d}\\u{20}]'],
    ['^ab$|^c', '\\u{61}\\u{62}|\\u{63}'],
    ['a{2,3}?', '(?:\\u{61}){2,3}'],
    ['(?P<x>a)(?<y>b)', '(?:\\u{61})(?:\\u{62})'],
    ['(a)(?i)b|c', '(?:\\u{61})[\\u{42}\\u{62}]|[\\u{43}\\u{63}]'],
    ['[]a-]', '[\\u{2d}\\u{5d}\\u{61}]'],
    ['a]}', '\\u{61}\\u{5d}\\u{7d}'],
  ];
  for (const [re, js] of translated) it(`translates ${re}`, () => assert.deepEqual(re2ToJs(re), { source: js }));

  for (const re of ['\\pL', '\\p{Greek}', '[[:alpha:]]', '\\b', '\\B', '\\Aa', 'a\\z', '\\C', '\\101', 'a{01}', 'a{,2}', '(?m)^a', '(a$)', '\\Qab\\E*', '(?i)\\x{e9}']) {
    it(`does not translate ${re}`, () => assert.ok('unsupported' in re2ToJs(re), JSON.stringify(re2ToJs(re))));
  }

  it('folds ASCII as RE2 does: every character (?i)[a-z] matches in all of Unicode, and no other', () => {
    const found: number[] = [];
    const letters = RE2JS.compile('(?i)[a-z]');
    for (let cp = 0; cp <= 0x10ffff; cp++) if ((cp < 0xd800 || cp > 0xdfff) && letters.matches(String.fromCodePoint(cp))) found.push(cp);
    const source = (re2ToJs('(?i)[a-z]') as { source: string }).source;
    const js = new RegExp(`^(?:${source})$`, 'u');
    assert.deepEqual(
      found.filter((cp) => cp > 0x7f),
      [0x17f, 0x212a],
    );
    for (const cp of found) assert.ok(js.test(String.fromCodePoint(cp)), cp.toString(16));
    // Each letter's own orbit, on every character that folds with some letter.
    for (let c = 0x41; c <= 0x7a; c++) {
      if (c > 0x5a && c < 0x61) continue;
      const re2 = RE2JS.compile(`(?i)${String.fromCharCode(c)}`);
      const mine = new RegExp(`^(?:${(re2ToJs(`(?i)${String.fromCharCode(c)}`) as { source: string }).source})$`, 'u');
      for (const cp of found) assert.equal(mine.test(String.fromCodePoint(cp)), re2.matches(String.fromCodePoint(cp)), `${String.fromCharCode(c)} / ${cp.toString(16)}`);
    }
    // And characters that are no letters fold to nothing else.
    const others = RE2JS.compile('(?i)[\\x00-\\x40\\x5b-\\x60\\x7b-\\x7f]');
    for (let cp = 0x80; cp <= 0x10ffff; cp++) if (cp < 0xd800 || cp > 0xdfff) assert.ok(!others.matches(String.fromCodePoint(cp)), cp.toString(16));
  });
});

// ---- properties, judged by istio/match.ts and regex.ts (re2js) ----

const ALPHABET = ['a', 'b', 'k', 'K', 's', '-', '.', '0', ' ', '\n', '\r', '\v', '\u017f', '\u212a'];
const value = fc.array(fc.constantFrom(...ALPHABET), { maxLength: 6 }).map((cs) => cs.join(''));
const plainValue = fc.array(fc.constantFrom('a', 'b', 'k', '-'), { minLength: 1, maxLength: 3 }).map((cs) => cs.join(''));

/** Small RE2 regexes over the alphabet: most translated, some not (\pL, \b, [[:alpha:]]), some with (?i) or (?s). */
const ATOMS = ['a', 'b', 'k', 'K', 'S', '-', '\\.', '0', '.', '[ab]', '[^a]', '[a-k]', '\\d', '\\w', '\\W', '\\s', '\\n', '\\x{212A}', '\\Qa.\\E'];
const atom = fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...ATOMS) }, { weight: 1, arbitrary: fc.constantFrom('\\pL', '\\b', '[[:alpha:]]') });
const QUANTIFIERS = ['', '', '', '*', '+', '?', '{1,2}', '*?'];
function regexOf(depth: number): fc.Arbitrary<string> {
  const piece =
    depth === 0
      ? atom
      : fc.oneof(
          { weight: 4, arbitrary: atom },
          { weight: 1, arbitrary: regexOf(depth - 1).map((r) => `(${r})`) },
          { weight: 1, arbitrary: regexOf(depth - 1).map((r) => `(?i:${r})`) },
        );
  const sequence = fc.array(fc.tuple(piece, fc.constantFrom(...QUANTIFIERS)), { minLength: 1, maxLength: 3 }).map((xs) => xs.map(([a, q]) => a + q).join(''));
  return fc.oneof({ weight: 3, arbitrary: sequence }, { weight: 1, arbitrary: fc.tuple(sequence, sequence).map(([x, y]) => `${x}|${y}`) });
}
const regex = regexOf(2)
  .chain((r) => fc.constantFrom(r, r, `(?i)${r}`, `(?s)${r}`, `^${r}$`))
  .filter((r) => regexProblem(r) === undefined);

const condition = (name: string) =>
  fc.oneof(
    plainValue.map((v) => h(name, v, 'exact')),
    plainValue.map((v) => h(name, v, 'prefix')),
    regex.map((v) => h(name, v, 'regex')),
  );
const routeCondition = fc
  .tuple(condition('x-cid'), fc.option(condition('x-env'), { nil: undefined, freq: 2 }), fc.boolean())
  .map(([a, b, upper]) => route(upper ? { ...a, name: 'X-Cid' } : a, ...(b ? [b] : [])));

describe('properties', () => {
  it('the translation matches in full exactly what RE2 matches in full', () => {
    fc.assert(
      fc.property(regex, fc.array(value, { minLength: 20, maxLength: 20 }), (re, values) => {
        const t = re2ToJs(re);
        if (!('source' in t)) return;
        const js = new RegExp(`^(?:${t.source})$`, 'u');
        for (const v of values) assert.equal(js.test(v), fullMatch(re, v), `${re} on ${JSON.stringify(v)}`);
      }),
      { numRuns: 400 },
    );
  });

  it('an overlap comes with a request that Istio routes by both; "disjoint" is never said when a value meets both', () => {
    fc.assert(
      fc.property(routeCondition, routeCondition, fc.array(value, { minLength: 30, maxLength: 30 }), (a, b, values) => {
        const got = overlap(a, b);
        if (got.verdict === 'overlap') {
          const request = Object.fromEntries(got.witness);
          assert.ok(istioMatches(a, request) && istioMatches(b, request), `witness ${JSON.stringify(got.witness)} for ${JSON.stringify([a, b])}`);
        }
        if (got.verdict !== 'disjoint') return;
        // Values from the routes themselves too, so that many pairs have one that meets both.
        const own = [...a.headers, ...b.headers].map((c) => c.value);
        const candidates = [...values, ...own, ...own.flatMap((x) => values.map((v) => x + v))];
        for (const cid of candidates) {
          for (const env of candidates.slice(0, 12)) {
            const request = { 'x-cid': cid, 'x-env': env };
            assert.ok(!(istioMatches(a, request) && istioMatches(b, request)), `${JSON.stringify(request)} meets ${JSON.stringify([a, b])}, said to be disjoint`);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
