// Which ReferenceGrant entries vsop wants, and which a route about to be written still lacks: the two
// questions `vsop watch` asks to write grants in the right order around its HTTPRoutes (create an entry
// before the route that needs it, remove it only after no route of vsop's uses it). A grant lists every
// Service of its namespace that any of vsop's routes sends to, so it is planned from every route at once,
// never from one Service's alone (which would shrink it to that Service's entries).

import { isManaged } from '../ownership.ts';
import type { ReferenceGrantAction } from '../plan.ts';
import { grantsOf, type HTTPRoute, type ReferenceGrant, referenceGrants } from '../render/httproute.ts';
import { isGrantName } from './buckets.ts';

// A namespace's Services are spread over grants of at most 16 entries, by hash bucket (buckets.ts).
export { grantName, isGrantName } from './buckets.ts';

/**
 * The grants vsop wants: those the routes it renders need (`rendered`, every production Service's), and
 * those its managed routes of the production namespace as stored (`stored`, any HTTPRoutes: the others
 * are skipped) still send to, so that an entry goes only once the route that used it has been rewritten.
 * Shape: render/httproute.ts referenceGrants, one per namespace, entries sorted.
 */
export function grantsWanted(rendered: readonly HTTPRoute[], stored: readonly HTTPRoute[], production: string): ReferenceGrant[] {
  const own = stored.filter((r) => r.metadata.namespace === production && isManaged(r));
  return referenceGrants([...rendered, ...own], production);
}

/**
 * The Services (`namespace/name`) that `routes` send to across namespaces and that no live grant of vsop's
 * for this production namespace allows yet, whichever of its buckets holds the entry (a split moves entries
 * between grants; any of them allows). A grant of one of vsop's names without the managed label is someone
 * else's: vsop does not write it, so nothing in its namespace waits for vsop's grants (the plan reports it).
 */
export function missingGrantEntries(routes: readonly HTTPRoute[], live: readonly ReferenceGrant[], production: string): string[] {
  const missing: string[] = [];
  for (const need of referenceGrants(routes, production)) {
    const namespace = need.metadata.namespace!;
    const ours = live.filter((g) => g.metadata.namespace === namespace && isGrantName(production, g.metadata.name));
    if (ours.some((g) => !isManaged(g))) continue;
    // An entry without a name allows every object of its kind (ReferenceGrantTo.Name).
    const allowed = new Set(ours.flatMap((g) => entries(g).map((t) => `${t.group ?? ''}/${t.kind ?? ''}/${t.name ?? '*'}`)));
    for (const t of entries(need)) {
      const kind = `${t.group ?? ''}/${t.kind ?? ''}`;
      if (!allowed.has(`${kind}/${t.name}`) && !allowed.has(`${kind}/*`)) missing.push(`${namespace}/${t.name}`);
    }
  }
  return missing;
}

function entries(grant: ReferenceGrant | undefined): { group?: string; kind?: string; name?: string }[] {
  const to = grant?.spec.to;
  return Array.isArray(to) ? to.filter((t): t is { group?: string; kind?: string; name?: string } => t !== null && typeof t === 'object') : [];
}

/**
 * The grants `sync SERVICE...` wants: the entries the routes of the Services in scope need (`rendered`,
 * theirs alone), beside the entries of every other Service as the live grants of vsop's hold them. A
 * grant entry names the Service routed to, which is the production Service's name (its copy's), so each
 * entry belongs to one production Service: the other Services' entries are neither added nor removed.
 */
export function scopedGrants(rendered: readonly HTTPRoute[], live: readonly ReferenceGrant[], production: string, services: ReadonlySet<string>): ReferenceGrant[] {
  const byNamespace = new Map<string, Set<string>>();
  const add = (namespace: string, service: string) => {
    let names = byNamespace.get(namespace);
    if (!names) byNamespace.set(namespace, (names = new Set()));
    names.add(service);
  };
  for (const g of live) {
    if (!isGrantName(production, g.metadata.name) || !isManaged(g)) continue;
    for (const t of entries(g)) if (t.name !== undefined && !services.has(t.name) && (t.group ?? '') === '' && (t.kind ?? '') === 'Service') add(g.metadata.namespace!, t.name);
  }
  for (const g of referenceGrants(rendered, production)) for (const t of entries(g)) add(g.metadata.namespace!, t.name!);
  return grantsOf(byNamespace, production);
}

/**
 * When apply writes a grant's update, around the routes (grant first: a route never sends to a Service no
 * grant allows): `first` when it only adds entries, `last` (with the deletes, after every route is
 * written) when it only removes some, `both` when it does both: its entries with the live ones first,
 * then as planned, last.
 */
export function grantOrder(action: ReferenceGrantAction): 'first' | 'last' | 'both' {
  if (action.type !== 'update') return action.type === 'delete' ? 'last' : 'first';
  const key = (t: { group?: string; kind?: string; name?: string }) => `${t.group ?? ''}/${t.kind ?? ''}/${t.name ?? '*'}`;
  const live = new Set(entries(action.live).map(key));
  const after = new Set(entries(action.after).map(key));
  const adds = [...after].some((k) => !live.has(k));
  const removes = [...live].some((k) => !after.has(k));
  return adds && removes ? 'both' : removes ? 'last' : 'first';
}

/** The grant vsop wants with the live grant's entries kept beside its own: what `both` writes first. */
export function grantWithLiveEntries(want: ReferenceGrant, live: ReferenceGrant): ReferenceGrant {
  const seen = new Set<string>();
  const to = [...entries(want), ...entries(live)].filter((t) => {
    const k = JSON.stringify([t.group ?? '', t.kind ?? '', t.name ?? '']);
    return !seen.has(k) && seen.add(k);
  });
  return { ...want, spec: { ...want.spec, to } };
}

/**
 * The grants `render SERVICE...` prints (`services`: the production Services in scope), whole, so that
 * `kubectl apply -f -` of them never shrinks a grant another Service's routes rely on:
 * - read from a cluster (`live.cluster`), or files holding a grant of vsop's (managed, of its names for
 *   `production`): as `sync SERVICE...` leaves them (scopedGrants
 *   of `rendered`, the routes of the Services in scope, beside the live entries of every other Service):
 *   each grant that holds an entry of a Service in scope, or whose entries sync changes;
 * - else (files with no grant of vsop's): the grants of every Service's routes (`all`, the
 *   resolution's, as unscoped `render` prints them) that hold an entry of a Service in scope.
 * A grant sync would delete (its last entry gone) cannot be printed. Shape: render/httproute.ts referenceGrants.
 */
export function grantsShown(
  rendered: readonly HTTPRoute[],
  all: readonly ReferenceGrant[],
  live: { grants: readonly ReferenceGrant[]; cluster: boolean },
  production: string,
  services: ReadonlySet<string>,
): ReferenceGrant[] {
  const holds = (g: ReferenceGrant) => entries(g).some((t) => t.name !== undefined && services.has(t.name));
  const ours = live.grants.filter((g) => isGrantName(production, g.metadata.name));
  if (!live.cluster && !ours.some(isManaged)) return all.filter(holds);
  const key = (g: ReferenceGrant) => `${g.metadata.namespace}/${g.metadata.name}`;
  const entryKeys = (g: ReferenceGrant | undefined) =>
    entries(g)
      .map((t) => JSON.stringify([t.group ?? '', t.kind ?? '', t.name ?? '']))
      .sort()
      .join(',');
  const before = new Map(ours.map((g) => [key(g), g]));
  return scopedGrants(rendered, live.grants, production, services).filter((g) => holds(g) || entryKeys(g) !== entryKeys(before.get(key(g))));
}
