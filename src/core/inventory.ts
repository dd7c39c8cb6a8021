// Sorting parsed documents into what vsop reads: its ConfigMap (or a bare config.yaml), Services,
// VirtualServices, the Gateway API's HTTPRoutes and ReferenceGrants, and (for `vsop xds render`)
// EndpointSlices. Lists are flattened, other kinds are ignored, duplicates are errors.

import { InputError, type Problem } from '../errors.ts';
import { LineCounter, parseDocument } from 'yaml';
import { istioRuleProblems } from './istio/shape.ts';
import { checkedKind, knownVersions, objectProblems, type Path, pathSteps, pathText } from './schema/validate.ts';
import { CONFIG_KEY } from './ownership.ts';
import { configMapText } from './text.ts';
import { isRecord } from './template.ts';
import { READ_OPTIONS } from './yaml.ts';
import type { HTTPRoute, ReferenceGrant } from './render/httproute.ts';
import type { ConfigLocation, EndpointSlice, KubeObject, Service, VirtualService } from './types.ts';

export interface SourcedDocument {
  value: unknown;
  /** e.g. `examples/basic/services.yaml:12` */
  source: string;
  /** The document's own text, for error positions in a bare config.yaml. */
  text?: string;
  /** Where `text` begins in its file (1-based line and column), so its positions map to the file's. */
  textStart?: { file: string; line: number; col: number };
  /** Where a block scalar's content (`key: |`) starts in the file, so its lines map to file lines. */
  blockStart?: (path: readonly (string | number)[]) => { file: string; line: number; indent: number } | undefined;
}

export interface ConfigText {
  text: string;
  /** e.g. `configmap virtualservice-operator-system/virtualservice-operator-config (cm.yaml:1), config.yaml` */
  source: string;
  /** Names a position in `text` the way the user finds it: a file line when the text is a block in a file. */
  locate?: (line: number, col: number) => string;
}

export interface Inventory {
  config?: ConfigText;
  services: Service[];
  virtualServices: VirtualService[];
  httpRoutes: HTTPRoute[];
  referenceGrants: ReferenceGrant[];
  /** discovery.k8s.io/v1 EndpointSlices: only the xDS server reads them. */
  endpointSlices: EndpointSlice[];
  /** ConfigMaps seen that were not the one looked for, to make "not found" helpful. */
  otherConfigMaps: string[];
}

const ISTIO_GROUP = 'networking.istio.io';
const GATEWAY_GROUP = 'gateway.networking.k8s.io';
/** The kinds vsop reads; every other kind in the input is left alone. */
const READ_KINDS = new Set(['Service', 'ConfigMap', 'VirtualService', 'HTTPRoute', 'ReferenceGrant']);
/** The API group of each kind vsop reads. */
const GROUPS: Record<string, string> = { Service: '', ConfigMap: '', VirtualService: ISTIO_GROUP, HTTPRoute: GATEWAY_GROUP, ReferenceGrant: GATEWAY_GROUP };
/**
 * The versions the Gateway API's standard channel (v1.3.0) serves its kinds in. Those kinds are not held
 * to their CRD's schema here (vsop carries no Gateway API schema yet): a name, a namespace and a spec
 * mapping are required.
 */
const GATEWAY_VERSIONS: Record<string, readonly string[]> = { HTTPRoute: ['v1', 'v1beta1'], ReferenceGrant: ['v1beta1'] };

export function collect(docs: readonly SourcedDocument[], location: ConfigLocation): Inventory {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  const inventory: Inventory = { services: [], virtualServices: [], httpRoutes: [], referenceGrants: [], endpointSlices: [], otherConfigMaps: [] };
  let configSource: string | undefined;

  const setConfig = (config: ConfigText, source: string) => {
    if (configSource) {
      problems.push({ source, path: '', message: `a second configuration (the first is at ${configSource})` });
      return;
    }
    configSource = source;
    inventory.config = config;
  };

  const visit = (value: unknown, source: string, doc: SourcedDocument, path: (string | number)[]) => {
    if (value === null || value === undefined) return; // an empty document between "---" lines
    if (!isRecord(value)) {
      problems.push({ source, path: '', message: 'is not a Kubernetes object (expected a mapping with apiVersion and kind)' });
      return;
    }
    if (value.kind === undefined && 'defaultNamespace' in value) {
      // A bare config.yaml file: positions in the config are then the file's own lines.
      const start = doc.textStart;
      // (the column moves only on the text's first line, where the document may start mid-line: `--- {…}`)
      const locate = start ? (line: number, col: number) => `${start.file}:${start.line + line - 1}:${line === 1 ? start.col + col - 1 : col}` : undefined;
      setConfig({ text: doc.text ?? JSON.stringify(value), source: source.replace(/:1$/, ''), ...(locate ? { locate } : {}) }, source);
      return;
    }
    if (typeof value.kind !== 'string' || typeof value.apiVersion !== 'string') {
      problems.push({ source, path: '', message: 'is not a Kubernetes object (apiVersion and kind are required)' });
      return;
    }
    const malformed = typeProblem(value.apiVersion, value.kind);
    if (malformed) {
      problems.push({ source, path: '', message: `is not a Kubernetes object: ${malformed}` });
      return;
    }
    if (value.kind === 'List' || (value.kind.endsWith('List') && Array.isArray(value.items))) {
      if (!Array.isArray(value.items)) {
        problems.push({ source, path: 'items', message: 'must be a list' });
        return;
      }
      value.items.forEach((item: unknown, i) => visit(item, `${source} items[${i}]`, doc, [...path, 'items', i]));
      return;
    }
    if (value.kind === 'EndpointSlice' && value.apiVersion === ENDPOINTSLICE_VERSION) {
      const problem = endpointSliceProblem(value);
      if (problem) problems.push({ source: sourceAt(doc, source, [...path, ...problem.path]), path: pathText(problem.path), message: problem.message });
      else {
        const meta = value.metadata as { name: string; namespace: string };
        const id = `EndpointSlice/${meta.namespace}/${meta.name}`;
        const first = seen.get(id);
        if (first) problems.push({ source, path: '', message: `endpointslice ${meta.namespace}/${meta.name} appears twice (first at ${first})` });
        else seen.set(id, source), inventory.endpointSlices.push(value as unknown as EndpointSlice);
      }
      return;
    }
    if (!READ_KINDS.has(value.kind)) return;
    const group = value.apiVersion.includes('/') ? value.apiVersion.slice(0, value.apiVersion.indexOf('/')) : '';
    // A kind of this name in another API group (a Knative Service) is not vsop's; in vsop's group, only
    // the versions the apiserver serves are.
    if (group !== GROUPS[value.kind]) return;
    const gatewayVersions = GATEWAY_VERSIONS[value.kind];
    if (gatewayVersions && !gatewayVersions.includes(value.apiVersion.slice(group.length + 1))) {
      const known = gatewayVersions.map((v) => `${GATEWAY_GROUP}/${v}`).join(', ');
      problems.push({
        source,
        path: 'apiVersion',
        message: `${JSON.stringify(value.apiVersion)} is not a version the Gateway API's standard channel serves ${value.kind} in (${known})`,
      });
      return;
    }
    if (!gatewayVersions && !checkedKind(value.apiVersion, value.kind)) {
      const known = knownVersions(value.kind).join(', ');
      problems.push({ source, path: 'apiVersion', message: `${JSON.stringify(value.apiVersion)} is not a version the apiserver serves ${value.kind} in (${known})` });
      return;
    }
    const meta = value.metadata as Record<string, unknown> | undefined;
    const what = `${value.kind.toLowerCase()}${typeof meta?.name === 'string' ? ` ${typeof meta.namespace === 'string' ? `${meta.namespace}/` : ''}${meta.name}` : ''}`;
    const invalid = gatewayVersions ? [] : objectProblems(value);
    if (invalid.length > 0) {
      for (const p of invalid) problems.push({ source: sourceAt(doc, source, [...path, ...p.path]), path: pathText(p.path), message: `${what}: ${p.message}` });
      return;
    }
    if (!meta || typeof meta.name !== 'string' || meta.name === '') {
      problems.push({ source, path: 'metadata.name', message: `${value.kind} needs a metadata.name` });
      return;
    }
    const ns = meta.namespace;
    if (value.kind === 'ConfigMap') {
      if (meta.name !== location.name || (ns !== undefined && ns !== location.namespace)) {
        inventory.otherConfigMaps.push(`${ns ?? '(no namespace)'}/${meta.name}`);
        return;
      }
      const label = `configmap ${location.namespace}/${location.name} (${source})`;
      const found = configMapText(value);
      if (!found || 'problem' in found) {
        const keys = [value.data, value.binaryData].flatMap((m) => (isRecord(m) ? Object.keys(m) : []));
        problems.push({
          source,
          path: found?.field ?? `data["${CONFIG_KEY}"]`,
          message: found ? found.problem : `configmap ${location.namespace}/${location.name} has no ${CONFIG_KEY} key${keys.length ? ` (it has: ${keys.join(', ')})` : ''}`,
        });
        return;
      }
      // Positions in a block of the file itself; binaryData has none to point at.
      const start = found.field.startsWith('data') ? doc.blockStart?.([...path, 'data', CONFIG_KEY]) : undefined;
      const locate = start ? (line: number, col: number) => `${start.file}:${start.line + line - 1}:${start.indent + col}` : undefined;
      setConfig({ text: found.text, source: `${label}, ${found.field === `data["${CONFIG_KEY}"]` ? CONFIG_KEY : found.field}`, ...(locate ? { locate } : {}) }, source);
      return;
    }
    if (typeof ns !== 'string' || ns === '') {
      problems.push({
        source,
        path: 'metadata.namespace',
        message: `${value.kind.toLowerCase()} ${meta.name} has no namespace; vsop routes by namespace, so every object must name its own`,
      });
      return;
    }
    const id = `${value.kind}/${ns}/${meta.name}`;
    const first = seen.get(id);
    if (first) {
      problems.push({ source, path: '', message: `${value.kind.toLowerCase()} ${ns}/${meta.name} appears twice (first at ${first})` });
      return;
    }
    seen.set(id, source);
    const obj = value as unknown as KubeObject;
    if (value.kind === 'Service') inventory.services.push(obj as Service);
    else if (gatewayVersions) {
      if (!isRecord(value.spec)) {
        problems.push({ source, path: 'spec', message: `${value.kind.toLowerCase()} ${ns}/${meta.name} has no spec` });
        return;
      }
      if (value.kind === 'HTTPRoute') inventory.httpRoutes.push(obj as HTTPRoute);
      else inventory.referenceGrants.push(obj as ReferenceGrant);
    } else {
      if (!isRecord(value.spec)) {
        problems.push({ source, path: 'spec', message: `virtualservice ${ns}/${meta.name} has no spec` });
        return;
      }
      const shape = istioRuleProblems(value.spec);
      if (shape.length > 0) {
        // The CRD schema and Istio's webhook keep these out of a cluster; from files they are refused alike.
        for (const p of shape) problems.push({ source: sourceAt(doc, source, [...path, ...pathSteps(p.path)]), path: p.path, message: `${what}: ${p.message}` });
        return;
      }
      inventory.virtualServices.push(obj as VirtualService);
    }
  };

  for (const doc of docs) visit(doc.value, doc.source, doc, []);
  if (problems.length > 0) throw new InputError('invalid input', problems);
  return inventory;
}

const ENDPOINTSLICE_VERSION = 'discovery.k8s.io/v1';

/**
 * Why an EndpointSlice cannot be read, as far as the xDS renderer reads one: a name and namespace, lists
 * where the API has lists, strings for addresses, whole numbers for ports. (Not the apiserver's whole
 * schema: an EndpointSlice is read by `vsop xds render` alone, and written by the cluster, not by people.)
 */
function endpointSliceProblem(value: Record<string, unknown>): { path: Path; message: string } | undefined {
  const meta = value.metadata;
  if (!isRecord(meta) || typeof meta.name !== 'string' || meta.name === '') return { path: ['metadata', 'name'], message: 'EndpointSlice needs a metadata.name' };
  if (typeof meta.namespace !== 'string' || meta.namespace === '') return { path: ['metadata', 'namespace'], message: `endpointslice ${meta.name} has no namespace` };
  const what = `endpointslice ${meta.namespace}/${meta.name}`;
  if (value.endpoints !== undefined && value.endpoints !== null && !Array.isArray(value.endpoints)) return { path: ['endpoints'], message: `${what}: must be a list` };
  for (const [i, e] of ((value.endpoints as unknown[]) ?? []).entries()) {
    if (!isRecord(e)) return { path: ['endpoints', i], message: `${what}: must be a mapping` };
    if (!Array.isArray(e.addresses) || e.addresses.some((a) => typeof a !== 'string'))
      return { path: ['endpoints', i, 'addresses'], message: `${what}: must be a list of strings` };
    if (e.conditions !== undefined && !isRecord(e.conditions)) return { path: ['endpoints', i, 'conditions'], message: `${what}: must be a mapping` };
    const ready = isRecord(e.conditions) ? e.conditions.ready : undefined;
    if (ready !== undefined && ready !== null && typeof ready !== 'boolean') return { path: ['endpoints', i, 'conditions', 'ready'], message: `${what}: must be true or false` };
  }
  if (value.ports !== undefined && value.ports !== null && !Array.isArray(value.ports)) return { path: ['ports'], message: `${what}: must be a list` };
  for (const [i, p] of ((value.ports as unknown[]) ?? []).entries()) {
    if (!isRecord(p)) return { path: ['ports', i], message: `${what}: must be a mapping` };
    if (p.port !== undefined && p.port !== null && !(Number.isInteger(p.port) && (p.port as number) >= 0 && (p.port as number) <= 65535))
      return { path: ['ports', i, 'port'], message: `${what}: must be a port number (0 to 65535)` };
    if (p.name !== undefined && p.name !== null && typeof p.name !== 'string') return { path: ['ports', i, 'name'], message: `${what}: must be a string` };
  }
  return undefined;
}

// A kind is a DNS-1035 label once lower-cased (apiextensions' ValidateCustomResourceDefinitionNames); a
// version is a DNS-1035 label after an optional API group, which is a DNS subdomain (the CRD rules;
// k8s.io/apimachinery schema.ParseGroupVersion splits them at the one "/").
const KIND = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;
const API_VERSION = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[a-z]([-a-z0-9]*[a-z0-9])?$/;

/** Why `apiVersion` and `kind` cannot name a kind of any API (so no apiserver would take the object). */
function typeProblem(apiVersion: string, kind: string): string | undefined {
  if (!KIND.test(kind.toLowerCase())) return `kind ${JSON.stringify(kind)} is not a kind name (letters, digits and "-", starting with a letter, such as Service)`;
  if (apiVersion.length > 317 || !API_VERSION.test(apiVersion))
    return `apiVersion ${JSON.stringify(apiVersion)} is not an API version (VERSION or GROUP/VERSION, such as v1 or networking.istio.io/v1)`;
  return undefined;
}

/** Documents parsed again to place their problems, once each however many problems they have. */
const reparsed = new WeakMap<SourcedDocument, { parsed: ReturnType<typeof parseDocument>; lineCounter: LineCounter }>();

/**
 * Where a problem at `path` (from the document's root) is in the file: the line of the value, or of the
 * nearest enclosing one that exists, found by parsing the document's text again (only when something is
 * wrong). The document's own position when its text is not at hand.
 */
function sourceAt(doc: SourcedDocument, source: string, path: Path): string {
  const at = /^(.*):(\d+)(?: items\[\d+\])?$/s.exec(doc.source);
  if (!doc.text || !at) return source;
  try {
    let found = reparsed.get(doc);
    if (!found) {
      const lineCounter = new LineCounter();
      found = { parsed: parseDocument(doc.text, { lineCounter, ...READ_OPTIONS, uniqueKeys: false }), lineCounter };
      reparsed.set(doc, found);
    }
    const { parsed, lineCounter } = found;
    const start = parsed.contents?.range?.[0];
    if (start === undefined) return source;
    for (let n = path.length; n >= 0; n--) {
      const node = parsed.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
      if (!node?.range) continue;
      return `${at[1]}:${Number(at[2]) + lineCounter.linePos(node.range[0]).line - lineCounter.linePos(start).line}`;
    }
  } catch {
    // The text parsed once already; should it not again, the document's position is still right.
  }
  return source;
}
