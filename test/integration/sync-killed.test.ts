// A sync killed halfway (issue 11, item 8), on the real apiserver: the built CLI is SIGKILLed once it has
// printed a few objects' lines. Every line it printed names an object the apiserver holds as the line
// says (text output is printed as each object is stored, in plan order), and it had not written everything
// yet (so the lines came as it wrote, not at the end); the next sync converges (what
// was printed is unchanged, the rest created), and the one after finds nothing to do. Several trials.
// Run: npm run build && node test/harness/run-integration.ts test/integration/sync-killed.test.ts

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { skipReason } from '../harness/require.ts';
import { type Cluster, makeWorld } from '../helpers/world.ts';

const skip = skipReason();
const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vsop.js');
const SERVICES = 80;
const KILL_AFTER_LINES = 3;
const TRIALS = 3;

/** Runs the built `vsop` and SIGKILLs it once stdout holds `lines` whole lines; its stdout and how it ended. */
function syncKilledAfter(args: string[], env: Record<string, string>, lines: number): Promise<{ stdout: string; signal: NodeJS.Signals | null; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.split('\n').length - 1 >= lines) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => (code !== null && code !== 0 ? reject(new Error(`vsop exited ${code}: ${stderr}`)) : resolve({ stdout, signal, code })));
  });
}

describe('a SIGKILLed sync (real apiserver, built CLI)', { skip }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await testCluster();
  });
  after(async () => cluster?.release());

  for (let trial = 1; trial <= TRIALS; trial++) {
    it(`trial ${trial}: said what it wrote, and the next run converges`, async () => {
      const w = await makeWorld(cluster, `killed${trial}`, { devs: 1 });
      const names = Array.from({ length: SERVICES }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
      await Promise.all(names.flatMap((n, i) => [w.service(w.prod, n), ...(i % 2 === 0 ? [w.service(w.devs[0]!, n)] : [])]));

      const killed = await syncKilledAfter(['--config-namespace', w.configNamespace, 'sync'], { KUBECONFIG: cluster.adminKubeconfig }, KILL_AFTER_LINES);
      const said = killed.stdout.split('\n').filter((l) => l.endsWith(' created'));
      assert.equal(killed.signal, 'SIGKILL', 'killed before it ended');
      assert.ok(said.length >= KILL_AFTER_LINES && said.length < SERVICES, `printed ${killed.stdout}`);
      // In plan order (by Service name), each line's object stored as the line says.
      const expected = names.slice(0, said.length).map((n) => `virtualservice ${w.prod}/${n}-virtual-service created`);
      assert.deepEqual(said, expected);
      const stored = new Set((await w.virtualServices()).map((vs) => vs.metadata.name));
      for (const n of names.slice(0, said.length)) assert.ok(stored.has(`${n}-virtual-service`), `${n}-virtual-service was printed but is not stored`);
      // The lines came while it wrote, not after: killed then, it had not written everything.
      assert.ok(stored.size < SERVICES, `all ${SERVICES} were stored before the first line was printed`);

      const next = await w.vsop(['sync']);
      assert.equal(next.code, 0, next.stderr);
      const results = new Map(
        next.stdout
          .trim()
          .split('\n')
          .map((l) => [l.split(' ')[1]!.split('/')[1]!, l.split(' ')[2]!]),
      );
      assert.equal(results.size, SERVICES);
      for (const n of names.slice(0, said.length)) assert.equal(results.get(`${n}-virtual-service`), 'unchanged', `${n}: written by the killed run`);
      assert.equal((await w.virtualServices()).length, SERVICES);
      const third = await w.vsop(['sync']);
      assert.equal(third.stdout.split('\n').filter((l) => l !== '' && !l.endsWith(' unchanged')).length, 0, third.stdout);
    });
  }
});
