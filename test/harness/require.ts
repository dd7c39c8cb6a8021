// What the real-cluster suites need, and the one explicit way to go without.
//
// The integration and Istio suites build kube-apiserver, etcd and Istio's
// validator from Go modules. When Go is missing or a build fails they fail
// with a PrerequisiteError saying what to install; they never skip on their
// own. Only VSOP_SKIP_CLUSTER_TESTS=1 skips them, and callers say so.

export const SKIP_VARIABLE = 'VSOP_SKIP_CLUSTER_TESTS';

export class PrerequisiteError extends Error {
  override name = 'PrerequisiteError';
}

/** True when the user asked to skip the real-cluster suites (VSOP_SKIP_CLUSTER_TESTS=1). */
export function clusterTestsSkipped(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[SKIP_VARIABLE];
  return value !== undefined && value !== '' && value !== '0' && value !== 'false';
}

/** For node:test's `skip` option: a reason string when skipped, else false. */
export function skipReason(env: NodeJS.ProcessEnv = process.env): string | false {
  return clusterTestsSkipped(env) ? `${SKIP_VARIABLE}=1: real-cluster suites skipped on request` : false;
}

export const INSTALL_GO =
  'Install Go 1.24 or newer (the official linux tarball in /usr/local/go, /usr/local/go/bin on PATH; ' +
  "Debian's golang-go is too old) with access to the Go module proxy, then run the tests again. " +
  `Without Go, set ${SKIP_VARIABLE}=1 to skip the real-cluster suites explicitly.`;
