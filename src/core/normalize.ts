// Comparing objects the way the API server sees them: server-set fields ignored, key order ignored,
// an empty list or map the same as a missing one.

import type { KubeObject } from './types.ts';

const SERVER_METADATA = ['resourceVersion', 'uid', 'creationTimestamp', 'generation', 'managedFields', 'selfLink'] as const;
const SERVER_ANNOTATIONS = ['kubectl.kubernetes.io/last-applied-configuration'];

/** A copy without server-set fields or status: what a person or a diff should see. */
export function withoutServerFields<T extends KubeObject>(obj: T): T {
  const { status: _status, ...rest } = obj as KubeObject & { status?: unknown };
  const metadata: Record<string, unknown> = { ...obj.metadata };
  for (const key of SERVER_METADATA) delete metadata[key];
  if (obj.metadata.annotations) {
    const annotations = { ...obj.metadata.annotations };
    for (const key of SERVER_ANNOTATIONS) delete annotations[key];
    metadata.annotations = annotations;
  }
  return { ...rest, metadata } as T;
}

/** Deep equality in which undefined, null, [] and {} are all "absent", and key order does not count. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return isEmpty(a) && isEmpty(b);
  const aArray = Array.isArray(a);
  const bArray = Array.isArray(b);
  if (aArray || bArray) {
    if (!aArray || !bArray) return isEmpty(a) && isEmpty(b);
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!semanticEqual(a[i], b[i])) return false;
    return true;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  for (const k in ao) if (!semanticEqual(ao[k], bo[k])) return false;
  for (const k in bo) if (ao[k] === undefined && !isEmpty(bo[k])) return false;
  return true;
}

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') {
    for (const _ in v) return false;
    return true;
  }
  return false;
}

/** Objects compare equal when everything but server-set fields and the served apiVersion matches. */
export function sameObject(a: KubeObject, b: KubeObject): boolean {
  return a.kind === b.kind && group(a.apiVersion) === group(b.apiVersion) && semanticEqual(comparableMetadata(a), comparableMetadata(b)) && semanticEqual(body(a), body(b));
}

function comparableMetadata(obj: KubeObject): Record<string, unknown> {
  const meta: Record<string, unknown> = { ...obj.metadata };
  for (const key of SERVER_METADATA) delete meta[key];
  const annotations = obj.metadata.annotations;
  if (annotations && SERVER_ANNOTATIONS.some((k) => k in annotations)) {
    const copy = { ...annotations };
    for (const key of SERVER_ANNOTATIONS) delete copy[key];
    meta.annotations = copy;
  }
  return meta;
}

function body(obj: KubeObject): Record<string, unknown> {
  const { apiVersion: _a, kind: _k, metadata: _m, status: _s, ...rest } = obj as KubeObject & { status?: unknown };
  return rest;
}

function group(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}
