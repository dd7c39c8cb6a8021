// Running the built bin/vsop.js as users and scripts do, and the stand-ins for an API server the CLI
// tests point it at. Shared by the test files of test/cli/.

import { type ChildProcess, spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

export const ROOT = join(import.meta.dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'vsop.js');
export const tmp = mkdtempSync(join(tmpdir(), 'vsop-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

export interface Spawned {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI to its end with only PATH and HOME (a fresh one) set, plus `env`. */
export function vsop(args: string[], opts: { input?: string; env?: Record<string, string>; bin?: string } = {}): Spawned {
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: tmp, ...opts.env };
  const spawnOpts: SpawnSyncOptions = { cwd: ROOT, env, encoding: 'utf8', ...(opts.input === undefined ? {} : { input: opts.input }) };
  const r = spawnSync(process.execPath, [opts.bin ?? BIN, ...args], spawnOpts);
  return { code: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Spawns the built CLI and waits for it to end: its exit code and output. */
export async function spawned(args: string[], started?: (child: ChildProcess) => Promise<void>, env: Record<string, string> = {}): Promise<Spawned> {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { PATH: process.env.PATH ?? '', HOME: tmp, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const closed = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  await started?.(child);
  return { code: await closed, stdout, stderr };
}

export function kubeconfigFor(server: string): string {
  return `apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {token: t}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n`;
}

function kubeconfigFile(name: string, server: string): string {
  const path = join(tmp, `${name}.yaml`);
  writeFileSync(path, kubeconfigFor(server));
  return path;
}

/** A TCP server on loopback that accepts connections and never answers: an API server that hangs. */
export async function hangingServer(): Promise<{ server: Server; kubeconfig: string }> {
  const server = createServer(() => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, kubeconfig: kubeconfigFile(`hanging-${port}`, `https://127.0.0.1:${port}`) };
}

/** A loopback address nothing listens on: an API server that is down. */
export async function closedServer(): Promise<{ kubeconfig: string; address: string }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return { kubeconfig: kubeconfigFile(`closed-${port}`, `https://127.0.0.1:${port}`), address: `https://127.0.0.1:${port}` };
}

/** A throwaway self-signed certificate for 127.0.0.1, made with openssl(1) (vsop speaks only HTTPS). */
function selfSigned(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmp, 'tls-'));
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=127.0.0.1', '-days', '1', '-keyout', 'key.pem', '-out', 'cert.pem'],
    { cwd: dir, encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make a test certificate (apt-get install openssl): ${r.error?.message ?? r.stderr}`);
  return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
}

/**
 * An HTTPS stand-in for an API server answering a few paths with fixed JSON (anything else: 404),
 * with status 200 unless `statuses` says otherwise, recording each request's path and query. The real API server's answers are tested in test/cli/
 * version-cluster.test.ts; this one lets every `npm test` check what vsop does with them.
 */
export async function answeringServer(
  answers: Record<string, unknown>,
  statuses: Record<string, number> = {},
): Promise<{ kubeconfig: string; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createHttpsServer(selfSigned(), (req: IncomingMessage, res: ServerResponse) => {
    requests.push(req.url ?? '');
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = answers[path];
    res.writeHead(body === undefined ? 404 : (statuses[path] ?? 200), { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'NotFound', code: 404 }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    kubeconfig: kubeconfigFile(`answering-${port}`, `https://127.0.0.1:${port}`),
    requests,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
