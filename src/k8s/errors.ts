// Turning what the client library throws into vsop's typed errors, each naming the operation, the cause
// and, where the user can act, the fix.

import { ApiError, UnreachableError, VsopError } from '../errors.ts';
import { HttpFailure, ProxyFailure } from './http.ts';

export interface Operation {
  verb: 'get' | 'list' | 'create' | 'update' | 'delete' | 'watch';
  /** e.g. `services` or `virtualservices.networking.istio.io` */
  resource: string;
  namespace?: string;
  name?: string;
  apiVersion?: string;
}

interface Status {
  reason?: string;
  message?: string;
}

export function toVsopError(err: unknown, op: Operation, server: string): Error {
  if (err instanceof VsopError) return err;
  const target = `${op.resource}${op.name ? ` ${op.namespace}/${op.name}` : op.namespace ? ` in namespace ${op.namespace}` : ''}`;
  if (err instanceof HttpFailure) {
    const status = parseStatus(err.body);
    const retryAfter = Number(err.headers['retry-after']);
    const opts = { cause: err, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfter } : {}) };
    const code = err.status;
    const reason = status.reason ?? String(code);
    if (code === 401) {
      return new ApiError(`the API server at ${server} refused the credentials (401 Unauthorized) when trying to ${op.verb} ${target}`, code, 'Unauthorized', {
        ...opts,
        hint: 'the token or certificate of the current kubeconfig user is missing or expired: log in again (kubectl get ns shows the same error)',
      });
    }
    if (code === 403) {
      // The apiserver's own words, as kubectl prints them, name the user it refused ("User \"system:
      // serviceaccount:…\" cannot update resource …") or the admission plugin that said no.
      const where = op.namespace ? ` in namespace ${op.namespace}` : ' cluster-wide';
      return new ApiError(`forbidden: cannot ${op.verb} ${op.resource}${where}${status.message ? `: ${status.message}` : ''}`, code, 'Forbidden', {
        ...opts,
        hint: `grant the user "${op.verb}" on ${op.resource}${where} (check with: kubectl auth can-i ${op.verb} ${op.resource}${op.namespace ? ` -n ${op.namespace}` : ''})`,
      });
    }
    if (code === 404 && op.resource.endsWith('.networking.istio.io') && !op.name) {
      return new ApiError(`the cluster does not serve ${op.resource} at ${op.apiVersion ?? 'networking.istio.io'}: networking.istio.io is not installed`, code, 'NotFound', {
        ...opts,
        hint: "install Istio (or at least its CRDs), or use the version your Istio serves in the template's apiVersion",
      });
    }
    if (code === 404 && op.resource.endsWith('.gateway.networking.k8s.io') && !op.name) {
      return new ApiError(`the cluster does not serve ${op.resource} at ${op.apiVersion ?? 'gateway.networking.k8s.io'}: the Gateway API is not installed`, code, 'NotFound', {
        ...opts,
        hint: 'install the Gateway API CRDs (standard channel, the release your mesh supports), or set routeKind: VirtualService',
      });
    }
    if (code === 404) {
      return new ApiError(`${target} not found`, code, reason, opts);
    }
    const detail = status.message ?? (typeof err.body === 'string' ? err.body : `HTTP ${code}`);
    return new ApiError(`${op.verb} ${target}: ${detail}`, code, reason, opts);
  }
  if (isAbort(err)) {
    return new UnreachableError(`no answer from the API server at ${server} in time when trying to ${op.verb} ${target}`, {
      cause: err,
      hint: 'the cluster is slow or unreachable: check it with kubectl cluster-info, or raise --request-timeout',
    });
  }
  if (err instanceof ProxyFailure) {
    const why = err.status ? err.message : `${err.message}${err.code && !err.message.includes(err.code) ? ` (${err.code})` : ''}`;
    return new UnreachableError(`cannot reach the API server at ${server} through the proxy ${err.proxy}: ${why}, when trying to ${op.verb} ${target}`, {
      cause: err,
      hint:
        err.status === 407
          ? "the proxy wants credentials: put them in the proxy's URL (http://USER:PASSWORD@HOST:PORT)"
          : "check the proxy (HTTPS_PROXY, or the cluster's proxy-url in the kubeconfig); NO_PROXY lists the servers reached without it",
    });
  }
  const code = networkCode(err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new UnreachableError(`cannot reach the API server at ${server}: the name ${hostname(server)} does not resolve (${code}) when trying to ${op.verb} ${target}`, {
      cause: err,
      hint: "check the server address of the current context; if the cluster is reached through a proxy, set HTTPS_PROXY (as for kubectl), or the cluster's proxy-url, and keep it out of NO_PROXY",
    });
  }
  if (code) {
    return new UnreachableError(`cannot reach the API server at ${server} (${code}) when trying to ${op.verb} ${target}`, {
      cause: err,
      hint: 'check the server address of the current context and that the cluster is up (kubectl cluster-info)',
    });
  }
  return err instanceof Error ? err : new Error(String(err));
}

function hostname(server: string): string {
  try {
    return new URL(server).hostname;
  } catch {
    return server;
  }
}

function parseStatus(body: unknown): Status {
  if (typeof body === 'string') {
    try {
      return JSON.parse(body) as Status;
    } catch {
      return {};
    }
  }
  return body && typeof body === 'object' ? (body as Status) : {};
}

function isAbort(err: unknown): boolean {
  const name = (err as { name?: string } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/** The system error behind a failed request (ECONNREFUSED, ECONNRESET, a TLS failure...). */
function networkCode(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; cur && depth < 4; depth++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && /^(E[A-Z]+|ERR_TLS|ERR_SSL|CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO)/.test(code)) return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}
