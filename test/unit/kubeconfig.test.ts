// Kubeconfigs that kubectl would refuse or read as empty: each gives its exit code and names the file or
// the cluster, never an internal error.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { exitCodeOf } from '../../src/errors.ts';
import { loadKubeConfig } from '../../src/k8s/kubeconfig.ts';

const dir = mkdtempSync(join(tmpdir(), 'vsop-kubeconfig-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const config = (server: string) =>
  `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: ${JSON.stringify(server)}}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`;

describe('loadKubeConfig', () => {
  const cases: [string, string, number, RegExp][] = [
    ['not YAML', 'garbage: [\n', 4, /bad-yaml: is not a kubeconfig: /],
    ['empty (kubectl reads it as an empty config)', '', 2, /the kubeconfig sets no current context/],
    ['a server that is not a URL', config('not a url'), 4, /cluster "c": cluster.server: "not a url" is not a URL/],
    ['a plain-HTTP server', config('http://127.0.0.1:8080'), 4, /"http:\/\/127.0.0.1:8080" is not HTTPS/],
  ];
  for (const [name, text, code, message] of cases) {
    it(`${name}: exit ${code}`, () => {
      const file = join(dir, name === 'not YAML' ? 'bad-yaml' : name.replace(/\W+/g, '-'));
      writeFileSync(file, text);
      for (const opts of [{ kubeconfig: file, env: {} }, { env: { KUBECONFIG: file } }]) {
        let err: unknown;
        try {
          loadKubeConfig(opts);
        } catch (e) {
          err = e;
        }
        assert.ok(err instanceof Error, 'refused');
        assert.equal(exitCodeOf(err), code, String(err));
        assert.match(err.message, message);
      }
    });
  }

  it('loads a good one', () => {
    const file = join(dir, 'good');
    writeFileSync(file, config('https://127.0.0.1:6443'));
    assert.equal(loadKubeConfig({ kubeconfig: file, env: {} }).getCurrentCluster()?.server, 'https://127.0.0.1:6443');
  });
});
