// The proxy vsop goes through, by kubectl's rules (issue 12, item 4): a cluster's proxy-url first, else
// HTTPS_PROXY with NO_PROXY as Go's net/http reads them. The NO_PROXY table is Go's own test
// (golang.org/x/net/http/httpproxy, proxy_test.go: UseProxyTests and its noProxy list), and the proxy
// values are its proxyForURLTests for https servers. Then requests through real proxies on loopback
// (test/helpers/connect-proxy.ts) to a stand-in API server whose name, kube.invalid, only they resolve:
// CONNECT over http and https, SOCKS5, credentials, kept-alive tunnels, and what a refusing or absent
// proxy gives.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exitCodeOf } from '../../src/errors.ts';
import { connect } from '../../src/k8s/connect.ts';
import { loadKubeConfig, proxyFor, useProxy } from '../../src/k8s/kubeconfig.ts';
import { selfSigned } from '../helpers/certificate.ts';
import { type ForwardProxy, startConnectProxy, startSocksProxy } from '../helpers/connect-proxy.ts';

const dir = mkdtempSync(join(tmpdir(), 'vsop-proxy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A kubeconfig file for `server`, trusting `ca`, with the cluster's proxy-url if given. */
function kubeconfig(server: string, opts: { ca?: Buffer; proxyUrl?: string } = {}): string {
  const cluster = [`server: ${JSON.stringify(server)}`];
  if (opts.ca) cluster.push(`certificate-authority-data: ${opts.ca.toString('base64')}`);
  if (opts.proxyUrl) cluster.push(`proxy-url: ${JSON.stringify(opts.proxyUrl)}`);
  const path = join(dir, `kubeconfig-${++files}`);
  writeFileSync(
    path,
    `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {${cluster.join(', ')}}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`,
  );
  return path;
}

const proxyOf = (server: string, env: Record<string, string>, proxyUrl?: string) =>
  proxyFor(loadKubeConfig({ kubeconfig: kubeconfig(server, proxyUrl ? { proxyUrl } : {}), env: {} }), env);

describe('NO_PROXY, by Go’s rules (its UseProxyTests)', () => {
  const noProxy =
    'foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, 10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, 2002:db8:a::45/64';
  const table: [string, boolean][] = [
    // Never proxy localhost (Go's special case: httpproxy's useProxy, and net/http's ProxyFromEnvironment doc)
    ['localhost', false],
    ['127.0.0.1', false],
    ['127.0.0.2', false],
    ['[::1]', false],
    ['[::2]', true],
    ['192.168.1.1', false],
    ['192.168.1.2', true],
    ['192.168.1.3', false],
    ['192.168.1.4', true],
    ['10.0.0.2', false],
    ['[2001:db8::52:0:1]', false],
    ['[2001:db8::52:0:2]', true],
    ['[2001:db8::52:0:3]', false],
    ['[2002:db8:a::123]', false],
    ['[fe80::424b:c8be:1643:a1b6]', true],
    ['barbaz.net', true],
    ['www.barbaz.net', false],
    ['foobar.com', false],
    ['www.foobar.com', false],
    ['foofoobar.com', true],
    ['baz.com', true],
    ['localhost.net', true],
    ['local.localhost', true],
    ['barbarbaz.net', true],
    ['wildcard.io', true],
    ['nested.wildcard.io', false],
    ['awildcard.io', true],
  ];
  for (const [host, proxied] of table) {
    it(`${host}:80 ${proxied ? 'goes through the proxy' : 'does not'}`, () => {
      assert.equal(useProxy(new URL(`https://${host}:80`), noProxy), proxied);
      assert.equal(useProxy(new URL(`https://${host}:80`), '*'), false, 'NO_PROXY=* turns the proxy off');
      assert.equal(useProxy(new URL(`https://${host}:80`), ':1'), !['localhost', '127.0.0.1', '127.0.0.2', '[::1]'].includes(host), 'a malformed entry is ignored');
    });
  }

  it('ports: an https server without one is on 443; an entry with a port matches that port only', () => {
    assert.equal(useProxy(new URL('https://kube.example'), 'kube.example:443'), false);
    assert.equal(useProxy(new URL('https://kube.example:6443'), 'kube.example:443'), true);
    assert.equal(useProxy(new URL('https://kube.example:6443'), 'kube.example:6443'), false);
    assert.equal(useProxy(new URL('https://kube.example:6443'), ' KUBE.example '), false, 'trimmed, any case');
  });

  it('names are compared in their ASCII form (Go: idna)', () => {
    assert.equal(useProxy(new URL('https://www.示例.com'), '.示例.com'), false);
    assert.equal(useProxy(new URL('https://www.示例.com'), 'xn--fsq092h.com'), false);
    assert.equal(useProxy(new URL('https://www.xn--fsq092h.com'), '示例.com'), false);
  });
});

describe('which proxy (client-go: the cluster’s proxy-url, else Go’s ProxyFromEnvironment)', () => {
  const cases: [string, Record<string, string>, string | undefined, string | undefined][] = [
    // [what, environment, proxy-url, the proxy used and where it was set]
    ['none set', {}, undefined, undefined],
    ['HTTPS_PROXY with a scheme', { HTTPS_PROXY: 'http://proxy.corp:3128' }, undefined, 'http://proxy.corp:3128/ HTTPS_PROXY'],
    ['host:port is an http proxy', { HTTPS_PROXY: '127.0.0.1:8080' }, undefined, 'http://127.0.0.1:8080/ HTTPS_PROXY'],
    ['a name alone is an http proxy', { HTTPS_PROXY: 'cache.corp.example.com' }, undefined, 'http://cache.corp.example.com/ HTTPS_PROXY'],
    ['an https proxy', { HTTPS_PROXY: 'https://secure.proxy.tld' }, undefined, 'https://secure.proxy.tld/ HTTPS_PROXY'],
    ['a socks5 proxy', { HTTPS_PROXY: 'socks5://127.0.0.1' }, undefined, 'socks5://127.0.0.1 HTTPS_PROXY'],
    ['an unknown scheme is kept (Go dials it as http)', { HTTPS_PROXY: 'foo://host' }, undefined, 'foo://host HTTPS_PROXY'],
    ['https_proxy when HTTPS_PROXY is unset', { https_proxy: 'http://lower:1' }, undefined, 'http://lower:1/ https_proxy'],
    ['HTTPS_PROXY before https_proxy', { HTTPS_PROXY: 'http://upper:1', https_proxy: 'http://lower:1' }, undefined, 'http://upper:1/ HTTPS_PROXY'],
    ['HTTP_PROXY is for http servers only', { HTTP_PROXY: 'http://proxy:1' }, undefined, undefined],
    ['NO_PROXY excludes the server', { HTTPS_PROXY: 'http://proxy:1', NO_PROXY: '.invalid' }, undefined, undefined],
    ['no_proxy when NO_PROXY is unset', { HTTPS_PROXY: 'http://proxy:1', no_proxy: 'kube.invalid' }, undefined, undefined],
    ['NO_PROXY before no_proxy', { HTTPS_PROXY: 'http://proxy:1', NO_PROXY: 'other', no_proxy: 'kube.invalid' }, undefined, 'http://proxy:1/ HTTPS_PROXY'],
    ['a value that is no URL, even with http:// before it, is ignored', { HTTPS_PROXY: '::bogus' }, undefined, undefined],
    ['proxy-url wins over HTTPS_PROXY', { HTTPS_PROXY: 'http://env:1' }, 'http://kc:2', 'http://kc:2/ proxy-url of cluster "c"'],
    ['proxy-url ignores NO_PROXY', { NO_PROXY: '*' }, 'socks5://kc:1080', 'socks5://kc:1080 proxy-url of cluster "c"'],
  ];
  for (const [what, env, proxyUrl, want] of cases) {
    it(what, () => {
      const got = proxyOf('https://kube.invalid:6443', env, proxyUrl);
      assert.equal(got && `${got.url.href} ${got.from}`, want);
    });
  }

  it('never for a loopback server through the environment, always through proxy-url (http.ProxyURL has no exceptions)', () => {
    assert.equal(proxyOf('https://127.0.0.1:6443', { HTTPS_PROXY: 'http://proxy:1' }), undefined);
    assert.equal(proxyOf('https://localhost:6443', { HTTPS_PROXY: 'http://proxy:1' }), undefined);
    assert.equal(proxyOf('https://127.0.0.1:6443', {}, 'http://proxy:1')?.url.host, 'proxy:1');
  });

  it('a proxy-url kubectl refuses (not http, https or socks5) is invalid input, exit 4, naming the cluster', () => {
    for (const [value, message] of [
      ['ftp://proxy:21', /cluster "c": cluster.proxy-url: "ftp:\/\/proxy:21" has the unsupported scheme "ftp": it must be http, https or socks5/],
      ['socks5h://proxy:1080', /unsupported scheme "socks5h"/],
      ['not a url', /"not a url" is not a URL/],
    ] as const) {
      const err = (() => {
        try {
          loadKubeConfig({ kubeconfig: kubeconfig('https://kube.invalid:6443', { proxyUrl: value }), env: {} });
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      assert.ok(err, `${value} accepted`);
      assert.equal(exitCodeOf(err), 4);
      assert.match(err.message + String((err as { problems?: { message: string }[] }).problems?.map((p) => p.message)), message);
    }
  });
});

describe('requests through a proxy to an API server named kube.invalid (resolvable only by the proxy)', () => {
  const tls = selfSigned(['kube.invalid', '127.0.0.1']);
  let api: ReturnType<typeof createServer>;
  let server: string;
  const seen: { path: string; authorization: string | undefined }[] = [];
  before(async () => {
    api = createServer(tls, (req, res) => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
      res.writeHead(200, { 'content-type': 'application/json' }).end(`${JSON.stringify({ gitVersion: 'v1.33.13' })}\n`);
    });
    await new Promise<void>((done) => api.listen(0, '127.0.0.1', done));
    server = `https://kube.invalid:${(api.address() as AddressInfo).port}`;
  });
  after(() => {
    api.closeAllConnections();
    api.close();
  });

  /** Three GET /version through `proxyVia`, one after the other (so one kept-alive tunnel can serve them all). */
  async function threeVersions(kubeconfigPath: string, env: Record<string, string>) {
    const port = connect({ kubeconfig: kubeconfigPath, env, requestTimeout: 5_000 });
    try {
      for (let i = 0; i < 3; i++) assert.equal((await port.serverVersion()).gitVersion, 'v1.33.13');
    } finally {
      port.close?.();
    }
  }

  const kinds: [string, () => Promise<ForwardProxy>][] = [
    ['an http CONNECT proxy', () => startConnectProxy({ hosts: { 'kube.invalid': '127.0.0.1' } })],
    ['an https CONNECT proxy (verified with the cluster CA, as Go uses the TLS config for both)', () => startConnectProxy({ hosts: { 'kube.invalid': '127.0.0.1' }, tls })],
    ['a SOCKS5 proxy, which resolves the name itself (Go: socks5 is socks5h)', () => startSocksProxy({ hosts: { 'kube.invalid': '127.0.0.1' } })],
  ];
  for (const [what, start] of kinds) {
    it(`${what}: from HTTPS_PROXY and from proxy-url, the API server's certificate checked at the end of the tunnel, one tunnel kept alive`, async () => {
      const proxy = await start();
      try {
        const before = seen.length;
        await threeVersions(kubeconfig(server, { ca: tls.cert }), { HTTPS_PROXY: proxy.url });
        assert.deepEqual(
          proxy.tunnels.map((t) => t.target),
          [server.slice('https://'.length)],
        );
        assert.deepEqual(
          seen.slice(before).map((s) => s.authorization),
          ['Bearer t', 'Bearer t', 'Bearer t'],
        );
        await threeVersions(kubeconfig(server, { ca: tls.cert, proxyUrl: proxy.url }), { NO_PROXY: '*' });
        assert.equal(proxy.tunnels.length, 2);
      } finally {
        await proxy.stop();
      }
    });
  }

  it('checks the certificate at the end of the tunnel: an API server the cluster CA does not vouch for is refused; watches go through the tunnel too', async () => {
    const proxy = await startConnectProxy({ hosts: { 'kube.invalid': '127.0.0.1' } });
    try {
      const other = selfSigned(['kube.invalid']);
      const err = await connect({ kubeconfig: kubeconfig(server, { ca: other.cert }), env: { HTTPS_PROXY: proxy.url } })
        .serverVersion()
        .then(
          () => new Error('answered'),
          (e: Error) => e,
        );
      assert.equal(exitCodeOf(err), 5);
      assert.match(err.message, /through the proxy .*: self-signed certificate/);
      const port = connect({ kubeconfig: kubeconfig(server, { ca: tls.cert }), env: { HTTPS_PROXY: proxy.url } });
      const events: unknown[] = [];
      await port.watch({ resource: 'services', namespace: '' }, '1', (e) => events.push(e), new AbortController().signal);
      port.close?.();
      assert.deepEqual(events, [{ gitVersion: 'v1.33.13' }], 'the stand-in answers every path with its version: one line');
      assert.match(seen.at(-1)!.path, /^\/api\/v1\/services\?watch=1&/);
      assert.equal(proxy.tunnels.length, 2);
    } finally {
      await proxy.stop();
    }
  });

  it("sends the credentials in the proxy's URL as Proxy-Authorization (Basic), and says what a proxy wanting others answers", async () => {
    const proxy = await startConnectProxy({ hosts: { 'kube.invalid': '127.0.0.1' }, authorization: `Basic ${Buffer.from('me:s3cret').toString('base64')}` });
    try {
      const url = new URL(proxy.url);
      await threeVersions(kubeconfig(server, { ca: tls.cert }), { HTTPS_PROXY: `http://me:s3cret@${url.host}` });
      const err = await connect({ kubeconfig: kubeconfig(server, { ca: tls.cert }), env: { HTTPS_PROXY: `http://me:wrong@${url.host}` } })
        .serverVersion()
        .then(
          () => undefined,
          (e: Error) => e,
        );
      assert.ok(err);
      assert.equal(exitCodeOf(err), 5);
      assert.equal(
        err.message,
        `cannot reach the API server at ${server} through the proxy ${proxy.url} (HTTPS_PROXY): the proxy answered 407 Proxy Authentication Required to CONNECT ${server.slice(8)}, when trying to get version`,
      );
      assert.doesNotMatch(err.message, /wrong/, 'no password in messages');
    } finally {
      await proxy.stop();
    }
  });

  it('a proxy that cannot resolve the name, or is not there: exit 5, naming the proxy and where it was set', async () => {
    const proxy = await startConnectProxy({ hosts: {} });
    const gone = await startConnectProxy({ hosts: {} });
    await gone.stop();
    try {
      const failure = (env: Record<string, string>) =>
        connect({ kubeconfig: kubeconfig(server, { ca: tls.cert }), env })
          .serverVersion()
          .then(
            () => new Error('answered'),
            (e: Error) => e,
          );
      const unresolved = await failure({ https_proxy: proxy.url });
      assert.equal(exitCodeOf(unresolved), 5);
      assert.match(
        unresolved.message,
        new RegExp(`through the proxy ${proxy.url} \\(https_proxy\\): the proxy answered 502 Bad Gateway to CONNECT kube\\.invalid:\\d+, when trying to get version$`),
      );
      const absent = await failure({ HTTPS_PROXY: gone.url });
      assert.equal(exitCodeOf(absent), 5);
      assert.match(absent.message, new RegExp(`through the proxy ${gone.url} \\(HTTPS_PROXY\\): connect ECONNREFUSED 127\\.0\\.0\\.1:\\d+, when trying to get version$`));
      assert.match((absent as { hint?: string }).hint ?? '', /HTTPS_PROXY/);
    } finally {
      await proxy.stop();
    }
  });

  it('NO_PROXY sends the request past the proxy, where the name does not resolve; so does no proxy at all: exit 5, saying so', async () => {
    const proxy = await startConnectProxy({ hosts: { 'kube.invalid': '127.0.0.1' } });
    try {
      for (const env of [{ HTTPS_PROXY: proxy.url, NO_PROXY: 'kube.invalid' }, { HTTPS_PROXY: proxy.url, NO_PROXY: '10.0.0.0/8,.invalid' }, {}]) {
        const err = await connect({ kubeconfig: kubeconfig(server, { ca: tls.cert }), env })
          .serverVersion()
          .then(
            () => new Error('answered'),
            (e: Error) => e,
          );
        assert.equal(exitCodeOf(err), 5, err.message);
        assert.equal(err.message, `cannot reach the API server at ${server}: the name kube.invalid does not resolve (ENOTFOUND) when trying to get version`);
        assert.match((err as { hint?: string }).hint ?? '', /set HTTPS_PROXY/);
      }
      assert.deepEqual(proxy.tunnels, [], 'nothing went through the proxy');
    } finally {
      await proxy.stop();
    }
  });
});
