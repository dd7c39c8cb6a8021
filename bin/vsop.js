#!/usr/bin/env node
// Installed as both `vsop` and `kubectl-vsop` (so `kubectl vsop ...` works as a kubectl plugin).
import module from 'node:module';

// Before anything else loads: on an older Node the Kubernetes client fails deep inside a cluster command.
// 9 is EXIT.platform in src/errors.ts.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `error: vsop needs Node.js 22.19 or newer; this is v${process.versions.node}\nhint: install Node.js 22 LTS (https://nodejs.org, or nvm install 22), then run vsop again\n`,
  );
  process.exit(9);
}

// Node keeps compiled code on disk between runs: a shorter cold start for every command after the first.
module.enableCompileCache?.();
const { run } = await import('../dist/main.js');
process.exitCode = await run(process.argv);
