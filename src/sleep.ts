// A wait that ends early, without an error, when the signal aborts: retries and backoffs stop waiting on
// Ctrl-C or SIGTERM and let their caller see the abort.

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}
