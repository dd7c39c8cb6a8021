// The built `vsop __complete` against API servers that fail, and kubectl_complete-vsop run the way kubectl
// runs a plugin's completer: found on PATH by that name, given the words after `kubectl vsop`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { closedServer, hangingServer, ROOT, tmp } from './spawn.ts';

/**
 * Runs a command to its end, killed after 20 s: far beyond the bounds set here, so a completion that
 * waits for the API server (the request timeout on the line is 60 s) fails on its exit status.
 */
function run(file: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(file, args, { cwd: ROOT, encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '', HOME: tmp, ...env } });
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

  it('a server that is down: no candidates, exit 0', async () => {
    const { kubeconfig } = await closedServer();
    const r = run(process.execPath, [BIN, '__complete', '--kubeconfig', kubeconfig, 'status', '-n', '']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ':4\n');
    assert.match(r.stderr, /ECONNREFUSED/);
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
    assert.equal(lines[0], 'render\tprint the VirtualServices that should exist');
    assert.equal(lines.at(-2), ':4');
  });

  it('completes Service names and flag values from the -f files, and paths by the default directive', () => {
    assert.equal(kubectl(['sync', '-f', 'examples/hierarchical', 'a']).stdout, 'api\nauth\n:4\n');
    assert.equal(kubectl(['route', 'add', 'api', '-f', 'examples/seed', '--namespace', 'dev-']).stdout, 'dev-alice\ndev-bob\n:4\n');
    assert.equal(kubectl(['sync', '--dry-run', '']).stdout, 'none\nclient\nserver\n:4\n');
    assert.equal(kubectl(['sync', '-f', 'exa']).stdout, ':0\n');
  });
});
