// The defaults the apiserver fills into an HTTPRoute when it stores one: the `default`s of the Gateway
// API's CRD schema (standard channel v1.3.0, config/crd/standard/gateway.networking.k8s.io_httproutes.yaml,
// served versions v1 and v1beta1 alike; ReferenceGrant has none). vsop compares what it wants with what is
// stored after filling them in the same way, so a route the apiserver stored as vsop wrote it plans
// nothing. The integration test (test/integration/httproute-sync.test.ts) holds this table to the CRD the
// test apiserver serves.
//
// Written out rather than read from the CRD at run time: vsop carries no CRD, and this is ten fields.

/** Where the schema sets defaults: `default` for the field itself, then its properties and list items. */
export interface DefaultsTree {
  default?: unknown;
  properties?: Record<string, DefaultsTree>;
  items?: DefaultsTree;
}

const PATH_PREFIX_ROOT = { path: { type: 'PathPrefix', value: '/' } };

const SERVICE_REF: DefaultsTree = { properties: { group: { default: '' }, kind: { default: 'Service' } } };

const FILTER: DefaultsTree = {
  properties: {
    requestMirror: { properties: { backendRef: SERVICE_REF, fraction: { properties: { denominator: { default: 100 } } } } },
    requestRedirect: { properties: { statusCode: { default: 302 } } },
  },
};

const MATCH: DefaultsTree = {
  properties: {
    path: { default: PATH_PREFIX_ROOT.path, properties: { type: { default: 'PathPrefix' }, value: { default: '/' } } },
    headers: { items: { properties: { type: { default: 'Exact' } } } },
    queryParams: { items: { properties: { type: { default: 'Exact' } } } },
  },
};

/** The HTTPRoute CRD's defaults under `spec`. */
export const HTTPROUTE_SPEC_DEFAULTS: DefaultsTree = {
  properties: {
    parentRefs: { items: { properties: { group: { default: 'gateway.networking.k8s.io' }, kind: { default: 'Gateway' } } } },
    rules: {
      default: [{ matches: [PATH_PREFIX_ROOT] }],
      items: {
        properties: {
          matches: { default: [PATH_PREFIX_ROOT], items: MATCH },
          filters: { items: FILTER },
          backendRefs: {
            items: {
              properties: { ...SERVICE_REF.properties, weight: { default: 1 }, filters: { items: FILTER } },
            },
          },
        },
      },
    },
  },
};

/**
 * `value` with every default of `tree` filled in where the field is absent (or null), as the apiserver's
 * structural defaulting does (k8s.io/apiextensions-apiserver pkg/apiserver/schema/defaulting: a default is
 * set, then defaulted itself in turn). Returns a new value; never modifies its argument.
 */
export function withDefaults(value: unknown, tree: DefaultsTree): unknown {
  if (value === undefined || value === null) {
    if (tree.default === undefined) return value;
    value = structuredClone(tree.default);
  }
  if (Array.isArray(value)) return tree.items ? value.map((v) => withDefaults(v, tree.items!)) : value;
  if (typeof value !== 'object' || !tree.properties) return value;
  const out: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  for (const [k, sub] of Object.entries(tree.properties)) {
    const v = withDefaults(out[k], sub);
    if (v !== undefined && v !== null) out[k] = v;
  }
  return out;
}

/** An HTTPRoute's spec as the apiserver stores it. */
export function httpRouteSpecWithDefaults<T>(spec: T): T {
  return withDefaults(spec, HTTPROUTE_SPEC_DEFAULTS) as T;
}
