// Memory handed back once the controller rests. V8 runs a full collection when the old generation reaches
// a limit it sets from the heap's size after the last one, not when work stops; after a first pass or a
// burst, `vsop watch` holding 10,000 Services kept about 20 MB of garbage on a heap of 44 MB live, and V8's
// memory reducer did not take it back within the 15 s the benchmark waits (bench/watch.ts). A controller
// spends nearly all its life idle, and its resident memory at rest is what a Deployment is sized by: one
// full collection when it goes idle after enough allocation costs a few tens of milliseconds of CPU, once.

import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface ReclaimOptions {
  /** Whether there is work queued or in process now. */
  busy: () => boolean;
  /** How often to look, and how long the controller must have been idle (ms). */
  everyMs?: number;
  /** Collect only once the heap has grown this much (bytes) since the last collection here. */
  growthBytes?: number;
}

/**
 * V8's `gc`, which Node exposes only with --expose-gc: the flag set now, and the function taken from a new
 * context, which gets it (the main context was made before the flag). Undefined where V8 refuses.
 */
function collector(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    // 'last-resort' is V8's CollectAllAvailableGarbage: it compacts and hands the freed pages back at once,
    // where a regular full collection left the heap's 60 MB mapped although 41 MB were live (v8 gc extension).
    return typeof gc === 'function' ? () => (gc as (o: object) => void)({ type: 'major', execution: 'sync', flavor: 'last-resort' }) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Looks every `everyMs` (an unref'd timer: it never keeps the process alive): when the controller was idle
 * at the last look and still is, and the heap has grown by `growthBytes` since the last collection here
 * (the first rest always collects), runs one full collection. Returns the function that stops it.
 */
export function reclaimWhenIdle(opts: ReclaimOptions): () => void {
  const gc = collector();
  if (!gc) return () => {};
  const growth = opts.growthBytes ?? 16 * 1024 * 1024;
  // Nothing collected here yet: the first rest after the caches filled and the first pass ran collects.
  let base = 0;
  let idleBefore = false;
  const timer = setInterval(() => {
    const idle = !opts.busy();
    if (idle && idleBefore && getHeapStatistics().used_heap_size - base >= growth) {
      gc();
      base = getHeapStatistics().used_heap_size;
    }
    idleBefore = idle;
  }, opts.everyMs ?? 2000);
  timer.unref();
  return () => clearInterval(timer);
}
