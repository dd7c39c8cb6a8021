import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../src/core/config.ts';
import { renderTemplate, SEED_HTTPROUTE_TEMPLATE, SEED_TEMPLATE } from '../../src/core/template.ts';
import { ConfigError } from '../../src/errors.ts';

function problemsOf(text: string): string[] {
  try {
    loadConfig(text, 'config.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.source}: ${p.path}: ${p.message}`);
  }
  assert.fail('expected the config to be rejected');
}

describe('loadConfig: defaults', () => {
  it('accepts the seed README configuration with the seed template as default', () => {
    const { config, warnings } = loadConfig('defaultNamespace: "default"\ndeveloperNamespaces:\n  - "dev-alice"\n  - "dev-bob"\n  - "staging"\n', 'x');
    assert.deepEqual(config.developerNamespaces, [
      { name: 'dev-alice', headerValue: 'dev-alice' },
      { name: 'dev-bob', headerValue: 'dev-bob' },
      { name: 'staging', headerValue: 'staging' },
    ]);
    assert.equal(config.routingHeader, 'x-developer');
    assert.equal(config.enablePlaceholderServices, false);
    assert.equal(config.virtualServiceTemplate, SEED_TEMPLATE);
    assert.deepEqual(config.excludedNamespaces, ['kube-system', 'kube-public', 'kube-node-lease', 'istio-system', 'istio-injection']);
    assert.deepEqual(warnings, []);
  });

  it('reads object entries, extensions and extra exclusions', () => {
    const { config } = loadConfig(
      [
        'defaultNamespace: prod',
        'routingHeader: x-env',
        'enablePlaceholderServices: true',
        'excludedNamespaces: [monitoring]',
        'developerNamespaces:',
        '  - team-a',
        '  - {name: team-a-login, headerValue: login, parent: team-a}',
      ].join('\n'),
      'x',
    );
    assert.deepEqual(config.developerNamespaces[1], { name: 'team-a-login', headerValue: 'login', parent: 'team-a' });
    assert.equal(config.routingHeader, 'x-env');
    assert.equal(config.enablePlaceholderServices, true);
    assert.ok(config.excludedNamespaces.includes('monitoring'));
  });

  it('warns about unknown keys with a suggestion, and still loads', () => {
    const { warnings } = loadConfig('defaultNamespace: prod\ndeveloperNamespace: [a]\n', 'cm');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.path, 'developerNamespace');
    assert.equal(warnings[0]!.source, 'cm:2:21');
    assert.match(warnings[0]!.message, /unknown key, ignored \(did you mean "developerNamespaces"\?\)/);
  });
});

describe('loadConfig: YAML aliases', () => {
  it('loads aliases a real file uses, however many times (kubectl reads them)', () => {
    const names = Array.from({ length: 1001 }, (_, i) => `  - {name: dev-${i}, parent: *base}`).join('\n');
    const { config: c } = loadConfig(`defaultNamespace: prod\ndeveloperNamespaces:\n  - &base base\n${names}\n`, 'config.yaml');
    assert.equal(c.developerNamespaces.length, 1002);
    assert.equal(c.developerNamespaces[1001]!.parent, 'base');
  });
});

describe('loadConfig: every problem, with its path and value', () => {
  const cases: [string, string, string[]][] = [
    ['YAML syntax error with line and column', 'defaultNamespace: prod\ndeveloperNamespaces: [a, b\n', ['config.yaml:3:1: : ']],
    ['a scalar document', 'just text\n', ['config.yaml: : must be a YAML mapping of settings']],
    ['an empty document', '\n', ['config.yaml: : is empty (defaultNamespace is required)']],
    [
      'an alias without its anchor',
      'defaultNamespace: prod\nroutingHeader: *hdr\n',
      [
        'config.yaml:2:16: : Unresolved alias (the anchor must be set before the alias): hdr (an alias *name needs an anchor &name earlier in the same document; quote a value that starts with *)',
      ],
    ],
    [
      'a tag with no meaning in Kubernetes',
      'defaultNamespace: prod\nroutingHeader: !evil x\n',
      ['config.yaml:2:22: : the tag !evil has no meaning in a Kubernetes object (write the value as a plain string, number, list or mapping)'],
    ],
    [
      'a binary tag',
      'defaultNamespace: !!binary cHJvZA==\n',
      ['config.yaml:1:28: : the tag !!binary has no meaning in a Kubernetes object (write the value as a plain string, number, list or mapping)'],
    ],
    [
      'an alias bomb',
      `defaultNamespace: prod\na: &a [x, x, x, x, x, x, x, x, x]\n${'bcdefghij'
        .split('')
        .map((n, i) => `${n}: &${n} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(', ')}]`)
        .join('\n')}\n`,
      ['config.yaml:3:8: : aliases expand past 100,000 nodes (a YAML alias bomb?): write the data out, or share less'],
    ],
    ['missing defaultNamespace', 'developerNamespaces: [dev-a]\n', ['config.yaml: defaultNamespace: is required (the production namespace)']],
    ['defaultNamespace of the wrong type', 'defaultNamespace: 42\n', ['config.yaml:1:19: defaultNamespace: must be a namespace name, not the number 42']],
    [
      'invalid namespace name, reported at its index',
      'defaultNamespace: prod\ndeveloperNamespaces:\n  - dev-alice\n  - staging\n  - Dev_Bob\n',
      ['config.yaml:5:5: developerNamespaces[2]: "Dev_Bob" is not a valid namespace name (lower-case letters, digits and "-", starting and ending with a letter or digit)'],
    ],
    [
      'developerNamespaces not a list',
      'defaultNamespace: prod\ndeveloperNamespaces: dev-a\n',
      ['config.yaml:2:22: developerNamespaces: must be a list of namespace names, not the string "dev-a"'],
    ],
    [
      'a duplicate namespace',
      'defaultNamespace: prod\ndeveloperNamespaces: [dev-a, dev-b, dev-a]\n',
      ['config.yaml:2:37: developerNamespaces[2]: "dev-a" is listed twice (first at developerNamespaces[0])'],
    ],
    [
      'the default namespace listed as a developer namespace',
      'defaultNamespace: prod\ndeveloperNamespaces: [prod]\n',
      ['config.yaml:2:23: developerNamespaces[0]: "prod" is the default namespace; it cannot also be a developer namespace'],
    ],
    [
      'a system namespace as developer namespace',
      'defaultNamespace: prod\ndeveloperNamespaces: [kube-system]\n',
      ['config.yaml:2:23: developerNamespaces[0]: "kube-system" is a system or excluded namespace and cannot be routed to'],
    ],
    [
      'a system namespace as default namespace',
      'defaultNamespace: istio-system\n',
      ['config.yaml:1:19: defaultNamespace: "istio-system" is a system or excluded namespace and cannot be routed to'],
    ],
    [
      'a namespace the config itself excludes',
      'defaultNamespace: prod\nexcludedNamespaces: [tools]\ndeveloperNamespaces: [tools]\n',
      ['config.yaml:3:23: developerNamespaces[0]: "tools" is a system or excluded namespace and cannot be routed to'],
    ],
    [
      'an unknown parent',
      'defaultNamespace: prod\ndeveloperNamespaces:\n  - {name: a, parent: nope}\n',
      ['config.yaml:3:23: developerNamespaces[0].parent: "nope" is not a developer namespace'],
    ],
    [
      'a parent cycle, reported once per namespace on it',
      'defaultNamespace: prod\ndeveloperNamespaces:\n  - {name: a, parent: b}\n  - {name: b, parent: a}\n  - {name: c, parent: a}\n',
      ['config.yaml:3:23: developerNamespaces[0].parent: parent chain loops: a → b → a', 'config.yaml:4:23: developerNamespaces[1].parent: parent chain loops: b → a → b'],
    ],
    [
      'a loop at the top of a chain 3,000 namespaces long: only the namespaces on it are reported',
      `defaultNamespace: prod\ndeveloperNamespaces:\n  - {name: d0, parent: d1}\n${Array.from({ length: 2999 }, (_, i) => `  - {name: d${i + 1}, parent: d${i === 0 ? 0 : i}}\n`).join('')}`,
      ['config.yaml:3:24: developerNamespaces[0].parent: parent chain loops: d0 → d1 → d0', 'config.yaml:4:24: developerNamespaces[1].parent: parent chain loops: d1 → d0 → d1'],
    ],
    [
      'a namespace that is its own parent',
      'defaultNamespace: prod\ndeveloperNamespaces:\n  - {name: a, parent: a}\n',
      ['config.yaml:3:23: developerNamespaces[0].parent: parent chain loops: a → a'],
    ],
    ['an invalid routing header', 'defaultNamespace: prod\nroutingHeader: "x developer"\n', ['config.yaml:2:16: routingHeader: "x developer" is not a valid HTTP header name']],
    [
      'an upper-case routing header',
      'defaultNamespace: prod\nroutingHeader: X-Developer\n',
      ['config.yaml:2:16: routingHeader: "X-Developer" is not lower case (Istio matches header names in lower case: use "x-developer")'],
    ],
    [
      'a duplicate header value',
      'defaultNamespace: prod\ndeveloperNamespaces:\n  - a\n  - {name: b, headerValue: a}\n',
      ['config.yaml:4:5: developerNamespaces[1]: header value "a" is already used by developerNamespaces[0]'],
    ],
    [
      'enablePlaceholderServices as a string',
      'defaultNamespace: prod\nenablePlaceholderServices: "yes"\n',
      ['config.yaml:2:28: enablePlaceholderServices: must be true or false, not the string "yes"'],
    ],
    ['an entry without a name', 'defaultNamespace: prod\ndeveloperNamespaces:\n  - {headerValue: x}\n', ['config.yaml:3:5: developerNamespaces[0]: needs a "name"']],
    [
      'several problems at once, all reported',
      'defaultNamespace: Prod\ndeveloperNamespaces: [ok, "bad name"]\nroutingHeader: ""\n',
      [
        'config.yaml:1:19: defaultNamespace: "Prod" is not a valid namespace name (lower-case letters, digits and "-", starting and ending with a letter or digit)',
        'config.yaml:2:27: developerNamespaces[1]: "bad name" is not a valid namespace name (lower-case letters, digits and "-", starting and ending with a letter or digit)',
        'config.yaml:3:16: routingHeader: "" is not a valid HTTP header name',
      ],
    ],
  ];
  for (const [name, text, expected] of cases) {
    it(name, () => {
      const got = problemsOf(text);
      if (name.startsWith('YAML syntax')) {
        assert.equal(got.length, 1);
        assert.ok(got[0]!.startsWith(expected[0]!), got[0]);
        return;
      }
      assert.deepEqual(got, expected);
    });
  }
});

describe('loadConfig: the template', () => {
  const withTemplate = (t: string) =>
    `defaultNamespace: prod\nvirtualServiceTemplate: |\n${t
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n')}\n`;
  const cases: [string, string, RegExp][] = [
    [
      'an unknown variable is named',
      SEED_TEMPLATE.replace('${serviceName}-virtual-service', '${service}-vs'),
      /unknown variable \$\{service\} \(known: \$\{serviceName\}, \$\{defaultNamespace\}\)/,
    ],
    [
      'not an Istio group',
      SEED_TEMPLATE.replace('networking.istio.io/v1beta1', 'servicemesh.l7mp.io/v1'),
      /apiVersion: "servicemesh.l7mp.io\/v1" is not a version of VirtualService that vsop writes/,
    ],
    ['an unsupported version', SEED_TEMPLATE.replace('v1beta1', 'v2'), /apiVersion: "networking.istio.io\/v2" is not a version of VirtualService that vsop writes/],
    ['another kind', SEED_TEMPLATE.replace('kind: VirtualService', 'kind: DestinationRule'), /kind: "DestinationRule" must be "VirtualService"/],
    ['a name without the service', SEED_TEMPLATE.replace('${serviceName}-virtual-service', 'shared'), /metadata.name: "shared" must contain \$\{serviceName\}/],
    ['another namespace', SEED_TEMPLATE.replace('"${defaultNamespace}"', 'elsewhere'), /metadata.namespace: "elsewhere" must be "\$\{defaultNamespace\}"/],
    ['a YAML error inside the template', 'apiVersion: [\n', /virtualServiceTemplate: line \d+, column \d+: /],
    ['http that is not a list', SEED_TEMPLATE.replace(/http:[\s\S]*$/, 'http: nope\n'), /spec.http: "nope" is not a list/],
    ['a template that is not a string', '', /virtualServiceTemplate: must be a YAML document in a string/],
    ['a destination without host', SEED_TEMPLATE.replace(/- destination:\n\s+host: .*\n/, '- destination: {}\n'), /spec.http\[0\].route\[0\].destination.host: is required/],
    [
      'a regex Istio refuses',
      SEED_TEMPLATE.replace('  - route:', '  - match: [{uri: {regex: "(?=x)"}}]\n    route:'),
      /spec.http\[0\].match\[0\].uri.regex: "\(\?=x\)" is not an RE2 regular expression/,
    ],
    [
      'a route without destination',
      SEED_TEMPLATE.replace(/ {2}- route:[\s\S]*$/, '  - name: maintenance\n    match: [{uri: {prefix: /maint}}]\n'),
      /spec.http\[0\]: needs a route, redirect, directResponse or delegate/,
    ],
    ['a timeout that is no duration', SEED_TEMPLATE.replace('  - route:', '  - timeout: "5"\n    route:'), /spec.http\[0\].timeout: "5" must be a valid duration greater than 1ms/],
    ['no routes at all', SEED_TEMPLATE.replace(/http:[\s\S]*$/, 'http: []\n'), /spec: needs http, tcp or tls routes/],
    [
      'two routes of one name',
      SEED_TEMPLATE.replace('  - route:', '  - name: main\n    match: [{uri: {prefix: /a}}]\n    route: [{destination: {host: a}}]\n  - name: main\n    route:'),
      /spec.http\[1\].name: "main" is already the name of spec.http\[0\]; each route needs its own name/,
    ],
    [
      "vsop's own annotation",
      SEED_TEMPLATE.replace('  namespace: "${defaultNamespace}"', '  namespace: "${defaultNamespace}"\n  annotations: {vsop.io/overrides: "{}"}'),
      /metadata.annotations.vsop.io\/overrides: is vsop's own annotation/,
    ],
    [
      "vsop's own label",
      SEED_TEMPLATE.replace('  namespace: "${defaultNamespace}"', '  namespace: "${defaultNamespace}"\n  labels: {managed-by: someone-else}'),
      /metadata.labels.managed-by: "someone-else": vsop's own label marks the objects vsop manages/,
    ],
    [
      'a server-set metadata field',
      SEED_TEMPLATE.replace('  namespace: "${defaultNamespace}"', '  namespace: "${defaultNamespace}"\n  resourceVersion: "1"'),
      /metadata.resourceVersion: is not set by a template/,
    ],
    [
      "a route named with vsop's prefix",
      SEED_TEMPLATE.replace('  - route:', '  - name: vsop-dev-something\n    route:'),
      /spec.http\[0\].name: "vsop-dev-something" starts with "vsop-", which names the routes vsop renders/,
    ],
  ];
  it('reads variables inside flow collections ({host: ${serviceName}.x}), where YAML alone would start a mapping', () => {
    const t =
      'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: "${serviceName}"}\nspec:\n  hosts: [${serviceName}]\n  http:\n  - route: [{destination: {host: ${serviceName}.${defaultNamespace}.svc.cluster.local}}]\n';
    const { template } = loadConfig(withTemplate(t), 'config.yaml');
    const vs = renderTemplate(template, { serviceName: 'web', defaultNamespace: 'prod' });
    assert.deepEqual(vs.spec, { hosts: ['web'], http: [{ route: [{ destination: { host: 'web.prod.svc.cluster.local' } }] }] });
    assert.match(problemsOf(withTemplate(t.replace('${defaultNamespace}', '${ns}')))[0]!, /unknown variable \$\{ns\}/);
  });

  for (const [name, template, pattern] of cases) {
    it(name, () => {
      const text = template === '' ? 'defaultNamespace: prod\nvirtualServiceTemplate: {a: 1}\n' : withTemplate(template);
      const got = problemsOf(text);
      assert.equal(got.length, 1, got.join('\n'));
      assert.match(got[0]!, pattern);
      assert.ok(got[0]!.startsWith('config.yaml:'), got[0]);
    });
  }
});

describe('loadConfig: routeKind HTTPRoute and its template', () => {
  const withTemplate = (t: string) =>
    `defaultNamespace: prod\nrouteKind: HTTPRoute\nhttpRouteTemplate: |\n${t
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n')}\n`;

  it('defaults to the GAMMA template: a route whose parent is the production Service, sending to it', () => {
    const { config, template } = loadConfig('defaultNamespace: prod\nrouteKind: HTTPRoute\n', 'config.yaml');
    assert.equal(config.routeKind, 'HTTPRoute');
    assert.equal(template.kind, 'HTTPRoute');
    const route = renderTemplate(template, { serviceName: 'web', defaultNamespace: 'prod' });
    assert.deepEqual(route.spec, { parentRefs: [{ group: '', kind: 'Service', name: 'web' }], rules: [{ backendRefs: [{ name: 'web' }] }] });
  });

  it('keeps VirtualService as the default, so existing configurations are unaffected', () => {
    assert.equal(loadConfig('defaultNamespace: prod\n', 'config.yaml').config.routeKind, 'VirtualService');
  });

  const good = SEED_HTTPROUTE_TEMPLATE;
  const cases: [string, string, string, RegExp][] = [
    ['an unknown route kind', 'defaultNamespace: prod\nrouteKind: GRPCRoute\n', 'routeKind', /routeKind: "GRPCRoute" must be one of VirtualService, HTTPRoute/],
    [
      'a VirtualService template given as the HTTPRoute template',
      withTemplate(SEED_TEMPLATE.replace('networking.istio.io/v1beta1', 'gateway.networking.k8s.io/v1')),
      'kind',
      /kind: "VirtualService" must be "HTTPRoute" \(a VirtualService template belongs in virtualServiceTemplate, used with routeKind: VirtualService\)/,
    ],
    ['another API group', withTemplate(good.replace('gateway.networking.k8s.io/v1', 'networking.istio.io/v1')), 'apiVersion', /is not a version of HTTPRoute that vsop writes/],
    [
      'a parentRef to a Gateway',
      withTemplate(good.replace(/parentRefs:\n[\s\S]*?rules:/, 'parentRefs:\n  - name: public-gw\n  rules:')),
      'parentRefs',
      /spec.parentRefs\[0\]: .* is not the production Service: use exactly one parentRef, the production Service/,
    ],
    [
      'a second parentRef',
      withTemplate(good.replace('  rules:', '  - {group: "", kind: Service, name: other}\n  rules:')),
      'parentRefs',
      /spec.parentRefs: must hold exactly one parentRef, the production Service/,
    ],
    [
      'a parentRef port',
      withTemplate(good.replace('    name: ${serviceName}\n  rules:', '    name: ${serviceName}\n    port: 80\n  rules:')),
      'port',
      /must not set port or sectionName/,
    ],
    ['no rule to production', withTemplate(good.replace('    - name: ${serviceName}\n', '    - name: elsewhere\n')), 'rules', /has no rule sending to the production Service/],
    [
      'a rule name (not in the standard channel)',
      withTemplate(good.replace('  - backendRefs:', '  - name: main\n    backendRefs:')),
      'name',
      /spec.rules\[0\].name: is not part of the Gateway API standard channel/,
    ],
    [
      'a header regex RE2 refuses',
      withTemplate(good.replace('  - backendRefs:', '  - matches: [{headers: [{type: RegularExpression, name: x-a, value: "(?=x)"}]}]\n    backendRefs:')),
      'regex',
      /spec.rules\[0\].matches\[0\].headers\[0\].value: "\(\?=x\)" is not an RE2 regular expression/,
    ],
  ];
  for (const [name, text, _what, pattern] of cases) {
    it(`refuses ${name}`, () => {
      const got = problemsOf(text);
      assert.equal(got.length, 1, got.join('\n'));
      assert.match(got[0]!, pattern);
    });
  }
});

describe('loadConfig: one document', () => {
  it("a second YAML document is named in plain words, where its --- is; the yaml package's API hint never shows", () => {
    assert.deepEqual(problemsOf('defaultNamespace: prod\n---\nfoo: bar\n'), [
      'config.yaml:2:1: : holds more than one YAML document, and a second one starts here (at its ---): vsop reads one; remove the --- and what follows it, or merge the two',
    ]);
    assert.deepEqual(
      problemsOf('# prod\ndefaultNamespace: prod\n\n--- # more\nfoo: bar\n').map((p) => p.split(':').slice(0, 3).join(':')),
      ['config.yaml:4:1'],
    );
  });

  it('a leading --- and an indented first comment are one document', () => {
    assert.equal(loadConfig('--- # the settings\ndefaultNamespace: prod\n', 'x').config.defaultNamespace, 'prod');
    assert.equal(loadConfig('  # indented\ndefaultNamespace: prod\n', 'x').config.defaultNamespace, 'prod');
  });
});
