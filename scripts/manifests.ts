// Writes deployments/deployment.yaml: the Helm chart (charts/vsop) rendered with its default values, so
// `kubectl apply -f` and `helm install` install the same objects from one source; and namespace.create=true,
// since a file applied with kubectl must create its namespace, which a Helm release must not (Helm keeps
// its record there, so the namespace exists before the release's objects). Needs Go (helm is built
// from its module, test/helm). test/integration/chart.test.ts renders again and compares.
//   node scripts/manifests.ts          write the file
//   node scripts/manifests.ts --check  exit 1 if the file differs from the rendering

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const MANIFESTS_FILE = fileURLToPath(new URL('../deployments/deployment.yaml', import.meta.url));
export const CHART_DIR = fileURLToPath(new URL('../charts/vsop', import.meta.url));
/** The release and namespace the default rendering is made for: the VirtualService operator's namespace. */
export const DEFAULT_RELEASE = { name: 'vsop', namespace: 'virtualservice-operator-system' };

const HEADER = `# vsop watch as a Deployment: the drop-in replacement for the VirtualService operator. Same namespace,
# ServiceAccount, ConfigMap, Deployment and container names, ports and probes as the operator's
# deployments/deployment.yaml, so its operations guide (kubectl logs/rollout/set image ... manager) still
# applies. Install: kubectl apply -f deployments/deployment.yaml, or with Helm (charts/vsop; see the README).
#
# Generated: charts/vsop rendered with its default values and namespace.create=true (npm run manifests).
# Change the chart, not this file; test/integration/chart.test.ts fails when the two differ.
`;

/** The values the file is rendered with beyond the chart's defaults: the Namespace, which Helm leaves out. */
export const MANIFEST_VALUES = ['namespace.create=true'];

/** The file's expected text: HEADER, then `helm template` of the chart with default values and MANIFEST_VALUES. */
export function renderManifests(helm: string): string {
  const sets = MANIFEST_VALUES.flatMap((s) => ['--set', s]);
  const out = execFileSync(helm, ['template', DEFAULT_RELEASE.name, CHART_DIR, '--namespace', DEFAULT_RELEASE.namespace, ...sets], { encoding: 'utf8' });
  return HEADER + out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { helmBinary } = await import('../test/harness/build.ts');
  const text = renderManifests(await helmBinary());
  if (process.argv.includes('--check')) {
    const same = readFileSync(MANIFESTS_FILE, 'utf8') === text;
    if (!same) process.stderr.write(`${MANIFESTS_FILE} differs from the chart's rendering: run npm run manifests\n`);
    process.exit(same ? 0 : 1);
  }
  writeFileSync(MANIFESTS_FILE, text);
}
