// Builds dist/ with esbuild. The bundle carries every dependency, so the container image needs no
// node_modules. Type checking is `npm run typecheck`.
//
//   dist/main.cjs        the command tree and every command's code, with the libraries an offline command
//                        needs (commander, yaml, diff, chalk, re2js), minified; bin/vsop.js runs it with a
//                        V8 code cache of its own (see there). Its last line names the build (a hash of the
//                        text), which keys that cache.
//   dist/vendor/*.cjs    each library only cluster, watch, xDS and route commands need (the Kubernetes
//                        client, gRPC, protobufs, metrics, proxies, refa), loaded by require() on first use.
//   dist/meta.json       esbuild's metafile: what went where (the Dockerfile drops it, with the source maps).
//
// One CommonJS file, not ES module chunks: Node's compile cache keeps only the code V8 compiles when a
// module loads, not the functions compiled lazily as they first run, which is most of a command's code;
// a script's code cache made after the run keeps them (figures in the README's start-up section).
// It is built aside and moved into place, so a vsop running meanwhile never finds dist/ half written.
//
//   node scripts/build.ts [outdir]     outdir defaults to dist

import { build, type BuildOptions, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { appendFile, readFile, rename, rm, writeFile } from 'node:fs/promises';

const out = process.argv[2] ?? 'dist';
const staging = `${out}.${process.pid}`;

/**
 * The libraries kept out of main.cjs, each its own dist/vendor/<file>.cjs. Each is a CommonJS package or
 * an ES module imported by name only: esbuild gives an ES module importing a CommonJS file its
 * module.exports as the default export, as Node does, which is not an ES module package's default (so ora,
 * imported for its default, stays in main.cjs; it is only evaluated once a spinner starts).
 */
const VENDOR = ['@kubernetes/client-node', '@grpc/grpc-js', 'protobufjs', 'prom-client', 'https-proxy-agent', 'socks-proxy-agent', 'refa'];
const vendorFile = (pkg: string) => `${pkg.replace(/^@/, '').replace(/\//g, '-')}.cjs`;

/** Imports of a vendor library (or a path inside it) become require('./vendor/<file>.cjs'). */
const vendorAside: Plugin = {
  name: 'vendor-aside',
  setup(b) {
    b.onResolve({ filter: /^[@a-z]/ }, (args) => {
      const pkg = VENDOR.find((p) => args.path === p || args.path.startsWith(`${p}/`));
      if (!pkg) return undefined;
      if (args.path !== pkg) throw new Error(`${args.importer} imports ${args.path}: import ${pkg} itself, which dist/vendor holds`);
      return { path: `./vendor/${vendorFile(pkg)}`, external: true };
    });
  },
};

/**
 * A JSON module as JSON.parse of its text: V8 parses JSON faster than the same object written as
 * JavaScript, and keeps no code for it (src/core/schema/schemas.gen.json is evaluated at every offline
 * start). Every JSON import in src/ is a default import.
 */
const jsonParsed: Plugin = {
  name: 'json-parsed',
  setup(b) {
    b.onLoad({ filter: /\.json$/ }, async (args) => ({
      contents: `module.exports = JSON.parse(${JSON.stringify(JSON.stringify(JSON.parse(await readFile(args.path, 'utf8'))))});`,
      loader: 'js',
    }));
  },
};

/**
 * What a vendor file exports. Most libraries whole; of the Kubernetes client only what src/ imports (the
 * KubeConfig), as an ES module, so that esbuild leaves out what that does not reach: the whole package is
 * 4.2 MB: a process holding a KubeConfig was 89 MB resident with it, 67 MB with KubeConfig alone and no undici.
 * The names are read from src/ (value imports of the package), so a new import cannot go missing.
 */
function vendorEntry(pkg: string): string {
  if (pkg !== '@kubernetes/client-node') return `module.exports = require(${JSON.stringify(pkg)});`;
  const names = new Set<string>();
  for (const file of readdirSync('src', { recursive: true, encoding: 'utf8' })) {
    if (!file.endsWith('.ts')) continue;
    const text = readFileSync(`src/${file}`, 'utf8');
    for (const m of text.matchAll(/^import\s+\{([^}]*)\}\s+from\s+'@kubernetes\/client-node';/gm)) {
      for (const part of m[1]!.split(',')) {
        const name = part
          .trim()
          .replace(/^type\s+.*$/, '')
          .split(/\s+as\s+/)[0]!;
        if (name) names.add(name);
      }
    }
  }
  if (names.size === 0) throw new Error('no value import of @kubernetes/client-node found in src/');
  return `export { ${[...names].sort().join(', ')} } from ${JSON.stringify(pkg)};`;
}

/**
 * undici (0.7 MB) in place of nothing: the Kubernetes client's KubeConfig imports it for its fetch-based
 * clients (createDispatcher), which vsop never calls; vsop takes the credentials and TLS settings from
 * applyToHTTPSOptions, whose agent is node:https's, and sends the requests itself (src/k8s/http.ts). Should
 * a later client version reach undici on that path, the stub throws, saying so, instead of misbehaving.
 */
const undiciLeftOut: Plugin = {
  name: 'undici-left-out',
  setup(b) {
    b.onResolve({ filter: /^undici$/ }, () => ({ path: 'undici', namespace: 'left-out' }));
    b.onLoad({ filter: /.*/, namespace: 'left-out' }, () => ({
      contents: `const no = () => { throw new Error('vsop does not bundle undici: the Kubernetes client reached its fetch path (scripts/build.ts)'); };
        class Agent { constructor() { no(); } }
        module.exports = { Agent, ProxyAgent: Agent, fetch: no };`,
      loader: 'js',
    }));
  },
};

const common: BuildOptions = {
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  // Less to read at every start; keepNames keeps class names (error names) and stack frames readable.
  minify: true,
  keepNames: true,
  // import() becomes require(): bin/vsop.js runs main.cjs as a vm.Script, which has no module loader of its own.
  supported: { 'dynamic-import': false },
  logLevel: 'warning',
};

const main = await build({ ...common, entryPoints: ['src/main.ts'], outfile: `${staging}/main.cjs`, plugins: [vendorAside, jsonParsed], metafile: true });
const vendors = await Promise.all(
  VENDOR.map((pkg) =>
    build({
      ...common,
      stdin: { contents: vendorEntry(pkg), resolveDir: '.', sourcefile: `vendor-${vendorFile(pkg)}.js`, loader: 'js' },
      outfile: `${staging}/vendor/${vendorFile(pkg)}`,
      plugins: pkg === '@kubernetes/client-node' ? [undiciLeftOut] : [],
      metafile: true,
    }),
  ),
);
const text = await readFile(`${staging}/main.cjs`);
await appendFile(`${staging}/main.cjs`, `//# vsopBuild=${createHash('sha256').update(text).digest('hex').slice(0, 20)}\n`);
const meta = { inputs: {}, outputs: {} };
for (const r of [main, ...vendors]) Object.assign(meta.inputs, r.metafile!.inputs), Object.assign(meta.outputs, r.metafile!.outputs);
await writeFile(`${staging}/meta.json`, JSON.stringify(meta));
await rm(out, { recursive: true, force: true });
await rename(staging, out);
