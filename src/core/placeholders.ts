// Placeholder Services (enablePlaceholderServices): in a developer namespace that lacks a production
// Service, an ExternalName Service of the same name lets workloads there call it by its short name and
// reach the copy the header would reach (a parent namespace's, else production's). Placeholders are
// never routed to, carry the production Service's ports (Istio mishandles port-less ExternalName
// Services), and hand their name over when a developer deploys the real Service.

import { sameObject } from './normalize.ts';
import { hasPlaceholderMarker, isPlaceholder, MANAGED_LABEL, MANAGED_VALUE, PLACEHOLDER_LABEL, PLACEHOLDER_SOURCE_ANNOTATION } from './ownership.ts';
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
export function planPlaceholder(want: Service, have: Service | undefined): ServiceAction | Finding {
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
 * hand over those a developer replaced with a real Service (their markers go, the Service stays).
 */
export function planPlaceholders(desired: readonly Service[], live: readonly Service[], only?: ReadonlySet<string>): ServiceAction[] {
  const key = (s: Service) => `${s.metadata.namespace}/${s.metadata.name}`;
  const liveByKey = new Map(live.map((s) => [key(s), s]));
  const wanted = new Set<string>();
  const actions: ServiceAction[] = [];
  for (const want of desired) {
    if (only && !only.has(want.metadata.name)) continue;
    wanted.add(key(want));
    const outcome = planPlaceholder(want, liveByKey.get(key(want)));
    if (!('code' in outcome)) actions.push(outcome);
  }
  for (const have of live) {
    if (wanted.has(key(have)) || !hasPlaceholderMarker(have)) continue;
    if (only && !only.has(have.metadata.name)) continue;
    if (!isPlaceholder(have)) {
      actions.push(handOverAction(have));
    } else {
      actions.push({
        type: 'delete',
        kind: 'Service',
        namespace: have.metadata.namespace!,
        name: have.metadata.name,
        service: have.metadata.name,
        live: have,
        reason: 'no longer needed (the production Service is gone, the namespace has the real one or left the config, or placeholders are off)',
      });
    }
  }
  return actions;
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
