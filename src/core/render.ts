// Plans and objects as text: YAML, JSON, unified diffs and a Markdown summary for pull requests.
// Deterministic: no timestamps, server-set fields hidden, objects in plan order.

import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { stringify } from 'yaml';
import type { Problem } from '../errors.ts';
import { withoutServerFields } from './normalize.ts';
import { PLAN_VERSION, type Action, type Plan } from './plan.ts';
import type { KubeObject } from './types.ts';

// YAML 1.1 output quotes strings that YAML 1.1 readers (Go's, hence kubectl and Istio) would take for
// booleans or octal numbers: a header value "on" must stay a string. No anchors; no folded lines.
const YAML_OPTIONS = { aliasDuplicateObjects: false, lineWidth: 0, version: '1.1' } as const;

export function toYaml(value: unknown): string {
  return stringify(value, YAML_OPTIONS);
}

/** A document as `-o json` or `-o yaml` prints it: JSON indented by two spaces, or YAML (toYaml); a line end last. */
export function dataText(format: 'json' | 'yaml', value: unknown): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : toYaml(value);
}

/** Several objects as one multi-document YAML stream. */
export function toYamlStream(objects: readonly unknown[]): string {
  return objects.map(toYaml).join('---\n');
}

/** kubectl's shape for several objects as JSON. */
export function toJsonList(objects: readonly unknown[]): string {
  return `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n`;
}

/** kubectl diff's file naming: group.version.Kind.namespace.name. */
export function objectFileName(obj: KubeObject): string {
  return `${obj.apiVersion.replace('/', '.')}.${obj.kind}.${obj.metadata.namespace}.${obj.metadata.name}`;
}

/**
 * The two sides of an action's diff as YAML ("" for a side that does not exist), server-set fields hidden,
 * with the live object's keys in the order of what would be written: the apiserver answers with keys in
 * its own order (a custom resource's sorted, a Service's in Go's field order) where vsop renders them in
 * the template's, and a line that only moved is no change. kubectl diff gets the same from printing both
 * sides through one marshaller (sigs.k8s.io/yaml, keys sorted); here the order is the rendered object's,
 * which reads as the template does. Used by the unified diff and by KUBECTL_EXTERNAL_DIFF's files.
 */
export function diffSides(action: Action): { live: string; after: string } {
  const after = action.after ? withoutServerFields(action.after) : undefined;
  const live = action.live ? withoutServerFields(action.live) : undefined;
  return { live: live ? toYaml(after ? inKeyOrderOf(live, after) : live) : '', after: after ? toYaml(after) : '' };
}

/**
 * `value` with the keys of each map in the order of the map at the same place in `model` (list items by
 * name where they have one, else by content: see counterpart); keys `model` lacks follow in their own
 * order. Values are not changed, only the order of keys.
 */
export function inKeyOrderOf(value: unknown, model: unknown): unknown {
  if (Array.isArray(value)) {
    const items = Array.isArray(model) ? model : [];
    return value.map((item, i) => inKeyOrderOf(item, counterpart(value, i, items)));
  }
  if (!isMap(value)) return value;
  const order = isMap(model) ? Object.keys(model).filter((k) => Object.hasOwn(value, k)) : [];
  const keys = [...order, ...Object.keys(value).filter((k) => !isMap(model) || !Object.hasOwn(model, k))];
  return Object.fromEntries(keys.map((k) => [k, inKeyOrderOf(value[k], isMap(model) ? model[k] : undefined)]));
}

/**
 * The item of `model` that `values[index]` is compared with, each key tried in turn where it is the item's
 * alone in both lists: its name (a route, a port); else its whole content, key order aside (an unnamed
 * HTTPRoute rule, a backendRef, a grant's `from`, unchanged); else its `matches` (an HTTPRoute rule whose
 * backends changed). None otherwise (an item that is gone, or new), and the item keeps its own order. Not
 * by position: a rule inserted or removed would give each later one its neighbour's order.
 */
function counterpart(values: readonly unknown[], index: number, model: readonly unknown[]): unknown {
  const item = values[index];
  if (!isMap(item)) return undefined;
  const keys: ((x: Record<string, unknown>) => unknown)[] = [(x) => x.name, canonical, (x) => (x.matches === undefined ? undefined : canonical(x.matches))];
  for (const keyOf of keys) {
    const key = keyOf(item);
    if (key === undefined) continue;
    const same = (list: readonly unknown[]) => list.filter((m) => isMap(m) && keyOf(m) === key);
    if (same(values).length !== 1) continue;
    const found = same(model);
    if (found.length === 1) return found[0];
  }
  return undefined;
}

/** A value as JSON with every map's keys sorted: equal for values equal but for key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    isMap(v)
      ? Object.fromEntries(
          Object.keys(v)
            .sort()
            .map((k) => [k, v[k]]),
        )
      : v,
  );
}

function isMap(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A unified diff of the live object against what would be written; empty when unchanged. */
export function actionDiff(action: Action): string {
  if (action.type === 'unchanged') return '';
  const { live: before, after } = diffSides(action);
  const file = objectFileName((action.after ?? action.live)!);
  return createTwoFilesPatch(action.live ? `a/${file}` : '/dev/null', action.after ? `b/${file}` : '/dev/null', before, after, undefined, undefined, {
    context: 3,
    headerOptions: FILE_HEADERS_ONLY,
  });
}

export interface Summary {
  create: number;
  update: number;
  delete: number;
  unchanged: number;
}

export function summarize(plan: Plan): Summary {
  const s: Summary = { create: 0, update: 0, delete: 0, unchanged: 0 };
  for (const a of plan.actions) s[a.type]++;
  return s;
}

export function summaryLine(plan: Plan): string {
  const s = summarize(plan);
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.unchanged} unchanged.`;
}

/** Every change as one unified diff, in plan order. */
export function planDiff(plan: Plan): string {
  return plan.actions.map(actionDiff).join('');
}

/** The plan as versioned data for scripts. */
export function planJson(plan: Plan, warnings: readonly Problem[] = []): string {
  return `${JSON.stringify(
    {
      version: PLAN_VERSION,
      summary: summarize(plan),
      actions: plan.actions.map((a) => ({
        action: a.type,
        kind: a.kind,
        namespace: a.namespace,
        name: a.name,
        service: a.service ?? null,
        ...(a.reason ? { reason: a.reason } : {}),
        ...(a.type === 'unchanged' ? {} : { diff: actionDiff(a) }),
        ...(a.after && a.type !== 'unchanged' ? { object: withoutServerFields(a.after) } : {}),
      })),
      findings: plan.findings,
      warnings: warnings.map((w) => ({ source: w.source ?? null, path: w.path, message: w.message })),
    },
    null,
    2,
  )}\n`;
}

/** A summary a pull-request comment can carry. */
export function planMarkdown(plan: Plan, warnings: readonly Problem[] = []): string {
  const s = summarize(plan);
  const changed = plan.actions.filter((a) => a.type !== 'unchanged');
  const lines = [`### vsop: ${s.create} to create, ${s.update} to update, ${s.delete} to delete, ${s.unchanged} unchanged`, ''];
  if (changed.length === 0) lines.push('No changes: the cluster already matches the configuration.', '');
  else {
    lines.push('| Action | Object | Service | Note |', '| --- | --- | --- | --- |');
    for (const a of changed) {
      lines.push(`| ${a.type} | \`${a.kind.toLowerCase()} ${a.namespace}/${a.name}\` | ${a.service ? `\`${a.service}\`` : ''} | ${a.reason ?? ''} |`);
    }
    lines.push('', '<details><summary>Diff</summary>', '', '```diff', planDiff(plan).trimEnd(), '```', '', '</details>', '');
  }
  for (const f of plan.findings) lines.push(`> **${f.severity}** \`${f.namespace}/${f.name}\`: ${f.message}`, '');
  for (const w of warnings) lines.push(`> **warning** ${w.source ? `${w.source}: ` : ''}${w.path ? `${w.path}: ` : ''}${w.message}`, '');
  return `${lines.join('\n').trimEnd()}\n`;
}
