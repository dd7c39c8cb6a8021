// One table of regexes and whether Istio accepts each as a StringMatch regex, shared by the unit test
// (test/unit/regex.test.ts: vsop's verdict) and the integration test (test/integration/regex.test.ts:
// Istio 1.27.9's own validator gives the same verdict for every row, so no row is taken on trust).
// `why` is a part of Go's error text, which Istio's message carries.

export type RegexCase = { re: string; ok: true; about: string } | { re: string; ok: false; about: string; why: string };

const ok = (re: string, about: string): RegexCase => ({ re, ok: true, about });
const refused = (re: string, about: string, why: string): RegexCase => ({ re, ok: false, about, why });

export const REGEX_CASES: RegexCase[] = [
  // The examples: valid RE2 that JavaScript refused, and what Istio refuses that JavaScript accepted.
  ok('(?i)alice', 'a flag for the whole regex'),
  ok('(?i:alice)', 'a flag for a group'),
  ok('(?P<user>alice)', 'a named group, Python style'),
  refused('a{1001}', 'a repeat over 1000', 'invalid repeat count'),
  refused('a'.repeat(1025), 'over 1,024 bytes', 'regex is too large'),
  refused('\\q', 'an escape RE2 does not know', 'invalid escape sequence'),
  // Flags.
  ok('(?s)dev-.*', 'dot matches newline'),
  ok('(?m)^dev$', 'multi-line'),
  ok('(?U)a+', 'ungreedy'),
  ok('(?i-s:a.)', 'flags set and cleared in a group'),
  refused('(?x)a b', 'extended mode (Perl, not RE2)', 'invalid or unsupported Perl syntax'),
  // Groups.
  ok('(?<user>alice)', 'a named group, Perl style'),
  ok('(?P<n>a)(?P<n>b)', 'two groups of one name (Go accepts them; RE2/J alone would not)'),
  refused('(?P<>a)', 'a group with an empty name', 'invalid named capture'),
  refused('(?P=n)', 'a named backreference', 'invalid or unsupported Perl syntax'),
  refused('(dev-(alice)', 'an unclosed group', 'missing closing )'),
  refused('dev)', 'an unopened group', 'unexpected )'),
  refused('(?#note)a', 'a comment group', 'invalid or unsupported Perl syntax'),
  // Classes.
  ok('[a-z0-9-]+', 'a class with ranges'),
  ok('[]a]', 'a leading ] is literal'),
  ok('[[:alpha:]]+', 'a POSIX class'),
  refused('[[:word-ish:]]', 'an unknown POSIX class', 'invalid character class range'),
  refused('[z-a]', 'a backwards range', 'invalid character class range'),
  refused('[a-', 'an unclosed class', 'missing closing ]'),
  ok('\\d+\\s\\w', 'Perl classes'),
  // Unicode classes.
  ok('\\pL+', 'a one-letter Unicode class'),
  ok('\\p{Greek}\\PN', 'a Unicode script and a negated class'),
  ok('\\p{^Han}', 'a negated script'),
  refused('\\p{Klingon}', 'an unknown Unicode class', 'invalid character class range'),
  ok('\\x{1F600}', 'a code point'),
  refused('\\x{110000}', 'beyond Unicode', 'invalid escape sequence'),
  // Repeat bounds.
  ok('a{1000}', 'a repeat of exactly 1000'),
  ok('a{0,1000}', 'a range up to 1000'),
  refused('a{2,1001}', 'a range over 1000', 'invalid repeat count'),
  refused('a{1001,}', 'an open range from 1001', 'invalid repeat count'),
  ok('((a{10}){10}){10}', 'nested repeats of 1000 in all'),
  refused('((a{10}){10}){11}', 'nested repeats of 1100 in all', 'invalid repeat count'),
  ok('a{,5}', 'no lower bound: literal text in RE2'),
  refused('a**', 'a doubled repeat', 'invalid nested repetition operator'),
  refused('*a', 'a repeat of nothing', 'missing argument to repetition operator'),
  // Lookaround and backreferences: not in RE2.
  refused('(?=dev)dev-.*', 'lookahead', 'invalid or unsupported Perl syntax'),
  refused('(?!prod)\\w+', 'negative lookahead', 'invalid or unsupported Perl syntax'),
  refused('(?<=x-)dev', 'lookbehind', 'invalid named capture'),
  refused('(?<!x-)dev', 'negative lookbehind', 'invalid named capture'),
  refused('(a)\\1', 'a backreference', 'invalid escape sequence'),
  refused('(?<n>a)\\k<n>', 'a named backreference, Perl style', 'invalid escape sequence'),
  // Quoting.
  ok('\\Qa.b*c\\E', 'quoted text'),
  ok('\\Qa.b', 'quoted to the end'),
  // Possessive repeats and atomic groups: not in RE2.
  refused('a*+', 'a possessive repeat', 'invalid nested repetition operator'),
  refused('(?>a+)b', 'an atomic group', 'invalid or unsupported Perl syntax'),
  // Other escapes and anchors.
  ok('\\Adev\\z', 'text anchors'),
  refused('dev\\Z', 'Perl end-of-text anchor (not in RE2)', 'invalid escape sequence'),
  refused('\\C', 'any byte (RE2 C++ has it, Go does not)', 'invalid escape sequence'),
  refused('\\e', 'escape character, Perl style', 'invalid escape sequence'),
  ok('\\0', 'an octal escape'),
  // Lengths, counted in bytes of UTF-8 as Go counts them.
  ok('a'.repeat(1024), 'exactly 1,024 bytes'),
  ok('é'.repeat(512), '512 two-byte characters: 1,024 bytes'),
  refused('é'.repeat(513), '513 two-byte characters: 1,026 bytes, though 513 JavaScript characters', 'regex is too large'),
  refused(`(${'a|'.repeat(511)}b)`, 'a long alternation', 'regex is too large'),
  // Empty.
  refused('', 'empty', 'regex string match should not be empty'),
  ok('(?i)', 'flags alone match the empty value'),
  ok('.*', 'every value'),
];

/**
 * Full matches checked once by hand against Go's regexp (`regexp.MustCompile(`\A(?:` + re + `)\z`)`,
 * Go 1.26.8, a small `go run` program), which matches as RE2's FullMatch, Envoy's safe_regex, does.
 */
export const FULL_MATCHES: [re: string, value: string, matches: boolean][] = [
  ['(?i)alice', 'ALICE', true],
  ['(?i)alice', 'alice', true],
  ['(?i)alice', 'xalice', false],
  ['(?i)alice', 'alicex', false],
  ['dev-.*', 'dev-', true],
  ['dev-.*', 'xdev-', false],
  ['a|b', 'ab', false],
  ['ab|a', 'ab', true],
  ['(?i)dev-(alice|bob)', 'DEV-Bob', true],
  ['(?i)dev-(alice|bob)', 'dev-bobx', false],
  ['\\pL+', 'héllo', true],
  ['\\pL+', 'abc1', false],
  ['.*', 'a\nb', false],
  ['(?s).*', 'a\nb', true],
  ['a$', 'a\n', false],
  ['\\Qa.b\\E', 'a.b', true],
  ['\\Qa.b\\E', 'axb', false],
  ['.', '😀', true],
  ['..', '😀', false],
  ['(?i)k', '\u212a', true],
  ['(?P<n>a)(?P<n>b)', 'ab', true],
];
