// Durations as kubectl takes them, which are Go's time.ParseDuration plus kubectl's bare seconds. The
// expected values were printed by Go itself (time.ParseDuration on go1.2x, float64(d)/1e6 ms), not by vsop.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../../src/cli/program.ts';

describe('parseDuration', () => {
  const accepted: [string, number][] = [
    ['1m30s', 90_000],
    ['1h30m', 5_400_000],
    ['1.5h', 5_400_000],
    ['500ms', 500],
    ['2h45m0.5s', 9_900_500],
    ['.5s', 500],
    ['1.s', 1000],
    ['1500us', 2], // 1.5 ms, rounded
    ['2000000ns', 2],
    // kubectl's own: a bare number is seconds (--request-timeout=5)
    ['30', 30_000],
    [' 2m ', 120_000],
  ];
  for (const [text, ms] of accepted) it(`${JSON.stringify(text)} is ${ms} ms`, () => assert.equal(parseDuration(text), ms));

  // Go refuses all but the last; vsop refuses the sign too, since no flag takes a negative duration.
  for (const text of ['1m 30s', '1x', '', 's', '1m30', 'm1', '1h-5m', '-5s'])
    it(`${JSON.stringify(text)} is refused, with an example of what is meant`, () => assert.throws(() => parseDuration(text), /expected a duration such as 30s, 1m30s or 500ms/));
});
