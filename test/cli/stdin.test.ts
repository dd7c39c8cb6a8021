// `-f -`: standard input is read as files are, by the built CLI with a real stdin: bounded (an endless
// stream is refused once it passes the limit, not read until memory runs out) and decoded (UTF-16 with a
// byte-order mark, as Windows PowerShell's > writes; bytes that are not UTF-8 refused, not replaced).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { BIN, ROOT, tmp, vsop } from './spawn.ts';

const SERVICES = readFileSync(`${ROOT}/examples/seed/services.yaml`, 'utf8');
const CONFIG = ['-f', 'examples/seed/configmap.yaml', '-f', '-'];

/** The CLI with its stdin a file (a device here), as `vsop render -f - < /dev/zero` gives it. */
function fromFile(args: string[], path: string) {
  const fd = openSync(path, 'r');
  try {
    const r = spawnSync(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: tmp },
      stdio: [fd, 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 60_000,
    });
    return { code: r.status, signal: r.signal, stdout: String(r.stdout), stderr: String(r.stderr) };
  } finally {
    closeSync(fd);
  }
}

describe('-f - (standard input)', () => {
  const expected = vsop(['render', '-f', 'examples/seed']);

  it('refuses an endless stream once it passes 64 MiB (exit 4, nothing on stdout)', () => {
    const got = fromFile(['render', ...CONFIG], '/dev/zero');
    assert.equal(got.signal, null, 'ended by itself, not by the time bound');
    assert.equal(got.code, 4, got.stderr);
    assert.equal(got.stdout, '');
    assert.match(got.stderr, /\(stdin\): is larger than 64 MiB/);
  });

  it('reads UTF-16 with a byte-order mark as the same objects', () => {
    assert.equal(expected.code, 0, expected.stderr);
    const utf16 = Buffer.from(`\uFEFF${SERVICES}`, 'utf16le');
    const r = spawnSync(process.execPath, [BIN, 'render', ...CONFIG], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: tmp }, input: utf16, encoding: 'utf8' });
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, expected.stdout);
  });

  it('refuses bytes that are not UTF-8, naming the offset (exit 4)', () => {
    const latin1 = Buffer.concat([Buffer.from(SERVICES), Buffer.from('# caf\xe9\n', 'latin1')]);
    const r = spawnSync(process.execPath, [BIN, 'render', ...CONFIG], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: tmp }, input: latin1, encoding: 'utf8' });
    assert.equal(r.status, 4, r.stderr);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`\\(stdin\\): is not UTF-8 text at byte ${Buffer.byteLength(SERVICES) + 5}`));
  });
});
