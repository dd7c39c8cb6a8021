// Generates src/core/schema/schemas.gen.json, the schemas vsop checks input objects against (npm run
// schemas; run again when test/cluster or test/istio move to another release, and commit the result):
//
// - Service and ConfigMap: Kubernetes' own OpenAPI v3 (api/openapi-spec/v3/api__v1_openapi.json of the
//   k8s.io/kubernetes module test/cluster builds the apiserver from), with the definitions they reach.
// - VirtualService: the openAPIV3Schema of Istio's CRD (kubernetes/customresourcedefinitions.gen.yaml of
//   the istio.io/api module test/istio pins), which the apiserver validates custom resources with.
// - HTTPRoute and ReferenceGrant (routeKind HTTPRoute): the openAPIV3Schema of the Gateway API's
//   standard-channel CRDs (config/crd/standard/*.yaml of the sigs.k8s.io/gateway-api module test/istio
//   requires, the files the test apiserver serves), CEL rules (x-kubernetes-validations) included: each
//   must parse with the CEL library vsop evaluates them with (src/core/schema/keywords.ts celRule).
//
// All come from the Go module cache (`go mod download` fills it), so the versions are the test cluster's.
// From the bundle, ajv generates the validators' code (validators.gen.js, typed by validators.gen.d.ts; see src/core/schema/compile.ts).
// The bundle is trimmed to what validation reads (no descriptions, defaults or patch hints) and is made
// strict the way the apiserver's strict field validation is (kubectl apply's and Helm's default): an
// object schema with properties gets `additionalProperties: false` unless it says
// x-kubernetes-preserve-unknown-fields. Custom resources get apiVersion, kind and ObjectMeta beside the
// CRD's own schema, as the apiserver adds them.

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { validatorModule, validatorTypes } from '../src/core/schema/compile.ts';
import { celProgram } from '../src/core/schema/keywords.ts';

const OUT = 'src/core/schema/schemas.gen.json';
const CODE = 'src/core/schema/validators.gen.js';
const env = { ...process.env, PATH: `${process.env.PATH}:/usr/local/go/bin` };

/** The module's directory and version as the given test module resolves it (replacements included). */
function goModule(moduleDir: string, path: string): { dir: string; version: string } {
  execFileSync('go', ['mod', 'download', path], { cwd: moduleDir, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const out = execFileSync('go', ['list', '-m', '-f', '{{with .Replace}}{{.Dir}} {{.Version}}{{else}}{{.Dir}} {{.Version}}{{end}}', path], {
    cwd: moduleDir,
    env,
    encoding: 'utf8',
  });
  const [dir, version] = out.trim().split(' ');
  return { dir: dir!, version: version! };
}

type Schema = Record<string, unknown>;

/** The keywords a trimmed schema may hold: each is one ajv checks or src/core/schema/keywords.ts defines. */
const KEYWORDS = new Set([
  ...['type', 'properties', 'additionalProperties', 'items', 'required', 'enum', 'format', 'nullable', '$ref'],
  ...['allOf', 'anyOf', 'oneOf', 'not', 'minimum', 'maximum', 'minItems', 'maxItems', 'minLength', 'maxLength', 'pattern'],
  ...['minProperties', 'maxProperties', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string', 'x-kubernetes-validations'],
]);
/** Annotations validation does not read (list and map types matter to merges; Service ports are checked in rules.ts). */
const DROPPED = new Set(['description', 'default', 'example', 'x-kubernetes-group-version-kind', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type']);

/** Drops what validation does not read; `{allOf: [{$ref}]}` (the v3 spec's way to add a description) becomes the $ref. */
function trim(schema: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(schema)) {
    if (DROPPED.has(k) || k.startsWith('x-kubernetes-patch')) continue;
    if (!KEYWORDS.has(k)) throw new Error(`a schema keyword vsop does not check: ${k} (in ${JSON.stringify(schema).slice(0, 200)})`);
    if (k === 'properties') out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, s]) => [p, trim(s)]));
    else if (k === 'items' || k === 'not' || (k === 'additionalProperties' && typeof v === 'object')) out[k] = trim(v as Schema);
    else if (k === 'allOf' || k === 'anyOf' || k === 'oneOf') out[k] = (v as Schema[]).map(trim);
    else out[k] = v;
  }
  if (Array.isArray(out.allOf) && out.allOf.length === 1 && Object.keys(out).length === 1) return out.allOf[0] as Schema;
  if (typeof out.$ref === 'string') out.$ref = out.$ref.replace('#/components/schemas/', '#/definitions/');
  if (out.properties && out.additionalProperties === undefined && out['x-kubernetes-preserve-unknown-fields'] !== true) out.additionalProperties = false;
  for (const rule of (out['x-kubernetes-validations'] as { rule: string }[] | undefined) ?? []) {
    celProgram(rule.rule); // throws on a rule the CEL library cannot parse
  }
  return out;
}

function reach(defs: Record<string, Schema>, roots: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const todo = [...roots];
  while (todo.length) {
    const name = todo.pop()!;
    if (name in out) continue;
    const def = defs[name];
    if (!def) throw new Error(`no definition ${name}`);
    out[name] = trim(def);
    JSON.stringify(def, (k, v) => (k === '$ref' && typeof v === 'string' && todo.push(v.split('/').pop()!), v));
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

const kube = goModule('test/cluster', 'k8s.io/kubernetes');
const openapi = JSON.parse(readFileSync(join(kube.dir, 'api/openapi-spec/v3/api__v1_openapi.json'), 'utf8'));
const SERVICE = 'io.k8s.api.core.v1.Service';
const CONFIGMAP = 'io.k8s.api.core.v1.ConfigMap';
const OBJECT_META = 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta';
const definitions = reach(openapi.components.schemas, [SERVICE, CONFIGMAP, OBJECT_META]);

const kinds: Record<string, string> = { 'v1/Service': SERVICE, 'v1/ConfigMap': CONFIGMAP };

/** Each served version of a CRD as a definition named `<prefix>.<version>.<Kind>` (versions of one schema share one). */
function addCrd(
  crd: { spec: { group: string; names: { kind: string }; versions: { name: string; served: boolean; schema: { openAPIV3Schema: Schema } }[] } },
  prefix: string,
): void {
  const byText = new Map<string, string>();
  const kind = crd.spec.names.kind;
  for (const v of crd.spec.versions) {
    if (!v.served) continue;
    const schema = trim(v.schema.openAPIV3Schema) as Schema;
    const text = JSON.stringify(schema);
    let name = byText.get(text);
    if (!name) {
      name = `${prefix}.${v.name}.${kind}`;
      byText.set(text, name);
      definitions[name] = {
        ...schema,
        properties: {
          apiVersion: { type: 'string' },
          kind: { type: 'string' },
          metadata: { $ref: `#/definitions/${OBJECT_META}` },
          ...(schema.properties as Schema),
        },
        additionalProperties: false,
      };
    }
    kinds[`${crd.spec.group}/${v.name}/${kind}`] = name;
  }
}

const istio = goModule('test/istio', 'istio.io/api');
const crdFile = 'kubernetes/customresourcedefinitions.gen.yaml';
const crd = parseAllDocuments(readFileSync(join(istio.dir, crdFile), 'utf8'))
  .map((d) => d.toJS())
  .find((d) => d?.spec?.names?.kind === 'VirtualService');
addCrd(crd, 'io.istio.networking');

const gateway = goModule('test/istio', 'sigs.k8s.io/gateway-api');
const gatewayFiles = ['httproutes', 'referencegrants'].map((f) => `config/crd/standard/gateway.networking.k8s.io_${f}.yaml`);
for (const f of gatewayFiles) addCrd(parse(readFileSync(join(gateway.dir, f), 'utf8')), 'io.k8s.networking.gateway');

const bundle = {
  $comment: [
    `Generated by scripts/schemas.ts (npm run schemas); do not edit.`,
    `Service, ConfigMap, ObjectMeta: k8s.io/kubernetes ${kube.version}, api/openapi-spec/v3/api__v1_openapi.json.`,
    `VirtualService: istio.io/api ${istio.version}, ${crdFile}, ${crd.metadata.name} openAPIV3Schema.`,
    `HTTPRoute, ReferenceGrant: sigs.k8s.io/gateway-api ${gateway.version}, ${gatewayFiles.join(', ')}, openAPIV3Schema.`,
    'Trimmed (no descriptions, defaults, patch hints); additionalProperties: false where the apiserver refuses unknown fields under strict validation.',
  ].join(' '),
  versions: { kubernetes: kube.version, istioApi: istio.version, gatewayApi: gateway.version },
  kinds,
  definitions,
};
writeFileSync(OUT, `${JSON.stringify(bundle)}\n`);
const ajvVersion = JSON.parse(readFileSync('node_modules/ajv/package.json', 'utf8')).version;
const header = `Generated by scripts/schemas.ts (npm run schemas) from schemas.gen.json with ajv ${ajvVersion}; do not edit.`;
writeFileSync(CODE, validatorModule(definitions, header));
writeFileSync(CODE.replace(/\.js$/, '.d.ts'), validatorTypes(header));
execFileSync('npx', ['biome', 'format', '--write', OUT, CODE.replace(/\.js$/, '.d.ts')], { stdio: 'inherit' });
console.log(`${OUT}: ${Object.keys(definitions).length} definitions, ${JSON.stringify(bundle).length} bytes; ${CODE}: ${readFileSync(CODE).length} bytes`);
