// Placeholder Services (enablePlaceholderServices): in a developer namespace that lacks a production
// Service, an ExternalName Service of the same name lets workloads there call it by its short name and
// reach the copy the header would reach (a parent namespace's, else production's). Placeholders are
// never routed to, carry the production Service's ports (Istio mishandles port-less ExternalName
// Services), and hand their name over when a developer deploys the real Service. The marker alone does
// not make a Service vsop's: placeholderScope (ownership.ts) decides which ones vsop may write at all.

import { sameObject } from './normalize.ts';
import {
  foreignPlaceholder,
  hasPlaceholderMarker,
  isPlaceholder,
  MANAGED_LABEL,
  MANAGED_VALUE,
  PLACEHOLDER_LABEL,
  PLACEHOLDER_SOURCE_ANNOTATION,
  type PlaceholderScope,
  placeholderScope,
} from './ownership.ts';
import type { Finding, ServiceAction } from './plan.ts';
import type { Service, ServicePort } from './types.ts';

export function placeholder(production: Service, namespace: string, target: string): Service {
  const { name, namespace: source } = production.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      namespace,
      labels: { [PLACEHOLDER_LABEL]: 'true', [MANAGED_LABEL]: MANAGED_VALUE },
      annotations: { [PLACEHOLDER_LABEL]: 'true', [PLACEHOLDER_SOURCE_ANNOTATION]: `${source}/${name}` },
    },
    spec: {
      type: 'ExternalName',
      externalName: `${name}.${target}.svc.cluster.local`,
      ports: (production.spec?.ports ?? []).map(copyPort),
    },
  };
}

function copyPort(p: ServicePort): ServicePort {
  return { ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol ?? 'TCP' };
}

/** One placeholder: what to do with the Service of that name that is there now. */
export function planPlaceholder(want: Service, have: Service | undefined): ServiceAction {
  const base = { kind: 'Service' as const, namespace: want.metadata.namespace!, name: want.metadata.name, service: want.metadata.name, desired: want };
  if (!have) return { type: 'create', ...base, after: want };
  if (!hasPlaceholderMarker(have)) {
    // A real Service took the name (between the plan and now): it wins, nothing to do.
    return { type: 'unchanged', ...base, live: have, after: have };
  }
  if (!isPlaceholder(have)) return handOverAction(have);
  const after: Service = {
    ...have,
    metadata: {
      ...have.metadata,
      labels: { ...have.metadata.labels, ...want.metadata.labels },
      annotations: { ...have.metadata.annotations, ...want.metadata.annotations },
    },
    // Ports keep what the server filled in (targetPort) where vsop's own fields agree.
    spec: { ...have.spec, ...want.spec, ports: (want.spec?.ports ?? []).map((p) => ({ ...have.spec?.ports?.find((h) => h.port === p.port), ...p })) },
  };
  return { type: sameObject(after, have) ? 'unchanged' : 'update', ...base, live: have, after };
}

/**
 * All placeholders: create the missing, correct the changed, delete those nothing asks for any more, and
 * hand over those a developer replaced with a real Service (their markers go, the Service stays). Every
 * Service with the marker outside the scope (placeholderScope) is left alone, with a warning.
 */
export function planPlaceholders(
  desired: readonly Service[],
  live: readonly Service[],
  scope: PlaceholderScope,
  only?: ReadonlySet<string>,
): { actions: ServiceAction[]; findings: Finding[] } {
  const key = (s: Service) => `${s.metadata.namespace}/${s.metadata.name}`;
  const liveByKey = new Map(live.map((s) => [key(s), s]));
  const wanted = new Set<string>();
  const actions: ServiceAction[] = [];
  const findings: Finding[] = [];
  for (const want of desired) {
    if (only && !only.has(want.metadata.name)) continue;
    wanted.add(key(want));
    const have = liveByKey.get(key(want));
    const verdict = placeholderScope(scope, have && hasPlaceholderMarker(have) ? have : want);
    if (!verdict.writable) {
      if (have && hasPlaceholderMarker(have)) findings.push(foreignPlaceholder(have, verdict.reason));
      continue;
    }
    actions.push(planPlaceholder(want, have));
  }
  for (const have of live) {
    if (wanted.has(key(have)) || !hasPlaceholderMarker(have)) continue;
    if (only && !only.has(have.metadata.name)) continue;
    const verdict = placeholderScope(scope, have);
    if (!verdict.writable) findings.push(foreignPlaceholder(have, verdict.reason));
    else if (!isPlaceholder(have)) actions.push(handOverAction(have));
    else {
      actions.push({
        type: 'delete',
        kind: 'Service',
        namespace: have.metadata.namespace!,
        name: have.metadata.name,
        service: have.metadata.name,
        live: have,
        reason: 'no longer needed (the production Service is gone, or placeholders are off)',
      });
    }
  }
  return { actions, findings };
}

/**
 * The conflict retry's fresh look at one planned Service write. The configuration and the production
 * Services are those of the plan, so placeholderScope could only judge otherwise if the object's own
 * markers changed: a delete or a hand-over goes ahead only while the object still carries the marker,
 * names the same source, and is still what was planned for (a placeholder to delete, a real Service to
 * hand over); otherwise the next run decides. A placeholder to create or correct is vsop's wherever it is
 * rendered.
 */
export function replanPlaceholder(planned: Exclude<ServiceAction, { type: 'unchanged' }>, fresh: Service | undefined): ServiceAction {
  if (planned.desired) return planPlaceholder(planned.desired, fresh);
  const source = (svc: Service) => svc.metadata.annotations?.[PLACEHOLDER_SOURCE_ANNOTATION];
  if (!fresh || !hasPlaceholderMarker(fresh) || source(fresh) !== source(planned.live) || isPlaceholder(fresh) !== (planned.type === 'delete')) {
    return { ...planned, type: 'unchanged' };
  }
  return planned.type === 'delete' ? { ...planned, live: fresh } : handOverAction(fresh);
}

/** A placeholder someone made real (a selector, another type): vsop lets go of it. */
function handOverAction(have: Service): ServiceAction {
  return {
    type: 'update',
    kind: 'Service',
    namespace: have.metadata.namespace!,
    name: have.metadata.name,
    service: have.metadata.name,
    live: have,
    after: handOver(have),
    reason: 'a real Service replaced the placeholder: its markers go, the Service stays',
  };
}

/**
 * The object without vsop's placeholder markers, so that it is an ordinary Service from now on. A
 * `kubectl apply` of a manifest without `type` over a placeholder leaves it an ExternalName Service with a
 * selector, which would still send traffic to production: such a Service becomes the ClusterIP Service
 * its selector asks for.
 */
export function handOver(svc: Service): Service {
  const labels = { ...svc.metadata.labels };
  const annotations = { ...svc.metadata.annotations };
  delete labels[PLACEHOLDER_LABEL];
  if (labels[MANAGED_LABEL] === MANAGED_VALUE) delete labels[MANAGED_LABEL];
  delete annotations[PLACEHOLDER_LABEL];
  delete annotations[PLACEHOLDER_SOURCE_ANNOTATION];
  const spec = { ...svc.spec };
  if (spec.type === 'ExternalName') {
    spec.type = 'ClusterIP';
    delete spec.externalName;
  }
  return { ...svc, metadata: { ...svc.metadata, labels, annotations }, spec };
}
