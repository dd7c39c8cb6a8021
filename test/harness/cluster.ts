// A real Kubernetes control plane for the integration tests: etcd and
// kube-apiserver (built from test/cluster) on free loopback ports, RBAC,
// static tokens for an admin and the "vsop" user, Istio's CRDs and the
// Gateway API's (standard channel, the release Istio 1.27 supports).
// There is no controller-manager: namespaces never finish deleting, there
// is no garbage collection, no ServiceAccount tokens and no EndpointSlices.

import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clusterBinaries, istioCrdFile } from './build.ts';
import { gatewayApiCrdFile } from './gateway-api.ts';
import { kubeRequest, type Connection } from './kube.ts';
import { newToken, tokenFile, writeKubeconfig } from './kubeconfig.ts';
import { applyManifests, installCrds } from './manifests.ts';
import { forgetDir, freePort, removeOnExit, startProcess, tail, type ManagedProcess } from './processes.ts';

export const DEFAULT_RBAC_FILE = fileURLToPath(new URL('fixtures/vsop-rbac.yaml', import.meta.url));

export type ClusterOptions = {
  /** RBAC manifest granting the vsop user its rights; default fixtures/vsop-rbac.yaml. */
  rbacFile?: string;
  /** Name the vsop token authenticates as; default "vsop". A system:serviceaccount:NS:NAME name gets that account's groups. */
  vsopUser?: string;
  /** Directory to use instead of a fresh temp directory. */
  dir?: string;
  /** Keep running after this process exits (test/cluster/up). */
  persist?: boolean;
  /** Progress lines; default to stderr. */
  log?: (line: string) => void;
  readyTimeoutMs?: number;
};

/** What a test needs to talk to the cluster; also written to <dir>/cluster.json. */
export type ClusterInfo = {
  server: string;
  dir: string;
  /** PEM of the apiserver's CA. */
  ca: string;
  admin: Connection;
  vsop: Connection;
  vsopUser: string;
  /** kubeconfig with contexts "admin" (current) and "vsop". */
  kubeconfig: string;
  adminKubeconfig: string;
  vsopKubeconfig: string;
  pids: { etcd: number; apiserver: number };
};

export type Cluster = ClusterInfo & {
  stop(): Promise<void>;
  /** Stops kube-apiserver only (etcd keeps the data), e.g. to break watches. */
  stopApiserver(): Promise<void>;
  /** Starts kube-apiserver again on the same port and waits for /readyz. */
  startApiserver(): Promise<void>;
  restartApiserver(): Promise<void>;
};

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`vsop-test: ${line}\n`));
  const [bins, crdFile, gatewayCrdFile] = [await clusterBinaries(), await istioCrdFile(), await gatewayApiCrdFile()];
  const started = Date.now();
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'vsop-cluster-'));
  mkdirSync(join(dir, 'pki'), { recursive: true });
  if (!opts.persist) removeOnExit(dir);
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];
  const server = `https://127.0.0.1:${apiPort}`;
  const vsopUser = opts.vsopUser ?? 'vsop';
  const adminToken = newToken();
  const vsopToken = newToken();
  writeFileSync(
    join(dir, 'tokens.csv'),
    tokenFile([
      { name: 'admin', token: adminToken, groups: ['system:masters'] },
      { name: vsopUser, token: vsopToken, groups: [] },
    ]),
    { mode: 0o600 },
  );
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'pki/sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  writeFileSync(join(dir, 'pki/sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));

  log(`starting etcd on 127.0.0.1:${etcdPort} and kube-apiserver on ${server} (${dir})`);
  const etcd = startProcess('etcd', bins.etcd, etcdArgs(dir, etcdPort, peerPort), join(dir, 'etcd.log'), opts);
  const apiArgs = apiserverArgs(dir, apiPort, etcdPort);
  let apiserver: ManagedProcess | undefined;
  const launchApiserver = async () => {
    apiserver = startProcess('kube-apiserver', bins.apiserver, apiArgs, join(dir, 'kube-apiserver.log'), opts);
    await waitReady(server, join(dir, 'pki/apiserver.crt'), [apiserver, etcd], opts.readyTimeoutMs ?? 60_000);
  };
  const stop = async () => {
    await apiserver?.stop();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
    forgetDir(dir);
  };
  try {
    await launchApiserver();
    const ca = readFileSync(join(dir, 'pki/apiserver.crt'), 'utf8');
    const admin = { server, ca, token: adminToken };
    const vsop = { server, ca, token: vsopToken };
    const [names, gatewayNames] = await Promise.all([installCrds(admin, crdFile), installCrds(admin, gatewayCrdFile)]);
    await applyManifests(admin, opts.rbacFile ?? DEFAULT_RBAC_FILE);
    const info: ClusterInfo = {
      server,
      dir,
      ca,
      admin,
      vsop,
      vsopUser,
      kubeconfig: join(dir, 'kubeconfig'),
      adminKubeconfig: join(dir, 'admin.kubeconfig'),
      vsopKubeconfig: join(dir, 'vsop.kubeconfig'),
      pids: { etcd: etcd.pid, apiserver: apiserver?.pid ?? -1 },
    };
    const adminCtx = { context: 'admin', token: adminToken };
    const vsopCtx = { context: 'vsop', token: vsopToken };
    writeKubeconfig(info.kubeconfig, server, ca, [adminCtx, vsopCtx]);
    writeKubeconfig(info.adminKubeconfig, server, ca, [adminCtx]);
    writeKubeconfig(info.vsopKubeconfig, server, ca, [vsopCtx]);
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify(info, null, 2) + '\n', { mode: 0o600 });
    log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s with ${names.length} Istio and ${gatewayNames.length} Gateway API CRDs; KUBECONFIG=${info.kubeconfig}`);
    return {
      ...info,
      stop,
      stopApiserver: async () => apiserver?.stop(),
      startApiserver: launchApiserver,
      restartApiserver: async () => {
        await apiserver?.stop();
        await launchApiserver();
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

function etcdArgs(dir: string, port: number, peerPort: number): string[] {
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  return [
    '--name=vsop-test',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=vsop-test=${peer}`,
    '--unsafe-no-fsync=true', // test data is thrown away; fsync only slows it down
    '--log-level=warn',
  ];
}

// The envtest flag set (controller-runtime's controlplane/apiserver.go) with
// token authentication and the address pinned to loopback.
function apiserverArgs(dir: string, port: number, etcdPort: number): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'pki')}`, // the apiserver writes a self-signed apiserver.crt (leaf + CA) here
    `--token-auth-file=${join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-cluster-ip-range=10.0.0.0/24',
    `--service-account-issuer=https://127.0.0.1:${port}/`,
    `--service-account-key-file=${join(dir, 'pki/sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'pki/sa.key')}`,
    '--disable-admission-plugins=ServiceAccount', // no controller-manager, so no default ServiceAccount
    '--endpoint-reconciler-type=none',
    '--enable-priority-and-fairness=false',
    '--profiling=false',
  ];
}

/** Polls /readyz (anonymous access is allowed to it) until 200, a process dies, or the timeout. */
async function waitReady(server: string, caFile: string, procs: ManagedProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    const dead = procs.find((p) => !p.isRunning());
    if (dead) throw new Error(`${await dead.exited} while waiting for ${server}/readyz; last lines of ${dead.log}:\n${tail(dead.log)}`);
    if (Date.now() > deadline) {
      throw new Error(`kube-apiserver not ready after ${timeoutMs} ms (${last}); log ${procs[0]?.log}:\n${tail(procs[0]?.log ?? '')}`);
    }
    if (existsSync(caFile)) {
      try {
        const res = await kubeRequest({ server, ca: readFileSync(caFile, 'utf8'), token: '' }, 'GET', '/readyz', { timeoutMs: 2000 });
        if (res.status === 200) return;
        last = `readyz ${res.status}`;
      } catch (err) {
        last = (err as Error).message;
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The cluster the integration runner started (VSOP_TEST_CLUSTER_DIR), or a
 * new one when a test file runs on its own. release() stops only a cluster
 * this call started.
 */
export async function testCluster(opts: ClusterOptions = {}): Promise<ClusterInfo & { release(): Promise<void> }> {
  const dir = process.env.VSOP_TEST_CLUSTER_DIR;
  if (dir) {
    const info = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterInfo;
    return { ...info, release: async () => {} };
  }
  const cluster = await startCluster(opts);
  return { ...cluster, release: () => cluster.stop() };
}
