// Runs the Go build scripts (test/cluster/build.sh, test/istio/build.sh, test/helm/build.sh, test/anchors/build.sh).
// They are instant when the binaries are cached, and print their progress
// to our stderr when they are not.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { PrerequisiteError, INSTALL_GO } from './require.ts';

const testDir = fileURLToPath(new URL('..', import.meta.url));
const GO_MISSING = 3; // exit code of require_go in go-cache.sh

export type ClusterBinaries = { apiserver: string; etcd: string };

/** Builds (once) and returns kube-apiserver and etcd. */
export async function clusterBinaries(): Promise<ClusterBinaries> {
  const dir = await runScript(`${testDir}cluster/build.sh`, []);
  return { apiserver: `${dir}/bin/kube-apiserver`, etcd: `${dir}/bin/etcd` };
}

/** Builds (once) and returns the istio-check binary (test/istio). */
export async function istioCheckBinary(): Promise<string> {
  return process.env.VSOP_ISTIO_CHECK || runScript(`${testDir}istio/build.sh`, ['bin']);
}

/** Istio's CustomResourceDefinitions for the pinned release (no compiling). */
export async function istioCrdFile(): Promise<string> {
  return runScript(`${testDir}istio/build.sh`, ['crds']);
}

/** Builds (once) and returns helm (test/helm), for the chart tests and scripts/manifests.ts. */
export async function helmBinary(): Promise<string> {
  return runScript(`${testDir}helm/build.sh`, []);
}

/** Builds (once) and returns the seed VirtualService operator from ANCHORS/vs-operator (test/anchors). */
export async function vsOperatorBinary(anchors: string): Promise<string> {
  return runScript(`${testDir}anchors/build.sh`, [anchors]);
}

/** Builds (once) and returns xds-client (test/xds): grpc-go's xDS client and test backends. */
export async function xdsClientBinary(): Promise<string> {
  return process.env.VSOP_XDS_CLIENT || runScript(`${testDir}xds/build.sh`, []);
}

function runScript(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', (err) => reject(new PrerequisiteError(`cannot run ${script}: ${err.message}; bash is required`, { cause: err })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(out.trim());
      if (code === GO_MISSING) return reject(new PrerequisiteError(`${script}: Go is missing or too old. ${INSTALL_GO}`));
      reject(
        new PrerequisiteError(
          `${script} ${args.join(' ')} failed (${signal ?? `exit ${code}`}); its output is above. ` +
            'The first build needs the Go module proxy and about 3 GB of disk for the module and build caches. ' +
            INSTALL_GO,
        ),
      );
    });
  });
}
