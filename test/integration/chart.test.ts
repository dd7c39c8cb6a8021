// The Helm chart (charts/vsop) with a real helm, built from its Go module (test/helm): lint, the default
// rendering is deployments/deployment.yaml, `vsop config rbac` prints the chart's own Roles, the pod meets
// Pod Security "restricted" as the apiserver's admission judges it, and install and upgrade on the test
// apiserver store what the values say (no kubelet: pods never run, the stored objects are checked).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR, MANIFESTS_FILE, renderManifests } from '../../scripts/manifests.ts';
import { helmBinary } from '../harness/build.ts';
import { testCluster } from '../harness/cluster.ts';
import { createNamespace, kubeRequest, summary, type KubeObject } from '../harness/kube.ts';
import { skipReason } from '../harness/require.ts';
import { runVsop } from '../helpers/run.ts';
import { get, type Cluster } from '../helpers/world.ts';

const skip = skipReason();
const DIGEST = `sha256:${'0123456789abcdef'.repeat(4)}`;
const run = promisify(execFile);
let cluster: Cluster;
let helm: string;
before(async () => {
  if (skip) return;
  [cluster, helm] = await Promise.all([testCluster(), helmBinary()]);
});
after(async () => cluster?.release());

async function helmRun(args: string[]): Promise<string> {
  try {
    return (await run(helm, args, { env: { ...process.env, KUBECONFIG: cluster.adminKubeconfig, HELM_CACHE_HOME: scratch, HELM_CONFIG_HOME: scratch, HELM_DATA_HOME: scratch } }))
      .stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`helm ${args.join(' ')}: ${[e.stderr, e.stdout].filter(Boolean).join('\n') || e.message}`);
  }
}
const scratch = mkdtempSync(join(tmpdir(), 'vsop-helm-'));

/** helm's refusal (its stderr) of a command expected to fail; throws when it succeeds. */
async function helmRefuses(args: string[]): Promise<string> {
  const error = await helmRun(args).then(
    () => undefined,
    (err: Error) => err,
  );
  assert.ok(error, `helm ${args.join(' ')} succeeded`);
  return error.message;
}

function objects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}
const find = (list: KubeObject[], kind: string, name?: string) => list.filter((o) => o.kind === kind && (!name || o.metadata.name === name));
const template = async (sets: string[], namespace = 'virtualservice-operator-system') =>
  objects(await helmRun(['template', 'vsop', CHART_DIR, '--namespace', namespace, ...sets.flatMap((s) => ['--set', s])]));

describe('the Helm chart (charts/vsop)', { skip }, () => {
  it('passes helm lint --strict, with default values and with every option on', async () => {
    await helmRun(['lint', '--strict', CHART_DIR]);
    await helmRun(['lint', '--strict', CHART_DIR, '--set', `rbac.namespaced=true,metrics.serviceMonitor.enabled=true,image.digest=${DIGEST},replicas=1,namespace.create=true`]);
  });

  it('renders deployments/deployment.yaml with its default values and the Namespace (npm run manifests writes it)', () => {
    assert.equal(readFileSync(MANIFESTS_FILE, 'utf8'), renderManifests(helm), 'deployments/deployment.yaml is stale: run npm run manifests');
  });

  it('renders what the values ask: ServiceMonitor, PDB only for several replicas, digest, log level, spread', async () => {
    const base = await template([]);
    assert.deepEqual(find(base, 'Namespace'), [], "the release namespace is Helm's: helm install --create-namespace makes it");
    assert.deepEqual(find(base, 'ServiceMonitor'), []);
    assert.equal(find(base, 'PodDisruptionBudget').length, 1);
    const more = await template([
      'metrics.serviceMonitor.enabled=true',
      'replicas=1',
      `image.digest=${DIGEST}`,
      'logLevel=debug',
      'topologySpread=false',
      'networkPolicy.enabled=false',
    ]);
    assert.equal(find(more, 'ServiceMonitor').length, 1);
    assert.deepEqual(find(more, 'PodDisruptionBudget'), [], 'one replica: a PDB would block every drain');
    assert.deepEqual(find(more, 'NetworkPolicy'), []);
    const pod = (find(more, 'Deployment')[0] as unknown as { spec: { template: { spec: Record<string, unknown> & { containers: { image: string; args: string[] }[] } } } }).spec
      .template.spec;
    assert.equal(pod.containers[0]!.image, `vsop:0.1.0@${DIGEST}`);
    assert.ok(pod.containers[0]!.args.includes('--log-level=debug'));
    assert.equal(pod.topologySpreadConstraints, undefined);
  });

  it('refuses values of the wrong type, and unknown keys, in helm itself (values.schema.json): lint, template, install', async () => {
    const cases: [string, RegExp][] = [
      ['replicas=two', /at '\/replicas': got string, want integer/],
      ['replica=3', /at '': additional properties 'replica' not allowed/],
      ['leaderElection.leaseDurtion=30s', /at '\/leaderElection': additional properties 'leaseDurtion' not allowed/],
      ['logLevel=warn', /at '\/logLevel': value must be one of 'debug', 'info', 'error'/],
      ['image.digest=sha256:abc', /at '\/image\/digest': 'sha256:abc' does not match pattern/],
      ['config.developerNamespaces=dev-a', /at '\/config\/developerNamespaces': got string, want array/],
    ];
    for (const [set, message] of cases) {
      for (const verb of [
        ['template', 'x'],
        ['lint', '--strict'],
        ['install', `r-${randomBytes(3).toString('hex')}`, '--dry-run'],
      ]) {
        const refusal = await helmRefuses([...verb, CHART_DIR, '--set', set]);
        assert.match(refusal, /values don't meet the specifications of the schema/, `${verb[0]} ${set}`);
        assert.match(refusal, message, `${verb[0]} ${set}`);
      }
    }
    // What a parent chart passes its subcharts, and durations as --set types them (a bare number of seconds).
    await template(['global.imageRegistry=r.example', 'leaderElection.leaseDuration=30', 'podDisruptionBudget.minAvailable=50%']);
  });

  it('takes config.yaml as a file (--set-file config=FILE): kept as written, the Roles follow it; a ConfigMap or non-YAML is refused, naming the value', async () => {
    const dir = mkdtempSync(join(scratch, 'set-file-'));
    const file = (name: string, text: string) => {
      writeFileSync(join(dir, name), text);
      return `config=${join(dir, name)}`;
    };
    const text = '# production first\ndefaultNamespace: prod\ndeveloperNamespaces: [dev-a, {name: dev-b, headerValue: b}]\n';
    const rendered = objects(await helmRun(['template', 'x', CHART_DIR, '--set-file', file('config.yaml', text), '--set', 'rbac.namespaced=true']));
    assert.equal((find(rendered, 'ConfigMap')[0] as unknown as { data: Record<string, string> }).data['config.yaml'], text);
    assert.deepEqual(
      find(rendered, 'Role')
        .filter((r) => r.metadata.namespace !== 'default') // the release's own: Leases, its ConfigMap
        .map((r) => `${r.metadata.namespace}/${r.metadata.name}`),
      ['prod/virtualservices', 'prod/httproutes', 'dev-a/services', 'dev-a/referencegrants', 'dev-b/services', 'dev-b/referencegrants'].map((r) =>
        r.replace('/', '/virtualservice-operator-'),
      ),
    );
    const refusals: [string, RegExp][] = [
      [
        readFileSync(join(import.meta.dirname, '../../examples/seed/configmap.yaml'), 'utf8'),
        /values config: this is a whole ConfigMap \(kind: ConfigMap\); give the config.yaml it holds/,
      ],
      ['defaultNamespace: [prod\n', /values config: a string must be the text of config.yaml \(--set-file config=my-config.yaml\), and this is not a YAML map/],
      ['- prod\n', /values config: a string must be the text of config.yaml .* not a YAML map/],
      ['developerNamespaces: [dev-a]\n', /values config: defaultNamespace is required/],
    ];
    for (const [content, message] of refusals) assert.match(await helmRefuses(['template', 'x', CHART_DIR, '--set-file', file('bad.yaml', content)]), message);
  });

  it('renders the Roles `vsop config rbac` prints for the same configuration', async () => {
    const sets = [
      'rbac.namespaced=true',
      'config.defaultNamespace=prod',
      'config.developerNamespaces[0]=dev-a',
      'config.developerNamespaces[1].name=team-b',
      'config.developerNamespaces[1].headerValue=b',
    ];
    const rendered = await template(sets, 'ops');
    const roles = rendered.filter((o) => (o.kind === 'Role' || o.kind === 'RoleBinding') && o.metadata.namespace !== 'ops');
    const dir = mkdtempSync(join(scratch, 'rbac-'));
    writeFileSync(join(dir, 'configmap.yaml'), JSON.stringify(find(rendered, 'ConfigMap')[0]));
    const r = await runVsop(['--config-namespace', 'ops', 'config', 'rbac', '-f', join(dir, 'configmap.yaml')]);
    assert.equal(r.code, 0, r.stderr);
    const withoutLabels = (list: KubeObject[]) => list.map((o) => ({ ...o, metadata: { name: o.metadata.name, namespace: o.metadata.namespace } }));
    const printed = objects(r.stdout);
    assert.deepEqual(
      printed.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`),
      [
        'prod/virtualservice-operator-virtualservices',
        'prod/virtualservice-operator-httproutes',
        'dev-a/virtualservice-operator-services',
        'dev-a/virtualservice-operator-referencegrants',
        'team-b/virtualservice-operator-services',
        'team-b/virtualservice-operator-referencegrants',
      ].flatMap((n) => [`Role ${n}`, `RoleBinding ${n}`]),
    );
    const key = (o: KubeObject) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`;
    const sort = (list: KubeObject[]) => [...list].sort((a, b) => key(a).localeCompare(key(b)));
    assert.deepEqual(sort(withoutLabels(roles)), sort(withoutLabels(printed)));
    // Cluster-wide, Services and ReferenceGrants are then read only.
    for (const name of ['virtualservice-operator-services', 'virtualservice-operator-referencegrants']) {
      const role = find(rendered, 'ClusterRole', name)[0] as unknown as { rules: { verbs: string[] }[] };
      assert.deepEqual(role.rules[0]!.verbs, ['get', 'list', 'watch'], name);
    }
  });

  it("renders a pod that Pod Security admission lets into the namespace it labels 'restricted'", async () => {
    const ns = await createNamespace(cluster.admin, 'psa');
    const rendered = await template(['namespace.create=true'], ns);
    const label = (find(rendered, 'Namespace')[0]!.metadata.labels ?? {}) as Record<string, string>;
    const nsObj = (await get(cluster.admin, `/api/v1/namespaces/${ns}`)).body;
    nsObj.metadata.labels = { ...nsObj.metadata.labels, ...label };
    assert.equal((await kubeRequest(cluster.admin, 'PUT', `/api/v1/namespaces/${ns}`, { body: nsObj })).status, 200);
    const template_ = (find(rendered, 'Deployment')[0] as unknown as { spec: { template: { metadata: object; spec: { containers: Record<string, unknown>[] } } } }).spec.template;
    const pod = (spec: unknown) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'psa-check', namespace: ns }, spec });
    const admitted = await kubeRequest(cluster.admin, 'POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, { body: pod({ ...template_.spec, serviceAccountName: 'default' }) });
    assert.equal(admitted.status, 201, summary(admitted));
    // The same pod with its container allowed to escalate privileges is refused: the label is enforced.
    const loose = structuredClone(template_.spec);
    (loose.containers[0]!.securityContext as Record<string, unknown>).allowPrivilegeEscalation = true;
    const refused = await kubeRequest(cluster.admin, 'POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, { body: pod({ ...loose, serviceAccountName: 'default' }) });
    assert.equal(refused.status, 403, summary(refused));
    assert.match(summary(refused), /violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false/);
  });

  it('installs with its default values into a namespace helm creates (--create-namespace), config from --set-file', async () => {
    const ns = `chart-new-${randomBytes(3).toString('hex')}`;
    const prod = await createNamespace(cluster.admin, 'cprod');
    const name = `vsop-${ns}`; // cluster-wide objects are named after it: unique per run
    const file = join(mkdtempSync(join(scratch, 'install-')), 'config.yaml');
    writeFileSync(file, `defaultNamespace: ${prod}\ndeveloperNamespaces: [dev-a]\n`);
    try {
      await helmRun(['install', 'vsop', CHART_DIR, '--namespace', ns, '--create-namespace', '--set', `name=${name}`, '--set-file', `config=${file}`]);
      const status = JSON.parse(await helmRun(['status', 'vsop', '--namespace', ns, '-o', 'json'])) as { info: { status: string } };
      assert.equal(status.info.status, 'deployed');
      const cm = (await get(cluster.admin, `/api/v1/namespaces/${ns}/configmaps/${name}-config`)).body;
      assert.equal(cm.data['config.yaml'], readFileSync(file, 'utf8'));
      const cfgCheck = await runVsop(['--config-namespace', ns, '--config-name', `${name}-config`, 'config', 'validate'], { env: { KUBECONFIG: cluster.adminKubeconfig } });
      assert.equal(cfgCheck.code, 0, `the ConfigMap from --set-file is a valid vsop configuration: ${cfgCheck.stderr}`);
    } finally {
      await helmRun(['uninstall', 'vsop', '--namespace', ns]).catch(() => {});
    }
  });

  it('installs and upgrades on the test apiserver: the stored objects follow the values', async () => {
    const ns = await createNamespace(cluster.admin, 'chart');
    const [prod, devA, devB, devC] = await Promise.all(['cprod', 'cdeva', 'cdevb', 'cdevc'].map((p) => createNamespace(cluster.admin, p)));
    const name = `vsop-${ns}`; // cluster-wide objects are named after it: unique per run
    const values = (devs: string[], extra: string[] = []) =>
      [`name=${name}`, 'rbac.namespaced=true', `config.defaultNamespace=${prod}`, ...devs.map((d, i) => `config.developerNamespaces[${i}]=${d}`), ...extra].flatMap((s) => [
        '--set',
        s,
      ]);
    const release = `r-${ns}`.slice(0, 53);
    try {
      await helmRun(['install', release, CHART_DIR, '--namespace', ns, ...values([devA!, devB!])]);
      const dep = (await get(cluster.admin, `/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).body;
      assert.equal(dep.spec.replicas, 2);
      assert.equal(dep.spec.template.spec.containers[0].image, 'vsop:0.1.0');
      assert.ok(dep.spec.template.spec.containers[0].args.includes(`--config-namespace=${ns}`));
      assert.ok(dep.spec.template.spec.containers[0].args.includes(`--config-name=${name}-config`));
      assert.equal(dep.metadata.annotations['meta.helm.sh/release-name'], release);
      const cm = (await get(cluster.admin, `/api/v1/namespaces/${ns}/configmaps/${name}-config`)).body;
      assert.match(cm.data['config.yaml'], new RegExp(`developerNamespaces:\\n- ${devA}\\n- ${devB}\\n`));
      for (const path of [
        `/api/v1/namespaces/${ns}/serviceaccounts/${name}`,
        `/api/v1/namespaces/${ns}/services/${name}-metrics`,
        `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`,
        `/apis/networking.k8s.io/v1/namespaces/${ns}/networkpolicies/${name}`,
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${prod}/roles/${name}-virtualservices`,
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${devA}/rolebindings/${name}-services`,
        `/apis/rbac.authorization.k8s.io/v1/namespaces/${devB}/roles/${name}-services`,
        `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}-services`,
      ]) {
        const res = await get(cluster.admin, path);
        assert.equal(res.status, 200, `${path}: ${summary(res)}`);
      }
      const cfgCheck = await runVsop(['--config-namespace', ns, '--config-name', `${name}-config`, 'config', 'validate'], { env: { KUBECONFIG: cluster.adminKubeconfig } });
      assert.equal(cfgCheck.code, 0, `the chart's ConfigMap is a valid vsop configuration: ${cfgCheck.stderr}`);

      // Upgrade: a third replica, dev B replaced by dev C, debug logs.
      await helmRun(['upgrade', release, CHART_DIR, '--namespace', ns, ...values([devA!, devC!], ['replicas=3', 'logLevel=debug'])]);
      const dep2 = (await get(cluster.admin, `/apis/apps/v1/namespaces/${ns}/deployments/${name}`)).body;
      assert.equal(dep2.spec.replicas, 3);
      assert.ok(dep2.spec.template.spec.containers[0].args.includes('--log-level=debug'));
      assert.equal((await get(cluster.admin, `/apis/rbac.authorization.k8s.io/v1/namespaces/${devC}/roles/${name}-services`)).status, 200);
      assert.equal(
        (await get(cluster.admin, `/apis/rbac.authorization.k8s.io/v1/namespaces/${devB}/roles/${name}-services`)).status,
        404,
        'the Role of a namespace that left the config goes',
      );
      const cm2 = (await get(cluster.admin, `/api/v1/namespaces/${ns}/configmaps/${name}-config`)).body;
      assert.match(cm2.data['config.yaml'], new RegExp(`developerNamespaces:\\n- ${devA}\\n- ${devC}\\n`));
      const history = await helmRun(['history', release, '--namespace', ns, '-o', 'json']);
      assert.deepEqual(
        (JSON.parse(history) as { revision: number; status: string }[]).map((h) => [h.revision, h.status]),
        [
          [1, 'superseded'],
          [2, 'deployed'],
        ],
      );
    } finally {
      await helmRun(['uninstall', release, '--namespace', ns]).catch(() => {});
    }
    assert.equal((await get(cluster.admin, `/apis/rbac.authorization.k8s.io/v1/clusterroles/${name}-services`)).status, 404, 'uninstall removes the cluster-wide objects');
  });
});
