// Runs test files against ONE real cluster:
//   node test/harness/run-integration.ts [node --test options and files...]
// (default files: test/integration/*.test.ts). Builds what is missing
// (printing progress), starts the cluster, runs `node --test` with
//   VSOP_TEST_CLUSTER_DIR      directory with cluster.json (see testCluster())
//   VSOP_TEST_KUBECONFIG       admin kubeconfig (system:masters)
//   VSOP_TEST_VSOP_KUBECONFIG  kubeconfig of the vsop user (the RBAC fixture's rights only)
//   VSOP_TEST_SERVER           https://127.0.0.1:PORT
//   VSOP_ISTIO_CHECK           the istio-check binary (see istio.ts)
//   VSOP_XDS_CLIENT            grpc-go's xDS client for the vsop xds test (test/xds)
// and stops the cluster afterwards, also on failure and on Ctrl-C. Exits with
// the test run's code. With VSOP_SKIP_CLUSTER_TESTS=1 nothing is built or
// started and the tests run so that they report themselves as skipped.

import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { istioCheckBinary, xdsClientBinary } from './build.ts';
import { startCluster, type Cluster } from './cluster.ts';
import { diesWithUs } from './processes.ts';
import { clusterTestsSkipped } from './require.ts';

const DEFAULT_DIR = 'test/integration';

function testArgs(argv: string[]): string[] {
  if (argv.some((a) => !a.startsWith('-'))) return argv;
  const files = readdirSync(DEFAULT_DIR)
    .filter((f) => f.endsWith('.test.ts'))
    .sort()
    .map((f) => `${DEFAULT_DIR}/${f}`);
  return [...argv, ...files];
}

let child: ChildProcess | undefined;
// Registered before startCluster's own handlers (processes.ts), which then
// stop the cluster and exit: the test run gets the signal too, even when only
// we were sent it. Before the tests start, exiting runs the same cleanup.
const SIGNALS = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 } as const;
for (const [signal, code] of Object.entries(SIGNALS)) {
  process.on(signal, () => (child ? child.kill(signal as NodeJS.Signals) : process.exit(code)));
}

async function main(): Promise<number> {
  const args = testArgs(process.argv.slice(2));
  const env = { ...process.env };
  let cluster: Cluster | undefined;
  if (clusterTestsSkipped()) {
    process.stderr.write('vsop-test: VSOP_SKIP_CLUSTER_TESTS is set: no cluster; the real-cluster tests will report as skipped\n');
  } else {
    env.VSOP_ISTIO_CHECK = await istioCheckBinary();
    env.VSOP_XDS_CLIENT = await xdsClientBinary();
    cluster = await startCluster();
    Object.assign(env, {
      VSOP_TEST_CLUSTER_DIR: cluster.dir,
      VSOP_TEST_KUBECONFIG: cluster.adminKubeconfig,
      VSOP_TEST_VSOP_KUBECONFIG: cluster.vsopKubeconfig,
      VSOP_TEST_SERVER: cluster.server,
    });
  }
  try {
    return await new Promise<number>((resolve, reject) => {
      const [cmd, argv] = diesWithUs(process.execPath, ['--test', ...args]);
      child = spawn(cmd, argv, { stdio: 'inherit', env });
      child.on('error', reject);
      child.on('exit', (code, signal) => resolve(code ?? (signal === 'SIGINT' ? 130 : 1)));
    });
  } finally {
    await cluster?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vsop-test: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
