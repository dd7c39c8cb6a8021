// `vsop __complete`, cobra's protocol (spf13/cobra completions.go): candidates a line ("name<TAB>what"),
// then ":directive" (4: no file names; 0: the shell's default, file names). Run in-process through
// main.ts's run(), names from the -f files of examples/ and a kubeconfig written here; the cluster's are in
// test/integration/complete.test.ts, the time bound in test/cli/complete.test.ts, the shells in
// test/cli/completion.test.ts.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { completionBound, DEFAULT_BOUND_MS } from '../../src/cli/complete.ts';
import { runVsop } from '../helpers/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'vsop-complete-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const KUBECONFIG = join(dir, 'config');
writeFileSync(
  KUBECONFIG,
  `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts:
- {name: kind-dev, context: {cluster: c, user: u}}
- {name: "arn:aws:eks:eu-west-1:123456789012:cluster/prod", context: {cluster: c, user: u}}
current-context: kind-dev
`,
);
const SECOND = join(dir, 'second');
writeFileSync(SECOND, 'apiVersion: v1\nkind: Config\ncontexts:\n- {name: kind-dev, context: {cluster: other}}\n- {name: staging, context: {cluster: c}}\n');

async function complete(words: string[], env: Record<string, string> = {}) {
  const r = await runVsop(['__complete', ...words], { env: { HOME: dir, ...env } });
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').slice(0, -1);
  return { candidates: lines.slice(0, -1), directive: lines.at(-1), stderr: r.stderr };
}
const names = (c: { candidates: string[] }) => c.candidates.map((l) => l.split('\t')[0]);

describe('vsop __complete', () => {
  const cases: [about: string, words: string[], candidates: string[], directive: string][] = [
    ['commands, with descriptions', ['s'], ['sync', 'status'], ':4'],
    ['subcommands', ['route', ''], ['add', 'rm', 'reset', 'help'], ':4'],
    ["flags once a dash is typed: the command's, then the global ones", ['status', '--n'], ['--namespace', '--no-color'], ':4'],
    ['choices of a flag', ['sync', '--dry-run', ''], ['none', 'client', 'server'], ':4'],
    ['choices of a flag given with =', ['sync', '--dry-run=s'], ['--dry-run=server'], ':4'],
    ['choices of a short flag given with =', ['status', '-o=y'], ['-o=yaml'], ':4'],
    ['the shell of completion', ['completion', ''], ['bash', 'zsh', 'fish'], ':4'],
    ['a path: no candidates, so the shell completes file names', ['sync', '-f', 'exa'], [], ':0'],
    ['production Services from -f', ['sync', '-f', 'examples/hierarchical', ''], ['api', 'auth', 'frontend'], ':4'],
    ['... those starting with what is typed', ['render', '-f', 'examples/hierarchical', 'a'], ['api', 'auth'], ':4'],
    ['... not those already on the line', ['sync', 'auth', '-f', 'examples/hierarchical', ''], ['api', 'frontend'], ':4'],
    ['... with --filename=PATH', ['clear', '--filename=examples/custom-template', ''], ['checkout', 'payments'], ':4'],
    ['... one for a command taking one', ['route', 'add', '-f', 'examples/custom-template', 'p'], ['payments'], ':4'],
    ['... and none once it is given', ['trace', 'payments', '-f', 'examples/custom-template', ''], [], ':4'],
    ['... for xds render', ['xds', 'render', '-f', 'examples/xds', ''], ['greeter'], ':4'],
    ['developer namespaces for -n', ['route', 'add', 'my-app', '-f', 'examples/seed', '-n', ''], ['dev-alice', 'dev-bob', 'staging'], ':4'],
    ['... for status --namespace=', ['status', '-f', 'examples/seed', '--namespace=dev-'], ['--namespace=dev-alice', '--namespace=dev-bob'], ':4'],
    ['... and the production namespace for trace --from', ['trace', 'my-app', '-f', 'examples/seed', '--from', ''], ['default', 'dev-alice', 'dev-bob', 'staging'], ':4'],
    ['contexts of --kubeconfig', ['--kubeconfig', KUBECONFIG, 'sync', '--context', ''], ['kind-dev', 'arn:aws:eks:eu-west-1:123456789012:cluster/prod'], ':4'],
    [
      '... those starting with what is typed, colons and all',
      ['status', '--kubeconfig', KUBECONFIG, '--context', 'arn:aws:'],
      ['arn:aws:eks:eu-west-1:123456789012:cluster/prod'],
      ':4',
    ],
    ['nothing where a value is free text', ['route', 'add', 'x', '--header', ''], [], ':4'],
    ['nothing after a command that takes no argument', ['watch', ''], [], ':4'],
    ['words after -- are arguments', ['sync', '-f', 'examples/seed', '--', ''], ['my-app'], ':4'],
    ["nothing after a flag the command does not have (sync has no -n), and the shell's default, as cobra", ['sync', '-f', 'examples/seed', '-n', ''], [], ':0'],
    ['... nor for a flag value after it', ['sync', '--nope', '--dry-run', ''], [], ':0'],
    ['... while -n of a command that has it still takes names', ['status', '-f', 'examples/seed', '-n', 'dev-b'], ['dev-bob'], ':4'],
    ['-h and --help at the top, as after a command', ['--he'], ['--help'], ':4'],
    ['... once after a command', ['route', 'add', '-h'], ['-h'], ':4'],
    ["commander's help command beside the commands", ['he'], ['help'], ':4'],
    ['... and the commands it takes', ['help', 's'], ['sync', 'status'], ':4'],
    ['... beside subcommands too', ['route', 'help', 'r'], ['rm', 'reset'], ':4'],
  ];
  for (const [about, words, expected, directive] of cases) {
    it(about, async () => {
      const got = await complete(words);
      assert.deepEqual(names(got), expected);
      assert.equal(got.directive, directive);
    });
  }

  it('describes commands and flags after a TAB, as cobra does', async () => {
    const got = await complete(['route', 'a']);
    assert.deepEqual(got.candidates, ["add\tsend requests with given headers, or a share of the others, to a developer namespace's copy of a Service"]);
  });

  it("contexts of KUBECONFIG's files, the first to name one keeping it, as kubectl merges them", async () => {
    const got = await complete(['--context', ''], { KUBECONFIG: `${KUBECONFIG}:${SECOND}:${join(dir, 'absent')}` });
    assert.deepEqual(names(got), ['kind-dev', 'arn:aws:eks:eu-west-1:123456789012:cluster/prod', 'staging']);
  });

  it('no candidates, exit 0 and the reason on stderr, where names cannot be read', async () => {
    const broken = await complete(['sync', '-f', join(dir, 'absent.yaml'), '']);
    assert.deepEqual(broken.candidates, []);
    assert.equal(broken.directive, ':4');
    assert.match(broken.stderr, /^vsop __complete: no candidates: cannot read input/);
    // No kubeconfig at all (HOME has none): no cluster to ask.
    const none = await complete(['sync', '']);
    assert.deepEqual(none.candidates, []);
    assert.match(none.stderr, /no cluster configuration/);
    // Stdin is never read: nothing is typed into a completion.
    const stdin = await complete(['sync', '-f', '-', '']);
    assert.deepEqual(stdin.candidates, []);
  });

  it('VSOP_COMPLETION_TIMEOUT: a duration as the flags take them; the default otherwise', () => {
    assert.equal(completionBound({}), DEFAULT_BOUND_MS);
    assert.equal(completionBound({ VSOP_COMPLETION_TIMEOUT: '500ms' }), 500);
    assert.equal(completionBound({ VSOP_COMPLETION_TIMEOUT: '3' }), 3000);
    assert.equal(completionBound({ VSOP_COMPLETION_TIMEOUT: 'soon' }), DEFAULT_BOUND_MS);
  });

  it('is hidden: not in help, and not a command the scripts complete', async () => {
    const help = await runVsop(['--help']);
    assert.doesNotMatch(help.stdout, /__complete/);
    assert.ok(!names(await complete(['_'])).length);
  });
});
