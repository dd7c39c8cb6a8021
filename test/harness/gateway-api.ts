// The Gateway API in the test cluster: its standard-channel CRDs (from the
// sigs.k8s.io/gateway-api module test/istio requires, the release Istio 1.27
// is built against), installed beside Istio's. istio-check simulates and
// validates HTTPRoutes against the same files (see test/istio/gatewayapi.go).

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { INSTALL_GO, PrerequisiteError } from './require.ts';

const BUILD = fileURLToPath(new URL('../istio/build.sh', import.meta.url));
const GO_MISSING = 3; // exit code of require_go in go-cache.sh

export const GATEWAY_API_GROUP = 'gateway.networking.k8s.io';

/** The URL path of a namespace's HTTPRoutes (v1) or ReferenceGrants (v1beta1, the only version the standard channel serves). */
export function gatewayApiPath(kind: 'HTTPRoute' | 'ReferenceGrant', namespace: string): string {
  return kind === 'HTTPRoute' ? `/apis/${GATEWAY_API_GROUP}/v1/namespaces/${namespace}/httproutes` : `/apis/${GATEWAY_API_GROUP}/v1beta1/namespaces/${namespace}/referencegrants`;
}

/** The Gateway API's standard-channel CRDs, one multi-document file (`test/istio/build.sh gateway-api-crds`; no compiling). */
export function gatewayApiCrdFile(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [BUILD, 'gateway-api-crds'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', (err) => reject(new PrerequisiteError(`cannot run ${BUILD}: ${err.message}; bash is required`, { cause: err })));
    child.on('close', (code, signal) => {
      if (code === 0) return resolve(out.trim());
      const why = code === GO_MISSING ? 'Go is missing or too old' : `failed (${signal ?? `exit ${code}`}); its output is above`;
      reject(new PrerequisiteError(`${BUILD} gateway-api-crds: ${why}. ${INSTALL_GO}`));
    });
  });
}
