// What sync and status print: -o yaml as the same data as -o json, kubectl's -o=FORMAT, sync --diff
// through KUBECTL_EXTERNAL_DIFF as kubectl diff runs it, status -n, the status table's two shapes, and
// status's spinner on a terminal.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { BIN, hangingServer, ROOT, tmp, vsop } from './spawn.ts';

const LIVE = 'test/golden/update-keeps-foreign-routes/live.yaml';
/** kubectl diff's file name: group.version.Kind.namespace.name (the live object is networking.istio.io/v1). */
const VS_FILE = 'networking.istio.io.v1.VirtualService.default.my-app-virtual-service';
const NEW_VS_FILE = 'networking.istio.io.v1beta1.VirtualService.default.my-app-virtual-service';

describe('-o yaml: the data of -o json, in YAML', () => {
  for (const [what, args] of [
    ['sync --diff (the plan)', ['sync', '--diff', '-f', 'examples/hierarchical']],
    ['sync --diff of an update (the plan, with its diff)', ['sync', '--diff', '-f', 'examples/seed', '-f', LIVE]],
    ['sync --dry-run=client (the results)', ['sync', '--dry-run=client', '-f', 'examples/seed']],
    ['route add --diff (the plan)', ['route', 'add', 'my-app', '-n', 'dev-alice', '--header', 'x-cid=alice', '--diff', '-f', 'examples/seed']],
    ['status', ['status', '-f', 'examples/hierarchical']],
    ['status -n', ['status', '-f', 'examples/seed', '-n', 'staging']],
    ['trace', ['trace', 'my-app', '-f', 'examples/seed', '-H', 'x-developer=dev-alice']],
    ['config validate', ['config', 'validate', '-f', 'examples/seed/configmap.yaml']],
  ] as const) {
    it(what, () => {
      const json = vsop([...args, '-o', 'json']);
      const yaml = vsop([...args, '-o', 'yaml']);
      assert.equal(yaml.code, json.code, yaml.stderr);
      assert.ok(yaml.code === 0 || yaml.code === 1, yaml.stderr);
      assert.doesNotMatch(yaml.stdout, /^\s*[{[]/, 'YAML, not JSON');
      assert.deepEqual(parse(yaml.stdout), JSON.parse(json.stdout));
      assert.equal(yaml.stderr, json.stderr);
    });
  }

  it("takes kubectl's -o=yaml and -o=json", () => {
    for (const format of ['json', 'yaml']) {
      const joined = vsop(['status', '-f', 'examples/seed', `-o=${format}`]);
      assert.equal(joined.code, 0, joined.stderr);
      assert.equal(joined.stdout, vsop(['status', '-f', 'examples/seed', '-o', format]).stdout);
    }
  });
});

describe('sync --diff through KUBECTL_EXTERNAL_DIFF, as kubectl diff', () => {
  // A diff program that keeps what it was given: its arguments, and copies of the two directories.
  const capture = mkdtempSync(join(tmp, 'capture-'));
  const program = join(tmp, 'record-diff');
  writeFileSync(program, '#!/bin/sh\nprintf "%s\\n" "$@" > "$CAPTURE/args"\ncp -r "$1" "$2" "$CAPTURE/"\necho "differences: see $CAPTURE"\nexit "${EXIT_WITH:-1}"\n');
  chmodSync(program, 0o755);
  const run = (args: string[], external: string, env: Record<string, string> = {}) =>
    vsop(['sync', '--diff', ...args], { env: { KUBECTL_EXTERNAL_DIFF: external, CAPTURE: capture, ...env } });

  it('gives the program LIVE-* and MERGED-* directories, one file per changed object named as kubectl names it, then the extra words', () => {
    const r = run(['-f', 'examples/seed', '-f', LIVE], `${program} -N -u --label=a/b`);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout, `differences: see ${capture}\n`);
    const [live, merged, ...extra] = readFileSync(join(capture, 'args'), 'utf8').trimEnd().split('\n');
    assert.match(basename(live!), /^LIVE-/);
    assert.match(basename(merged!), /^MERGED-/);
    // kubectl passes on only words of letters, digits, "-" and "=", after the directories.
    assert.deepEqual(extra, ['-N', '-u']);
    assert.match(r.stderr, /warning: KUBECTL_EXTERNAL_DIFF: the argument "--label=a\/b" is ignored/);
    assert.match(r.stderr, /Plan: 0 to create, 1 to update, 0 to delete, 0 unchanged\./);
    // The objects' YAML, server-set fields left out, as vsop's own diff shows them; the directories are gone.
    const json = JSON.parse(vsop(['sync', '--diff', '-o', 'json', '-f', 'examples/seed', '-f', LIVE]).stdout);
    const diffLines = (json.actions[0].diff as string).split('\n');
    assert.deepEqual(readdirSync(join(capture, basename(live!))), [VS_FILE]);
    const before = readFileSync(join(capture, basename(live!), VS_FILE), 'utf8');
    const after = readFileSync(join(capture, basename(merged!), VS_FILE), 'utf8');
    assert.deepEqual(parse(after), json.actions[0].object);
    assert.doesNotMatch(before, /resourceVersion|uid:/);
    for (const l of diffLines.filter((x) => /^-[^-]/.test(x))) assert.ok(before.includes(l.slice(1)), l);
    for (const l of diffLines.filter((x) => /^\+[^+]/.test(x))) assert.ok(after.includes(l.slice(1)), l);
    assert.ok(!existsSync(live!) && !existsSync(merged!), 'the directories are removed afterwards');
  });

  it('writes an object to be created as an empty LIVE file, and takes the exit status the program gives (0 or 1)', () => {
    const r = run(['-f', 'examples/seed'], program, { EXIT_WITH: '0' });
    assert.equal(r.code, 0, r.stderr);
    const [live, merged] = readFileSync(join(capture, 'args'), 'utf8').split('\n');
    assert.deepEqual(readdirSync(join(capture, basename(live!))), [NEW_VS_FILE]);
    assert.equal(readFileSync(join(capture, basename(live!), NEW_VS_FILE), 'utf8'), '');
    assert.match(readFileSync(join(capture, basename(merged!), NEW_VS_FILE), 'utf8'), /^apiVersion: networking\.istio\.io\/v1beta1\nkind: VirtualService\n/);
  });

  it('runs diff -u -N -r as kubectl would: exit 1 with changes, 0 with none, where vsop leaves an object alone', () => {
    const changed = run(['-f', 'examples/seed', '-f', LIVE], 'diff -u -N -r');
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(changed.stdout, new RegExp(`^diff -u -N -r /\\S+/LIVE-\\w+/${VS_FILE} /\\S+/MERGED-\\w+/${VS_FILE}\\n--- /\\S+/LIVE-`));
    assert.match(changed.stdout, /\n\+ {4}- name: vsop-dev-staging\n/);
    const rendered = vsop(['render', '-f', 'examples/seed']).stdout;
    const same = vsop(['sync', '--diff', '-f', 'examples/seed', '-f', '-'], { input: rendered, env: { KUBECTL_EXTERNAL_DIFF: 'diff -u -N -r' } });
    assert.deepEqual([same.code, same.stdout], [0, ''], same.stderr);
  });

  it('is an error (exit 2, as kubectl) when the program fails or cannot be run; -o json and yaml ignore it', () => {
    const failed = run(['-f', 'examples/seed'], program, { EXIT_WITH: '3' });
    assert.equal(failed.code, 2);
    assert.match(failed.stderr, /error: the KUBECTL_EXTERNAL_DIFF program "\S+record-diff" failed: exit status 3\nhint: fix KUBECTL_EXTERNAL_DIFF/);
    const missing = run(['-f', 'examples/seed'], 'no-such-diff-program -u');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /error: cannot run the KUBECTL_EXTERNAL_DIFF program "no-such-diff-program": not found\n/);
    // A leading space or only spaces: no program (kubectl fails on the empty first word too), not a crash.
    for (const value of [' diff', '   ']) {
      const empty = run(['-f', 'examples/seed'], value);
      assert.equal(empty.code, 2, empty.stderr);
      assert.match(empty.stderr, /^error: KUBECTL_EXTERNAL_DIFF=".*" names no program: its first word is empty\nhint: /);
    }
    // Two spaces in a row are no argument, and no warning about one.
    assert.doesNotMatch(run(['-f', 'examples/seed'], `${program}  -u`).stderr, /is ignored/);
    const json = run(['-f', 'examples/seed', '-o', 'json'], 'no-such-diff-program');
    assert.equal(json.code, 1, json.stderr);
    assert.equal(JSON.parse(json.stdout).summary.create, 1);
  });
});

describe('status', () => {
  it('-n NAMESPACE shows that developer namespace only (also as -n=NAMESPACE); an unknown one is exit 2', () => {
    const r = vsop(['status', '-f', 'examples/seed', '-n', 'dev-bob']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "SERVICE   DEV-BOB   VIRTUALSERVICE\nmy-app    -         missing\n\n1 service: 0 routed to their own copy, 0 to a parent's, 1 to production; 0 placeholders; 1 not in sync\n",
    );
    assert.equal(vsop(['status', '-f', 'examples/seed', '-n=dev-bob']).stdout, r.stdout);
    const unknown = vsop(['status', '-f', 'examples/seed', '-n', 'dev-carol']);
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, 'error: namespace "dev-carol" is not a developer namespace in the configuration\nhint: developer namespaces: dev-alice, dev-bob, staging\n');
  });

  it('prints the matrix while it fits the width (COLUMNS), one row per Service and namespace past it', () => {
    const matrix = vsop(['status', '-f', 'examples/hierarchical'], { env: { COLUMNS: '120' } });
    assert.equal(matrix.stdout, vsop(['status', '-f', 'examples/hierarchical']).stdout, 'no terminal, no COLUMNS: the matrix');
    assert.match(matrix.stdout, /^SERVICE {4}INTEGRATION {3}TEAM-A {10}TEAM-A-FEATURE-LOGIN {3}TEAM-B {3}VIRTUALSERVICE\n/);
    const rows = vsop(['status', '-f', 'examples/hierarchical'], { env: { COLUMNS: '80' } });
    assert.equal(
      rows.stdout,
      [
        'SERVICE    NAMESPACE              ROUTE           VIRTUALSERVICE',
        'api        integration            route           missing',
        'api        team-a                 route           missing',
        'api        team-a-feature-login   → team-a        missing',
        'api        team-b                 -               missing',
        'auth       integration            route           missing',
        'auth       team-a                 → integration   missing',
        'auth       team-a-feature-login   → integration   missing',
        'auth       team-b                 -               missing',
        'frontend   integration            -               missing',
        'frontend   team-a                 -               missing',
        'frontend   team-a-feature-login   route           missing',
        'frontend   team-b                 -               missing',
        '',
        "3 services: 4 routed to their own copy, 3 to a parent's, 5 to production;",
        '0 placeholders; 3 not in sync',
        '',
      ].join('\n'),
    );
  });

  it('reads well with 30 developer namespaces at 80 columns: nothing wider, every Service and namespace once', () => {
    const dir = mkdtempSync(join(tmp, 'thirty-'));
    const devs = Array.from({ length: 30 }, (_, i) => `developer-namespace-${i}`);
    const items = ['checkout', 'payments', 'search'].flatMap((name, s) => [
      { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'prod' }, spec: { ports: [{ port: 80 }] } },
      ...devs.filter((_, d) => (d + s) % 3 === 0).map((namespace) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ port: 80 }] } })),
    ]);
    writeFileSync(join(dir, 'services.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    writeFileSync(join(dir, 'config.yaml'), `defaultNamespace: prod\ndeveloperNamespaces: [${devs.join(', ')}]\n`);
    const r = vsop(['status', '-f', dir], { env: { COLUMNS: '80' } });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    for (const l of lines) assert.ok(l.length <= 80, `${l.length} wide: ${l}`);
    const table = lines.slice(1, lines.indexOf(''));
    assert.equal(table.length, 3 * 30);
    const json = JSON.parse(vsop(['status', '-f', dir, '-o', 'json']).stdout);
    for (const s of json.services) {
      for (const [namespace, n] of Object.entries(s.namespaces) as [string, { state: string }][]) {
        const row = table.filter((l) => l.split(/ +/)[0] === s.service && l.split(/ +/)[1] === namespace);
        assert.equal(row.length, 1, `${s.service} ${namespace}`);
        assert.equal(row[0]!.split(/ +/)[2], n.state === 'route' ? 'route' : '-');
      }
    }
    // Piped with no width known, the matrix: 30 columns.
    assert.equal(vsop(['status', '-f', dir]).stdout.split('\n')[0]!.split(/ +/).length, 32);
  });

  it('shows a spinner on a terminal while the cluster is slow to answer, as sync does; none on a terminal of no width', { timeout: 60_000 }, async (t) => {
    if (spawnSync('script', ['--version']).error) {
      t.skip('script(1) is not installed (util-linux): no terminal to test on');
      return;
    }
    const { server, kubeconfig } = await hangingServer();
    // script(1) gives vsop a terminal, sized by stty; the API server never answers, so vsop waits out the 1 s request timeout.
    const onTerminal = (columns: number) =>
      new Promise<string>((resolve) => {
        const command = `stty cols ${columns} rows 24; ${process.execPath} ${BIN} status --kubeconfig ${kubeconfig} --request-timeout 1s`;
        const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: tmp, TERM: 'xterm' }, timeout: 30_000 });
        const chunks: string[] = [];
        child.stdout.on('data', (d) => chunks.push(String(d)));
        child.on('close', () => resolve(stripVTControlCharacters(chunks.join(''))));
      });
    try {
      const sized = await onTerminal(80);
      assert.match(sized, /Reading the cluster/);
      assert.match(sized, /error: no answer from the API server/);
      // ora divides by the width: with none, it would clear lines without end.
      const unsized = await onTerminal(0);
      assert.doesNotMatch(unsized, /Reading the cluster/);
      assert.match(unsized, /error: no answer from the API server/);
    } finally {
      server.close();
    }
  });
});
