// Objects read with -f are checked against the schemas the apiserver validates them with (issue 11, item
// 4): Kubernetes' OpenAPI for Services and ConfigMaps, Istio's CRD schema for VirtualServices, and the
// apiserver's own rules for names and ports. Each malformed object ends with exit 4, a message naming the
// file and line, the path and the value, nothing on stdout and nothing written (the diff program of
// KUBECTL_EXTERNAL_DIFF is never run); what a cluster would take is still read.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadConfig } from '../../src/core/config.ts';
import { validatorModule } from '../../src/core/schema/compile.ts';
import { goDuration } from '../../src/core/schema/keywords.ts';
import bundle from '../../src/core/schema/schemas.gen.json' with { type: 'json' };
import { pathSteps, pathText } from '../../src/core/schema/validate.ts';
import { runVsop } from '../helpers/run.ts';
import { ACCEPTED, CONFIG, type Case, REFUSED } from './input-schema-cases.ts';

const dir = mkdtempSync(join(tmpdir(), 'vsop-schema-'));
after(() => rmSync(dir, { recursive: true, force: true }));
// A diff program that leaves a mark: `sync --diff` runs it only once it has a plan to show.
const marker = join(dir, 'diff-ran');
const differ = join(dir, 'differ.sh');
writeFileSync(differ, `#!/bin/sh\ntouch ${marker}\n`);
chmodSync(differ, 0o755);

/** The file and line of a problem: the line of the value, counted in the file holding it. */
const expected = (c: Case, file: string) => `${file}:${c.line}: ${c.path ? `${c.path}: ` : ''}`;

describe('-f: objects the apiserver would refuse are refused, naming file, line, path and value (exit 4)', () => {
  for (const [i, c] of REFUSED.entries()) {
    it(c.name, async () => {
      const file = join(dir, `case-${i}.yaml`);
      writeFileSync(file, c.input);
      for (const args of [['sync', '--diff'], ['render'], ['status']]) {
        const got = await runVsop([...args, '-f', CONFIG, '-f', file], { env: { KUBECTL_EXTERNAL_DIFF: differ } });
        assert.equal(got.code, 4, `${args.join(' ')}: ${got.stderr}`);
        assert.equal(got.stdout, '', args.join(' '));
        const line = got.stderr.split('\n').find((l) => l.includes(`${file}:`));
        assert.ok(line, got.stderr);
        assert.ok(line.includes(expected(c, file)), `${args.join(' ')}: expected ${expected(c, file)} in:\n${got.stderr}`);
        if (typeof c.message === 'string') assert.ok(line.includes(c.message), `expected ${c.message} in:\n${got.stderr}`);
        else assert.match(line, c.message);
        assert.doesNotMatch(got.stderr, /internal error|\n\s+at /);
      }
      assert.equal(existsSync(marker), false, 'the diff program ran');
      assert.equal(readFileSync(file, 'utf8'), c.input, 'the input was changed');
    });
  }
});

describe('-f: what a cluster takes is read', () => {
  for (const [name, input] of ACCEPTED) {
    it(name, async () => {
      const file = join(dir, `ok-${ACCEPTED.findIndex((a) => a[0] === name)}.yaml`);
      writeFileSync(file, input);
      const got = await runVsop(['render', '-f', CONFIG, '-f', file]);
      assert.equal(got.stderr, '');
      assert.equal(got.code, 0);
    });
  }
});

describe('templates: the VirtualService schema too (exit 3)', () => {
  const template = (http: string) =>
    `defaultNamespace: default\nvirtualServiceTemplate: |\n  apiVersion: networking.istio.io/v1\n  kind: VirtualService\n  metadata: {name: "\${serviceName}-vs"}\n  spec:\n    hosts: ["\${serviceName}"]\n    http:\n${http}\n`;
  const problems = (text: string) => {
    try {
      loadConfig(text, 'config.yaml');
      return [];
    } catch (err) {
      return (err as { problems: { path: string; message: string }[] }).problems.map((p) => `${p.path}: ${p.message}`);
    }
  };
  it('an unknown field of a route', () => {
    const got = problems(template('    - rout: [{destination: {host: x}}]'));
    assert.ok(
      got.some((p) => p.includes('spec.http[0].rout: is not a field of Istio')),
      got.join('\n'),
    );
  });
  it('a weight that is a string', () => {
    const got = problems(template('    - route: [{destination: {host: x}, weight: "50"}]'));
    assert.ok(
      got.some((p) => p.includes('spec.http[0].route[0].weight: "50" is not an integer')),
      got.join('\n'),
    );
  });
});

describe('the schema module', () => {
  it('validators.gen.js is what ajv generates from schemas.gen.json (npm run schemas regenerates both)', () => {
    const file = readFileSync('src/core/schema/validators.gen.js', 'utf8');
    const header = file.split('\n')[2]!.slice(3);
    assert.equal(validatorModule(bundle.definitions, header), file);
  });

  it("reads durations as Go's time.ParseDuration does", () => {
    const cases: [string, number | undefined][] = [
      ['1ms', 1e6],
      ['1.5s', 1.5e9],
      ['.5ms', 5e5],
      ['1.ms', 1e6],
      ['1h30m', 5400e9],
      ['+2us', 2e3],
      ['3µs', 3e3],
      ['-1s', -1e9],
      ['0', 0],
      ['0s', 0],
      ['5', undefined],
      ['', undefined],
      ['.s', undefined],
      ['1d', undefined],
      ['1hm', undefined],
      ['s', undefined],
      ['99999999999h', undefined],
    ];
    for (const [text, nanos] of cases) assert.equal(goDuration(text), nanos, text);
  });

  it('prints paths and reads them back', () => {
    for (const path of [
      ['spec', 'ports', 0, 'port'],
      ['metadata', 'labels', 'app.kubernetes.io/name'],
      ['data', 'config.yaml'],
      ['spec', 'http', 2, 'match', 0, 'headers', 'x-developer'],
    ]) {
      assert.deepEqual(pathSteps(pathText(path)), path, pathText(path));
    }
    assert.equal(pathText(['metadata', 'labels', 'app.kubernetes.io/name']), 'metadata.labels["app.kubernetes.io/name"]');
    assert.deepEqual(pathSteps('spec.http[0].match[0].headers.x-developer.regex'), ['spec', 'http', 0, 'match', 0, 'headers', 'x-developer', 'regex']);
  });
});
