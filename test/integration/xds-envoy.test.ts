// What vsop prints for Envoy, checked against Envoy's API rather than against rules written here: the Go
// program of test/xds (-validate-envoy, validate.go) reads it with go-control-plane's generated types (the
// Envoy API's Go binding) through protojson, which refuses a field a message does not have, an enum value
// it does not define and an Any of a type not linked in, then runs their protoc-gen-validate rules, those
// of every message packed in an Any included, as Envoy validates a configuration it loads. No cluster is
// needed, only the Go program (built as the xds end-to-end test builds it). There is no Envoy binary here:
// the routing itself is grpc-go's and grpc-js-xds's test (xds.test.ts, xds-server.test.ts).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { xdsClientBinary } from '../harness/build.ts';
import { skipReason } from '../harness/require.ts';
import { runVsop } from '../helpers/run.ts';

const skip = skipReason();

/** The checker's verdict on `json`: exit code and what it printed ("ok", or one problem a line). */
async function validate(json: string): Promise<{ code: number; out: string }> {
  const child = spawn(await xdsClientBinary(), ['-validate-envoy'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stdin.end(json);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? -1)));
  return { code, out: out.trim() };
}

async function vsop(args: string[]): Promise<string> {
  const r = await runVsop(args);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe("vsop's Envoy output against Envoy's API (go-control-plane)", { skip }, () => {
  it('the Envoy bootstrap is a valid Bootstrap: every field known, every rule met, the listener and protocol options packed in it too', async () => {
    for (const server of ['xds.example:18000', '[2001:db8::1]:18000', '10.0.0.1:1']) {
      const bootstrap = await vsop(['xds', 'bootstrap', '--envoy', '--route', 'my-app.default.svc.cluster.local:80', '--server', server, '--listen-port', '8080']);
      assert.deepEqual(await validate(bootstrap), { code: 0, out: 'ok' }, server);
    }
  });

  it('the checker can fail: a misspelt field, and a rule broken inside an Any', async () => {
    const bootstrap = await vsop(['xds', 'bootstrap', '--envoy', '--route', 'my-app.default.svc.cluster.local:80']);
    const misspelt = await validate(bootstrap.replace('"stat_prefix"', '"stat_prefx"'));
    assert.equal(misspelt.code, 1);
    assert.match(misspelt.out, /unknown field "stat_prefx"/);
    const empty = await validate(bootstrap.replace(/"stat_prefix": "[^"]*"/, '"stat_prefix": ""'));
    assert.equal(empty.code, 1);
    assert.match(empty.out, /HttpConnectionManager\.StatPrefix: value length must be at least 1/);
  });

  it('the resources vsop xds serves are valid: Listeners, RouteConfigurations, Clusters, ClusterLoadAssignments', async () => {
    const rendered = await vsop(['xds', 'render', '-f', 'examples/xds']);
    assert.ok(JSON.parse(rendered).resources.length >= 4);
    assert.deepEqual(await validate(rendered), { code: 0, out: 'ok' });
  });
});
