// Forward proxies on loopback, standing in for a company's: an HTTP CONNECT proxy (plain or over TLS)
// and a SOCKS5 proxy. Each resolves names through its own table only (`hosts`), so a server name that
// does not resolve on this machine (kube.invalid) is reachable through the proxy and nowhere else; a name
// it does not know gets what a proxy whose DNS lookup failed answers (502, or SOCKS "host unreachable").
// Tests read what was asked: every tunnel's target and the Proxy-Authorization it came with.

import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

export interface Tunnel {
  /** host:port as the client asked for it */
  target: string;
  /** The Proxy-Authorization header (CONNECT only). */
  authorization: string | undefined;
}

export interface ForwardProxy {
  /** e.g. http://127.0.0.1:40123, https://127.0.0.1:40123 or socks5://127.0.0.1:40123 */
  url: string;
  tunnels: Tunnel[];
  stop(): Promise<void>;
}

export interface ProxyOptions {
  /** Names the proxy can resolve, and their addresses; IP addresses are used as they are. */
  hosts: Record<string, string>;
  /** Serve CONNECT over TLS with this key and certificate (an https:// proxy). */
  tls?: { key: Buffer; cert: Buffer };
  /** Answer 407 to a CONNECT without exactly this Proxy-Authorization. */
  authorization?: string;
}

/** An HTTP proxy that only tunnels (CONNECT), as HTTPS traffic goes through one. */
export async function startConnectProxy(opts: ProxyOptions): Promise<ForwardProxy> {
  const tunnels: Tunnel[] = [];
  const server: HttpServer = opts.tls ? createHttpsServer(opts.tls) : createHttpServer();
  server.on('request', (_req, res) => res.writeHead(405).end('CONNECT only\n'));
  server.on('connect', (req: IncomingMessage, client: Socket, head: Buffer) => {
    const target = req.url ?? '';
    tunnels.push({ target, authorization: req.headers['proxy-authorization'] });
    client.on('error', () => {});
    if (opts.authorization !== undefined && req.headers['proxy-authorization'] !== opts.authorization) {
      client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const colon = target.lastIndexOf(':');
    const address = resolve(opts.hosts, target.slice(0, colon).replace(/^\[(.*)\]$/, '$1'));
    if (!address) {
      client.end(`HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/plain\r\nContent-Length: 24\r\n\r\ncannot resolve the name\n`);
      return;
    }
    const upstream = connect(Number(target.slice(colon + 1)), address, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  return listen(server, opts.tls ? 'https' : 'http', tunnels);
}

/** A SOCKS5 proxy (RFC 1928) without authentication, resolving names itself (what Go's socks5 asks of it). */
export async function startSocksProxy(opts: Pick<ProxyOptions, 'hosts'>): Promise<ForwardProxy> {
  const tunnels: Tunnel[] = [];
  const server = createServer((client) => {
    client.on('error', () => {});
    client.once('data', (greeting: Buffer) => {
      if (greeting[0] !== 5) return client.destroy();
      client.write(Buffer.from([5, 0])); // no authentication
      client.once('data', (ask: Buffer) => {
        const type = ask[3];
        const [host, rest] =
          type === 1 ? [[...ask.subarray(4, 8)].join('.'), ask.subarray(8)] : type === 3 ? [ask.subarray(5, 5 + ask[4]!).toString(), ask.subarray(5 + ask[4]!)] : ['', ask];
        const port = rest.readUInt16BE(0);
        tunnels.push({ target: `${host}:${port}`, authorization: undefined });
        const address = ask[1] === 1 ? resolve(opts.hosts, host) : undefined;
        if (!address) return client.end(Buffer.from([5, 4, 0, 1, 0, 0, 0, 0, 0, 0])); // host unreachable
        const upstream = connect(port, address, () => {
          client.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
          upstream.pipe(client);
          client.pipe(upstream);
        });
        upstream.on('error', () => client.destroy());
        client.on('close', () => upstream.destroy());
      });
    });
  });
  return listen(server, 'socks5', tunnels);
}

function resolve(hosts: Record<string, string>, name: string): string | undefined {
  return /^[\d.]+$/.test(name) ? name : hosts[name.toLowerCase()];
}

async function listen(server: Server, scheme: string, tunnels: Tunnel[]): Promise<ForwardProxy> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // TLS servers report the raw TCP sockets under 'connection' too.
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    url: `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`,
    tunnels,
    stop: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}
