// What one key's plan read, in a few bytes: the identity and resourceVersion of every object of its
// snapshot. The apiserver gives an object a new resourceVersion at every change, so two equal fingerprints
// mean the same inputs, as controller-runtime's ResourceVersionChangedPredicate reads them. The watch
// controller skips a key whose inputs have not changed since it last planned nothing for it: a resync of a
// converged world (every --resync-period) then costs a fingerprint per key instead of a resolve and plan.

import { createHash } from 'node:crypto';
import type { KubeObject } from '../core/types.ts';
import type { Snapshot } from '../reconcile.ts';

/**
 * The snapshot's fingerprint (28 characters of SHA-1 in base64: a map of 10,000 keys holds under 1 MB), or
 * undefined when an object has no resourceVersion (one not from the apiserver, whose changes cannot be
 * told). The config is not in it: the controller drops every fingerprint when the config changes.
 * Objects are taken in the snapshot's order; the same objects in another order give another fingerprint,
 * which only costs one plan.
 */
export function fingerprint(snapshot: Snapshot): string | undefined {
  const hash = createHash('sha1');
  for (const [field, value] of Object.entries(snapshot)) {
    if (!Array.isArray(value)) continue;
    hash.update(`\n${field}:`);
    for (const o of value as KubeObject[]) {
      const rv = o.metadata.resourceVersion;
      if (rv === undefined) return undefined;
      hash.update(`${o.metadata.namespace ?? ''}/${o.metadata.name}@${rv} `);
    }
  }
  return hash.digest('base64');
}
