// Builds dist/ with esbuild: one bundle for the command tree, and a chunk per command loaded on demand,
// so `vsop --version` never loads YAML, diff or Kubernetes code. Type checking is `npm run typecheck`.

import { build } from 'esbuild';
import { rm } from 'node:fs/promises';

await rm('dist', { recursive: true, force: true });
await build({
  entryPoints: ['src/main.ts'],
  outdir: 'dist',
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
