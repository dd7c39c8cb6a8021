// A recording proxy on loopback between vsop and the test apiserver: plain HTTP in, HTTPS out. Tests read
// what vsop asked (method and path of every request) and can cut every open connection to fake an outage.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
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
  /** Writes a kubeconfig that reaches the cluster through this proxy with the given token. */
  kubeconfig(dir: string, token: string, name?: string): string;
  /** Closes every open connection (watches included); the proxy keeps accepting new ones. */
  cut(): void;
  stop(): Promise<void>;
}

export async function startProxy(upstream: Connection): Promise<Proxy> {
  const requests: Recorded[] = [];
  const sockets = new Set<Socket>();
  const target = new URL(upstream.server);
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
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
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    kubeconfig(dir, token, name = 'proxied') {
      const path = join(dir, `${name}.kubeconfig`);
      writeFileSync(
        path,
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Config',
          clusters: [{ name, cluster: { server: url, 'insecure-skip-tls-verify': true } }],
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
