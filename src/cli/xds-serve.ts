// vsop xds: serve the routing over xDS (an Aggregated Discovery Service, src/xds/server.ts) to Envoy and
// proxyless gRPC clients, from the same informers as `vsop watch` (src/xds/feed.ts). Health probes and
// Prometheus metrics as watch has them, JSON logs; no leader election (nothing is written: every replica
// serves). Loaded only for this command: gRPC and the Envoy descriptor stay out of every other command.

import { EXIT, UsageError } from '../errors.ts';
import { connectWith } from '../k8s/connect.ts';
import { createLogger, type Level } from '../watch/log.ts';
import { XdsFeed } from '../xds/feed.ts';
import { XdsMetrics } from '../xds/metrics.ts';
import { AdsServer } from '../xds/server.ts';
import type { Io } from './io.ts';
import type { GlobalOptions } from './options.ts';
import { aborted, serve } from './watch.ts';

export interface XdsOptions extends GlobalOptions {
  address: string;
  healthProbeBindAddress: string;
  metricsBindAddress: string;
  logLevel: Level;
  logFormat: 'json' | 'console';
}

export async function xds(io: Io, opts: XdsOptions): Promise<number> {
  io.stopsOnSignal = true;
  const log = createLogger((line) => io.err(line), opts.logLevel, opts.logFormat === 'console');
  const metrics = new XdsMetrics();
  const requests = new AbortController();
  const port = connectWith(io.env, opts, { signal: requests.signal });
  const ads = new AdsServer({ log, metrics });
  const feed = new XdsFeed({ port, location: { namespace: opts.configNamespace, name: opts.configName }, log, metrics, serve: (changes) => ads.patch(changes) });
  const m = /^(.*):(\d+)$/.exec(opts.address);
  if (!m || Number(m[2]) > 65535) throw new UsageError(`xDS address "${opts.address}" is not HOST:PORT or :PORT (a port from 0 to 65535)`);
  let bound: number;
  try {
    bound = await ads.listen(`${m[1] || '0.0.0.0'}:${m[2]}`);
  } catch (err) {
    throw new UsageError(`cannot listen on ${opts.address} for xDS: ${(err as Error).message}`, { cause: err, hint: 'pick a free address with --address' });
  }
  const servers: (Awaited<ReturnType<typeof serve>> | undefined)[] = [];
  try {
    servers.push(
      await serve(opts.healthProbeBindAddress, 'health probes', log, async (path) => {
        if (path === '/healthz' || path === '/livez') return { status: 200, body: 'ok' };
        if (path === '/readyz') return ads.ready && !io.signal.aborted ? { status: 200, body: 'ok' } : { status: 503, body: 'not ready' };
        return undefined;
      }),
    );
    servers.push(
      await serve(opts.metricsBindAddress, 'metrics', log, async (path) =>
        path === '/metrics' ? { status: 200, body: await metrics.registry.metrics(), type: metrics.registry.contentType } : undefined,
      ),
    );
  } catch (err) {
    // A probe or metrics address taken: exit as for the xDS address (2), not serve on without probes.
    for (const s of servers) s?.close();
    await ads.stop();
    requests.abort();
    port.close?.();
    throw err;
  }
  log.info('serving xds', { address: `${m[1] || '0.0.0.0'}:${bound}`, configmap: `${opts.configNamespace}/${opts.configName}` });
  try {
    await Promise.race([feed.start(), aborted(io.signal)]);
    await aborted(io.signal);
    log.info('shutting down');
  } finally {
    await feed.stop();
    await ads.stop();
    for (const s of servers) s?.close();
    requests.abort();
    port.close?.();
  }
  log.info('stopped');
  return EXIT.ok;
}
