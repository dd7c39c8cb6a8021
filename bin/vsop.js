#!/usr/bin/env node
// Installed as both `vsop` and `kubectl-vsop` (so `kubectl vsop ...` works as a kubectl plugin).
import { run } from '../dist/main.js';

process.exitCode = await run(process.argv);
