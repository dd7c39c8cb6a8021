// Requests to the API server. @kubernetes/client-node supplies everything about *who* and *where*: the
// kubeconfig, the server, the CA, client certificates, tokens, exec and OIDC credential plugins (asked
// afresh for every request, as they rotate). The requests themselves go through node:https on a
// keep-alive agent per TLS identity: the generated clients of client-node 2.0.1 opened a new TLS
// connection for every request and spent about 2.5 times a plain client's CPU on each, which on a busy
// 2-core machine made a 1,000-object sync twice as slow as it need be. Through a proxy (kubeconfig.ts
// proxyFor decides which, as kubectl would), the agents are proxy-agents' CONNECT-tunnelling and SOCKS
// agents, pooled the same way.

import type { KubeConfig } from '@kubernetes/client-node';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { type ClientRequest, Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { SocksProxyAgent } from 'socks-proxy-agent';
import type { ClusterProxy } from './kubeconfig.ts';

export interface HttpAnswer {
  status: number;
  /** The parsed JSON body (a Status for errors), or the raw text when it is not JSON. */
  body: unknown;
  headers: IncomingMessage['headers'];
}

/** An answer other than 2xx, for errors.ts to turn into a typed error. */
export class HttpFailure extends Error {
  readonly status: number;
  readonly body: unknown;
  readonly headers: IncomingMessage['headers'];
  constructor(answer: HttpAnswer) {
    super(`HTTP ${answer.status}`);
    this.status = answer.status;
    this.body = answer.body;
    this.headers = answer.headers;
  }
}

/**
 * A request that got no answer from the API server through a proxy: the proxy could not be reached, or
 * refused the tunnel (`status`: its answer to CONNECT, such as 502 when it cannot resolve the server's
 * name, 407 when it wants credentials).
 */
export class ProxyFailure extends Error {
  /** The proxy and where it was set: `http://proxy:3128 (HTTPS_PROXY)` (credentials left out). */
  readonly proxy: string;
  readonly status: number | undefined;
  readonly code: string | undefined;
  constructor(proxy: ClusterProxy, reason: string, opts: { status?: number; code?: string; cause?: unknown } = {}) {
    super(reason, { cause: opts.cause });
    const url = new URL(proxy.url);
    url.username = '';
    url.password = '';
    this.proxy = `${url.origin === 'null' ? url.href : url.origin} (${proxy.from})`;
    this.status = opts.status;
    this.code = opts.code;
  }
}

export interface HttpOptions {
  signal?: AbortSignal;
  /** Milliseconds for one request, from sending to the last byte of the answer. */
  requestTimeout?: number;
  /** The proxy to reach the API server through (kubeconfig.ts proxyFor). */
  proxy?: ClusterProxy;
}

const TLS_KEYS = ['ca', 'cert', 'key', 'pfx', 'passphrase', 'rejectUnauthorized', 'servername'] as const;

/**
 * The TLS settings of the current user and cluster. They go to the agent and with every request too:
 * https-proxy-agent keeps no agent options for the connection at the end of its tunnel.
 */
function tlsOf(options: RequestOptions): Partial<Pick<RequestOptions, (typeof TLS_KEYS)[number]>> {
  return Object.fromEntries(TLS_KEYS.filter((k) => options[k] !== undefined).map((k) => [k, options[k]]));
}

function headersOf(options: RequestOptions): Record<string, string | number> {
  return { ...(options.headers as Record<string, string>), accept: 'application/json', 'user-agent': 'vsop' };
}

/** The whole answer, its body parsed as JSON when it is JSON (a Status for errors), else kept as text. */
function readAnswer(res: IncomingMessage): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON: keep the text for the message
      }
      resolve({ status: res.statusCode ?? 0, body, headers: res.headers });
    });
    res.on('error', reject);
  });
}

export class KubeHttp {
  readonly server: string;
  private readonly kc: KubeConfig;
  private readonly opts: HttpOptions;
  private readonly base: URL;
  private readonly agents: { options: RequestOptions; agent: HttpAgent; streams: boolean }[] = [];

  constructor(kc: KubeConfig, opts: HttpOptions = {}) {
    this.kc = kc;
    this.opts = opts;
    this.server = kc.getCurrentCluster()?.server ?? '';
    this.base = new URL(this.server.endsWith('/') ? this.server : `${this.server}/`);
  }

  /** `path` is relative to the API root ("api/v1/..."), so servers behind a path prefix work too. */
  async request(method: string, path: string, query: Record<string, string | undefined> = {}, body?: unknown): Promise<HttpAnswer> {
    const { url, options, plain } = await this.prepare(path, query);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const signals = [this.opts.signal, this.opts.requestTimeout ? AbortSignal.timeout(this.opts.requestTimeout) : undefined].filter((s) => s !== undefined);
    const answer = await new Promise<HttpAnswer>((resolve, reject) => {
      const req = (plain ? httpRequest : httpsRequest)(
        url,
        {
          method,
          headers: { ...headersOf(options), ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }) },
          agent: this.agentFor(options, plain),
          ...tlsOf(options),
          ...(options.auth ? { auth: options.auth } : {}),
          ...(signals.length ? { signal: signals.length === 1 ? signals[0] : AbortSignal.any(signals) } : {}),
        },
        (res) => (this.refused(tunnel(), res, reject) ? undefined : readAnswer(res).then(resolve, reject)),
      );
      const tunnel = tunnelAnswer(req);
      req.on('error', (err) => reject(this.throughProxy(err)));
      req.end(payload);
    });
    if (answer.status >= 400) throw new HttpFailure(answer);
    return answer;
  }

  /**
   * A watch: a GET whose answer is a stream of JSON lines, each passed to `onEvent`, until the server ends
   * it (resolves), the connection breaks or `signal` aborts (rejects). `idleMs` bounds the silence between
   * lines (bookmarks arrive about once a minute), so a half-open connection is noticed.
   */
  async stream(path: string, query: Record<string, string | undefined>, onEvent: (event: unknown) => void, signal: AbortSignal, idleMs: number): Promise<void> {
    const { url, options, plain } = await this.prepare(path, query);
    await new Promise<void>((resolve, reject) => {
      const req = (plain ? httpRequest : httpsRequest)(
        url,
        { method: 'GET', headers: headersOf(options), agent: this.agentFor(options, plain, true), ...tlsOf(options), ...(options.auth ? { auth: options.auth } : {}), signal },
        (res) => {
          if (this.refused(tunnel(), res, reject)) return;
          if ((res.statusCode ?? 0) >= 400) {
            readAnswer(res).then((answer) => reject(new HttpFailure(answer)), reject);
            return;
          }
          let buffered = '';
          res.setEncoding('utf8');
          res.setTimeout(idleMs, () => res.destroy(Object.assign(new Error(`no event or bookmark for ${idleMs / 1000} s`), { code: 'EWATCHIDLE' })));
          res.on('data', (chunk: string) => {
            buffered += chunk;
            let nl: number;
            while ((nl = buffered.indexOf('\n')) >= 0) {
              const line = buffered.slice(0, nl);
              buffered = buffered.slice(nl + 1);
              if (!line.trim()) continue;
              try {
                onEvent(JSON.parse(line));
              } catch (err) {
                // The consumer refused the event (an ERROR event, say): end the watch with its reason.
                reject(err);
                res.destroy();
                return;
              }
            }
          });
          res.on('end', () => resolve());
          res.on('error', reject);
          res.on('close', () => resolve());
        },
      );
      const tunnel = tunnelAnswer(req);
      req.on('error', (err) => reject(this.throughProxy(err)));
      req.end();
    });
  }

  /**
   * A proxy that refused the tunnel: https-proxy-agent hands its answer to CONNECT over as if it were the
   * API server's (with 'proxyConnect' first), which it is not: fail with what the proxy said instead.
   */
  private refused(connect: ConnectAnswer | undefined, res: IncomingMessage, reject: (err: unknown) => void): boolean {
    if (!this.opts.proxy || !connect || connect.statusCode === 200) return false;
    res.destroy();
    reject(new ProxyFailure(this.opts.proxy, `the proxy answered ${connect.statusCode} ${connect.statusText} to CONNECT ${this.base.host}`, { status: connect.statusCode }));
    return true;
  }

  /** A network failure on the way through a proxy names the proxy; an abort stays an abort. */
  private throughProxy(err: Error): Error {
    const proxy = this.opts.proxy;
    if (!proxy || err.name === 'AbortError' || err.name === 'TimeoutError' || err instanceof ProxyFailure) return err;
    const code = (err as { code?: unknown }).code;
    return new ProxyFailure(proxy, err.message, { cause: err, ...(typeof code === 'string' ? { code } : {}) });
  }

  /** The URL, and the credentials and TLS settings of the current user, asked afresh (plugins rotate them). */
  private async prepare(path: string, query: Record<string, string | undefined>): Promise<{ url: URL; options: RequestOptions; plain: boolean }> {
    const url = new URL(path, this.base);
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v);
    const options: RequestOptions = {};
    await this.kc.applyToHTTPSOptions(options);
    return { url, options, plain: url.protocol === 'http:' };
  }

  /**
   * One keep-alive agent per TLS identity (and the one proxy of this cluster): a client certificate that
   * an exec plugin rotates gets a new one. Watches get agents of their own, without a socket limit: each
   * holds its connection for minutes, and must never make ordinary requests queue behind it.
   */
  private agentFor(options: RequestOptions, plain: boolean, streams = false): HttpAgent {
    const same = (a: unknown, b: unknown) => (Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b);
    let hit = this.agents.find((x) => x.streams === streams && TLS_KEYS.every((k) => same(x.options[k], options[k])));
    if (!hit) {
      const tls = tlsOf(options);
      const limits = { keepAlive: true, maxSockets: streams ? Infinity : 16 };
      const agent = plain ? new HttpAgent(limits) : this.opts.proxy ? proxyAgent(this.opts.proxy, { ...tls, ...limits }) : new HttpsAgent({ ...tls, ...limits });
      this.agents.push((hit = { options, agent, streams }));
    }
    return hit.agent;
  }

  /** Lets the process exit without waiting for idle keep-alive sockets to time out. */
  close(): void {
    for (const { agent } of this.agents) agent.destroy();
  }
}

interface ConnectAnswer {
  statusCode: number;
  statusText: string;
}

/** The proxy's answer to CONNECT, once https-proxy-agent has it (it emits 'proxyConnect' on the request). */
function tunnelAnswer(req: ClientRequest): () => ConnectAnswer | undefined {
  let answer: ConnectAnswer | undefined;
  req.once('proxyConnect', (c: ConnectAnswer) => {
    answer = c;
  });
  return () => answer;
}

/**
 * The agent for a proxy, as Go's http.Transport uses one (client-go's transport): socks5 resolves the
 * server's name at the proxy (Go treats socks5 as socks5h: net/http/transport.go, Transport.Proxy), so a
 * name only the proxy can resolve works; any other scheme is a CONNECT tunnel, over TLS to an https
 * proxy. The TLS settings (CA, client certificate, server name) are the cluster's, for the API server at
 * the end of the tunnel and, as in Go, where Transport.TLSClientConfig also secures the connection to an
 * https proxy, for the proxy too. Credentials in the proxy's URL go as Proxy-Authorization (Basic) or to
 * the SOCKS server.
 */
function proxyAgent(proxy: ClusterProxy, options: Record<string, unknown>): HttpAgent {
  const { protocol } = proxy.url;
  if (protocol === 'socks5:' || protocol === 'socks5h:') {
    const url = new URL(proxy.url);
    url.protocol = 'socks5h:';
    return new SocksProxyAgent(url, options);
  }
  return new HttpsProxyAgent(proxy.url, options);
}
