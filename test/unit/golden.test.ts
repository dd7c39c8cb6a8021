// Golden tests: each test/golden/<case>/ holds `args` (one line; a word starting with ./ is a path in the
// case's directory), and the expected `stdout`, `stderr` and `exit`. UPDATE_GOLDEN=1 rewrites them; any
// rewrite is read by a person before it is committed.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { runVsop } from '../helpers/run.ts';

const ROOT = join(import.meta.dirname, '..', 'golden');
const update = process.env.UPDATE_GOLDEN === '1';

describe('golden', () => {
  for (const name of readdirSync(ROOT).sort()) {
    const dir = join(ROOT, name);
    it(name, async () => {
      const args = readFileSync(join(dir, 'args'), 'utf8')
        .trim()
        .split(/\s+/)
        .map((a) => (a.startsWith('./') ? relative(process.cwd(), join(dir, a)) : a));
      const got = await runVsop(args);
      const files = { stdout: got.stdout, stderr: got.stderr, exit: `${got.code}\n` };
      for (const [file, actual] of Object.entries(files)) {
        const path = join(dir, file);
        if (update) writeFileSync(path, actual);
        assert.ok(existsSync(path), `${path} is missing (run with UPDATE_GOLDEN=1, then read it)`);
        assert.equal(actual, readFileSync(path, 'utf8'), `${name}/${file}`);
      }
    });
  }
});
