// A recording proxy on loopback between vsop and the test apiserver: HTTP or HTTPS in (HTTPS with the
// apiserver's own certificate, so clients see what they would see), HTTPS out. Tests read what vsop asked
// (method and path of every request), how many connections it opened, and can cut every open connection.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createTlsServer, request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Connection } from '../harness/kube.ts';

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

/** `tlsDir`: a directory with apiserver.crt and apiserver.key (the test cluster's pki/) to serve HTTPS. */
export async function startProxy(upstream: Connection, opts: { tlsDir?: string } = {}): Promise<Proxy> {
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
  const server = opts.tlsDir
    ? createTlsServer({ cert: readFileSync(join(opts.tlsDir, 'apiserver.crt')), key: readFileSync(join(opts.tlsDir, 'apiserver.key')) }, handler)
    : createServer(handler);
  server.on('connection', (s: Socket) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `${opts.tlsDir ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    get connections() {
      return connections;
    },
    kubeconfig(dir, token, name = 'proxied') {
      const path = join(dir, `${name}.kubeconfig`);
      writeFileSync(
        path,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name, cluster: opts.tlsDir ? { server: url, 'certificate-authority-data': Buffer.from(upstream.ca).toString('base64') } : { server: url, 'insecure-skip-tls-verify': true } }],
          users: [{ name, user: { token } }],
          contexts: [{ name, context: { cluster: name, user: name } }],
          'current-context': name,
        }),
      );
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
