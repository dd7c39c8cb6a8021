// Turns the schema bundle into validator code with ajv, once, when the bundle is generated (scripts/
// schemas.ts writes validators.gen.js): ajv takes 100 to 300 ms to compile the Service and VirtualService
// schemas, more than vsop's whole start-up, while the module it generates is bundled, minified and kept
// in Node's compile cache like the rest of vsop. test/unit/schema.test.ts compiles the bundle again and
// compares, so the code cannot drift from the schemas. Not loaded at run time: ajv is a dev dependency.
//
// Options: every problem at once (allErrors), as vsop reports config problems; no messages (vsop words
// its own, validate.ts). Every object schema becomes a function of its own (hoisted, not inlined), so
// V8 compiles only the parts of the VirtualService schema that an input reaches.

import { _, Ajv, type KeywordCxt } from 'ajv';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { celRule, DURATION_RULE, durationAtLeast1ms, FORMATS } from './keywords.ts';

type Schema = Record<string, unknown>;

/** The validators validators.gen.js exports, by name, and the definition each checks. */
export const VALIDATORS = {
  Service: 'io.k8s.api.core.v1.Service',
  ConfigMap: 'io.k8s.api.core.v1.ConfigMap',
  VirtualService: 'io.istio.networking.v1.VirtualService',
  /** A template's spec. */
  VirtualServiceSpec: 'io.istio.networking.v1.VirtualService.spec',
  HTTPRoute: 'io.k8s.networking.gateway.v1.HTTPRoute',
  ReferenceGrant: 'io.k8s.networking.gateway.v1beta1.ReferenceGrant',
} as const;

function schemaAjv(): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    messages: false,
    inlineRefs: false,
    strict: false,
    code: { source: true, esm: true, lines: false, formats: _`FORMATS` },
  });
  for (const [name, def] of Object.entries(FORMATS)) ajv.addFormat(name, def as never);
  ajv.addKeyword({ keyword: 'x-kubernetes-preserve-unknown-fields' });
  ajv.addKeyword({ keyword: 'x-kubernetes-int-or-string' });
  ajv.addKeyword({
    keyword: 'x-kubernetes-validations',
    schemaType: 'array',
    error: { message: 'breaks a CEL rule', params: ({ params }) => _`{rule: ${params.rule as number}}` },
    code(cxt: KeywordCxt) {
      // One error per broken rule, its index in params.rule (validate.ts words it with the rule's message).
      (cxt.schema as { rule: string }[]).forEach(({ rule }, i) => {
        cxt.setParams({ rule: i });
        if (rule === DURATION_RULE) {
          const check = cxt.gen.scopeValue('func', { ref: durationAtLeast1ms, code: _`durationAtLeast1ms` });
          cxt.pass(_`${check}(${cxt.data})`);
        } else {
          const check = cxt.gen.scopeValue('func', { ref: celRule, code: _`celRule` });
          cxt.pass(_`${check}(${rule}, ${cxt.data})`);
        }
      });
    },
  });
  return ajv;
}

/** Each nested object schema as a definition of its own, named by its place (name.field.items…). */
function hoist(definitions: Record<string, Schema>): Record<string, Schema> {
  const out: Record<string, Schema> = structuredClone(definitions);
  const visit = (s: Schema, name: string, top: boolean): Schema => {
    if (s.items && typeof s.items === 'object') s.items = visit(s.items as Schema, `${name}.items`, false);
    if (s.additionalProperties && typeof s.additionalProperties === 'object') s.additionalProperties = visit(s.additionalProperties as Schema, `${name}.value`, false);
    for (const [p, v] of Object.entries((s.properties ?? {}) as Record<string, Schema>)) (s.properties as Record<string, Schema>)[p] = visit(v, `${name}.${p}`, false);
    if (top || !s.properties) return s;
    out[name] = s;
    return { $ref: `#/definitions/${name}` };
  };
  for (const name of Object.keys(definitions)) out[name] = visit(out[name]!, name, true);
  return out;
}

/** The text of validators.gen.js for the bundle's definitions (JavaScript: Node loads it without stripping types). */
export function validatorModule(definitions: Record<string, unknown>, header: string): string {
  const ajv = schemaAjv();
  ajv.addSchema({ definitions: hoist(definitions as Record<string, Schema>) }, 'k8s');
  for (const [name, ref] of Object.entries(VALIDATORS)) ajv.addSchema({ $ref: `k8s#/definitions/${ref}` }, name);
  const generate = standaloneCode as unknown as (ajv: Ajv, refs: Record<string, string>) => string;
  // ajv counts a string's length for maxLength and minLength in code points, as the apiserver does (Go's
  // utf8.RuneCountInString), with a function of its runtime: keywords.ts has the same, so nothing is required.
  const code = generate(ajv, Object.fromEntries(Object.keys(VALIDATORS).map((n) => [n, n]))).replaceAll('require("ajv/dist/runtime/ucs2length").default', 'ucs2length');
  if (/\brequire\(/.test(code)) throw new Error('the validators need a module at run time; give it to them in validatorModule');
  return [
    '// biome-ignore-all format: generated',
    '// biome-ignore-all lint: generated',
    `// ${header}`,
    "import { celRule, durationAtLeast1ms, FORMATS, ucs2length } from './keywords.ts';",
    code.replace(/^"use strict";/, ''),
    '',
  ].join('\n');
}

/** validators.gen.d.ts: each export is one of ajv's validate functions. */
export function validatorTypes(header: string): string {
  return [
    `// ${header}`,
    '',
    "/** One of ajv's errors as its generated code reports them (without messages). */",
    'export interface ValidatorError {',
    '  instancePath: string;',
    '  schemaPath: string;',
    '  keyword: string;',
    '  params: Record<string, unknown>;',
    '}',
    '',
    'export type Validator = ((value: unknown) => boolean) & { errors?: ValidatorError[] | null };',
    '',
    ...Object.keys(VALIDATORS).map((name) => `export declare const ${name}: Validator;`),
    '',
  ].join('\n');
}
