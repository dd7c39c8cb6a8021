// config.yaml of the ConfigMap: parsed, checked as a whole (every problem, each with its path, position
// and offending value), then returned with the defaults the seed operator implies.

import { isScalar, LineCounter, parseAllDocuments, parseDocument, type Document } from 'yaml';
import { documentValue, READ_OPTIONS } from './yaml.ts';
import { ConfigError, type Problem } from '../errors.ts';
import { closest, headerNameProblem, headerValueProblem, namespaceNameProblem } from './names.ts';
import { SYSTEM_NAMESPACES } from './ownership.ts';
import { isRecord, parseTemplate, ROUTE_KINDS, type RouteKind, SEED_HTTPROUTE_TEMPLATE, SEED_TEMPLATE, type Template } from './template.ts';
import type { Config, DeveloperNamespace } from './types.ts';

export const DEFAULT_ROUTING_HEADER = 'x-developer';

const KEYS = [
  'defaultNamespace',
  'developerNamespaces',
  'virtualServiceTemplate',
  'enablePlaceholderServices',
  'routingHeader',
  'excludedNamespaces',
  'routeKind',
  'httpRouteTemplate',
] as const;
const NAMESPACE_KEYS = ['name', 'headerValue', 'parent'] as const;

export interface LoadedConfig {
  config: Config;
  template: Template;
  warnings: Problem[];
}

type Path = (string | number)[];

/**
 * Parses config.yaml. `source` names where the text came from (a file, a ConfigMap) and prefixes every
 * problem. Throws ConfigError holding every problem found; unknown keys are warnings.
 */
export function loadConfig(text: string, source: string, locate: (line: number, col: number) => string = (line, col) => `${source}:${line}:${col}`): LoadedConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, ...READ_OPTIONS });
  // A --- followed by nothing but comments and blank lines (a file ending in ---) opens no second document
  // for Go's YAML readers (kubectl, helm's fromYaml, which the chart checks config.yaml with): it is let
  // through here too; a second document with content is still refused.
  const extra = doc.errors.findIndex((e) => e.code === 'MULTIPLE_DOCS');
  if (
    extra >= 0 &&
    parseAllDocuments(text, READ_OPTIONS).every((d, i) => i === 0 || (d.errors.length === 0 && (d.contents === null || (isScalar(d.contents) && d.contents.source === ''))))
  )
    doc.errors.splice(extra, 1);
  const at = (path: Path): string => {
    const { line, col } = position(doc, lineCounter, path);
    return locate(line, col);
  };
  const read = documentValue(doc, lineCounter);
  if ('problem' in read) throw new ConfigError('invalid configuration', [{ source: locate(read.problem.line, read.problem.col), path: '', message: read.problem.message }]);
  const raw = read.value;
  const errors: Problem[] = [];
  const warnings: Problem[] = [];
  const error = (path: Path, message: string) => errors.push({ source: at(path), path: formatPath(path), message });

  if (raw === null || raw === undefined) {
    throw new ConfigError('invalid configuration', [{ source, path: '', message: 'is empty (defaultNamespace is required)' }]);
  }
  if (!isRecord(raw)) {
    throw new ConfigError('invalid configuration', [{ source, path: '', message: 'must be a YAML mapping of settings' }]);
  }

  for (const key of Object.keys(raw)) {
    if ((KEYS as readonly string[]).includes(key)) continue;
    const guess = closest(key, KEYS);
    warnings.push({ source: at([key]), path: key, message: `unknown key, ignored${guess ? ` (did you mean "${guess}"?)` : ''}` });
  }

  const excluded = new Set(SYSTEM_NAMESPACES);
  const excludedRaw = raw.excludedNamespaces;
  if (excludedRaw !== undefined && excludedRaw !== null) {
    if (!Array.isArray(excludedRaw)) error(['excludedNamespaces'], `must be a list of namespace names, not ${describe(excludedRaw)}`);
    else {
      excludedRaw.forEach((ns: unknown, i) => {
        const problem = typeof ns === 'string' ? namespaceNameProblem(ns) : `must be a namespace name, not ${describe(ns)}`;
        if (problem) error(['excludedNamespaces', i], `${quote(ns)} ${problem}`);
        else excluded.add(ns as string);
      });
    }
  }

  const checkNamespace = (path: Path, ns: unknown): ns is string => {
    if (typeof ns !== 'string') {
      error(path, `must be a namespace name, not ${describe(ns)}`);
      return false;
    }
    const problem = namespaceNameProblem(ns);
    if (problem) {
      error(path, `${quote(ns)} ${problem}`);
      return false;
    }
    if (excluded.has(ns)) {
      error(path, `${quote(ns)} is a system or excluded namespace and cannot be routed to`);
      return false;
    }
    return true;
  };

  let defaultNamespace = '';
  if (raw.defaultNamespace === undefined || raw.defaultNamespace === null || raw.defaultNamespace === '') {
    errors.push({ source, path: 'defaultNamespace', message: 'is required (the production namespace)' });
  } else if (checkNamespace(['defaultNamespace'], raw.defaultNamespace)) {
    defaultNamespace = raw.defaultNamespace;
  }

  let routingHeader = DEFAULT_ROUTING_HEADER;
  if (raw.routingHeader !== undefined) {
    const problem = typeof raw.routingHeader === 'string' ? headerNameProblem(raw.routingHeader) : `must be a header name, not ${describe(raw.routingHeader)}`;
    if (problem) error(['routingHeader'], `${quote(raw.routingHeader)} ${problem}`);
    else routingHeader = raw.routingHeader as string;
  }

  let enablePlaceholderServices = false;
  if (raw.enablePlaceholderServices !== undefined && raw.enablePlaceholderServices !== null) {
    if (typeof raw.enablePlaceholderServices !== 'boolean') {
      error(['enablePlaceholderServices'], `must be true or false, not ${describe(raw.enablePlaceholderServices)}`);
    } else enablePlaceholderServices = raw.enablePlaceholderServices;
  }

  const developerNamespaces = readDeveloperNamespaces(raw.developerNamespaces, checkNamespace, error, warnings, at);
  const seen = new Map<string, number>();
  const seenHeader = new Map<string, number>();
  developerNamespaces.forEach(({ entry, index }) => {
    const path: Path = ['developerNamespaces', index];
    if (entry.name === defaultNamespace && defaultNamespace) {
      error(path, `${quote(entry.name)} is the default namespace; it cannot also be a developer namespace`);
    }
    const first = seen.get(entry.name);
    if (first !== undefined) error(path, `${quote(entry.name)} is listed twice (first at developerNamespaces[${first}])`);
    else seen.set(entry.name, index);
    const firstHeader = seenHeader.get(entry.headerValue);
    if (firstHeader !== undefined && first === undefined) {
      error(path, `header value ${quote(entry.headerValue)} is already used by developerNamespaces[${firstHeader}]`);
    } else if (firstHeader === undefined) seenHeader.set(entry.headerValue, index);
  });
  const byName = new Map(developerNamespaces.map(({ entry }) => [entry.name, entry]));
  const loops = parentCycles(byName);
  developerNamespaces.forEach(({ entry, index }) => {
    if (entry.parent === undefined) return;
    const path: Path = ['developerNamespaces', index, 'parent'];
    if (!byName.has(entry.parent)) {
      error(path, `${quote(entry.parent)} is not a developer namespace${entry.parent === defaultNamespace ? " (production is every namespace's last fallback already)" : ''}`);
      return;
    }
    const cycle = loops.get(entry.name);
    if (cycle) error(path, `parent chain loops: ${cycle.join(' → ')}`);
  });

  let routeKind: RouteKind = 'VirtualService';
  if (raw.routeKind !== undefined && raw.routeKind !== null) {
    if (!ROUTE_KINDS.includes(raw.routeKind as RouteKind)) error(['routeKind'], `${quote(raw.routeKind)} must be one of ${ROUTE_KINDS.join(', ')}`);
    else routeKind = raw.routeKind as RouteKind;
  }
  // Each kind has its own template key, so switching routeKind back and forth keeps both templates.
  const templateKey = routeKind === 'HTTPRoute' ? 'httpRouteTemplate' : 'virtualServiceTemplate';
  let templateText = routeKind === 'HTTPRoute' ? SEED_HTTPROUTE_TEMPLATE : SEED_TEMPLATE;
  let template: Template | undefined;
  for (const key of ['virtualServiceTemplate', 'httpRouteTemplate'] as const) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') error([key], `must be a YAML document in a string (use "${key}: |"), not ${describe(v)}`);
    else if (key === templateKey) templateText = v;
  }
  if (defaultNamespace) {
    const parsed = parseTemplate(templateText, defaultNamespace, routeKind);
    for (const p of parsed.problems) {
      errors.push({ source: at([templateKey]), path: p.path ? `${templateKey}: ${p.path}` : templateKey, message: p.message });
    }
    template = parsed.template;
  }

  if (errors.length > 0 || !template) throw new ConfigError('invalid configuration', errors.sort(byPosition), { warnings });
  return {
    config: {
      defaultNamespace,
      developerNamespaces: developerNamespaces.map(({ entry }) => entry),
      virtualServiceTemplate: templateText,
      routeKind,
      enablePlaceholderServices,
      routingHeader,
      excludedNamespaces: [...excluded],
    },
    template,
    warnings,
  };
}

function readDeveloperNamespaces(
  value: unknown,
  checkNamespace: (path: Path, ns: unknown) => ns is string,
  error: (path: Path, message: string) => void,
  warnings: Problem[],
  at: (path: Path) => string,
): { entry: DeveloperNamespace; index: number }[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    error(['developerNamespaces'], `must be a list of namespace names, not ${describe(value)}`);
    return [];
  }
  const out: { entry: DeveloperNamespace; index: number }[] = [];
  value.forEach((item: unknown, index) => {
    const path: Path = ['developerNamespaces', index];
    if (typeof item === 'string') {
      if (checkNamespace(path, item)) out.push({ entry: { name: item, headerValue: item }, index });
      return;
    }
    if (!isRecord(item)) {
      error(path, `must be a namespace name or a mapping {name, headerValue, parent}, not ${describe(item)}`);
      return;
    }
    for (const key of Object.keys(item)) {
      if ((NAMESPACE_KEYS as readonly string[]).includes(key)) continue;
      const guess = closest(key, NAMESPACE_KEYS);
      warnings.push({ source: at([...path, key]), path: formatPath([...path, key]), message: `unknown key, ignored${guess ? ` (did you mean "${guess}"?)` : ''}` });
    }
    if (item.name === undefined) {
      error(path, 'needs a "name"');
      return;
    }
    if (!checkNamespace([...path, 'name'], item.name)) return;
    const entry: DeveloperNamespace = { name: item.name, headerValue: item.name };
    let ok = true;
    if (item.headerValue !== undefined) {
      const problem = typeof item.headerValue === 'string' ? headerValueProblem(item.headerValue) : `must be a string, not ${describe(item.headerValue)}`;
      if (problem) {
        error([...path, 'headerValue'], `${quote(item.headerValue)} ${problem}`);
        ok = false;
      } else entry.headerValue = item.headerValue as string;
    }
    if (item.parent !== undefined) {
      if (typeof item.parent !== 'string') {
        error([...path, 'parent'], `must be a namespace name, not ${describe(item.parent)}`);
        ok = false;
      } else entry.parent = item.parent;
    }
    if (ok) out.push({ entry, index });
  });
  return out;
}

/**
 * Every namespace that lies on a loop of parents, with its loop written from itself round to itself
 * (a → b → a). One walk over all namespaces, each visited once: linear in their number, however deep.
 */
function parentCycles(byName: ReadonlyMap<string, DeveloperNamespace>): Map<string, string[]> {
  const loops = new Map<string, string[]>();
  const done = new Set<string>();
  for (const start of byName.keys()) {
    const path: string[] = [];
    const onPath = new Map<string, number>();
    let cur: string | undefined = start;
    while (cur !== undefined && byName.has(cur) && !done.has(cur) && !onPath.has(cur)) {
      onPath.set(cur, path.length);
      path.push(cur);
      cur = byName.get(cur)!.parent;
    }
    if (cur !== undefined && onPath.has(cur)) {
      const loop = path.slice(onPath.get(cur)!);
      loop.forEach((name, k) => loops.set(name, [...loop.slice(k), ...loop.slice(0, k), name]));
    }
    for (const name of path) done.add(name);
  }
  return loops;
}

/** Problems in the order of the file; those without a position (a missing key) first. */
function byPosition(a: Problem, b: Problem): number {
  const pos = (p: Problem) =>
    /:(\d+):(\d+)$/
      .exec(p.source ?? '')
      ?.slice(1)
      .map(Number) ?? [0, 0];
  // (locate keeps the order of lines, so sorting its output sorts by position in config.yaml)
  const [la, ca] = pos(a);
  const [lb, cb] = pos(b);
  return la! - lb! || ca! - cb!;
}

function position(doc: Document, lc: LineCounter, path: Path): { line: number; col: number } {
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node?.range) return lc.linePos(node.range[0]);
  }
  return { line: 1, col: 1 };
}

export function formatPath(path: Path): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function quote(v: unknown): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `the ${typeof v} ${JSON.stringify(v)}`;
}
