// Reading -f inputs as kubectl reads them: the encodings its FileVisitor decodes (UTF-8, with or without a
// byte-order mark, and UTF-16 with one), config.yaml wherever `kubectl create configmap --from-file` puts
// it (data, or binaryData for a file that is not UTF-8), and the bounds: special files, sizes, nesting.
// Each bad input ends with exit 4 (or 3 for the configuration), a message naming the file, and nothing on
// stdout.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MAX_FILE_BYTES, readDocuments } from '../../src/files.ts';
import { runVsop } from '../helpers/run.ts';

const dir = mkdtempSync(join(tmpdir(), 'vsop-files-'));
after(() => spawn('rm', ['-rf', dir]));

const SEED = ['examples/seed/configmap.yaml', 'examples/seed/services.yaml'].map((f) => readFileSync(f, 'utf8')).join('---\n');
const write = (name: string, bytes: Uint8Array | string) => {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
};
const utf16 = (text: string, order: 'le' | 'be') => {
  const le = Buffer.from(`\uFEFF${text}`, 'utf16le');
  if (order === 'le') return le;
  const be = Buffer.alloc(le.length);
  for (let i = 0; i + 1 < le.length; i += 2) (be[i] = le[i + 1]!), (be[i + 1] = le[i]!);
  return be;
};

describe('-f: encodings kubectl decodes', async () => {
  const expected = await runVsop(['render', '-f', 'examples/seed']);
  assert.equal(expected.code, 0, expected.stderr);

  const cases: [string, Uint8Array | string][] = [
    ['UTF-8 with a byte-order mark', `\uFEFF${SEED}`],
    ['UTF-16 little-endian with a byte-order mark (Windows PowerShell >)', utf16(SEED, 'le')],
    ['UTF-16 big-endian with a byte-order mark', utf16(SEED, 'be')],
  ];
  for (const [name, bytes] of cases) {
    it(`reads ${name} as the same objects`, async () => {
      const got = await runVsop(['render', '-f', write(`${name.split(' ')[0]}-${cases.findIndex((c) => c[0] === name)}.yaml`, bytes)]);
      assert.equal(got.stderr, '');
      assert.equal(got.stdout, expected.stdout);
    });
  }

  it('reads config.yaml from binaryData, where kubectl create configmap --from-file puts a file that is not UTF-8', async () => {
    const config = readFileSync('examples/seed/configmap.yaml', 'utf8').split('config.yaml: |\n')[1]!.replace(/^ {4}/gm, '');
    const cm = [
      'apiVersion: v1',
      'kind: ConfigMap',
      'metadata: {name: virtualservice-operator-config, namespace: virtualservice-operator-system}',
      `binaryData: {config.yaml: ${utf16(config, 'le').toString('base64')}}`,
      '',
    ].join('\n');
    const got = await runVsop(['render', '-f', write('binary-cm.yaml', cm), '-f', 'examples/seed/services.yaml']);
    assert.equal(got.stderr, '');
    assert.equal(got.stdout, expected.stdout);
  });

  it('refuses bytes that are not UTF-8, naming the offset, where kubectl would write U+FFFD unseen', async () => {
    const got = await runVsop(['render', '-f', write('latin1.yaml', Buffer.concat([Buffer.from(SEED), Buffer.from('# caf\xe9\n', 'latin1')]))]);
    assert.equal(got.code, 4);
    assert.equal(got.stdout, '');
    assert.match(got.stderr, new RegExp(`latin1\\.yaml: is not UTF-8 text at byte ${Buffer.byteLength(SEED) + 5}: save it as UTF-8`));
  });
});

describe('-f: bounds', () => {
  it('refuses a FIFO inside a directory instead of blocking on it', async () => {
    const d = join(dir, 'with-fifo');
    mkdirSync(d);
    writeFileSync(join(d, 'seed.yaml'), SEED);
    await new Promise((resolve, reject) => spawn('mkfifo', [join(d, 'x.yaml')]).on('exit', (c) => (c === 0 ? resolve(c) : reject(new Error(`mkfifo: ${c}`)))));
    const got = await runVsop(['render', '-f', d]);
    assert.equal(got.code, 4);
    assert.equal(got.stdout, '');
    assert.match(got.stderr, /x\.yaml: is a FIFO, not a regular file: vsop reads only regular files inside a directory/);
  });

  it('reads a FIFO named on its own, as process substitution gives (-f <(kustomize build))', async () => {
    const fifo = join(dir, 'named-fifo');
    await new Promise((resolve, reject) => spawn('mkfifo', [fifo]).on('exit', (c) => (c === 0 ? resolve(c) : reject(new Error(`mkfifo: ${c}`)))));
    const writer = spawn('sh', ['-c', `cat examples/seed/configmap.yaml > '${fifo}'`]);
    const written = new Promise((resolve) => writer.on('exit', resolve));
    const got = await runVsop(['config', 'validate', '-f', fifo]);
    assert.equal(await written, 0);
    assert.equal(got.code, 0, got.stderr);
  });

  it('refuses an endless stream (/dev/zero) once it passes the limit', async () => {
    const got = await runVsop(['render', '-f', '/dev/zero']);
    assert.equal(got.code, 4);
    assert.equal(got.stdout, '');
    assert.match(got.stderr, /\/dev\/zero: is larger than 64 MiB, the most vsop reads from one file: split it/);
  });

  it('refuses a file over the limit before reading it', async () => {
    const big = write('big.yaml', '');
    truncateSync(big, MAX_FILE_BYTES + 1);
    const got = await runVsop(['render', '-f', big]);
    assert.equal(got.code, 4);
    assert.match(got.stderr, /big\.yaml: is larger than 64 MiB/);
  });

  const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
  const nested: [string, string, string[], number][] = [
    ['a Service', `apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\nspec:\n  x: ${deep(5000)}\n`, [], 4],
    [
      "config.yaml in the ConfigMap's block",
      `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: virtualservice-operator-config, namespace: virtualservice-operator-system}\ndata:\n  config.yaml: |\n    defaultNamespace: default\n    developerNamespaces: ${deep(5000)}\n`,
      ['config', 'validate'],
      3,
    ],
    [
      'the template',
      `defaultNamespace: default\nvirtualServiceTemplate: |\n  apiVersion: networking.istio.io/v1\n  kind: VirtualService\n  metadata: {name: "\${serviceName}"}\n  spec: {x: ${deep(5000)}}\n`,
      ['config', 'validate'],
      3,
    ],
  ];
  for (const [what, text, args, code] of nested) {
    it(`refuses ${what} nested thousands of levels deep with a message, not a stack overflow`, async () => {
      const file = write(`deep-${what.replace(/\W/g, '')}.yaml`, text);
      const got = await runVsop([...(args.length ? args : ['render']), '-f', file]);
      assert.equal(got.code, code, got.stderr);
      assert.equal(got.stdout, '');
      assert.match(got.stderr, /nests collections too deeply for vsop to read/);
    });
  }
});

describe('-f: YAML merge keys', () => {
  // kubectl reads YAML 1.1's merge key (sigs.k8s.io/yaml, on go-yaml): `<<: *anchor` merges the anchored
  // mapping in, the keys written beside it winning.
  it('merges an anchored mapping into the mapping that names it with <<', async () => {
    const path = write(
      'merge.yaml',
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  namespace: default\n  labels: &l {app: a, tier: api}\nspec:\n  selector: {<<: *l, tier: web}\n  ports: [{port: 80}]\n',
    );
    const [doc] = await readDocuments([path], async () => '');
    assert.deepEqual((doc!.value as { spec: { selector: unknown } }).spec.selector, { app: 'a', tier: 'web' });
  });
});

describe('-f: explicit YAML tags', () => {
  // Expected values from Go: sigs.k8s.io/yaml v1.4.0 YAMLToJSON, which kubectl reads with, on each value.
  const port = (text: string) =>
    `apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  namespace: default\nspec:\n  ports: [{port: ${text}}]\n  publishNotReadyAddresses: false\n`;
  for (const [text, value] of [
    ['!!float 80', 80],
    ['!!float 1.5e3', 1500],
    ['!!int "80"', 80],
  ] as const) {
    it(`reads ${text} as ${value}, as kubectl does`, async () => {
      const [doc] = await readDocuments([write(`tag-${value}.yaml`, port(text))], async () => '');
      assert.equal((doc!.value as { spec: { ports: { port: unknown }[] } }).spec.ports[0]!.port, value);
    });
  }
  it('reads !!bool yes and !!bool Off as true and false (YAML 1.1 words, with the tag written)', async () => {
    const text =
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  namespace: default\nspec:\n  ports: [{port: 80}]\n  publishNotReadyAddresses: !!bool yes\n  allocateLoadBalancerNodePorts: !!bool Off\n';
    const [doc] = await readDocuments([write('tag-bool.yaml', text)], async () => '');
    const spec = (doc!.value as { spec: Record<string, unknown> }).spec;
    assert.equal(spec.publishNotReadyAddresses, true);
    assert.equal(spec.allocateLoadBalancerNodePorts, false);
  });
  // Go: "cannot decode !!str `abc` as a !!float", "!!float `1.5` as a !!int", "json: unsupported value: +Inf".
  for (const [text, says] of [
    ['!!float abc', /"abc" cannot be read as !!float/],
    ['!!float .inf', /".inf" cannot be read as !!float/],
    ['!!int 1.5', /Unresolved tag: !!int: the value does not fit its tag/],
  ] as const) {
    it(`refuses ${text} with a message and its place, and exit 4`, async () => {
      const file = write(`tag-bad-${text.replace(/\W/g, '')}.yaml`, port(text));
      const got = await runVsop(['render', '-f', file]);
      assert.equal(got.code, 4, got.stderr);
      assert.equal(got.stdout, '');
      assert.match(got.stderr, says);
      assert.match(got.stderr, /:7:/);
    });
  }
});

describe('-f: a bare config.yaml', () => {
  // (validate's warnings name the file's line and column of the key, wherever the document starts)
  const cases: [string, string, string][] = [
    ['starting on line 1', 'defaultNamespace: default\ndevelopmentNamespaces: []\n', ':2:24:'],
    ['after a comment line', '# c\ndefaultNamespace: default\ndevelopmentNamespaces: []\n', ':3:24:'],
    ['after blank lines and comments', '\n# c\n\n# d\ndefaultNamespace: default\ndevelopmentNamespaces: []\n', ':6:24:'],
    [
      'as the second document of a file',
      'apiVersion: v1\nkind: Service\nmetadata: {name: a, namespace: default}\nspec: {ports: [{port: 80}]}\n---\n# c\n\ndefaultNamespace: default\ndevelopmentNamespaces: []\n',
      ':9:24:',
    ],
    ['after --- on its own line', '---\ndefaultNamespace: default\ndevelopmentNamespaces: []\n', ':3:24:'],
  ];
  for (const [what, text, position] of cases) {
    it(`${what}: a warning names the file's line and column (${position})`, async () => {
      const path = write(`bare-${what.replace(/\W+/g, '-')}.yaml`, text);
      const r = await runVsop(['config', 'validate', '-f', path]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, `warning: ${path}${position} developmentNamespaces: unknown key, ignored (did you mean "developerNamespaces"?)\n`);
    });
  }
});
