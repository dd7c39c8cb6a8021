// --help as people read it: goldens at 80 columns (no terminal: commander's width) and at 60 (COLUMNS),
// the global options in every command's help, nothing wider than the screen at any width, and Examples
// that run.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BIN, ROOT, tmp, vsop } from './spawn.ts';

const update = process.env.UPDATE_GOLDEN === '1';

function golden(name: string, actual: string) {
  const path = join(ROOT, 'test', 'cli', 'golden', name);
  if (update) writeFileSync(path, actual);
  assert.ok(existsSync(path), `${path} missing: run with UPDATE_GOLDEN=1 and read it`);
  assert.equal(actual, readFileSync(path, 'utf8'));
}

const COMMANDS = [
  [],
  ['render'],
  ['sync'],
  ['route'],
  ['route', 'add'],
  ['route', 'rm'],
  ['route', 'reset'],
  ['clear'],
  ['status'],
  ['trace'],
  ['watch'],
  ['xds'],
  ['xds', 'bootstrap'],
  ['xds', 'render'],
  ['config'],
  ['config', 'validate'],
  ['version'],
  ['completion'],
];

const help = (cmd: string[], env: Record<string, string> = {}) => {
  const r = vsop([...cmd, '--help'], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '');
  return r.stdout;
};

describe('help', () => {
  for (const cmd of COMMANDS) {
    const name = ['vsop', ...cmd].join('-');
    it(`"${['vsop', ...cmd].join(' ')} --help" at 80 and 60 columns`, () => {
      golden(`help-${name}.txt`, help(cmd));
      golden(`help-${name}.60.txt`, help(cmd, { COLUMNS: '60' }));
    });
  }

  it('fits every line within the width, from 50 to 200 columns: descriptions wrap at word boundaries', () => {
    for (const width of [50, 60, 72, 80, 100, 120, 200]) {
      for (const cmd of COMMANDS) {
        for (const line of help(cmd, { COLUMNS: String(width) }).split('\n')) {
          assert.ok(line.length <= width, `${['vsop', ...cmd].join(' ')} --help at ${width} columns: ${line.length} wide: ${JSON.stringify(line)}`);
        }
      }
    }
  });

  it("uses the width it is given: commander's own layout where the description column is wide enough, one under the other where not", () => {
    // 80 columns: --health-probe-bind-address <address> leaves 37 for descriptions, too few to read.
    assert.match(help(['watch']), /\n {2}--health-probe-bind-address <address>\n {6}where \/healthz and \/readyz listen \(default: ":8081"\)\n/);
    assert.match(help(['watch'], { COLUMNS: '160' }), /\n {2}--health-probe-bind-address <address> {4}where \/healthz and \/readyz listen \(default: ":8081"\)\n/);
    // A width that is not a positive whole number is not a width.
    assert.equal(help(['sync'], { COLUMNS: 'wide' }), help(['sync']));
  });

  it("lists the global options in every command's help, as istioctl's Global Flags", () => {
    // Groups (route, config) do nothing themselves: their commands' help lists them. The xds commands list
    // those they heed alone (globalsHeeded; test/unit/xds.test.ts checks each list).
    for (const cmd of COMMANDS.filter((c) => c.length > 0 && !['route', 'config'].includes(c.join(' ')) && c[0] !== 'xds')) {
      const text = help(cmd);
      const globals = text.slice(text.indexOf('\nGlobal Options:\n'));
      assert.ok(text.includes('\nGlobal Options:\n'), `${cmd.join(' ')} --help lacks Global Options`);
      for (const flag of ['--kubeconfig <path>', '--context <name>', '--request-timeout <duration>', '--no-color', '--config-namespace <namespace>', '--config-name <name>']) {
        assert.ok(globals.includes(`  ${flag}`), `${cmd.join(' ')} --help lacks ${flag}`);
      }
      assert.ok(!globals.includes('--version'), 'the version flag says nothing about a command');
    }
  });

  it('gives every command Examples; those that read examples/ run, and exit 0 or 1 (a plan with changes)', () => {
    let ran = 0;
    for (const cmd of COMMANDS) {
      const text = help(cmd);
      const examples = text.slice(text.indexOf('\nExamples:\n'));
      assert.ok(text.includes('\nExamples:\n'), `${['vsop', ...cmd].join(' ')} --help has no Examples`);
      // Commands, their continuation lines (" \") joined.
      const lines = examples.replace(/ \\\n +/g, ' ').split('\n');
      for (const line of lines.filter((l) => l.startsWith('  vsop ') && l.includes(' -f examples/'))) {
        const args = line.trim().split(' ').slice(1);
        const r = vsop(args);
        assert.ok(r.code === 0 || r.code === 1, `${line.trim()}: exit ${r.code}: ${r.stderr}`);
        assert.notEqual(r.stdout, '', line);
        ran++;
      }
    }
    assert.ok(ran >= 12, `only ${ran} offline examples ran`);
  });

  it('names itself "kubectl vsop" in its examples when run as the kubectl plugin', () => {
    const link = join(tmp, 'kubectl-vsop');
    symlinkSync(BIN, link);
    const r = vsop(['sync', '--help'], { bin: link });
    assert.match(r.stdout, /\n {2}kubectl vsop sync -f examples\/seed --diff\n/);
    assert.match(r.stdout, /Usage: kubectl vsop sync /);
  });
});
