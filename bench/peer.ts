// npm run bench, the controllers under test: `vsop watch` and the seed operator it replaces (built from the
// anchors directory by test/anchors/build.sh, run as published: controller-runtime's client, held to 20
// requests/s). Both are started the same way against one apiserver and seen the same way: resident memory,
// CPU seconds and start time from /proc, requests and reconciles from each one's own Prometheus metrics
// (controller-runtime's names, which vsop keeps), and the VirtualServices from outside, through a watch of
// the bench's own that timestamps every change as it arrives.

import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { anchorsDir, startOperator } from '../test/harness/anchors.ts';
import { vsOperatorBinary } from '../test/harness/build.ts';
import type { Connection } from '../test/harness/kube.ts';
import { parseMetrics, startWatch } from '../test/helpers/watcher.ts';

export interface Running {
  pid: number;
  metrics: string;
  /** The last lines of its log, for errors. */
  logTail(): string;
  stop(): Promise<void>;
}

export interface Tool {
  name: string;
  /** Why it cannot run here (its source is absent), or undefined. */
  missing?: string;
  /** Builds whatever it needs, so that start() starts only the process. */
  prepare(): Promise<void>;
  start(kubeconfig: string, configNamespace: string): Promise<Running>;
}

/** `vsop watch` as the image runs it (its Node flag and malloc setting), with the defaults a Deployment gets. */
export const vsop: Tool = {
  name: 'vsop watch',
  async prepare() {},
  async start(kubeconfig, configNamespace) {
    const w = await startWatch(['--config-namespace', configNamespace, 'watch'], { KUBECONFIG: kubeconfig, NODE_OPTIONS: '--max-semi-space-size=1', MALLOC_ARENA_MAX: '2' });
    return {
      pid: w.child.pid!,
      metrics: `${w.metrics}/metrics`,
      logTail: () =>
        w.logs
          .slice(-20)
          .map((l) => JSON.stringify(l))
          .join('\n'),
      stop: async () => void (await w.stop()),
    };
  },
};

/** The seed operator, as published; its metrics are always on :8080 (see test/harness/anchors.ts). */
export function seed(): Tool {
  const anchors = anchorsDir();
  return {
    name: 'seed operator',
    missing: anchors.missing,
    async prepare() {
      if (anchors.dir) await vsOperatorBinary(anchors.dir);
    },
    async start(kubeconfig, configNamespace) {
      const op = await startOperator({ anchors: anchors.dir!, kubeconfig, configNamespace });
      return { pid: op.process.pid, metrics: 'http://127.0.0.1:8080/metrics', logTail: () => op.logTail(20), stop: () => op.stop() };
    },
  };
}

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** Resident memory (MB), CPU seconds (user + system) and when the process started (performance.now() ms). */
export function processStats(pid: number): { rssMB: number; peakMB: number; cpuSeconds: number; startedAt: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKB = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // The most resident memory the process has had so far (what a memory limit must allow).
  const peakKB = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  // Fields after the command name (which may hold spaces): utime is the 14th field, stime 15th, starttime 22nd.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const now = performance.now();
  return {
    rssMB: rssKB / 1024,
    peakMB: peakKB / 1024,
    cpuSeconds: (Number(f[11]) + Number(f[12])) / TICKS,
    startedAt: now - (uptime - Number(f[19]) / TICKS) * 1000,
  };
}

export interface Counters {
  /** Requests that write: POST, PUT, PATCH, DELETE. */
  writes: number;
  reconciles: number;
  errors: number;
  depth: number;
}

/** Sums over the label sets of the metrics both expose under controller-runtime's names. */
export async function counters(run: Running): Promise<Counters> {
  const out: Counters = { writes: 0, reconciles: 0, errors: 0, depth: 0 };
  for (const [series, v] of await scrape(run.metrics)) {
    if (series.startsWith('rest_client_requests_total{') && /method="(POST|PUT|PATCH|DELETE)"/.test(series)) out.writes += v;
    else if (series.startsWith('controller_runtime_reconcile_total{')) out.reconciles += v;
    else if (series.startsWith('controller_runtime_reconcile_errors_total{')) out.errors += v;
    else if (series.startsWith('workqueue_depth{')) out.depth += v;
  }
  return out;
}

/** Metrics by series; a process just started may not listen yet. */
async function scrape(url: string): Promise<Map<string, number>> {
  for (let tries = 0; ; tries++) {
    try {
      const res = await fetch(url);
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${url}: ${res.status} ${text.slice(0, 200)}`);
      return parseMetrics(text);
    } catch (err) {
      if (tries >= 150) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/**
 * Waits until the controller has nothing left to do: its queue empty and neither its writes nor its
 * reconciles moving for `quietMs`. Returns when it last wrote and when it last did anything (ms).
 */
export async function idle(run: Running, quietMs: number, timeoutMs: number): Promise<{ lastWrite: number | undefined; lastWork: number; counters: Counters }> {
  const deadline = performance.now() + timeoutMs;
  let prev = await counters(run);
  let lastWork = performance.now();
  let lastWrite: number | undefined;
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const c = await counters(run);
    const now = performance.now();
    if (c.writes !== prev.writes) lastWrite = now;
    if (c.writes !== prev.writes || c.reconciles !== prev.reconciles) lastWork = now;
    prev = c;
    if (c.depth === 0 && now - lastWork >= quietMs) return { lastWrite, lastWork, counters: c };
    if (now > deadline) throw new Error(`still working after ${timeoutMs} ms: ${JSON.stringify(c)}\n${run.logTail()}`);
  }
}

interface Route {
  route?: { destination?: { host?: string } }[];
}
interface Vs {
  metadata: { name: string; resourceVersion: string };
  spec?: { http?: Route[] };
}

/**
 * The VirtualServices of one namespace as a watch of the bench's own sees them: for each, the namespaces
 * its routes send to (in order), when it last changed, and how often it changed. `expect` sets what
 * converged means (VirtualService name -> namespaces, in any order); `convergedAt` is when the last change
 * that made every expected one match arrived.
 */
export class Observer {
  readonly routes = new Map<string, string[]>();
  readonly changes = new Map<string, number>();
  /** When each change of each VirtualService arrived. */
  readonly history = new Map<string, number[]>();
  convergedAt: number | undefined;
  private expected = new Map<string, string>();
  private matching = 0;
  private waiters: { name: string; check: (ns: string[] | undefined) => boolean; resolve: (at: number) => void }[] = [];
  private readonly abort = new AbortController();
  private readonly conn: Connection;
  private readonly path: string;
  private running: Promise<void> | undefined;

  constructor(conn: Connection, namespace: string) {
    this.conn = conn;
    this.path = `/apis/networking.istio.io/v1beta1/namespaces/${namespace}/virtualservices`;
  }

  /** Lists, then watches from the list; resolves once the list is in. */
  async start(): Promise<void> {
    const list = JSON.parse(await retried(() => get(this.conn, this.path))) as { items: Vs[]; metadata: { resourceVersion: string } };
    for (const vs of list.items) this.apply('ADDED', vs, performance.now());
    this.running = this.loop(list.metadata.resourceVersion);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  expect(expected: Map<string, string[]>): void {
    this.expected = new Map([...expected].map(([k, v]) => [k, signature(v)]));
    this.matching = [...this.expected].filter(([k, v]) => signature(this.routes.get(k)) === v).length;
    this.convergedAt = this.matching === this.expected.size ? performance.now() : undefined;
  }

  get converged(): boolean {
    return this.convergedAt !== undefined;
  }

  /** Resolves with the arrival time of the first change after which `check` holds for that VirtualService. */
  until(name: string, check: (namespaces: string[] | undefined) => boolean, timeoutMs: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name}: no change to the expected routes within ${timeoutMs} ms (now ${this.routes.get(name)})`)), timeoutMs);
      this.waiters.push({
        name,
        check,
        resolve: (at) => {
          clearTimeout(timer);
          resolve(at);
        },
      });
    });
  }

  private async loop(resourceVersion: string): Promise<void> {
    let rv = resourceVersion;
    while (!this.abort.signal.aborted) {
      try {
        await stream(this.conn, `${this.path}?watch=1&allowWatchBookmarks=true&timeoutSeconds=3600&resourceVersion=${rv}`, this.abort.signal, (e) => {
          if (e.type === 'ERROR') throw new Error(`VirtualService watch: ${JSON.stringify(e.object)}`);
          rv = e.object.metadata.resourceVersion;
          if (e.type !== 'BOOKMARK') this.apply(e.type, e.object, performance.now());
        });
      } catch (err) {
        if (this.abort.signal.aborted) return;
        process.stderr.write(`bench: VirtualService watch broke (${(err as Error).message}), resuming\n`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private apply(type: string, vs: Vs, at: number): void {
    const name = vs.metadata.name;
    const before = this.routes.get(name);
    const after = type === 'DELETED' ? undefined : (vs.spec?.http ?? []).map((r) => namespaceOf(r.route?.[0]?.destination?.host));
    if (after) this.routes.set(name, after);
    else this.routes.delete(name);
    if (type !== 'DELETED') {
      this.changes.set(name, (this.changes.get(name) ?? 0) + 1);
      this.history.set(name, [...(this.history.get(name) ?? []), at]);
    }
    const want = this.expected.get(name);
    if (want !== undefined) {
      const was = signature(before) === want;
      const is = signature(after) === want;
      if (was !== is) this.matching += is ? 1 : -1;
      if (this.matching === this.expected.size) this.convergedAt ??= at;
      else this.convergedAt = undefined;
    }
    this.waiters = this.waiters.filter((w) => {
      if (w.name !== name || !w.check(after)) return true;
      w.resolve(at);
      return false;
    });
  }
}

const signature = (namespaces: string[] | undefined) => (namespaces ? [...namespaces].sort().join(',') : '-');
const namespaceOf = (host: string | undefined) => host?.split('.')[1] ?? '?';

/** An apiserver that has just started answers 429 while its storage initialises. */
async function retried<T>(fn: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      return await fn();
    } catch (err) {
      if (tries >= 30) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

function get(conn: Connection, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, conn.server), { ca: conn.ca, headers: { authorization: `Bearer ${conn.token}`, accept: 'application/json' } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(text) : reject(new Error(`GET ${path}: ${res.statusCode} ${text.slice(0, 200)}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

/** One watch request, each event handed over as soon as its line is in. */
function stream(conn: Connection, path: string, signal: AbortSignal, onEvent: (e: { type: string; object: Vs }) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, conn.server), { ca: conn.ca, signal, headers: { authorization: `Bearer ${conn.token}`, accept: 'application/json' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`watch: ${res.statusCode}`));
      let buffered = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (line) onEvent(JSON.parse(line));
        }
      });
      res.on('end', resolve);
      res.on('error', reject);
    });
    req.on('error', (err) => (signal.aborted ? resolve() : reject(err)));
    req.end();
  });
}
