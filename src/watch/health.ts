// What /healthz answers: a controller whose worker has held one Service far longer than any reconcile
// takes is stuck (a request that never returns, a promise that never settles), and only a restart frees
// it. The kubelet restarts the container once the liveness probe fails (deployments/deployment.yaml).

/** A probe's answer. */
export interface ProbeAnswer {
  status: number;
  body: string;
}

/**
 * 200 "ok" while every key in process has been held less than `stuckAfterMs`; else 500 naming how long
 * the longest has been held. `running` is the work queue's (seconds, WorkQueue.running). Each API request
 * of a reconcile gives up after --request-timeout (30 s) and a conflict is retried five times (31 s of
 * backoff), so a worker that still holds one Service after the default bound (15 minutes) is not slow
 * but stuck.
 */
export function liveness(running: { longest: number }, stuckAfterMs: number): ProbeAnswer {
  const heldMs = running.longest * 1000;
  if (heldMs < stuckAfterMs) return { status: 200, body: 'ok' };
  return {
    status: 500,
    body: `stuck: a worker has held one Service for ${Math.round(running.longest)} s (--stuck-after ${Math.round(stuckAfterMs / 1000)} s)\n`,
  };
}
