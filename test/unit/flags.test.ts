// Duration flags have a range, and a value outside it is a usage error (exit 2) naming the range, before
// anything is read or written. Ranges as the README's Exit codes section and --help document them.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runVsop } from '../helpers/run.ts';

describe('duration flags', () => {
  const cases: [string[], RegExp][] = [
    [['sync', '-f', 'examples/seed', '--request-timeout', '9999999999'], /--request-timeout <duration>' argument '9999999999' is invalid\. expected a duration from 1s to 1h/],
    [['sync', '-f', 'examples/seed', '--timeout', '0'], /--timeout <duration>' argument '0' is invalid\. expected a duration from 1s to 24h/],
    [['watch', '--resync-period', '0'], /--resync-period <duration>' argument '0' is invalid\. expected a duration from 10s to 24h/],
    [['watch', '--stuck-after', '5s'], /--stuck-after <duration>' argument '5s' is invalid\. expected a duration from 10s to 24h/],
    [['watch', '--retry-period', '0'], /--retry-period <duration>' argument '0' is invalid\. expected a duration from 100ms to 1m/],
    [['watch', '--lease-duration', '11m'], /--lease-duration <duration>' argument '11m' is invalid\. expected a duration from 1s to 10m/],
    [
      ['route', 'add', 'my-app', '-n', 'dev-alice', '--weight', '10', '-f', 'examples/seed', '--retry-base', '1ms'],
      /--retry-base <duration>' argument '1ms' is invalid\. expected a duration from 10ms to 1m/,
    ],
  ];
  for (const [args, message] of cases) {
    it(`${args.slice(-2).join(' ')} is refused with exit 2`, async () => {
      const r = await runVsop(args);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, '');
    });
  }

  // client-go's leader election refuses these combinations (leaderelection.NewLeaderElector).
  it('--renew-deadline not shorter than --lease-duration, or --retry-period too close to it, is refused with exit 2', async () => {
    const deadline = await runVsop(['watch', '--leader-elect', '--lease-duration', '5s', '--renew-deadline', '10s']);
    assert.equal(deadline.code, 2, deadline.stderr);
    assert.match(deadline.stderr, /--renew-deadline \(10s\) must be shorter than --lease-duration \(5s\)/);
    const retry = await runVsop(['watch', '--leader-elect', '--renew-deadline', '2s', '--retry-period', '2s']);
    assert.equal(retry.code, 2, retry.stderr);
    assert.match(retry.stderr, /--retry-period \(2s\) must be shorter than --renew-deadline \(2s\) \/ 1\.2/);
    assert.equal(deadline.stdout + retry.stdout, '');
  });

  it('accepts the ends of a range', async () => {
    const r = await runVsop(['sync', '-f', 'examples/seed', '--diff', '--timeout', '24h', '--request-timeout', '1s']);
    assert.equal(r.code, 1, r.stderr);
  });
});
