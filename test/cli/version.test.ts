// vsop version, as kubectl version: the client's version with --client; the API server's and Istio's from a
// cluster; -o json and yaml with kubectl's keys; an unreachable cluster prints the client part, then fails
// with the exit code of the README's table. (The same against the real API server: version-cluster.test.ts.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import pkg from '../../package.json' with { type: 'json' };
import { answeringServer, closedServer, spawned } from './spawn.ts';

const client = { version: pkg.version, nodeVersion: process.version, platform: `${process.platform}/${process.arch}` };
const SERVER = {
  major: '1',
  minor: '33',
  gitVersion: 'v1.33.13',
  gitCommit: 'abc',
  gitTreeState: 'clean',
  buildDate: '2026-01-01T00:00:00Z',
  goVersion: 'go1.24.9',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** istiod Services labelled as Istio's Helm charts (app.kubernetes.io/version) and istioctl's operator (operator.istio.io/version) label them. */
const istiod = (namespace: string, name: string, labels: Record<string, string>) => ({
  metadata: { namespace, name, labels: { app: 'istiod', istio: 'pilot', ...labels } },
  spec: {},
});
const list = (items: unknown[]) => ({ kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items });

describe('vsop version', () => {
  it('--client: the client part only, no cluster asked (text, json, yaml)', async () => {
    const text = await spawned(['version', '--client']);
    assert.deepEqual(text, { code: 0, stdout: `Client Version: ${pkg.version}\nNode.js Version: ${process.version}\n`, stderr: '' });
    const json = await spawned(['version', '--client', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { clientVersion: client });
    const yaml = await spawned(['version', '--client', '-o=yaml']);
    assert.deepEqual(parse(yaml.stdout), { clientVersion: client });
  });

  it("with a cluster: the server's /version as it answers, and Istio's version per revision from the istiod Services' labels", async () => {
    const api = await answeringServer({
      '/version': SERVER,
      '/api/v1/services': list([
        istiod('istio-system', 'istiod', { 'istio.io/rev': 'default', 'app.kubernetes.io/version': '1.27.9' }),
        istiod('istio-system', 'istiod-revision-tag-prod', { 'istio.io/rev': 'default', 'istio.io/tag': 'prod', 'app.kubernetes.io/version': '1.27.9' }),
        istiod('istio-old', 'istiod-1-26', { 'istio.io/rev': '1-26', 'operator.istio.io/version': '1.26.2' }),
      ]),
    });
    try {
      const text = await spawned(['version', '--kubeconfig', api.kubeconfig]);
      assert.equal(text.code, 0, text.stderr);
      assert.equal(
        text.stdout,
        `Client Version: ${pkg.version}\nNode.js Version: ${process.version}\nServer Version: v1.33.13\nIstio Version: 1.26.2 (revision 1-26), 1.27.9 (revision default)\n`,
      );
      const json = await spawned(['version', '--kubeconfig', api.kubeconfig, '-o', 'json']);
      assert.deepEqual(JSON.parse(json.stdout), {
        clientVersion: client,
        serverVersion: SERVER,
        istioVersions: [
          { revision: '1-26', version: '1.26.2', service: 'istio-old/istiod-1-26' },
          { revision: 'default', version: '1.27.9', service: 'istio-system/istiod' },
        ],
      });
      assert.deepEqual(parse((await spawned(['version', '--kubeconfig', api.kubeconfig, '-o', 'yaml'])).stdout), JSON.parse(json.stdout));
      // Two reads: the version, and one cluster-wide list of Services by label.
      assert.deepEqual(api.requests.slice(0, 2), ['/version', '/api/v1/services?labelSelector=app%3Distiod&limit=500']);
    } finally {
      await api.close();
    }
  });

  it("says Istio's version is unknown, and why, when no istiod Service tells it or it cannot be listed", async () => {
    const none = await answeringServer({ '/version': SERVER, '/api/v1/services': list([istiod('istio-system', 'istiod', {})]) });
    const forbidden = await answeringServer(
      { '/version': SERVER, '/api/v1/services': { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403 } },
      { '/api/v1/services': 403 },
    );
    try {
      const r = await spawned(['version', '--kubeconfig', none.kubeconfig]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /\nIstio Version: unknown \(no Service labelled app=istiod carries a version label\)\n$/);
      const j = await spawned(['version', '--kubeconfig', forbidden.kubeconfig, '-o', 'json']);
      assert.equal(j.code, 0, j.stderr);
      assert.deepEqual(JSON.parse(j.stdout).istioVersions, []);
      assert.match(j.stderr, /^warning: Istio's version is unknown: forbidden: cannot list services cluster-wide\n$/);
      const t = await spawned(['version', '--kubeconfig', forbidden.kubeconfig]);
      assert.equal(t.code, 0, t.stderr);
      assert.match(t.stdout, /\nServer Version: v1\.33\.13\nIstio Version: unknown \(forbidden: cannot list services cluster-wide\)\n$/);
    } finally {
      await none.close();
      await forbidden.close();
    }
  });

  it('an unreachable cluster: the client part on stdout, then the error and exit 5, as kubectl version prints then fails', async () => {
    const { kubeconfig, address } = await closedServer();
    const r = await spawned(['version', '--kubeconfig', kubeconfig, '--request-timeout', '2s']);
    assert.equal(r.code, 5, r.stderr);
    assert.equal(r.stdout, `Client Version: ${pkg.version}\nNode.js Version: ${process.version}\n`);
    assert.match(r.stderr, new RegExp(`^error: cannot reach the API server at ${address.replace(/\./g, '\\.')} \\(ECONNREFUSED\\) when trying to get version\\nhint: `));
    const json = await spawned(['version', '--kubeconfig', kubeconfig, '-o', 'json']);
    assert.equal(json.code, 5);
    assert.deepEqual(JSON.parse(json.stdout), { clientVersion: client });
    // No kubeconfig at all (HOME is empty): the same, exit 5, with the README's hint.
    const nothing = await spawned(['version']);
    assert.equal(nothing.code, 5);
    assert.equal(nothing.stdout, `Client Version: ${pkg.version}\nNode.js Version: ${process.version}\n`);
    assert.match(nothing.stderr, /^error: no cluster configuration/);
  });
});
