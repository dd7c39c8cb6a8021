#!/usr/bin/env node
// Installed as both `vsop` and `kubectl-vsop` (so `kubectl vsop ...` works as a kubectl plugin).
// CommonJS (bin/package.json says so): a CommonJS entry point spares Node its ES module loader, a few
// milliseconds of every start.
'use strict';

// Before anything else loads: on an older Node the Kubernetes client fails deep inside a cluster command.
// 9 is EXIT.platform in src/errors.ts.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  process.stderr.write(
    `error: vsop needs Node.js 22.19 or newer; this is v${process.versions.node}\nhint: install Node.js 22 LTS (https://nodejs.org, or nvm install 22), then run vsop again\n`,
  );
  process.exit(9);
}

const { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const args = process.argv.slice(2);
// `vsop --version` alone, as commander answers it (src/cli/program.ts), without loading the command tree.
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  // As src/cli/io.ts answers a failed write: a reader gone is 141, quietly; any other failure (a full
  // disk) one line and 74 (EXIT.pipe and EXIT.output in src/errors.ts).
  const failed = (err) => {
    if (err.code === 'EPIPE') process.exit(141);
    try {
      process.stderr.write(`error: cannot write to standard output: ${err.code === 'ENOSPC' ? 'no space left on device' : err.message}\n`);
    } catch {}
    process.exit(74);
  };
  process.stdout.on('error', failed);
  try {
    process.stdout.write(`${JSON.parse(readFileSync(join(__dirname, '../package.json'), 'utf8')).version}\n`);
  } catch (err) {
    failed(err);
  }
} else {
  main().then((code) => {
    process.exitCode = code;
    // Completion answers within its bound whatever -f names, and then must end: the shell's $(...) waits
    // for stdout to close. A thread of libuv's pool still blocked (opening a FIFO, a file system that
    // hangs) would keep the process alive, and process.exit waits for that thread too. So once stdout has
    // taken the answer (a write's callback runs after those before it), a process still alive after a
    // moment is killed; one that ends by itself never sees the timer, which holds nothing open (unref).
    if (args[0] === '__complete') process.stdout.write('', () => setTimeout(() => process.kill(process.pid, 'SIGKILL'), 200).unref());
  });
}

/**
 * Runs dist/main.cjs (scripts/build.ts) with a V8 code cache kept per command. Node's compile cache keeps
 * only what V8 compiles as a module loads; a script's cache made after a run also holds every function the
 * run compiled, most of a command's code: `sync -f examples/seed --diff` takes about a third less time
 * (README, start-up). The cache lives beside Node's compile cache (NODE_COMPILE_CACHE, else
 * <tmpdir>/node-compile-cache), keyed by Node's version and the build (the hash on the bundle's last line),
 * and is off where Node's is (NODE_DISABLE_COMPILE_CACHE). A cache that cannot be read or written, that
 * V8 refuses (another V8, other flags), or in a directory another user owns, only costs the time it
 * would have saved.
 */
async function main() {
  const { createRequire, enableCompileCache } = require('node:module');
  const { Script } = require('node:vm');
  // The libraries in dist/vendor are loaded by require(): Node's compile cache serves them.
  enableCompileCache?.();
  const file = join(__dirname, '../dist/main.cjs');
  const source = readFileSync(file, 'utf8');
  const mark = source.lastIndexOf('//# vsopBuild=');
  const build = mark < 0 ? undefined : source.slice(mark + 14).trim();
  const command = args.find((a) => !a.startsWith('-'));
  // The servers (watch, xds) run for days: their start is not worth a cache written as they stop.
  const cached = build && !process.env.NODE_DISABLE_COMPILE_CACHE && command !== 'watch' && command !== 'xds';
  const cacheFile = cached ? codeCacheFile(build, command) : undefined;
  let cachedData;
  try {
    if (cacheFile) cachedData = ownDirectory(join(cacheFile, '..')) ? readFileSync(cacheFile) : undefined;
  } catch {}
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, createRequire(file), mod, file, join(file, '..'));
  const code = await mod.exports.run(process.argv);
  if (cacheFile && (!cachedData || script.cachedDataRejected)) saveCodeCache(cacheFile, build, script);
  return code;
}

/** Writes the cache (aside, then moved into place) and drops the caches of other builds. */
function saveCodeCache(cacheFile, build, script) {
  const dir = join(cacheFile, '..');
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!ownDirectory(dir)) return;
    writeFileSync(`${cacheFile}.${process.pid}`, script.createCachedData(), { mode: 0o600 });
    renameSync(`${cacheFile}.${process.pid}`, cacheFile);
    for (const name of readdirSync(dir)) if (!name.startsWith(`${build}-`)) rmSync(join(dir, name), { force: true });
  } catch {}
}

/**
 * One cache per command, and per offline (-f) or cluster use, since each runs other code:
 * <dir>/vsop/<node version>-<arch>/<build>-<command>[-f].
 */
function codeCacheFile(build, command) {
  const dir = process.env.NODE_COMPILE_CACHE || join(tmpdir(), 'node-compile-cache');
  const offline = args.some((a) => a === '-f' || a.startsWith('-f=') || a.startsWith('--filename')) ? '-f' : '';
  return join(dir, 'vsop', `${process.version}-${process.arch}`, `${build}-${command?.replace(/[^a-z-]/g, '') || 'none'}${offline}`);
}

/** Whether `dir` is this user's and no one else may write to it: only such a cache is read as code. */
function ownDirectory(dir) {
  const s = statSync(dir);
  return (process.getuid === undefined || s.uid === process.getuid()) && (s.mode & 0o022) === 0;
}
