// Regexes are RE2, judged as Istio judges them and matched as Envoy matches them. The table's verdicts are
// Istio's own: test/integration/regex.test.ts puts every row through Istio 1.27.9's validator.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fullMatch, MAX_REGEX_BYTES, regexProblem } from '../../src/core/istio/regex.ts';
import { headerConditionProblem } from '../../src/core/overrides.ts';
import { FULL_MATCHES, REGEX_CASES } from '../helpers/regexes.ts';

// Go's syntax errors are quoted as Istio quotes them; Istio's own two rules are said in vsop's words.
const OWN_WORDS: Record<string, string> = {
  'regex is too large': `Istio accepts a regex of at most ${MAX_REGEX_BYTES} bytes`,
  'regex string match should not be empty': 'is empty',
};
const label = (re: string) => JSON.stringify(re.length > 40 ? `${re.slice(0, 20)}…(${re.length} characters)` : re);

describe('regexProblem', () => {
  for (const c of REGEX_CASES) {
    it(`${label(c.re)}: ${c.about}: ${c.ok ? 'accepted' : 'refused'}`, () => {
      const problem = regexProblem(c.re);
      if (c.ok) assert.equal(problem, undefined);
      else assert.ok(problem?.includes(OWN_WORDS[c.why] ?? c.why), `${problem} should say ${c.why}`);
    });
  }

  it('says what to do: the rule RE2 lacks, and where its syntax is written', () => {
    assert.equal(
      regexProblem('a{1001}'),
      'is not an RE2 regular expression: invalid repeat count: `{1001}` (RE2 repeats at most 1000 times, nested repeats multiplied); Istio and Envoy use RE2: https://github.com/google/re2/wiki/Syntax',
    );
    assert.match(regexProblem('(?=dev)x')!, /\(RE2 has no lookahead or lookbehind\)/);
    assert.match(regexProblem('(a)\\1')!, /\(RE2 has no backreferences\)/);
    assert.match(regexProblem('a++')!, /\(RE2 has no atomic groups or possessive repeats/);
    assert.equal(regexProblem('é'.repeat(513)), "is 1026 bytes long: Istio accepts a regex of at most 1024 bytes (Envoy's RE2 program-size limit)");
  });

  it('quotes the pattern as written when a group name repeats and something else is wrong', () => {
    assert.match(regexProblem('(?P<n>a)(?P<n>b')!, /missing closing \): `\(\?P<n>a\)\(\?P<n>b`/);
    // Names inside a class or \Q...\E are text, and stay as they are.
    assert.equal(regexProblem('(?P<n>a)[(?P<n>]\\Q(?P<n>\\E(?P<n>b)'), undefined);
    assert.equal(fullMatch('(?P<n>a)[(?P<n>]\\Q(?P<n>\\E(?P<n>b)', 'a<(?P<n>b'), true);
  });
});

describe('fullMatch', () => {
  for (const [re, value, matches] of FULL_MATCHES) {
    it(`${label(re)} ${matches ? 'matches' : 'does not match'} ${JSON.stringify(value)} as a whole`, () => {
      assert.equal(fullMatch(re, value), matches);
    });
  }

  it('refuses a regex Istio refuses, naming it', () => {
    assert.throws(() => fullMatch('a{1001}', 'a'), /^Error: regex "a\{1001\}" is not an RE2 regular expression: invalid repeat count/);
  });
});

describe('header conditions with --match regex', () => {
  it('take RE2 (the issue: JavaScript refused these with "Invalid group")', () => {
    for (const value of ['(?i)alice', '(?i:alice)', '(?P<user>alice)']) {
      assert.equal(headerConditionProblem({ name: 'x-cid', value, match: 'regex' }), undefined, value);
    }
  });

  it('refuse what Istio refuses (the issue: JavaScript accepted these)', () => {
    for (const value of ['a{1001}', 'a'.repeat(1025), '\\q']) {
      assert.match(headerConditionProblem({ name: 'x-cid', value, match: 'regex' }) ?? '', /RE2|1024 bytes/, value);
    }
  });

  it('are still header values vsop can write, and exact values are not regexes', () => {
    assert.match(headerConditionProblem({ name: 'x-cid', value: ' a', match: 'regex' })!, /not a valid header value/);
    assert.equal(headerConditionProblem({ name: 'x-cid', value: 'a{1001}', match: 'exact' }), undefined);
  });
});
