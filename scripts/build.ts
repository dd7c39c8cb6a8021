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
      stdin: { contents: `module.exports = require(${JSON.stringify(pkg)});`, resolveDir: '.', sourcefile: `vendor-${vendorFile(pkg)}.js`, loader: 'js' },
      outfile: `${staging}/vendor/${vendorFile(pkg)}`,
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
