#!/usr/bin/env node
// Installed as both `vsop` and `kubectl-vsop` (so `kubectl vsop ...` works as a kubectl plugin).
import module from 'node:module';

// Node keeps compiled code on disk between runs: a shorter cold start for every command after the first.
module.enableCompileCache?.();
const { run } = await import('../dist/main.js');
process.exitCode = await run(process.argv);
