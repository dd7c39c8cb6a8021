import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { toYaml } from '../../src/core/render.ts';

describe('toYaml', () => {
  it('quotes strings that YAML 1.1 readers (kubectl, Istio) would read as booleans or octal numbers', () => {
    const text = toYaml({ exact: 'on', other: 'yes', mode: '0755', n: 'y', plain: 'dev-alice' });
    assert.equal(text, 'exact: "on"\nother: "yes"\nmode: "0755"\n"n": "y"\nplain: dev-alice\n');
    assert.deepEqual(parse(text, { version: '1.1' }), { exact: 'on', other: 'yes', mode: '0755', n: 'y', plain: 'dev-alice' });
  });

  it('writes shared objects out in full, never as anchors, and never folds long strings', () => {
    const shared = { exact: 'x'.repeat(120) };
    const text = toYaml({ a: shared, b: shared });
    assert.doesNotMatch(text, /[&*]a1/);
    assert.equal(text.split('\n').filter((l) => l.includes('x'.repeat(120))).length, 2);
  });
});
