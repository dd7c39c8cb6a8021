// How vsop spreads the Services of one developer namespace over ReferenceGrants: the Gateway API CRD
// (v1.3.0 standard channel, gateway.networking.k8s.io_referencegrants.yaml) allows at most 16 entries in
// a grant's spec.to, and one namespace may hold copies of any number of production Services.
//
// Each Service name is hashed (32-bit FNV-1a with MurmurHash3's finalizer) and the names are put in a
// binary trie on the hash's bits, most significant first: a node holding at most 16 names is a bucket,
// one holding more is split in two by its next bit. A bucket's grant is named after the bits that lead
// to it, `vsop-from-<production>` for the root (so a namespace with at most 16 Services keeps the one
// grant of earlier versions) and `vsop-from-<production>.<bits>` below it (a namespace name has no '.',
// so no production's grant names can be taken for another's). The buckets are a function of the set of
// names alone: render, sync and watch agree without reading the live grants, and the assignment is
// stable. A Service added or removed changes only the bucket on its own hash's path: that bucket's grant
// gains or loses the entry, or, when it passes 16 entries, is replaced by the grants of its two halves
// (and when the two halves fit in 16 again, they merge back). Every other grant stays as it is: no
// chunking by sorted position, where one name added early would move every later one. Deletes are
// applied after every create and update (apply.ts), so a split or merge removes the old grant only once
// the new ones are written.

/** The CRD's maxItems on ReferenceGrant spec.to (and spec.from). */
export const GRANT_TO_LIMIT = 16;

/** Hash bits available to split on: beyond them, a bucket is split by sorted name (never seen in practice). */
const HASH_BITS = 32;

/**
 * FNV-1a, 32 bits, of a string's UTF-16 code units (ASCII for Kubernetes names). Hand-written because
 * src/core stays free of node:crypto and of runtime dependencies, and the result must never change between
 * versions (grant names are derived from it).
 */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/**
 * A name's 32-bit hash for bucketing: FNV-1a, then MurmurHash3's fmix32 finalizer. FNV-1a alone spreads a
 * change in the last characters (svc-001, svc-002) poorly into its high bits, which the trie splits on
 * first; the finalizer makes every input bit reach every output bit.
 */
export function nameHash(text: string): number {
  let h = fnv1a32(text);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * The buckets of a set of Service names: bucket key ('' for the root, else a string of '0'/'1', or, past
 * the hash's 32 bits, the bits then `-<n>`) → its names sorted, each holding at most GRANT_TO_LIMIT names,
 * every name in exactly one bucket, no bucket empty. Keys sorted.
 */
export function grantBuckets(names: Iterable<string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const split = (prefix: string, items: readonly { name: string; hash: number }[]): void => {
    if (items.length === 0) return;
    if (items.length <= GRANT_TO_LIMIT) {
      out.set(
        prefix,
        items.map((i) => i.name),
      );
      return;
    }
    if (prefix.length >= HASH_BITS) {
      // 17 names with one 32-bit hash: chunks by sorted name, numbered.
      for (let i = 0; i * GRANT_TO_LIMIT < items.length; i++)
        out.set(
          `${prefix}-${i}`,
          items.slice(i * GRANT_TO_LIMIT, (i + 1) * GRANT_TO_LIMIT).map((x) => x.name),
        );
      return;
    }
    const shift = HASH_BITS - 1 - prefix.length;
    split(
      `${prefix}0`,
      items.filter((i) => ((i.hash >>> shift) & 1) === 0),
    );
    split(
      `${prefix}1`,
      items.filter((i) => ((i.hash >>> shift) & 1) === 1),
    );
  };
  const items = [...new Set(names)].sort().map((name) => ({ name, hash: nameHash(name) }));
  split('', items);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The name of vsop's ReferenceGrant for a production namespace and a bucket (grantBuckets' key). */
export function grantName(production: string, bucket = ''): string {
  return bucket === '' ? `vsop-from-${production}` : `vsop-from-${production}.${bucket}`;
}

/** Whether `name` is one of vsop's grant names for the production namespace (any bucket). */
export function isGrantName(production: string, name: string): boolean {
  return name === grantName(production) || name.startsWith(`${grantName(production)}.`);
}
