// test/cluster/up and test/cluster/down: one long-lived test cluster for
// manual use (kubectl, vsop) in ${TMPDIR:-/tmp}/vsop-cluster-up.
//   up    starts it (or finds it running) and prints `export KUBECONFIG=...` on stdout
//   down  stops it and removes its directory

import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCluster, type ClusterInfo } from './cluster.ts';
import { killGroup } from './processes.ts';

const dir = join(process.env.TMPDIR || tmpdir(), 'vsop-cluster-up');

function running(): ClusterInfo | undefined {
  const file = join(dir, 'cluster.json');
  if (!existsSync(file)) return undefined;
  const info = JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
  return alive(info.pids.apiserver) && alive(info.pids.etcd) ? info : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function printExports(info: ClusterInfo): void {
  process.stdout.write(
    [
      `export KUBECONFIG=${info.kubeconfig}`,
      '# contexts: admin (current) and vsop (only the rights of the RBAC manifest)',
      `# admin only: ${info.adminKubeconfig}`,
      `# vsop only:  ${info.vsopKubeconfig}`,
      `# server ${info.server}; logs in ${info.dir}; stop with test/cluster/down`,
      '',
    ].join('\n'),
  );
}

async function up(): Promise<void> {
  const info = running();
  if (info) {
    process.stderr.write(`vsop-test: already running at ${info.server}\n`);
    return printExports(info);
  }
  await down(); // whatever a crashed run left behind
  const cluster = await startCluster({ dir, persist: true });
  printExports(cluster);
}

async function down(): Promise<void> {
  const file = join(dir, 'cluster.json');
  if (existsSync(file)) {
    const { pids } = JSON.parse(readFileSync(file, 'utf8')) as ClusterInfo;
    for (const pid of [pids.apiserver, pids.etcd]) {
      killGroup(pid, 'SIGTERM');
      for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      killGroup(pid, 'SIGKILL');
    }
  }
  rmSync(dir, { recursive: true, force: true });
}

const command = process.argv[2];
const commands: Record<string, () => Promise<void>> = { up, down };
const run = command ? commands[command] : undefined;
if (!run) {
  process.stderr.write('usage: cluster-cli.ts up|down\n');
  process.exit(2);
}
run().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`vsop-test: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
