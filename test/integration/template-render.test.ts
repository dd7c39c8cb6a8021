// Templates that render something Istio or the apiserver refuses (issue 11, item 5). For each template of
// the table, vsop's verdict (the config refused when read, or a Service refused as it renders: exit 3,
// nothing printed or written) must be the referees': the template rendered as vsop renders it without its
// checks (variables filled into string values only), each object through Istio 1.27's validator
// (test/harness/istio.ts validate) and a strict server-side dry-run create on the test apiserver (the
// VirtualService CRD's schema and the apiserver's metadata rules). Accepted templates: every object vsop
// renders (developer routes included) passes both too.
// Istio's IST0109 analyzer (two VirtualServices bound to the mesh with one host) is not run by istio-check;
// the warning's rule and words are from pkg/config/analysis/analyzers/virtualservice/
// conflictingmeshgatewayhosts.go and msg/messages.yaml.
// Run: node test/harness/run-integration.ts test/integration/template-render.test.ts

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { ConfigError, type Problem } from '../../src/errors.ts';
import { loadConfig } from '../../src/core/config.ts';
import { resolve } from '../../src/core/resolve.ts';
import type { Service } from '../../src/core/types.ts';
import { testCluster } from '../harness/cluster.ts';
import { validate } from '../harness/istio.ts';
import { kubeRequest, summary } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import type { Cluster } from '../helpers/world.ts';

const skip = skipReason();
const LONG = `l${'o'.repeat(61)}ng`; // 63 characters, the longest Service name

interface Case {
  name: string;
  /** The template's metadata and spec.hosts lines, or a whole template (`whole`). */
  hosts?: string[];
  metadata?: string;
  whole?: string;
  /** Production Services (each gets a copy in dev-alice). */
  services?: string[];
  /** The referees' verdict, written down from their answers (the test checks it against them). */
  refused: boolean;
  /** What vsop's message must hold when it refuses. */
  says?: string;
}

const template = (c: Case): string =>
  c.whole ??
  `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: "\${serviceName}-virtual-service"
  namespace: "\${defaultNamespace}"
${c.metadata ?? ''}spec:
  hosts:
${(c.hosts ?? ['${serviceName}']).map((h) => `  - ${JSON.stringify(h)}`).join('\n')}
  http:
  - route:
    - destination:
        host: \${serviceName}.\${defaultNamespace}.svc.cluster.local
`;

const CASES: Case[] = [
  { name: 'the seed template', refused: false },
  { name: 'host "*" (bound to the mesh)', hosts: ['*'], refused: true, says: 'wildcard host * is not allowed' },
  { name: 'host "my-app evil/../*"', hosts: ['${serviceName} evil/../*'], refused: true, says: 'domain name "my-app evil/../*" invalid' },
  { name: 'an all-numeric top-level domain', hosts: ['${serviceName}.123'], refused: true, says: 'cannot be all-numeric' },
  { name: 'a host of 256 characters', hosts: [`\${serviceName}.${['a', 'b', 'c', 'd', 'e'].map((l) => l.repeat(60)).join('.')}`], refused: true, says: 'too long' },
  { name: 'a host twice', hosts: ['${serviceName}', '${serviceName}'], refused: true, says: 'duplicate hosts' },
  { name: 'a wildcard covering another host', hosts: ['${serviceName}.example.com', '*.example.com'], services: ['my-app'], refused: true, says: 'duplicate hosts' },
  {
    name: 'a wildcard prefix, a trailing dot, upper case, an IP address',
    hosts: ['*-${serviceName}.example.com', '${serviceName}.example.org.', '${serviceName}.Example.NET'],
    refused: false,
  },
  { name: 'an IPv4 address', hosts: ['10.0.0.1'], services: ['my-app'], refused: false },
  {
    name: 'a label key "__proto__"',
    metadata: '  labels:\n    __proto__: x\n',
    refused: true,
    says: 'metadata.labels.__proto__: "__proto__" is not a valid key',
  },
  { name: 'an annotation "__proto__"', metadata: '  annotations:\n    __proto__: x\n', refused: true, says: 'metadata.annotations.__proto__' },
  { name: '${serviceName} as a label key (left as typed)', metadata: '  labels:\n    ${serviceName}: x\n', refused: true, says: '${serviceName} stands in a key' },
  { name: 'an unknown variable', metadata: '  labels:\n    app: ${servicename}\n', refused: true, says: 'metadata.labels.app: unknown variable ${servicename}' },
  {
    name: 'a name too long for a 63-character Service only',
    whole: `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: "\${serviceName}-\${serviceName}-\${serviceName}-\${serviceName}-vs"
spec:
  hosts: [\${serviceName}]
  http:
  - route:
    - destination:
        host: \${serviceName}.\${defaultNamespace}.svc.cluster.local
`,
    services: ['my-app', LONG],
    refused: true,
    says: `service default/${LONG}: virtualServiceTemplate: metadata.name`,
  },
  {
    name: 'a label value too long for a 63-character Service only',
    metadata: '  labels:\n    app: ${serviceName}-v2\n',
    services: ['my-app', LONG],
    refused: true,
    says: 'metadata.labels.app',
  },
  { name: 'the same label value, short names', metadata: '  labels:\n    app: ${serviceName}-v2\n', services: ['my-app', 'other'], refused: false },
];

const configText = (t: string) =>
  `defaultNamespace: default\ndeveloperNamespaces: [dev-alice]\nvirtualServiceTemplate: |\n${t
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')}\n`;

const service = (namespace: string, name: string): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ port: 80 }] } });

/** vsop's verdict: problems when the config or a Service's rendering is refused, else the objects and warnings. */
function vsop(c: Case): { problems: readonly Problem[]; objects: unknown[]; warnings: Problem[] } {
  let loaded: ReturnType<typeof loadConfig>;
  try {
    loaded = loadConfig(configText(template(c)), 'config.yaml');
  } catch (err) {
    if (err instanceof ConfigError) return { problems: err.problems, objects: [], warnings: [] };
    throw err;
  }
  const names = c.services ?? ['my-app', 'other'];
  const services = names.flatMap((n) => [service('default', n), service('dev-alice', n)]);
  const r = resolve(loaded.config, loaded.template, services);
  return { problems: r.problems, objects: r.virtualServices, warnings: r.warnings };
}

/**
 * The template rendered as vsop renders it, without its checks: variables filled into string values, keys
 * left as typed (hand-written: this is the rendering under test, minus the checks, as a referee's input).
 */
function renderUnchecked(t: string, serviceName: string): unknown {
  const fill = (v: unknown): unknown => {
    if (typeof v === 'string') return v.replaceAll('${serviceName}', serviceName).replaceAll('${defaultNamespace}', 'default');
    if (Array.isArray(v)) return v.map(fill);
    if (v === null || typeof v !== 'object') return v;
    const out = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, k, { value: fill(x), enumerable: true, writable: true, configurable: true });
    return out;
  };
  // Each variable parsed as a plain token and put back, as template.ts does for YAML's sake.
  const vars: string[] = [];
  const doc = parse(t.replace(/\$\{[^}]*\}/g, (v) => `__vsopvar${vars.push(v) - 1}__`)) as unknown;
  const put = (s: string) => s.replace(/__vsopvar(\d+)__/g, (_, i: string) => vars[Number(i)]!);
  const back = (v: unknown): unknown => {
    if (typeof v === 'string') return put(v);
    if (Array.isArray(v)) return v.map(back);
    if (v === null || typeof v !== 'object') return v;
    const out = {};
    for (const [k, x] of Object.entries(v)) Object.defineProperty(out, put(k), { value: back(x), enumerable: true, writable: true, configurable: true });
    return out;
  };
  return fill(back(doc));
}

describe('templates that render what Istio or the apiserver refuses (validator and real apiserver as referees)', { skip }, () => {
  let cluster: Cluster;
  before(async () => {
    cluster = await testCluster();
  });
  after(async () => cluster?.release());

  /** Every refusal of the referees for these objects: Istio's validator, then a strict dry-run create. */
  async function referees(objects: unknown[]): Promise<string[]> {
    const out: string[] = [];
    const istio = await validate(objects.map((o) => stringify(o)).join('---\n'));
    out.push(...istio.errors.map((e) => `istio: ${e}`));
    for (const o of objects) {
      const res = await kubeRequest(cluster.admin, 'POST', '/apis/networking.istio.io/v1beta1/namespaces/default/virtualservices?dryRun=All&fieldValidation=Strict', {
        body: JSON.parse(JSON.stringify(o)),
      });
      if (res.status >= 300) out.push(`apiserver: ${summary(res)}`);
    }
    return out;
  }

  for (const c of CASES) {
    it(`${c.name}: ${c.refused ? 'refused' : 'accepted'}`, async () => {
      const names = c.services ?? ['my-app', 'other'];
      const unchecked = names.map((n) => renderUnchecked(template(c), n));
      const refusals = await referees(unchecked);
      assert.equal(refusals.length > 0, c.refused, `the referees ${refusals.length > 0 ? `refuse: ${refusals.join('; ')}` : 'accept every object'}`);
      const verdict = vsop(c);
      const said = verdict.problems.map((p) => `${p.source}: ${p.path}: ${p.message}`).join('\n');
      assert.equal(verdict.problems.length > 0, c.refused, `vsop ${verdict.problems.length > 0 ? `refuses:\n${said}` : 'accepts'}; referees: ${refusals.join('; ')}`);
      if (c.says) assert.ok(said.includes(c.says), `vsop's message does not say ${JSON.stringify(c.says)}:\n${said}`);
      if (!c.refused) assert.deepEqual(await referees(verdict.objects), [], 'what vsop renders (developer routes included) passes both referees');
    });
  }

  it('a tcp-only template: no http routes rendered, and a warning that no header route can be', async () => {
    const c: Case = {
      name: 'tcp only',
      refused: false,
      whole: `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: "\${serviceName}-virtual-service"
spec:
  hosts: [\${serviceName}]
  tcp:
  - route:
    - destination:
        host: \${serviceName}.\${defaultNamespace}.svc.cluster.local
`,
    };
    const verdict = vsop(c);
    assert.deepEqual(verdict.problems, []);
    assert.deepEqual(await referees(verdict.objects), []);
    for (const vs of verdict.objects as { spec: Record<string, unknown> }[]) assert.equal(vs.spec.http, undefined, 'no http list the template did not have');
    const said = verdict.warnings.map((w) => `${w.source}: ${w.path}: ${w.message}`);
    assert.equal(said.length, 2, said.join('\n'));
    assert.match(
      said[0]!,
      /virtualservice default\/my-app-virtual-service: spec\.http: no http route of the template sends to my-app\.default\.svc\.cluster\.local, so the header routes of dev-alice are not rendered/,
    );
  });

  it('two Services given one fixed host: IST0109 named, each object valid', async () => {
    const verdict = vsop({ name: 'fixed host', hosts: ['api.example.com'], refused: false });
    assert.deepEqual(verdict.problems, []);
    assert.deepEqual(await referees(verdict.objects), [], 'Istio validates each object alone: the conflict is an analyzer finding');
    const said = verdict.warnings.map((w) => w.message);
    assert.deepEqual(said, [
      "IST0109: the VirtualServices default/my-app-virtual-service,default/other-virtual-service associated with mesh gateway define the same host api.example.com, which can lead to undefined behavior (Istio applies one of them; the template's hosts need ${serviceName})",
    ]);
    // A host naming the Service: no finding.
    assert.deepEqual(vsop({ name: 'seed', refused: false }).warnings, []);
  });
});
