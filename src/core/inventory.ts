// Sorting parsed documents into what vsop reads: its ConfigMap (or a bare config.yaml), Services and
// VirtualServices. Lists are flattened, other kinds are ignored, duplicates are errors.

import { InputError, type Problem } from '../errors.ts';
import { virtualServiceSpecProblems } from './istio/shape.ts';
import { objectNameProblem } from './names.ts';
import { CONFIG_KEY } from './ownership.ts';
import { configMapText } from './text.ts';
import { isRecord } from './template.ts';
import type { ConfigLocation, KubeObject, Service, VirtualService } from './types.ts';

export interface SourcedDocument {
  value: unknown;
  /** e.g. `examples/basic/services.yaml:12` */
  source: string;
  /** The document's own text, for error positions in a bare config.yaml. */
  text?: string;
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
  /** ConfigMaps seen that were not the one looked for, to make "not found" helpful. */
  otherConfigMaps: string[];
}

const ISTIO_GROUP = 'networking.istio.io/';

export function collect(docs: readonly SourcedDocument[], location: ConfigLocation): Inventory {
  const problems: Problem[] = [];
  const seen = new Map<string, string>();
  const inventory: Inventory = { services: [], virtualServices: [], otherConfigMaps: [] };
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
      setConfig({ text: doc.text ?? JSON.stringify(value), source: source.replace(/:1$/, '') }, source);
      return;
    }
    if (typeof value.kind !== 'string' || typeof value.apiVersion !== 'string') {
      problems.push({ source, path: '', message: 'is not a Kubernetes object (apiVersion and kind are required)' });
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
    const relevant =
      (value.kind === 'Service' && value.apiVersion === 'v1') ||
      (value.kind === 'VirtualService' && value.apiVersion.startsWith(ISTIO_GROUP)) ||
      (value.kind === 'ConfigMap' && value.apiVersion === 'v1');
    if (!relevant) return;
    const meta = value.metadata;
    if (!isRecord(meta) || typeof meta.name !== 'string' || meta.name === '') {
      problems.push({ source, path: 'metadata.name', message: `${value.kind} needs a metadata.name` });
      return;
    }
    const nameProblem = objectNameProblem(meta.name);
    if (nameProblem) {
      problems.push({ source, path: 'metadata.name', message: `${JSON.stringify(meta.name)} ${nameProblem}` });
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
    else {
      if (!isRecord(value.spec)) {
        problems.push({ source, path: 'spec', message: `virtualservice ${ns}/${meta.name} has no spec` });
        return;
      }
      const shape = virtualServiceSpecProblems(value.spec);
      if (shape.length > 0) {
        // The CRD schema and Istio's webhook keep these out of a cluster; from files they are refused alike.
        for (const p of shape) problems.push({ source, path: p.path, message: `virtualservice ${ns}/${meta.name}: ${p.message}` });
        return;
      }
      inventory.virtualServices.push(obj as VirtualService);
    }
  };

  for (const doc of docs) visit(doc.value, doc.source, doc, []);
  if (problems.length > 0) throw new InputError('invalid input', problems);
  return inventory;
}
