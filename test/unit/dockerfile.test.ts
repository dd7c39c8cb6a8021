// The Dockerfile's required properties (issue 12, item 9), read from its text: no container engine runs
// where the tests run, so nothing here builds it. Parsed by hand (continuation lines joined, ARG defaults
// substituted): a Dockerfile parser for Node would be a dependency for ten lines; BuildKit's own is Go.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const ROOT = join(import.meta.dirname, '..', '..');

interface Instruction {
  name: string;
  args: string;
}

/** Instructions in order: comments dropped, `\` continuations joined. */
function parse(text: string): Instruction[] {
  const logical = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim());
  return logical.map((l) => {
    const m = /^\s*(\w+)\s+(.*)$/.exec(l)!;
    return { name: m[1]!.toUpperCase(), args: m[2]!.trim() };
  });
}

/** Stages, with FROM's image after the global ARGs' defaults are put in. */
function stages(list: Instruction[]): { from: string; platform?: string; body: Instruction[] }[] {
  const globals = new Map<string, string>();
  const out: { from: string; platform?: string; body: Instruction[] }[] = [];
  for (const ins of list) {
    if (ins.name === 'ARG' && out.length === 0) {
      const [k, v] = ins.args.split('=');
      globals.set(k!, v ?? '');
    } else if (ins.name === 'FROM') {
      const platform = /--platform=(\S+)/.exec(ins.args)?.[1];
      const image = ins.args
        .replace(/--platform=\S+\s+/, '')
        .split(/\s+/)[0]!
        .replace(/\$\{(\w+)\}/g, (_, k: string) => globals.get(k) ?? '');
      out.push({ from: image, ...(platform ? { platform } : {}), body: [] });
    } else out.at(-1)?.body.push(ins);
  }
  return out;
}

describe('Dockerfile', () => {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const [build, runtime] = stages(parse(text));

  it('builds on the build machine, for every target: the build stage has --platform=$BUILDPLATFORM, the runtime stage none', () => {
    assert.equal(build?.platform, '$BUILDPLATFORM');
    assert.equal(runtime?.platform, undefined);
  });

  it('pins every base image by digest', () => {
    for (const s of [build!, runtime!]) assert.match(s.from, /^[\w./:-]+@sha256:[0-9a-f]{64}$/, s.from);
  });

  it('installs no devDependency but esbuild (so not the 185 MB `node` package), at the lockfile version', () => {
    const runs = build!.body.filter((i) => i.name === 'RUN').map((i) => i.args);
    const installs = runs.flatMap((r) => r.split('&&')).filter((c) => /\bnpm (ci|install|i)\b/.test(c));
    assert.ok(installs.length > 0);
    for (const c of installs) {
      if (/\bnpm ci\b/.test(c)) assert.match(c, /--omit=dev/, c);
      else assert.match(c, /--prefix \S+ .*"esbuild@\$\(node -p "require\('\.\/package-lock\.json'\)\.packages\['node_modules\/esbuild'\]\.version"\)"/, c);
    }
  });

  it('bundles with scripts/build.ts, which needs nothing but esbuild and Node built-ins', () => {
    assert.ok(build!.body.some((i) => i.name === 'RUN' && i.args.includes('node scripts/build.ts')));
    const imports = [...readFileSync(join(ROOT, 'scripts', 'build.ts'), 'utf8').matchAll(/^import .* from '([^']+)';/gm)].map((m) => m[1]!);
    assert.deepEqual(
      imports.filter((m) => m !== 'esbuild' && !isBuiltin(m)),
      [],
    );
  });

  it('ships no source maps, or reads them (--enable-source-maps)', () => {
    const entry = runtime!.body.find((i) => i.name === 'ENTRYPOINT')!.args;
    const deletesMaps = build!.body.some((i) => i.name === 'RUN' && /find dist -name '\*\.map' -delete/.test(i.args));
    assert.ok(deletesMaps || entry.includes('--enable-source-maps'));
    assert.ok(!(deletesMaps && entry.includes('--enable-source-maps')), 'maps deleted but asked for');
  });

  it('labels the image with the OCI annotations, runs as non-root, and starts vsop watch', () => {
    const labels = runtime!.body
      .filter((i) => i.name === 'LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'created', 'licenses', 'base.name']) {
      assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key.replace('.', '\\.')}="[^"]+"`), key);
    }
    assert.match(labels, /licenses="Apache-2\.0"/);
    assert.equal(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).license, 'Apache-2.0');
    assert.equal(runtime!.body.find((i) => i.name === 'USER')?.args, '65532:65532');
    assert.deepEqual(JSON.parse(runtime!.body.find((i) => i.name === 'CMD')!.args), ['watch']);
  });
});
