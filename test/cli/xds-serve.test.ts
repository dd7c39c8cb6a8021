// vsop xds as a process: what it prints on stderr when its xDS address is taken. grpc-js logs on its own
// (a raw "E No address added out of total 1 resolved" line by default, written with console.error), so only
// a real process shows whether such a line gets through beside vsop's own error.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hangingServer, kubeconfigFor, spawned, tmp } from './spawn.ts';

describe('vsop xds, its address taken', () => {
  it("exits 2 with vsop's error alone on stderr: grpc-js's own line goes through vsop's logger (debug, as vsop reports the failure)", async () => {
    const { server: taken } = await hangingServer();
    const kubeconfig = join(tmp, 'xds-kubeconfig.yaml');
    writeFileSync(kubeconfig, kubeconfigFor('https://127.0.0.1:1'));
    try {
      const address = `127.0.0.1:${(taken.address() as AddressInfo).port}`;
      const args = ['xds', '--kubeconfig', kubeconfig, '--address', address, '--health-probe-bind-address', '127.0.0.1:0', '--metrics-bind-address', '0'];
      const r = await spawned(args);
      assert.equal(r.code, 2, r.stderr);
      const lines = r.stderr.trimEnd().split('\n');
      assert.match(lines[0]!, new RegExp(`^error: cannot listen on ${address.replace(/\./g, '\\.')} for xDS: .*EADDRINUSE`));
      assert.deepEqual(lines.slice(1), ['hint: pick a free address with --address']);
      // At debug, grpc-js's line is one of vsop's JSON log lines.
      const debug = await spawned([...args, '--log-level', 'debug']);
      assert.equal(debug.code, 2, debug.stderr);
      const [first] = debug.stderr.split('\n');
      assert.deepEqual((({ level, msg, detail }) => ({ level, msg, detail }))(JSON.parse(first!)), {
        level: 'debug',
        msg: 'grpc-js',
        detail: 'No address added out of total 1 resolved',
      });
    } finally {
      taken.close();
    }
  });
});
