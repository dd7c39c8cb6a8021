// A recording proxy on loopback between vsop and the test apiserver: HTTPS in (with the apiserver's own
// certificate, so clients see what they would see), HTTPS out. Tests read what vsop asked (method and path
// of every request), how many connections it opened, and can cut every open connection.

import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from '../harness/kube.ts';
import { writeKubeconfig } from '../harness/kubeconfig.ts';

export interface Recorded {
  method: string;
  path: string;
  status: number;
}

export interface Proxy {
  url: string;
  requests: Recorded[];
  /** Connections clients opened to the proxy. */
  connections: number;
  /** Writes a kubeconfig that reaches the cluster through this proxy with the given token. */
  kubeconfig(dir: string, token: string, name?: string): string;
  /** Closes every open connection (watches included); the proxy keeps accepting new ones. */
  cut(): void;
  stop(): Promise<void>;
}

/** `tlsDir`: the test cluster's pki/ directory, whose apiserver.crt and apiserver.key the proxy serves. */
export async function startProxy(upstream: Connection, opts: { tlsDir: string }): Promise<Proxy> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  const target = new URL(upstream.server);
  let connections = 0;
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    const record: Recorded = { method: req.method ?? 'GET', path: req.url ?? '/', status: 0 };
    requests.push(record);
    const out = httpsRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host }, ca: upstream.ca },
      (up) => {
        record.status = up.statusCode ?? 0;
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    out.on('error', () => res.destroy());
    req.pipe(out);
  };
  const server = createServer({ cert: readFileSync(join(opts.tlsDir, 'apiserver.crt')), key: readFileSync(join(opts.tlsDir, 'apiserver.key')) }, handler);
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    get connections() {
      return connections;
    },
    kubeconfig(dir, token, name = 'proxied') {
      const path = join(dir, `${name}.kubeconfig`);
      writeKubeconfig(path, url, upstream.ca, [{ context: name, token }]);
      return path;
    },
    cut() {
      for (const s of sockets) s.destroy();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
