// The chart's checks of its values (charts/vsop: values.schema.json and the templates' fail) against what
// vsop itself takes, with a real helm (test/helm) rendering the chart: no cluster needed. Where the chart
// refuses a value, vsop would refuse it too (at start, or in config validate), and the other way round.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { CHART_DIR } from '../../scripts/manifests.ts';
import { DURATION_SYNTAX, parseDuration } from '../../src/cli/program.ts';
import { helmBinary } from '../harness/build.ts';
import { skipReason } from '../harness/require.ts';
import { runVsop } from '../helpers/run.ts';
import { SYSTEM_NAMESPACES } from '../../src/core/ownership.ts';

const skip = skipReason();
const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'vsop-chart-values-'));
let helm: string;
before(async () => {
  if (!skip) helm = await helmBinary();
});

/** helm template with a values file (JSON, which is YAML: strings kept exactly) and --set flags: its stdout, or its error. */
async function template(values: unknown, args: string[] = []): Promise<{ ok: true; out: string } | { ok: false; error: string }> {
  const file = join(scratch, `values-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, JSON.stringify(values));
  const env = { ...process.env, HELM_CACHE_HOME: scratch, HELM_CONFIG_HOME: scratch, HELM_DATA_HOME: scratch };
  try {
    return { ok: true, out: (await run(helm, ['template', 't', CHART_DIR, '-f', file, ...args], { env })).stdout };
  } catch (err) {
    return { ok: false, error: (err as { stderr?: string }).stderr ?? String(err) };
  }
}

/** helm's error, failing the test where helm rendered. */
function refusal(r: Awaited<ReturnType<typeof template>>): string {
  assert.equal(r.ok, false, 'helm rendered the chart');
  return (r as { error: string }).error;
}

/** Whether parseDuration takes `text`, and its milliseconds. */
function parsed(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

describe('the chart refuses the durations vsop refuses, and takes the others', { skip }, () => {
  // String.prototype.trim's white space (ECMA-262: WhiteSpace and LineTerminator), which parseDuration trims.
  const space = '[\\t\\n\\v\\f\\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff]*';

  it("holds parseDuration's syntax (DURATION_SYNTAX) between the white space it trims", () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8'));
    assert.equal(schema.definitions.duration.pattern, `^${space}(${DURATION_SYNTAX})${space}$`);
  });

  // stuckAfter takes 10s to 24h: every accepted form here is within it, so only the syntax decides.
  const forms = [
    '1m30s',
    '1.5h',
    '2h45m0.5s',
    '90000000us',
    '20000000000ns',
    '60000000µs',
    '10m0s',
    '.5h',
    '1.m',
    '30',
    '30.5',
    ' 2m ',
    '\t2m\n',
    '\u00a02m',
    '1m 30s',
    '1x',
    '',
    's',
    '1m30',
    'm1',
    '1h-5m',
    '-5s',
    '+5s',
    '5S',
    '1e3s',
    '30.',
    '0x10s',
    '1,5m',
  ];
  for (const form of forms) {
    it(`stuckAfter ${JSON.stringify(form)}: as parseDuration takes it`, async () => {
      const ms = parsed(form);
      const r = await template({ stuckAfter: form });
      if (ms !== undefined) assert.ok(ms >= 10_000 && ms <= 86_400_000, `${form} is in stuckAfter's range (${ms} ms)`);
      assert.equal(r.ok, ms !== undefined, r.ok ? `helm took ${JSON.stringify(form)}, which vsop refuses` : r.error);
      if (!r.ok) assert.match(r.error, /at '\/stuckAfter'.*does not match pattern/s);
    });
  }

  it('a number is seconds, within its flag range: stuckAfter 0 and 100000 are refused, 600 taken', async () => {
    assert.match(refusal(await template({ stuckAfter: 0 })), /at '\/stuckAfter': minimum: got 0, want 10/);
    assert.match(refusal(await template({ stuckAfter: 100000 })), /at '\/stuckAfter': maximum: got 100,?000, want 86,?400/);
    assert.equal((await template({ stuckAfter: 600 })).ok, true);
  });

  it('a number of seconds may have a fraction, as vsop takes it (--retry-period 1.5): taken within range, and passed on as written', async () => {
    assert.equal(parseDuration('1.5'), 1500);
    const r = await template({ leaderElection: { retryPeriod: 1.5 }, stuckAfter: 900.5 });
    assert.ok(r.ok && r.out.includes('--retry-period=1.5\n') && r.out.includes('--stuck-after=900.5\n'), r.ok ? 'flags not as written' : r.error);
    assert.equal((await template({ leaderElection: { retryPeriod: 0.1 } })).ok, true, "100ms, the flag's minimum");
    assert.match(refusal(await template({ leaderElection: { retryPeriod: 0.05 } })), /at '\/leaderElection\/retryPeriod': minimum: got 0.05, want 0.1/);
  });

  it("a string outside its flag's range is refused by the template, naming the value and the range", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ stuckAfter: '0s' }, /values stuckAfter: 0s is outside 10s to 24h, the range vsop watch takes/],
      [{ stuckAfter: '24h1ms' }, /values stuckAfter: 24h1ms is outside 10s to 24h/],
      [{ leaderElection: { retryPeriod: '99ms' } }, /values leaderElection.retryPeriod: 99ms is outside 100ms to 1m/],
    ];
    for (const [values, message] of cases) {
      assert.match(refusal(await template(values)), message, JSON.stringify(values));
    }
    assert.equal((await template({ stuckAfter: '24h' })).ok, true, 'the bound itself is in range');
  });

  it('leader election: a renew deadline not shorter than the lease, or a retry period too close to it, is refused (as vsop watch refuses them)', async () => {
    const le = (leaseDuration: unknown, renewDeadline: unknown, retryPeriod: unknown = '2s', enabled = true) =>
      template({ replicas: enabled ? 2 : 1, leaderElection: { enabled, leaseDuration, renewDeadline, retryPeriod } });
    assert.match(refusal(await le('10s', '10s')), /values leaderElection.renewDeadline \(10s\) must be shorter than leaderElection.leaseDuration \(10s\)/);
    assert.equal((await le('1m', '1m30s')).ok, false, 'compound forms compared by their length');
    assert.equal((await le(60, '1m')).ok, false, 'a number of seconds against a string');
    assert.match(refusal(await le('15s', '10s', '9s')), /values leaderElection.retryPeriod \(9s\) must be shorter than leaderElection.renewDeadline \(10s\) \/ 1.2/);
    assert.equal((await le('1m30s', '1m', '2s')).ok, true);
    assert.equal((await le('10s', '10s', '2s', false)).ok, true, 'without leader election the flags are not given');
  });
});

describe('the chart labels only a namespace of its own', { skip }, () => {
  it('namespace.create in default or a kube-* namespace fails, naming the namespace; in its own it renders the Namespace', async () => {
    for (const ns of ['default', 'kube-system', 'kube-public']) {
      const error = refusal(await template({}, ['--namespace', ns, '--set', 'namespace.create=true']));
      assert.match(error, new RegExp(`values namespace.create: the chart would label namespace ${ns} with pod-security.kubernetes.io/enforce: restricted`));
    }
    const r = await template({}, ['--namespace', 'vsop-system', '--set', 'namespace.create=true']);
    assert.ok(r.ok && /kind: Namespace\nmetadata:\n {2}name: vsop-system\n/.test(r.out), r.ok ? r.out.slice(0, 200) : r.error);
    assert.equal((await template({}, ['--namespace', 'default'])).ok, true, 'without namespace.create the release namespace is left alone');
  });
});

describe("the chart's config given as text (--set-file config=FILE)", { skip }, () => {
  const file = (name: string, text: string) => {
    const path = join(scratch, name);
    writeFileSync(path, text);
    return path;
  };
  const configText = (out: string) =>
    parseAllDocuments(out)
      .map((d) => d.toJS() as { kind?: string; data?: Record<string, string> } | null)
      .find((o) => o?.kind === 'ConfigMap')?.data?.['config.yaml'];

  it('a second YAML document is refused by the chart and by vsop (exit 3), each saying where it starts', async () => {
    const text = 'defaultNamespace: prod\ndeveloperNamespaces: [dev-a]\n\n--- # more\nfoo: bar\n';
    assert.match(
      refusal(await template({}, ['--set-file', `config=${file('multi.yaml', text)}`])),
      /values config: config.yaml holds more than one YAML document, and a second one starts at line 4 \(its ---\)/,
    );
    const configMap = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: virtualservice-operator-config\n  namespace: virtualservice-operator-system\ndata:\n  config.yaml: |\n${text.replace(/^(?=.)/gm, '    ')}`;
    const r = await runVsop(['config', 'validate', '-f', file('multi-cm.yaml', configMap)]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /multi-cm\.yaml:11:5: holds more than one YAML document, and a second one starts here \(at its ---\)/);
    assert.doesNotMatch(r.stderr, /parseAllDocuments/);
  });

  it('a --- followed only by comments and blank lines (a file ending in ---) is no second document, to the chart and to vsop', async () => {
    for (const text of ['defaultNamespace: prod\n---\n', 'defaultNamespace: prod\n--- # end\n\n# c\n']) {
      const r = await template({}, ['--set-file', `config=${file('trailing.yaml', text)}`]);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(configText(r.out), text);
      // vsop reads the ConfigMap the chart rendered (what watch reads), and the file itself.
      const rendered = r.out.split(/^---$/m).find((d) => /kind: ConfigMap/.test(d))!;
      const cm = await runVsop(['config', 'validate', '-f', file('trailing-cm.yaml', rendered), '--config-namespace', 'default']);
      assert.equal(cm.code, 0, cm.stderr);
      assert.equal((await runVsop(['config', 'validate', '-f', file('trailing.yaml', text)])).code, 0);
    }
  });

  it('text whose first line is indented, or which starts with ---, is kept as written', async () => {
    for (const text of ['  # the settings\ndefaultNamespace: prod\ndeveloperNamespaces: [dev-a]\n', '--- # one document\ndefaultNamespace: prod\n']) {
      const r = await template({}, ['--set-file', `config=${file('text.yaml', text)}`]);
      assert.ok(r.ok, r.ok ? '' : r.error);
      assert.equal(configText(r.out), text);
    }
  });
});

describe("the chart refuses the config's namespaces that vsop config validate refuses, naming the value", { skip }, () => {
  const configFile = (text: string) => {
    const path = join(scratch, `config-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(path, text);
    return path;
  };
  // The config's text, the chart's message; each is also given to vsop config validate, which must refuse it.
  const cases: [string, RegExp][] = [
    ...SYSTEM_NAMESPACES.map((ns): [string, RegExp] => [
      `defaultNamespace: prod\ndeveloperNamespaces: [dev-a, ${ns}]\n`,
      new RegExp(`values config: developerNamespaces\\[1\\]: "${ns}" is a system or excluded namespace`),
    ]),
    ['defaultNamespace: prod\nexcludedNamespaces: [dev-x]\ndeveloperNamespaces: [dev-x]\n', /developerNamespaces\[0\]: "dev-x" is a system or excluded namespace/],
    ['defaultNamespace: prod\ndeveloperNamespaces: [{headerValue: x}]\n', /developerNamespaces\[0\]: name is required/],
    ['defaultNamespace: prod\ndeveloperNamespaces: [{name: 7}]\n', /developerNamespaces\[0\]\.name: must be a namespace name, not the number 7/],
    ['defaultNamespace: prod\ndeveloperNamespaces: [dev-a, dev-a]\n', /developerNamespaces\[1\]: "dev-a" is listed twice \(first at developerNamespaces\[0\]\)/],
    ['defaultNamespace: prod\ndeveloperNamespaces: [dev-a, {name: dev-a, headerValue: a2}]\n', /developerNamespaces\[1\]: "dev-a" is listed twice/],
    ['defaultNamespace: prod\ndeveloperNamespaces: [Dev_Bob]\n', /developerNamespaces\[0\]: "Dev_Bob" is not a valid namespace name/],
    [`defaultNamespace: prod\ndeveloperNamespaces: [${'a'.repeat(64)}]\n`, /developerNamespaces\[0\]: "a{64}" is not a valid namespace name/],
    ['defaultNamespace: prod\ndeveloperNamespaces: [prod]\n', /developerNamespaces\[0\]: "prod" is the default namespace/],
    ['defaultNamespace: prod\ndeveloperNamespaces: dev-a\n', /developerNamespaces: must be a list of namespace names, not the string "dev-a"/],
    ['defaultNamespace: 123\n', /defaultNamespace: must be a namespace name .*not the number 123/],
    ['defaultNamespace: kube-system\n', /defaultNamespace: "kube-system" is a system or excluded namespace/],
    ['defaultNamespace: ""\ndeveloperNamespaces: [dev-a]\n', /defaultNamespace is required/],
    ['defaultNamespace: prod\nexcludedNamespaces: dev-x\n', /excludedNamespaces: must be a list of namespace names, not the string "dev-x"/],
  ];
  for (const [text, message] of cases) {
    it(`${JSON.stringify(text)}: refused by the chart (with rbac.namespaced) and by vsop`, async () => {
      const path = configFile(text);
      assert.match(refusal(await template({}, ['--set', 'rbac.namespaced=true', '--set-file', `config=${path}`])), message);
      assert.match(refusal(await template({}, ['--set-file', `config=${path}`])), message, 'and without rbac.namespaced');
      const r = await runVsop(['config', 'validate', '-f', path]);
      assert.equal(r.code, 3, `vsop config validate took ${JSON.stringify(text)}: ${r.stdout}${r.stderr}`);
    });
  }

  it('a valid config renders one Role pair per developer namespace, none in the release namespace', async () => {
    const path = configFile('defaultNamespace: prod\nexcludedNamespaces: [dev-x]\ndeveloperNamespaces: [dev-a, {name: dev-b, headerValue: b}]\n');
    assert.equal((await runVsop(['config', 'validate', '-f', path])).code, 0);
    const r = await template({}, ['--namespace', 'vsop-system', '--set', 'rbac.namespaced=true', '--set-file', `config=${path}`]);
    assert.ok(r.ok, r.ok ? '' : r.error);
    const roles = parseAllDocuments(r.out)
      .map((d) => d.toJS() as { kind?: string; metadata?: { name: string; namespace?: string } } | null)
      .filter((o) => o?.kind === 'Role' && o.metadata?.name.endsWith('-services'))
      .map((o) => o!.metadata!.namespace);
    assert.deepEqual(roles, ['dev-a', 'dev-b']);
  });
});

describe('the chart refuses values that contradict each other, naming both', { skip }, () => {
  it('more than one replica without leader election is refused; one replica is taken', async () => {
    assert.match(refusal(await template({ leaderElection: { enabled: false } })), /values leaderElection.enabled=false with replicas=2/);
    assert.match(refusal(await template({ replicas: 3, leaderElection: { enabled: false } })), /replicas=3/);
    assert.equal((await template({ replicas: 1, leaderElection: { enabled: false } })).ok, true);
  });

  it('a PodDisruptionBudget that keeps every replica is refused (it blocks every drain); one that keeps fewer is taken', async () => {
    assert.match(refusal(await template({ podDisruptionBudget: { minAvailable: 2 } })), /values podDisruptionBudget.minAvailable \(2\) keeps all of replicas \(2\) running/);
    assert.match(refusal(await template({ replicas: 3, podDisruptionBudget: { minAvailable: 4 } })), /minAvailable \(4\) keeps all of replicas \(3\)/);
    assert.match(refusal(await template({ podDisruptionBudget: { minAvailable: '100%' } })), /minAvailable \(100%\) keeps all/);
    assert.match(refusal(await template({ podDisruptionBudget: { minAvailable: 'half' } })), /minAvailable: "half" must be a number of replicas or a percentage/);
    for (const ok of [
      { replicas: 3, podDisruptionBudget: { minAvailable: 2 } },
      { podDisruptionBudget: { minAvailable: '50%' } },
      { podDisruptionBudget: { enabled: false, minAvailable: 2 } },
    ]) {
      assert.equal((await template(ok)).ok, true, JSON.stringify(ok));
    }
  });

  it('the metrics port on the probe port, and a ServiceMonitor without the metrics Service, are refused', async () => {
    assert.match(refusal(await template({ metrics: { port: 8081 } })), /values metrics.port and healthPort are both 8081/);
    assert.match(refusal(await template({ metrics: { port: 9000 }, healthPort: 9000 })), /both 9000/);
    assert.match(
      refusal(await template({ metrics: { service: { enabled: false }, serviceMonitor: { enabled: true } } })),
      /values metrics.serviceMonitor.enabled=true needs metrics.service.enabled=true/,
    );
    assert.equal((await template({ metrics: { serviceMonitor: { enabled: true } } })).ok, true);
  });
});
