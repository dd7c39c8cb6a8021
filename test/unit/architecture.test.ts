// src/core stays pure (STYLE.md, "The shape"): no node:* modules, no Kubernetes client, none of vsop's I/O
// modules, no process, console, timers or clock. biome.json says it (an override for src/core and the
// plugin biome-plugins/core-no-clock.grit); this test runs those rules, alone, so that `npm test` holds
// the line even while other lint findings are open, and proves on a probe that the rules do fire.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');
const BIOME = join(ROOT, 'node_modules', '.bin', 'biome');

/** The rules that keep src/core pure; diagnostics of other rules are not this test's business. */
const PURITY = new Set(['lint/style/noRestrictedImports', 'lint/style/noRestrictedGlobals', 'lint/correctness/noNodejsModules', 'lint/suspicious/noConsole', 'plugin']);

interface Finding {
  category: string;
  path: string;
  line: number;
}

/** Biome's purity findings under `paths`, run from `cwd` (whose biome.json applies). */
function purityFindings(cwd: string, paths: string[]): Finding[] {
  const r = spawnSync(BIOME, ['lint', '--reporter=json', '--max-diagnostics=none', ...paths], { cwd, encoding: 'utf8' });
  assert.ok(r.stdout.trim().startsWith('{'), `biome gave no report: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { diagnostics: { category: string; location: { path: string | null; start?: { line: number } } }[] };
  return report.diagnostics
    .filter((d) => PURITY.has(d.category))
    .map((d) => ({ category: d.category, path: d.location.path ?? '', line: d.location.start?.line ?? 0 }))
    .sort((a, b) => a.path.localeCompare(b.path) || a.line - b.line || a.category.localeCompare(b.category));
}

describe('architecture: src/core is pure', () => {
  it('no I/O imports, no process, console, timers or clock in src/core', () => {
    const found = purityFindings(ROOT, ['src/core']);
    assert.deepEqual(
      found.map((f) => `${f.path}:${f.line} ${f.category}`),
      [],
      'run `npx biome lint src/core` for the messages',
    );
  });

  describe('the rules fire (a probe in a scratch tree with this biome.json)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vsop-arch-'));
    after(() => rmSync(dir, { recursive: true, force: true }));
    // The project's config as it is, less its git integration: the scratch tree is no checkout.
    const config = JSON.parse(readFileSync(join(ROOT, 'biome.json'), 'utf8')) as { $schema?: string; vcs?: unknown };
    delete config.$schema;
    config.vcs = { enabled: false };
    writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
    cpSync(join(ROOT, 'biome-plugins'), join(dir, 'biome-plugins'), { recursive: true });
    const probe = [
      "import { readFileSync } from 'node:fs';", // 1
      "import { KubeConfig } from '@kubernetes/client-node';", // 2
      "import type { KubePort } from '../k8s/port.ts';", // 3
      "import { sleep } from '../sleep.ts';", // 4
      "import type { Problem } from '../errors.ts';", // 5: allowed, the error classes are data
      'export const read = (p: KubePort, q: Problem) => [readFileSync, KubeConfig, sleep, p, q];', // 6
      'export const env = () => process.env.HOME;', // 7
      "export const say = () => console.log('hi');", // 8
      'export const wait = () => setTimeout(() => {}, 1);', // 9
      'export const now = () => Date.now() + performance.now();', // 10
      'export const today = () => new Date();', // 11
      "export const parsed = () => Date.parse('2030-01-01') + new Date('2030-01-01').getTime();", // 12: allowed, data
      '',
    ].join('\n');
    mkdirSync(join(dir, 'src', 'core', 'routing'), { recursive: true });
    writeFileSync(join(dir, 'src', 'core', 'probe.ts'), probe);
    writeFileSync(join(dir, 'src', 'core', 'routing', 'deeper.ts'), probe.replaceAll("'../", "'../../"));
    writeFileSync(join(dir, 'src', 'outside.ts'), probe.replaceAll("'../", "'./"));

    it('in src/core, each kind of I/O is reported on its line, and only there', () => {
      for (const file of ['src/core/probe.ts', 'src/core/routing/deeper.ts']) {
        const lines = purityFindings(dir, [file]).map((f) => f.line);
        assert.deepEqual([...new Set(lines)], [1, 2, 3, 4, 7, 8, 9, 10, 11], file);
      }
    });

    it('outside src/core the same code is allowed', () => {
      assert.deepEqual(purityFindings(dir, ['src/outside.ts']), []);
    });
  });
});
