// The built `vsop __complete` against API servers that fail, and kubectl_complete-vsop run the way kubectl
// runs a plugin's completer: found on PATH by that name, given the words after `kubectl vsop`.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closedServer, hangingServer, ROOT, tmp } from './spawn.ts';

/**
 * Runs a command to its end, killed after 20 s: far beyond the bounds set here, so a completion that
 * waits for the API server (the request timeout on the line is 60 s) fails on its exit status. SIGKILL,
 * since vsop takes SIGTERM for a request to stop, which it may only see once the thread is free.
 */
function run(file: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(file, args, { cwd: ROOT, encoding: 'utf8', timeout: 20_000, killSignal: 'SIGKILL', env: { PATH: process.env.PATH ?? '', HOME: tmp, ...env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
const BIN = join(ROOT, 'bin', 'vsop.js');

describe('vsop __complete and the API server', () => {
  it('a server that never answers: no candidates, exit 0, within VSOP_COMPLETION_TIMEOUT', async () => {
    const { server, kubeconfig } = await hangingServer();
    try {
      for (const line of [
        ['sync', ''],
        ['route', 'add', 'my-app', '-n', ''],
      ]) {
        const r = run(process.execPath, [BIN, '__complete', '--kubeconfig', kubeconfig, '--request-timeout', '60s', ...line], { VSOP_COMPLETION_TIMEOUT: '500ms' });
        assert.equal(r.code, 0, `${line.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, ':4\n', 'no candidates, and no file names either');
        assert.match(r.stderr, /no answer within 500 ms \(VSOP_COMPLETION_TIMEOUT\)/);
      }
    } finally {
      server.close();
    }
  });

  it('a server that never answers, with --request-timeout on the line: no candidates once a request times out, exit 0', async () => {
    const { server, kubeconfig } = await hangingServer();
    try {
      const r = run(process.execPath, [BIN, '__complete', '--kubeconfig', kubeconfig, '--request-timeout', '1s', 'sync', ''], { VSOP_COMPLETION_TIMEOUT: '60s' });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, ':4\n');
      assert.doesNotMatch(r.stderr, /VSOP_COMPLETION_TIMEOUT/, 'the request timed out, not the completion');
    } finally {
      server.close();
    }
  });

  it('a server that is down: no candidates, exit 0', async () => {
    const { kubeconfig } = await closedServer();
    const r = run(process.execPath, [BIN, '__complete', '--kubeconfig', kubeconfig, 'status', '-n', '']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ':4\n');
    assert.match(r.stderr, /ECONNREFUSED/);
  });
});

describe('vsop __complete and large -f inputs', () => {
  // 150,000 Services in 300 files (27 MB): reading them takes far longer than the bound (about 45 s on 2
  // cores), and longer than run()'s 20 s guard, so a completion that waits for the reading fails on its
  // exit status.
  const dir = mkdtempSync(join(tmp, 'large-'));
  writeFileSync(join(dir, 'configmap.yaml'), readFileSync(join(ROOT, 'examples', 'seed', 'configmap.yaml')));
  const service = (f: number, i: number) =>
    `---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-${f}-${i}\n  namespace: default\nspec:\n  selector: {app: a${i}}\n  ports:\n  - {name: http, port: 80, targetPort: 8080}\n`;
  for (let f = 0; f < 300; f++) writeFileSync(join(dir, `services-${f}.yaml`), Array.from({ length: 500 }, (_, i) => service(f, i)).join(''));

  it('answers with no candidates when the bound passes, exit 0, rather than waiting for the files', () => {
    for (const line of [
      ['sync', '-f', dir, 'app-1'],
      ['route', 'add', 'app-1-1', '-f', dir, '-n', ''],
    ]) {
      const r = run(process.execPath, [BIN, '__complete', ...line], { VSOP_COMPLETION_TIMEOUT: '300ms' });
      assert.equal(r.code, 0, `${line.join(' ')}: exit ${r.code}: ${r.stderr}`);
      assert.equal(r.stdout, ':4\n', 'no candidates, and no file names either');
      assert.match(r.stderr, /no answer within 300 ms \(VSOP_COMPLETION_TIMEOUT\)/);
    }
  });
});

describe('vsop __complete and -f paths that are not regular files', () => {
  // Opening a FIFO waits for a writer, on a thread of libuv's pool that nothing stops: a completion that
  // opened it printed its answer at the bound and then never exited, and the shell's $(...) waited on it.
  const dir = mkdtempSync(join(tmp, 'fifo-'));
  const fifo = join(dir, 'ff');
  execFileSync('mkfifo', [fifo]);

  it('leaves a FIFO out: the names of the other files, exit 0', () => {
    const r = run(process.execPath, [BIN, '__complete', 'sync', '-f', 'examples/hierarchical', '-f', fifo, 'a'], { VSOP_COMPLETION_TIMEOUT: '5s' });
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stdout, 'api\nauth\n:4\n');
  });

  it('a FIFO alone: no candidates, exit 0', () => {
    const r = run(process.execPath, [BIN, '__complete', 'sync', '-f', fifo, ''], { VSOP_COMPLETION_TIMEOUT: '500ms' });
    assert.equal(r.code, 0, `exit ${r.code}: ${r.stderr}`);
    assert.equal(r.stdout, ':4\n');
  });

  it("ends after its answer even while a thread of libuv's pool stays blocked", () => {
    // A module loaded first opens the FIFO and holds a pool thread, as a file system that hangs would (in
    // the main thread only: the worker that reads the -f files loads it too).
    const hold = join(dir, 'hold.cjs');
    writeFileSync(hold, `if (require('node:worker_threads').isMainThread) require('node:fs').open(${JSON.stringify(fifo)}, 'r', () => {});\n`);
    const r = spawnSync(process.execPath, ['--require', hold, BIN, '__complete', 'sync', '-f', 'examples/hierarchical', 'a'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 20_000,
      killSignal: 'SIGKILL',
      env: { PATH: process.env.PATH ?? '', HOME: tmp },
    });
    assert.equal(r.error, undefined, 'ended by itself, not by the 20 s guard');
    assert.equal(r.stdout, 'api\nauth\n:4\n');
  });
});

describe('kubectl_complete-vsop (kubectl plugin completion)', () => {
  // npm links each of package.json's bin names onto PATH; kubectl looks the completer up by its name.
  const bins = mkdtempSync(join(tmp, 'bin-'));
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> };
  for (const [name, file] of Object.entries(pkg.bin)) symlinkSync(join(ROOT, file), join(bins, name));
  const kubectl = (args: string[]) => run('kubectl_complete-vsop', args, { PATH: `${bins}:${process.env.PATH ?? ''}` });

  it('is installed by the package, under the name kubectl looks for', () => {
    assert.equal(pkg.bin['kubectl_complete-vsop'], 'bin/kubectl_complete-vsop.js');
  });

  it('completes `kubectl vsop <Tab>`: the commands, with descriptions, then the directive', () => {
    const r = kubectl(['']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n');
    assert.equal(lines[0], 'render\tprint the VirtualServices (or HTTPRoutes and ReferenceGrants) that should exist');
    assert.equal(lines.at(-2), ':4');
  });

  it('completes Service names and flag values from the -f files, and paths by the default directive', () => {
    assert.equal(kubectl(['sync', '-f', 'examples/hierarchical', 'a']).stdout, 'api\nauth\n:4\n');
    assert.equal(kubectl(['route', 'add', 'api', '-f', 'examples/seed', '--namespace', 'dev-']).stdout, 'dev-alice\ndev-bob\n:4\n');
    assert.equal(kubectl(['sync', '--dry-run', '']).stdout, 'none\nclient\nserver\n:4\n');
    assert.equal(kubectl(['sync', '-f', 'exa']).stdout, ':0\n');
  });
});
