// The seed VirtualService operator, the Go program vsop replaces, run against the test cluster so that
// tests can hand its objects over to vsop. Its source is not part of this repo: it lives in an anchors
// directory beside it (see anchorsDir), and test/anchors/build.sh builds it once per recipe.
//
// It always binds its metrics to :8080 (it parses -metrics-bind-address and never uses it), so one runs
// at a time in this process, and each start first waits for that port to be free of anything else.

import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vsOperatorBinary } from './build.ts';
import { freePort, removeOnExit, startProcess, tail, type ManagedProcess } from './processes.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const METRICS_PORT = 8080;

/**
 * The directory holding vs-operator/: $VSOP_ANCHORS, else <repo>/../shared/anchors, else /work/shared/anchors.
 * When none holds the source, `missing` says where it looked, for a skip message.
 */
export function anchorsDir(env: NodeJS.ProcessEnv = process.env): { dir: string; missing?: undefined } | { dir?: undefined; missing: string } {
  const candidates = env.VSOP_ANCHORS ? [resolve(env.VSOP_ANCHORS)] : [resolve(REPO, '..', 'shared', 'anchors'), '/work/shared/anchors'];
  const dir = candidates.find((d) => existsSync(join(d, 'vs-operator', 'main.go')));
  if (dir) return { dir };
  return {
    missing:
      `the seed operator's source (vs-operator/main.go) is not in ${candidates.join(' nor in ')}` +
      (env.VSOP_ANCHORS ? ' (VSOP_ANCHORS)' : '; set VSOP_ANCHORS to the directory that holds vs-operator/'),
  };
}

export interface Operator {
  process: ManagedProcess;
  /** Base URL of its health probe server. */
  health: string;
  /** The last lines of its log, for assertion messages. */
  logTail(lines?: number): string;
  /** SIGTERM, then waits for it to exit (and :8080 to be released). */
  stop(): Promise<void>;
}

let turn: Promise<void> = Promise.resolve();

/** Starts the operator on the cluster of `kubeconfig`, reading its ConfigMap from `configNamespace`, and waits for /healthz. */
export async function startOperator(opts: { anchors: string; kubeconfig: string; configNamespace: string }): Promise<Operator> {
  const bin = await vsOperatorBinary(opts.anchors);
  let release!: () => void;
  const previous = turn;
  turn = new Promise((r) => (release = r));
  await previous;
  try {
    await waitPortFree(METRICS_PORT, 60_000);
    const probePort = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'vsop-vs-operator-'));
    removeOnExit(dir);
    const log = join(dir, 'vs-operator.log');
    const args = [`--kubeconfig=${opts.kubeconfig}`, `-health-probe-bind-address=127.0.0.1:${probePort}`, `-config-map-namespace=${opts.configNamespace}`];
    const proc = startProcess('vs-operator', bin, args, log);
    const health = `http://127.0.0.1:${probePort}`;
    await waitHealthy(proc, `${health}/healthz`, 30_000);
    return {
      process: proc,
      health,
      logTail: (lines = 40) => tail(log, lines),
      async stop() {
        await proc.stop();
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

async function waitHealthy(proc: ManagedProcess, url: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (!proc.isRunning()) throw new Error(`${await proc.exited} before its health probe answered; last lines of ${proc.log}:\n${tail(proc.log)}`);
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not listening yet
    }
    if (performance.now() > deadline) {
      await proc.stop();
      throw new Error(`vs-operator: ${url} did not answer 200 within ${timeoutMs} ms; last lines of ${proc.log}:\n${tail(proc.log)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until nothing listens on `port` (all interfaces, as the operator binds it), or fails naming it. */
async function waitPortFree(port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await portFree(port))) {
    if (performance.now() > deadline) {
      throw new Error(`port ${port} is still taken after ${timeoutMs} ms: the seed operator always binds its metrics to :${port}; stop what listens there`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}
