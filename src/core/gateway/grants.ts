// Which ReferenceGrant entries vsop wants, and which a route about to be written still lacks: the two
// questions `vsop watch` asks to write grants in the right order around its HTTPRoutes (create an entry
// before the route that needs it, remove it only after no route of vsop's uses it). A grant lists every
// Service of its namespace that any of vsop's routes sends to, so it is planned from every route at once,
// never from one Service's alone (which would shrink it to that Service's entries).

import { isManaged } from '../ownership.ts';
import { type HTTPRoute, type ReferenceGrant, referenceGrants } from '../render/httproute.ts';
import { grantName } from './plan.ts';

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
 * allows yet. A grant of vsop's name without the managed label is someone else's: vsop does not write it,
 * so nothing waits for it (the plan reports it).
 */
export function missingGrantEntries(routes: readonly HTTPRoute[], live: readonly ReferenceGrant[], production: string): string[] {
  const name = grantName(production);
  const missing: string[] = [];
  for (const need of referenceGrants(routes, production)) {
    const namespace = need.metadata.namespace!;
    const have = live.find((g) => g.metadata.namespace === namespace && g.metadata.name === name);
    if (have && !isManaged(have)) continue;
    // An entry without a name allows every object of its kind (ReferenceGrantTo.Name).
    const allowed = new Set(entries(have).map((t) => `${t.group ?? ''}/${t.kind ?? ''}/${t.name ?? '*'}`));
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
