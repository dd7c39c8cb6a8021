// Builds dist/ with esbuild: one bundle for the command tree, and a chunk per command loaded on demand,
// so `vsop --version` never loads YAML, diff or Kubernetes code. Type checking is `npm run typecheck`.
// The bundle carries every dependency, so the container image needs no node_modules. It is built aside
// and moved into place, so a vsop running meanwhile never finds dist/ half written.

import { build } from 'esbuild';
import { rename, rm } from 'node:fs/promises';

const staging = `dist.${process.pid}`;
await build({
  entryPoints: ['src/main.ts'],
  outdir: staging,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  // Less to parse at every start; keepNames keeps class names (error names) and stack frames readable.
  minify: true,
  keepNames: true,
  chunkNames: 'chunks/[name]-[hash]',
  // Some dependencies call require() for Node built-ins; give the ESM bundle one.
  banner: { js: "import { createRequire as __vsopRequire } from 'node:module'; const require = __vsopRequire(import.meta.url);" },
  logLevel: 'warning',
});
await rm('dist', { recursive: true, force: true });
await rename(staging, 'dist');
