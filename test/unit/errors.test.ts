// Every bad input: its message, its exit code, and nothing on stdout that could pass for a result.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { stringify } from 'yaml';
import { configMap } from '../helpers/fixtures.ts';
import { runVsop } from '../helpers/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'vsop-errors-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

const goodConfig = 'defaultNamespace: default\ndeveloperNamespaces: [dev-alice]\n';
const cm = (configYaml: string) => stringify(configMap(configYaml));
const svc = (ns: string | undefined, name = 'my-app') =>
  stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, ...(ns ? { namespace: ns } : {}) }, spec: { ports: [{ port: 80 }] } });

const cases: { name: string; args: () => string[]; code: number; stderr: RegExp; stdin?: string }[] = [
  { name: 'an unknown flag', args: () => ['sync', '--frobnicate'], code: 2, stderr: /unknown option '--frobnicate'/ },
  { name: 'an unknown command', args: () => ['synch'], code: 2, stderr: /unknown command 'synch'/ },
  {
    name: 'an output format that does not exist',
    args: () => ['render', '-o', 'xml', '-f', 'examples/seed'],
    code: 2,
    stderr: /argument 'xml' is invalid. Allowed choices are yaml, json/,
  },
  { name: 'a dry-run mode that does not exist', args: () => ['sync', '--dry-run=maybe', '-f', 'examples/seed'], code: 2, stderr: /Allowed choices are none, client, server/ },
  { name: '--diff with --dry-run', args: () => ['sync', '--diff', '--dry-run=client', '-f', 'examples/seed'], code: 2, stderr: /--diff and --dry-run cannot be combined/ },
  { name: 'applying files', args: () => ['sync', '-f', 'examples/seed'], code: 2, stderr: /files cannot be applied to a cluster\nhint: add --diff/ },
  {
    name: 'markdown without --diff',
    args: () => ['sync', '-o', 'markdown', '--dry-run=client', '-f', 'examples/seed'],
    code: 2,
    stderr: /-o markdown is a plan summary: use it with --diff/,
  },
  { name: 'a missing file', args: () => ['sync', '--diff', '-f', join(dir, 'nope.yaml')], code: 4, stderr: /nope\.yaml: no such file or directory/ },
  {
    name: 'an unreadable file (a dangling link)',
    args: () => {
      const link = join(dir, 'dangling.yaml');
      rmSync(link, { force: true });
      symlinkSync(join(dir, 'missing-target'), link);
      return ['sync', '--diff', '-f', link];
    },
    code: 4,
    stderr: /dangling\.yaml: no such file or directory/,
  },
  { name: 'an empty file', args: () => ['sync', '--diff', '-f', file('empty.yaml', '\n# nothing\n')], code: 4, stderr: /empty\.yaml: is empty \(no YAML documents\)/ },
  {
    name: 'a directory without manifests',
    args: () => (mkdirSync(join(dir, 'void'), { recursive: true }), ['sync', '--diff', '-f', join(dir, 'void')]),
    code: 4,
    stderr: /void: directory holds no \.yaml, \.yml or \.json files/,
  },
  {
    name: 'a YAML syntax error, with line and column',
    args: () => ['sync', '--diff', '-f', file('broken.yaml', 'kind: Service\nmetadata: {name: a\n')],
    code: 4,
    stderr: /broken\.yaml:3:1: /,
  },
  { name: 'empty stdin', args: () => ['sync', '--diff', '-f', '-'], stdin: '', code: 4, stderr: /\(stdin\): is empty/ },
  {
    name: 'a ConfigMap without config.yaml',
    args: () => ['sync', '--diff', '-f', file('nokey.yaml', stringify({ ...configMap(''), data: { 'other.yaml': 'x' } }))],
    code: 4,
    stderr: /configmap virtualservice-operator-system\/virtualservice-operator-config has no config\.yaml key \(it has: other\.yaml\)/,
  },
  {
    name: 'no ConfigMap at all, naming the ones seen',
    args: () => ['sync', '--diff', '-f', file('other-cm.yaml', stringify({ ...configMap(goodConfig), metadata: { name: 'something-else', namespace: 'x' } }))],
    code: 4,
    stderr:
      /no ConfigMap virtualservice-operator-system\/virtualservice-operator-config with a config\.yaml key \(found ConfigMaps: x\/something-else\)\nhint: add the ConfigMap's file with -f/,
  },
  {
    name: 'the ConfigMap looked up under another name',
    args: () => ['--config-name', 'mine', 'sync', '--diff', '-f', 'examples/seed'],
    code: 4,
    stderr: /no ConfigMap virtualservice-operator-system\/mine with a config\.yaml key \(found ConfigMaps: virtualservice-operator-system\/virtualservice-operator-config\)/,
  },
  {
    name: 'two configurations',
    args: () => ['sync', '--diff', '-f', 'examples/seed', '-f', file('second.yaml', cm(goodConfig))],
    code: 4,
    stderr: /second\.yaml:1: a second configuration \(the first is at examples\/seed\/configmap\.yaml:2\)/,
  },
  {
    name: 'the same object twice',
    args: () => ['sync', '--diff', '-f', file('dup.yaml', `${cm(goodConfig)}---\n${svc('default')}---\n${svc('default')}`)],
    code: 4,
    stderr: /dup\.yaml:\d+: service default\/my-app appears twice \(first at .*dup\.yaml:\d+\)/,
  },
  {
    name: 'a Service without a namespace',
    args: () => ['sync', '--diff', '-f', file('nons.yaml', `${cm(goodConfig)}---\n${svc(undefined)}`)],
    code: 4,
    stderr: /service my-app has no namespace/,
  },
  {
    name: 'a document that is not an object',
    args: () => ['sync', '--diff', '-f', file('scalar.yaml', `${cm(goodConfig)}---\nhello\n`)],
    code: 4,
    stderr: /scalar\.yaml:\d+: is not a Kubernetes object/,
  },
  {
    name: 'a List whose items are not a list',
    args: () => ['sync', '--diff', '-f', file('list.yaml', 'apiVersion: v1\nkind: List\nitems: 3\n')],
    code: 4,
    stderr: /list\.yaml:1: items: must be a list/,
  },
  {
    name: 'an invalid configuration',
    args: () => ['sync', '--diff', '-f', file('badcfg.yaml', cm('defaultNamespace: Prod\n'))],
    code: 3,
    stderr: /badcfg\.yaml:\d+:\d+: defaultNamespace: "Prod" is not a valid namespace name/,
  },
  {
    name: 'a template with an unknown variable',
    args: () => [
      'sync',
      '--diff',
      '-f',
      file(
        'badtpl.yaml',
        cm('defaultNamespace: prod\nvirtualServiceTemplate: |\n  apiVersion: networking.istio.io/v1\n  kind: VirtualService\n  metadata: {name: "${svc}"}\n  spec: {}\n'),
      ),
    ],
    code: 3,
    stderr: /virtualServiceTemplate: metadata\.name: unknown variable \$\{svc\}/,
  },
  {
    // Found by the fuzz test (a template cut short): its rendering was checked as if it had a spec (exit 70).
    name: 'a template with no spec',
    args: () => [
      'sync',
      '--diff',
      '-o',
      'json',
      '-f',
      file(
        'nospec.yaml',
        cm('defaultNamespace: prod\nvirtualServiceTemplate: |\n  apiVersion: networking.istio.io/v1\n  kind: VirtualService\n  metadata: {name: "${serviceName}-vs"}\n'),
      ),
    ],
    code: 3,
    stderr: /virtualServiceTemplate: spec: is missing or not a mapping/,
  },
  {
    // A tester's: an unclosed ${ swallowed the template's next lines into the "variable name".
    name: 'a template with an unclosed ${',
    args: () => [
      'sync',
      '--diff',
      '-f',
      file(
        'unclosed.yaml',
        cm(
          'defaultNamespace: prod\nvirtualServiceTemplate: |\n  apiVersion: networking.istio.io/v1\n  kind: VirtualService\n  metadata:\n    name: ${serviceName-vs\n  spec:\n    hosts: [${serviceName}]\n',
        ),
      ),
    ],
    code: 3,
    stderr: /virtualServiceTemplate: metadata\.name: "\$\{serviceName-vs": a "\$\{" that no "\}" closes right after a name/,
  },
  {
    name: 'a template for another kind',
    args: () => [
      'sync',
      '--diff',
      '-f',
      file('kindtpl.yaml', cm('defaultNamespace: prod\nvirtualServiceTemplate: |\n  apiVersion: v1\n  kind: Service\n  metadata: {name: "${serviceName}"}\n  spec: {}\n')),
    ],
    code: 3,
    stderr: /virtualServiceTemplate: apiVersion: "v1" is not a version of VirtualService that vsop writes[\s\S]*kind: "Service" must be "VirtualService"/,
  },
  { name: 'an unknown Service', args: () => ['sync', '--diff', '-f', 'examples/seed', 'nope'], code: 7, stderr: /service default\/nope not found among the production Services/ },
  {
    name: 'a config validated alone, invalid',
    args: () => ['config', 'validate', '-f', file('alone.yaml', 'defaultNamespace: kube-system\n')],
    code: 3,
    stderr: /alone\.yaml:1:19: defaultNamespace: "kube-system" is a system or excluded namespace/,
  },
  { name: 'an unknown shell', args: () => ['completion', 'powershell'], code: 2, stderr: /Allowed choices are bash, zsh, fish/ },
];

describe('bad input', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const got = await runVsop(c.args(), c.stdin === undefined ? {} : { stdin: c.stdin });
      assert.equal(got.code, c.code, got.stderr);
      assert.match(got.stderr, c.stderr);
      assert.equal(got.stdout, '', 'nothing on stdout');
    });
  }
});
