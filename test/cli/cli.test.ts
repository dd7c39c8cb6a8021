// Spawns the built bin/vsop.js, as users and scripts do: exit codes, streams, completions, colour. Help is
// in help.test.ts; output formats and the external diff in output.test.ts; version in version.test.ts.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pkg from '../../package.json' with { type: 'json' };
import { BIN, hangingServer, kubeconfigFor, ROOT, spawned, tmp, vsop } from './spawn.ts';

describe('vsop (spawned)', () => {
  it('prints its version, and nothing else', () => {
    assert.deepEqual(vsop(['--version']), { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });

  it('prints help on stdout and exits 0 when run without a command, as kubectl does', () => {
    const r = vsop([]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, '');
    assert.match(r.stdout, /^Usage: vsop \[options\] \[command\]/);
  });

  // kubectl: `kubectl config` alone prints its help on stdout and exits 0; an unknown word after a group
  // or an unknown help topic is an error naming it (cobra: "unknown command", "Unknown help topic").
  it('a group of commands alone prints its help on stdout and exits 0, as kubectl config does', () => {
    for (const group of ['route', 'config']) {
      const r = vsop([group]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.match(r.stdout, new RegExp(`^Usage: vsop ${group} \\[options\\] \\[command\\]`));
    }
  });

  it('an unknown command after a group, or an unknown help topic, is exit 2 naming it and the commands there are', () => {
    assert.deepEqual(vsop(['route', 'nope']), { code: 2, stdout: '', stderr: "error: unknown command 'nope' for 'vsop route'\nhint: vsop route's commands: add, rm, reset\n" });
    const topic = vsop(['help', 'nonexist']);
    assert.equal(topic.code, 2);
    assert.equal(topic.stdout, '');
    assert.match(topic.stderr, /^error: unknown help topic 'nonexist'\nhint: vsop's commands: render, sync, route, /);
    assert.deepEqual(vsop(['route', 'help', 'nope']), { code: 2, stdout: '', stderr: "error: unknown help topic 'nope'\nhint: vsop route's commands: add, rm, reset\n" });
  });

  it('a misspelt command after xds (a command and a group) is an unknown command, whatever follows it', () => {
    const unknown = (word: string) => ({ code: 2, stdout: '', stderr: `error: unknown command '${word}' for 'vsop xds'\nhint: vsop xds's commands: bootstrap, render\n` });
    assert.deepEqual(vsop(['xds', 'rendr', '-f', 'x']), unknown('rendr'));
    assert.deepEqual(vsop(['xds', 'bootstrp']), unknown('bootstrp'));
    assert.deepEqual(vsop(['xds', 'bootstrp', '--grpc']), unknown('bootstrp'));
    // An unknown option of xds itself is still that.
    assert.equal(vsop(['xds', '--bogus']).stderr.split('\n')[0], "error: unknown option '--bogus'");
  });

  it('help walks down to the command named (vsop help route add), as kubectl help config view does', () => {
    const r = vsop(['help', 'route', 'add']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, vsop(['route', 'add', '--help']).stdout);
    // kubectl help help: the help command's own help.
    const own = vsop(['help', 'help']);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /^Usage: vsop help \[options\] \[command\.\.\.\]/);
  });

  it("takes kubectl's -o=json (a short option joined to its value)", () => {
    const joined = vsop(['render', '-f', 'examples/seed', '-o=json']);
    assert.equal(joined.code, 0, joined.stderr);
    assert.deepEqual(JSON.parse(joined.stdout), JSON.parse(vsop(['render', '-f', 'examples/seed', '-o', 'json']).stdout));
  });

  it('calls itself "kubectl vsop" when run as the kubectl plugin', () => {
    const link = join(tmp, 'kubectl-vsop');
    symlinkSync(BIN, link);
    const r = vsop(['--help'], { bin: link });
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: kubectl vsop \[options\] \[command\]/);
  });

  it('exits 1 when --diff finds changes, and 0 when render output is fed back (idempotence)', () => {
    const diff = vsop(['sync', '--diff', '-f', 'examples/hierarchical']);
    assert.equal(diff.code, 1, diff.stderr);
    assert.match(diff.stdout, /^--- \/dev\/null\n\+\+\+ b\/networking\.istio\.io\.v1beta1\.VirtualService\.prod\.api-virtual-service\n/);
    assert.equal(diff.stderr, 'Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged.\n');

    for (const example of ['seed', 'custom-template', 'hierarchical']) {
      const rendered = vsop(['render', '-f', `examples/${example}`]);
      assert.equal(rendered.code, 0, rendered.stderr);
      const again = vsop(['sync', '--diff', '-f', `examples/${example}`, '-f', '-'], { input: rendered.stdout });
      assert.deepEqual([again.code, again.stdout], [0, ''], `${example}: ${again.stderr}`);
      assert.match(again.stderr, /Plan: 0 to create, 0 to update, 0 to delete, \d+ unchanged\./);
      const json = vsop(['render', '-o', 'json', '-f', `examples/${example}`]);
      const fromJson = vsop(['sync', '--diff', '-f', `examples/${example}`, '-f', '-'], { input: json.stdout });
      assert.equal(fromJson.code, 0, `${example} (json): ${fromJson.stderr}`);
    }
  });

  it('colours the diff only when asked to: FORCE_COLOR on, NO_COLOR and --no-color off', () => {
    const esc = /\u001b\[/;
    assert.match(vsop(['sync', '--diff', '-f', 'examples/seed'], { env: { FORCE_COLOR: '1' } }).stdout, esc);
    assert.doesNotMatch(vsop(['sync', '--diff', '-f', 'examples/seed']).stdout, esc, 'a pipe gets no colour');
    assert.doesNotMatch(vsop(['sync', '--diff', '-f', 'examples/seed'], { env: { NO_COLOR: '1' } }).stdout, esc);
    assert.doesNotMatch(vsop(['sync', '--diff', '--no-color', '-f', 'examples/seed'], { env: { FORCE_COLOR: '1' } }).stdout, esc);
  });

  it('prints errors on stderr with a documented code, nothing on stdout', () => {
    const r = vsop(['sync', '--diff', '-f', 'examples/does-not-exist']);
    assert.deepEqual([r.code, r.stdout], [4, '']);
    assert.equal(r.stderr, 'error: cannot read input:\n  examples/does-not-exist: no such file or directory\n');
  });
});

describe('completions', () => {
  for (const shell of ['bash', 'zsh', 'fish']) {
    it(`${shell}: the committed script is what the command tree generates`, () => {
      const r = vsop(['completion', shell]);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, readFileSync(join(ROOT, 'completions', `vsop.${shell}`), 'utf8'), `regenerate: vsop completion ${shell} > completions/vsop.${shell}`);
      for (const word of [
        'render',
        'sync',
        'validate',
        'diff',
        'dry-run',
        'adopt',
        'filename',
        'strict',
        'route',
        'add',
        'rm',
        'reset',
        'clear',
        'header',
        'match',
        'weight',
        'port',
        'force',
        'namespace',
        'purge',
        'yes',
        'version',
        'client',
      ])
        assert.ok(r.stdout.includes(word), `${shell} lacks ${word}`);
    });
  }

  const complete = (line: string[]) => {
    const script = `source completions/vsop.bash; COMP_WORDS=(${line.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${line.length - 1}; _vsop; printf '%s\\n' "\${COMPREPLY[@]}"`;
    const r = spawnSync('bash', ['-c', script], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim().split('\n').filter(Boolean);
  };

  it('bash completes commands, flags and flag values', () => {
    assert.deepEqual(complete(['vsop', 'sy']), ['sync']);
    assert.deepEqual(complete(['vsop', 'config', '']), [
      'validate',
      'rbac',
      'help',
      '-h',
      '--help',
      '-V',
      '--version',
      '--config-namespace',
      '--config-name',
      '--kubeconfig',
      '--context',
      '--request-timeout',
      '--no-color',
    ]);
    assert.deepEqual(complete(['vsop', 'sync', '--dr']), ['--dry-run']);
    assert.deepEqual(complete(['vsop', 'sync', '--dry-run', '']), ['none', 'client', 'server']);
    assert.deepEqual(complete(['vsop', 'render', '-o', 'j']), ['json']);
  });

  it("bash completes the route subcommands, their flags and --match values, and clear's flags", () => {
    assert.deepEqual(complete(['vsop', 'ro']), ['route']);
    assert.deepEqual(complete(['vsop', 'route', 'r']), ['rm', 'reset']);
    assert.deepEqual(complete(['vsop', 'route', 'add', '--w']), ['--weight']);
    assert.deepEqual(complete(['vsop', 'route', 'add', 'my-app', '-n', 'dev-alice', '--match', '']), ['exact', 'prefix', 'regex']);
    assert.deepEqual(complete(['vsop', 'route', 'reset', '--n']), ['--namespace', '--no-color']);
    assert.deepEqual(complete(['vsop', 'clear', '--p']), ['--purge']);
  });

  for (const [shell, flag] of [
    ['zsh', '-n'],
    ['fish', '--no-execute'],
  ] as const) {
    it(`${shell} accepts the script's syntax`, (t) => {
      if (spawnSync(shell, ['--version']).error) {
        t.skip(`${shell} is not installed (apt-get install ${shell}); the script's syntax is not checked`);
        return;
      }
      const r = spawnSync(shell, [flag, join(ROOT, 'completions', `vsop.${shell}`)], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    });
  }
});

describe('signals, pipes and the platform (spawned)', () => {
  it('refuses a Node older than 22.19 before loading anything, saying what to install (exit 9)', () => {
    const old = 'data:text/javascript,Object.defineProperty(process,"versions",{value:{...process.versions,node:"20.11.0"}})';
    const r = spawnSync(process.execPath, ['--import', old, BIN, 'render', '-f', 'examples/seed'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 9);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^error: vsop needs Node\.js 22\.19 or newer; this is v20\.11\.0\nhint: install Node\.js 22/);
  });

  it("ends quietly when the reader of its output goes away (vsop render | head), with the shell's code for SIGPIPE", () => {
    // Enough output that the pipe's buffer cannot take it all before head exits.
    const dir = mkdtempSync(join(tmp, 'pipe-'));
    const items = Array.from({ length: 3000 }, (_, i) => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: `svc-${i}`, namespace: 'default' },
      spec: { ports: [{ port: 80 }] },
    }));
    writeFileSync(join(dir, 'services.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    writeFileSync(join(dir, 'config.yaml'), 'defaultNamespace: default\ndeveloperNamespaces: [dev-alice]\n');
    const script = `"$0" "$1" render -f "$2" 2>"$3" | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`;
    const r = spawnSync('bash', ['-c', script, process.execPath, BIN, dir, join(dir, 'stderr')], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.stdout.trim(), '141');
    assert.equal(readFileSync(join(dir, 'stderr'), 'utf8'), '');
  });

  it('says when its output cannot be written (a full disk) and exits 74, with no stack trace', () => {
    // /dev/full refuses every write with ENOSPC, as a full disk does; kubectl says "write /dev/stdout: no
    // space left on device" and fails. Both the result (stdout) and the diff of sync go through one writer.
    for (const args of [
      ['render', '-f', 'examples/seed'],
      ['sync', '-f', 'examples/seed', '--diff'],
      ['--version'], // answered by bin/vsop.js itself, before the bundle loads
    ]) {
      const r = spawnSync('bash', ['-c', '"$0" "$@" >/dev/full', process.execPath, BIN, ...args], { cwd: ROOT, encoding: 'utf8' });
      assert.equal(r.status, 74, `${args.join(' ')}: ${r.stderr}`);
      // sync says its plan's summary on stderr before the diff; the error is the last line, said once.
      assert.match(r.stderr, /(^|\n)error: cannot write to standard output: no space left on device\n$/);
      assert.equal(r.stderr.split('error:').length, 2);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`exits ${code} without a message on ${signal} while a request is waiting`, async () => {
      // An API server that accepts connections and never answers: sync waits in its first request.
      const { server, kubeconfig } = await hangingServer();
      try {
        const r = await spawned(['sync', '--kubeconfig', kubeconfig], async (child) => {
          // Once the connection is made, the command is waiting for the answer.
          await new Promise<void>((resolve) => server.once('connection', () => resolve()));
          child.kill(signal);
        });
        assert.equal(r.code, code, r.stderr);
        assert.equal(r.stdout, '');
        assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/);
      } finally {
        server.close();
      }
    });
  }

  it('--timeout bounds the whole command: a cluster that never answers ends it with exit 5 after the budget', async () => {
    const { server, kubeconfig } = await hangingServer();
    try {
      const r = await spawned(['sync', '--kubeconfig', kubeconfig, '--timeout', '1s', '--request-timeout', '1h']);
      assert.equal(r.code, 5, r.stderr);
      assert.match(r.stderr, /^error: gave up after --timeout 1s/);
    } finally {
      server.close();
    }
  });

  it('watch stops at once, exit 2, when its probe address is taken or not a port (it never runs without probes)', async () => {
    const { server: taken } = await hangingServer();
    const kubeconfig = join(tmp, 'watch-kubeconfig.yaml');
    writeFileSync(kubeconfig, kubeconfigFor('https://127.0.0.1:1'));
    try {
      const address = `127.0.0.1:${(taken.address() as AddressInfo).port}`;
      for (const [value, message] of [
        [address, new RegExp(`cannot listen on ${address.replace(/\./g, '\\.')} for health probes: EADDRINUSE`)],
        ['127.0.0.1:99999', /health probes address "127\.0\.0\.1:99999" is not HOST:PORT or :PORT/],
      ] as const) {
        const r = await spawned(['watch', '--kubeconfig', kubeconfig, '--health-probe-bind-address', value, '--metrics-bind-address', '0']);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, message);
      }
    } finally {
      taken.close();
    }
  });
});
