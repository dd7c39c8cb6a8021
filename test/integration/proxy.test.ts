// vsop through a company proxy, as kubectl goes (issue 12, item 4): the kubeconfig names the API server
// kube.invalid, a name that resolves nowhere (RFC 6761) except in the CONNECT proxy on loopback
// (test/helpers/connect-proxy.ts), which maps it to the test apiserver. Through HTTPS_PROXY or the
// cluster's proxy-url, sync and status work; NO_PROXY sends vsop past the proxy, where the name does not
// resolve, and so does having no proxy at all: exit 5 with a message that says so.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testCluster } from '../harness/cluster.ts';
import { skipReason } from '../harness/require.ts';
import { type ForwardProxy, startConnectProxy } from '../helpers/connect-proxy.ts';
import { makeWorld, type Cluster } from '../helpers/world.ts';

const skip = skipReason();
let cluster: Cluster;
let proxy: ForwardProxy;
let server: string;
const dir = mkdtempSync(join(tmpdir(), 'vsop-proxy-'));

before(async () => {
  if (skip) return;
  cluster = await testCluster();
  proxy = await startConnectProxy({ hosts: { 'kube.invalid': '127.0.0.1' } });
  server = `https://kube.invalid:${new URL(cluster.server).port}`;
});
after(async () => {
  await proxy?.stop();
  await cluster?.release();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * The admin's kubeconfig with the server at kube.invalid. The apiserver's self-signed certificate names
 * kubernetes, not kube.invalid: tls-server-name says which name to check, as it would for kubectl.
 */
function kubeconfig(name: string, proxyUrl?: string): string {
  const path = join(dir, `${name}.kubeconfig`);
  const cluster_ = [`server: ${server}`, `certificate-authority-data: ${Buffer.from(cluster.admin.ca).toString('base64')}`, 'tls-server-name: kubernetes'];
  if (proxyUrl) cluster_.push(`proxy-url: ${proxyUrl}`);
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '  - name: behind-proxy',
      '    cluster:',
      ...cluster_.map((l) => `      ${l}`),
      'users:',
      '  - name: admin',
      '    user:',
      `      token: ${cluster.admin.token}`,
      'contexts:',
      '  - name: behind-proxy',
      '    context: {cluster: behind-proxy, user: admin}',
      'current-context: behind-proxy',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  return path;
}

describe('through a CONNECT proxy (real apiserver)', { skip }, () => {
  it('HTTPS_PROXY: sync and status reach the apiserver by a name only the proxy resolves; every tunnel goes to it', async () => {
    const w = await makeWorld(cluster, 'proxied', { devs: 1 });
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const name of names) {
      await w.service(w.prod, name);
      await w.service(w.devs[0]!, name);
    }
    const env = { HTTPS_PROXY: proxy.url, NO_PROXY: 'localhost,127.0.0.1,.svc,10.0.0.0/8' };
    const sync = await w.vsop(['sync'], { kubeconfig: kubeconfig('env'), env });
    assert.equal(sync.code, 0, sync.stderr);
    assert.equal(sync.stdout, names.map((n) => `virtualservice ${w.prod}/${n}-virtual-service created\n`).join(''));
    assert.equal((await w.virtualServices()).length, names.length, 'written on the real apiserver');
    // Kept-alive tunnels: at most one per read in flight at once (the collections are read together), not
    // one per request: the sync's six creates follow its reads, through tunnels already open.
    const forSync = proxy.tunnels.length;
    assert.ok(forSync > 0);
    assert.ok(forSync <= 7, `${forSync} tunnels for a sync of at least ${names.length + 5} requests`);
    const status = await w.vsop(['status', '-o', 'json'], { kubeconfig: kubeconfig('env'), env });
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(new Set(proxy.tunnels.map((t) => t.target)), new Set([server.slice('https://'.length)]));
  });

  it("the cluster's proxy-url, with no proxy in the environment", async () => {
    const w = await makeWorld(cluster, 'proxyurl', { devs: 1 });
    await w.service(w.prod, 'b');
    const before = proxy.tunnels.length;
    const r = await w.vsop(['sync', '--dry-run=server'], { kubeconfig: kubeconfig('proxy-url', proxy.url), env: { NO_PROXY: '*' } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /virtualservice .*\/b-virtual-service created \(server dry run\)\n/);
    assert.ok(proxy.tunnels.length > before);
  });

  it('NO_PROXY naming the server bypasses the proxy, and without a proxy the name does not resolve: exit 5, saying so', async () => {
    const w = await makeWorld(cluster, 'noproxy', { devs: 1 });
    const before = proxy.tunnels.length;
    const envs: Record<string, string>[] = [{ HTTPS_PROXY: proxy.url, NO_PROXY: 'kube.invalid' }, { HTTPS_PROXY: proxy.url, no_proxy: '.invalid' }, {}];
    for (const env of envs) {
      const r = await w.vsop(['sync'], { kubeconfig: kubeconfig('bypass'), env });
      assert.equal(r.code, 5, `${JSON.stringify(env)}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        `error: cannot reach the API server at ${server}: the name kube.invalid does not resolve (ENOTFOUND) when trying to get configmaps ${w.configNamespace}/virtualservice-operator-config\n` +
          "hint: check the server address of the current context; if the cluster is reached through a proxy, set HTTPS_PROXY (as for kubectl), or the cluster's proxy-url, and keep it out of NO_PROXY\n",
      );
      assert.equal(r.stdout, '');
    }
    assert.equal(proxy.tunnels.length, before, 'nothing went through the proxy');
  });
});
