// `vsop watch` as a child process, the way a Pod runs it: its logs collected, its probes and metrics on
// free loopback ports, and a way to wait for the cluster to reach a state.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../harness/processes.ts';

const BIN = join(import.meta.dirname, '..', '..', 'bin', 'vsop.js');

export interface Watcher {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  health: string;
  metrics: string;
  /** GET a path of the health or metrics server; status and body. */
  get(url: string): Promise<{ status: number; body: string }>;
  /** SIGTERM, then the exit code and how long the exit took. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; ms: number }>;
}

/** `vsop watch` (or `vsop xds`, the other long-running command) with `args`, its probes and metrics on free ports. */
export async function startWatch(args: string[], env: Record<string, string>): Promise<Watcher> {
  const [healthPort, metricsPort] = [await freePort(), await freePort()];
  const command = args.findIndex((a) => a === 'watch' || a === 'xds');
  const child = spawn(
    process.execPath,
    [
      BIN,
      ...args.slice(0, command + 1),
      '--health-probe-bind-address',
      `127.0.0.1:${healthPort}`,
      '--metrics-bind-address',
      `127.0.0.1:${metricsPort}`,
      ...args.slice(command + 1),
    ],
    { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line, unparsed: true });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const w: Watcher = {
    child,
    logs,
    health: `http://127.0.0.1:${healthPort}`,
    metrics: `http://127.0.0.1:${metricsPort}`,
    async get(url) {
      try {
        const res = await fetch(url);
        return { status: res.status, body: await res.text() };
      } catch {
        return { status: 0, body: '' };
      }
    },
    async stop(signal = 'SIGTERM') {
      const t = performance.now();
      child.kill(signal);
      const code = await exited;
      return { code, ms: performance.now() - t };
    },
  };
  process.once('exit', () => child.kill('SIGKILL'));
  return w;
}

/** Polls `check` until it returns a truthy value (returned), or fails with `what` after `timeoutMs`. */
export async function eventually<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Prometheus text format, as a map from series (name{labels}) to value; throws on a malformed line. */
export function parseMetrics(text: string): Map<string, number> {
  const series = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    // prom-client writes NaN as "Nan" (nodejs_eventloop_lag_* before the first sample); Prometheus reads it
    // with Go's strconv.ParseFloat, which takes NaN and Inf in any case.
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|nan|[+-]inf)$/i.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const inf = /^([+-])inf$/i.exec(m[3]!);
    series.set(`${m[1]}${m[2] ?? ''}`, inf ? (inf[1] === '-' ? -Infinity : Infinity) : Number(m[3]));
  }
  return series;
}

/** Waits until the watch log has been quiet for `quietMs` (events settle within 400 ms at most). */
export async function settle(watcher: Watcher, quietMs = 1000): Promise<void> {
  let seen = -1;
  while (seen !== watcher.logs.length) {
    seen = watcher.logs.length;
    await new Promise((resolve) => setTimeout(resolve, quietMs));
  }
}
