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

/** A unified diff of the live object against what would be written; empty when unchanged. */
export function actionDiff(action: Action): string {
  if (action.type === 'unchanged') return '';
  const before = action.live ? toYaml(withoutServerFields(action.live)) : '';
  const after = action.after ? toYaml(withoutServerFields(action.after)) : '';
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
