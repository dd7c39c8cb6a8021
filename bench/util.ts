// What the cluster parts of npm run bench share: bounded concurrency, a request that must succeed, a
// percentile, a pause.

import { kubeRequest, type Connection } from '../test/harness/kube.ts';

/** Runs `fn` on every item, at most `limit` at once. */
export async function forEachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** A request to the test apiserver that must succeed (any status below 300), else throws with its answer. */
export async function must(conn: Connection, method: string, path: string, body?: unknown): Promise<void> {
  const res = await kubeRequest(conn, method, path, { body });
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 200)}`);
}

/** The p-th percentile (0–100) of `xs`, nearest rank. */
export const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
