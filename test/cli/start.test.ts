// How bin/vsop.js starts (README, Fast start): a lone --version answered without the command tree, as
// commander answers it; dist/main.cjs run with a code cache per command, written after the first run,
// and a cache that V8 refuses, or that sits in a directory others may write, never changes what vsop does.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pkg from '../../package.json' with { type: 'json' };
import { tmp, vsop } from './spawn.ts';

const SEED = ['sync', '-f', 'examples/seed', '--diff'];

/**
 * The code cache files under a NODE_COMPILE_CACHE directory, by name, with a digest of their bytes (a
 * digest: assert's diff of two differing 800 KB buffers takes minutes).
 */
function caches(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const node of readdirSync(join(dir, 'vsop'))) {
    for (const name of readdirSync(join(dir, 'vsop', node))) out.set(name, digest(readFileSync(join(dir, 'vsop', node, name))));
  }
  return out;
}

const digest = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('start', () => {
  it('a lone --version prints what commander prints for it among other flags', () => {
    const alone = vsop(['--version']);
    const parsed = vsop(['--no-color', '--version']); // two arguments: commander answers
    assert.deepEqual(alone, { code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    assert.deepEqual(parsed, alone);
    assert.deepEqual(vsop(['-V']), alone);
  });

  it('the first run of a command writes its code cache, the next runs from it with the same result', () => {
    const dir = mkdtempSync(join(tmp, 'cache-'));
    const env = { NODE_COMPILE_CACHE: dir };
    const first = vsop(SEED, { env });
    assert.equal(first.code, 1, first.stderr);
    const written = caches(dir);
    const names = [...written.keys()];
    assert.equal(names.length, 1);
    assert.match(names[0]!, /^[0-9a-f]{20}-sync-f$/);
    assert.deepEqual(vsop(SEED, { env }), first);
    assert.deepEqual(caches(dir), written, 'a cache V8 took is not written again');
    vsop(['render', '-f', 'examples/seed'], { env });
    assert.deepEqual([...caches(dir).keys()].sort(), [names[0]!, names[0]!.replace(/sync-f$/, 'render-f')].sort());
  });

  it('a cache V8 refuses is replaced, and the run is the same', () => {
    const dir = mkdtempSync(join(tmp, 'cache-'));
    const env = { NODE_COMPILE_CACHE: dir };
    const first = vsop(SEED, { env });
    const [name] = [...caches(dir)][0]!;
    const file = join(dir, 'vsop', readdirSync(join(dir, 'vsop'))[0]!, name);
    const garbage = Buffer.alloc(readFileSync(file).length, 7);
    writeFileSync(file, garbage);
    assert.deepEqual(vsop(SEED, { env }), first);
    const replaced = caches(dir);
    assert.notEqual(replaced.get(name), digest(garbage));
    assert.deepEqual(vsop(SEED, { env }), first);
    assert.deepEqual(caches(dir), replaced, 'V8 takes the new cache');
  });

  it('a cache in a directory others may write is neither read nor written', () => {
    const dir = mkdtempSync(join(tmp, 'cache-'));
    const env = { NODE_COMPILE_CACHE: dir };
    const first = vsop(SEED, { env });
    const [name] = [...caches(dir)][0]!;
    const holder = join(dir, 'vsop', readdirSync(join(dir, 'vsop'))[0]!);
    const file = join(holder, name);
    chmodSync(holder, 0o777);
    writeFileSync(file, 'not a cache');
    assert.deepEqual(vsop(SEED, { env }), first);
    assert.equal(readFileSync(file, 'utf8'), 'not a cache');
  });

  it('NODE_DISABLE_COMPILE_CACHE turns the code cache off', () => {
    const dir = mkdtempSync(join(tmp, 'cache-'));
    const first = vsop(SEED, { env: { NODE_COMPILE_CACHE: dir, NODE_DISABLE_COMPILE_CACHE: '1' } });
    assert.equal(first.code, 1, first.stderr);
    assert.deepEqual(readdirSync(dir), []);
  });
});
