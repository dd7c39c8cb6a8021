// vsop watch: the seed operator's Deployment, replaced. Health probes on :8081, Prometheus metrics on
// :8080, structured logs, optional leader election on a Lease; SIGTERM finishes the work in hand,
// releases the Lease and exits 0.

import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { DEFAULT_RETRY } from '../apply.ts';
import { EXIT, UsageError } from '../errors.ts';
import { connectWith } from '../k8s/connect.ts';
import { Controller } from '../watch/controller.ts';
import { liveness } from '../watch/health.ts';
import { LeaderElector } from '../watch/leader.ts';
import { createLogger, type Level } from '../watch/log.ts';
import { Metrics } from '../watch/metrics.ts';
import type { Io } from './io.ts';
import type { GlobalOptions } from './options.ts';

export interface WatchOptions extends GlobalOptions {
  healthProbeBindAddress: string;
  metricsBindAddress: string;
  leaderElect?: boolean;
  leaderElectionId: string;
  leaderElectionNamespace?: string;
  leaseDuration: number;
  renewDeadline: number;
  retryPeriod: number;
  workers: number;
  resyncPeriod: number;
  logLevel: Level;
  logFormat: 'json' | 'console';
  retryBase: number;
  /** Milliseconds a worker may hold one key before /healthz fails. */
  stuckAfter: number;
}

const SHUTDOWN_GRACE_MS = 8_000;

/** The seed operator's zap flags, accepted as they are written in its operations guide. */
export function zapAliases(argv: readonly string[]): string[] {
  return argv.flatMap((arg) => {
    const level = /^--?zap-log-level[= ](.+)$/.exec(arg);
    if (level) return [`--log-level=${level[1]}`];
    const dev = /^--?zap-development(?:=(true|false))?$/.exec(arg);
    if (dev) return dev[1] === 'false' ? [] : ['--log-format=console'];
    return [arg];
  });
}

export async function watch(io: Io, opts: WatchOptions): Promise<number> {
  // SIGTERM (and Ctrl-C) is how a Deployment stops watch: it releases the Lease and exits 0.
  io.stopsOnSignal = true;
  if (opts.leaderElect) {
    // client-go's leaderelection.NewLeaderElector refuses these too: a leader must renew before its lease
    // runs out, and try more than once (retry period x 1.2, its jitter) before it gives up.
    if (opts.renewDeadline >= opts.leaseDuration) {
      throw new UsageError(`--renew-deadline (${opts.renewDeadline / 1000}s) must be shorter than --lease-duration (${opts.leaseDuration / 1000}s)`, {
        hint: 'a leader that cannot renew must stop writing before another replica may take the Lease: e.g. --lease-duration 15s --renew-deadline 10s',
      });
    }
    if (opts.retryPeriod * 1.2 >= opts.renewDeadline) {
      throw new UsageError(`--retry-period (${opts.retryPeriod / 1000}s) must be shorter than --renew-deadline (${opts.renewDeadline / 1000}s) / 1.2`, {
        hint: 'a leader tries to renew every retry period, with up to 20% jitter: e.g. --renew-deadline 10s --retry-period 2s',
      });
    }
  }
  const log = createLogger((line) => io.err(line), opts.logLevel, opts.logFormat === 'console');
  const metrics = new Metrics();
  const identity = io.env.POD_NAME ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  // Requests are not tied to the shutdown signal: the last ones (releasing the Lease) must still go out.
  const requests = new AbortController();
  const port = connectWith(io.env, opts, {
    signal: requests.signal,
    onRequest: (verb, code) => metrics.restRequests.inc({ code: code ? String(code) : '<error>', method: METHOD[verb] ?? verb.toUpperCase(), host: hostOf(port.server) }),
  });
  const elector = opts.leaderElect
    ? new LeaderElector({
        port,
        namespace: opts.leaderElectionNamespace ?? io.env.POD_NAMESPACE ?? opts.configNamespace,
        name: opts.leaderElectionId,
        identity,
        leaseDuration: opts.leaseDuration,
        renewDeadline: opts.renewDeadline,
        retryPeriod: opts.retryPeriod,
        onStartedLeading: () => {
          metrics.leader.set(1);
          log.info('became leader', { identity });
          controller.lead();
        },
        onStoppedLeading: () => {
          metrics.leader.set(0);
          log.error('lost leadership: no more writes', { identity });
        },
        onError: (err) => log.error('leader election', { error: err }),
      })
    : undefined;
  const controller = new Controller({
    port,
    location: { namespace: opts.configNamespace, name: opts.configName },
    log,
    metrics,
    workers: opts.workers,
    resyncPeriod: opts.resyncPeriod,
    retry: { ...DEFAULT_RETRY, minTimeout: opts.retryBase, maxTimeout: opts.retryBase * 16 },
    canWrite: () => (elector ? elector.canWrite() : true),
  });

  const ready = () => (elector && !elector.isLeader ? controller.standbyReady : controller.ready);
  const servers = await Promise.all(
    [
      serve(opts.healthProbeBindAddress, 'health probes', log, async (path) => {
        if (path === '/healthz' || path === '/livez') return liveness(metrics.sources.running(), opts.stuckAfter);
        if (path === '/readyz') return ready() && !io.signal.aborted ? { status: 200, body: 'ok' } : { status: 503, body: 'not ready' };
        return undefined;
      }),
      serve(opts.metricsBindAddress, 'metrics', log, async (path) =>
        path === '/metrics' ? { status: 200, body: await metrics.registry.metrics(), type: metrics.registry.contentType } : undefined,
      ),
    ].map((p) =>
      p.then(
        (server) => ({ server }),
        (error: unknown) => ({ error }),
      ),
    ),
  ).then((list) => {
    // One that could not listen stops watch before it starts; the other must not keep the process alive.
    const failed = list.find((x) => 'error' in x);
    const up = list.flatMap((x) => ('server' in x && x.server ? [x.server] : []));
    if (failed && 'error' in failed) {
      for (const server of up) server.close();
      requests.abort();
      port.close?.();
      throw failed.error;
    }
    return up;
  });

  log.info('starting', { identity, leaderElection: Boolean(elector), configmap: `${opts.configNamespace}/${opts.configName}` });
  const code: number = EXIT.ok;
  try {
    await Promise.race([controller.start(), aborted(io.signal)]);
    if (!io.signal.aborted) {
      if (elector) elector.start();
      else controller.lead();
      await aborted(io.signal);
    }
    log.info('shutting down');
  } catch (err) {
    log.error('cannot run', { error: err });
    throw err;
  } finally {
    await controller.stop(SHUTDOWN_GRACE_MS);
    await elector?.stop();
    for (const s of servers) s.close();
    requests.abort();
    port.close?.();
  }
  log.info('stopped');
  return code;
}

const METHOD: Record<string, string> = { get: 'GET', list: 'GET', watch: 'GET', create: 'POST', update: 'PUT', delete: 'DELETE' };

function hostOf(server: string): string {
  try {
    return new URL(server).host;
  } catch {
    return server;
  }
}

export function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => (signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true })));
}

type Handler = (path: string) => Promise<{ status: number; body: string; type?: string } | undefined>;

/**
 * ":8081" listens on every interface, "127.0.0.1:8081" on one; "0" turns the server off. Resolves once it
 * listens; an address that cannot be listened on (taken, not this host's) is a usage error, so watch never
 * runs without the probes its Deployment waits for.
 */
export async function serve(address: string, what: string, log: ReturnType<typeof createLogger>, handler: Handler): Promise<Server | undefined> {
  if (address === '0') return undefined;
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`${what} address "${address}" is not HOST:PORT or :PORT (a port from 0 to 65535)`);
  const server = createServer((req, res) => {
    handler(new URL(req.url ?? '/', 'http://x').pathname)
      .then((answer) => {
        if (!answer) {
          res.writeHead(404).end('not found\n');
          return;
        }
        res.writeHead(answer.status, { 'content-type': answer.type ?? 'text/plain; charset=utf-8' }).end(answer.body);
      })
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new UsageError(`cannot listen on ${address} for ${what}: ${err.code ?? err.message}`, {
          cause: err,
          hint: `pick a free address with --${what === 'metrics' ? 'metrics' : 'health-probe'}-bind-address`,
        }),
      ),
    );
    server.listen(Number(m[2]), m[1] || undefined, () => resolve());
  });
  server.on('error', (err) => log.error(`${what} server failed`, { error: err, address }));
  log.info(`serving ${what}`, { address });
  return server;
}
