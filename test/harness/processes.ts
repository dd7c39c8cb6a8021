// Child processes of the harness (etcd, kube-apiserver) and their cleanup.
//
// Each child runs in its own process group, with its output in a log file
// (no pipes, so it never blocks on us). Attached children also get
// PR_SET_PDEATHSIG=SIGKILL through util-linux's setpriv when it is there, so
// they die with us even if we are SIGKILLed. On a normal exit, an uncaught
// error, SIGINT, SIGTERM or SIGHUP every live child's group is killed and the
// registered temp directories are removed.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';

export type ManagedProcess = {
  name: string;
  pid: number;
  log: string;
  /** Settles when the process has exited; resolves to a short description. */
  exited: Promise<string>;
  isRunning(): boolean;
  /** SIGTERM to the group, SIGKILL after graceMs. */
  stop(graceMs?: number): Promise<void>;
};

const live = new Set<ManagedProcess>();
const dirs = new Set<string>();
let hooked = false;
const hasSetpriv = spawnSync('setpriv', ['--help'], { stdio: 'ignore' }).status === 0;

/** Starts bin with args; output goes to logFile. persist: survive our exit (for `test/cluster/up`). */
export function startProcess(name: string, bin: string, args: string[], logFile: string, opts: { persist?: boolean } = {}): ManagedProcess {
  installExitHooks();
  const fd = openSync(logFile, 'a');
  const [cmd, argv] = opts.persist ? [bin, args] : diesWithUs(bin, args);
  let child: ChildProcess;
  try {
    child = spawn(cmd, argv, { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let running = true;
  const exited = new Promise<string>((resolve) => {
    child.on('error', (err) => {
      running = false;
      resolve(`${name} could not start: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      running = false;
      resolve(`${name} exited (${signal ?? `code ${code}`})`);
    });
  });
  const proc: ManagedProcess = {
    name,
    pid: child.pid ?? -1,
    log: logFile,
    exited,
    isRunning: () => running,
    async stop(graceMs = 3000) {
      if (!running) return;
      killGroup(proc.pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(proc.pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      killGroup(proc.pid, 'SIGKILL'); // anything the leader left behind in its group
      live.delete(proc);
    },
  };
  exited.then(() => live.delete(proc));
  if (opts.persist) child.unref();
  else live.add(proc);
  return proc;
}

/** The command line that runs bin with PR_SET_PDEATHSIG=SIGKILL when setpriv is there. */
export function diesWithUs(bin: string, args: string[]): [string, string[]] {
  return hasSetpriv ? ['setpriv', ['--pdeathsig', 'KILL', '--', bin, ...args]] : [bin, args];
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Removes dir when this process exits, whichever way it exits. */
export function removeOnExit(dir: string): void {
  installExitHooks();
  dirs.add(dir);
}

export function forgetDir(dir: string): void {
  dirs.delete(dir);
}

function killEverything(): void {
  for (const proc of live) killGroup(proc.pid, 'SIGKILL');
  live.clear();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  dirs.clear();
}

function installExitHooks(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killEverything);
  const signals: [NodeJS.Signals, number][] = [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ];
  for (const [signal, code] of signals) {
    process.once(signal, () => {
      killEverything();
      process.exit(code);
    });
  }
}

/** The last lines of a log file, for error messages. */
export function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
