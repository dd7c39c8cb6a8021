// Every error vsop raises on purpose is a VsopError; the exit code comes from its class, and this file
// holds the one table that maps them. Commands throw; only src/main.ts turns an error into an exit code.

/** One located problem: where it is (a path in a document, a file position) and what is wrong. */
export interface Problem {
  /** e.g. `developerNamespaces[2]` or `spec.http[0].route` */
  path: string;
  message: string;
  /** e.g. `configmap virtualservice-operator-system/virtualservice-operator-config, config.yaml:4:5` */
  source?: string;
  /** The production Service it is about, where there is one: a command scoped to Services keeps only theirs. */
  service?: string;
}

export function formatProblem(p: Problem): string {
  const where = p.source ? `${p.source}: ` : '';
  return p.path ? `${where}${p.path}: ${p.message}` : `${where}${p.message}`;
}

export class VsopError extends Error {
  /** A line the user can act on, printed after the message. */
  readonly hint: string | undefined;
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** Bad flags or arguments. */
export class UsageError extends VsopError {}

/** The user stopped the command (Ctrl-C, or SIGTERM): the reason of the Io's abort signal. */
export class InterruptedError extends VsopError {
  readonly signal: 'SIGINT' | 'SIGTERM';
  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
    this.signal = signal;
  }
}

/** Collects every problem before failing once. */
export class ProblemsError extends VsopError {
  readonly problems: readonly Problem[];
  readonly warnings: readonly Problem[];
  constructor(summary: string, problems: readonly Problem[], options?: { hint?: string; warnings?: readonly Problem[] }) {
    const lines = [...problems.map((p) => `  ${formatProblem(p)}`), ...(options?.warnings ?? []).map((w) => `  warning: ${formatProblem(w)}`)];
    super(`${summary}:\n${lines.join('\n')}`, options);
    this.problems = problems;
    this.warnings = options?.warnings ?? [];
  }
}

/** The ConfigMap's config.yaml (or the template in it) is invalid. */
export class ConfigError extends ProblemsError {}

/** Input files or objects are unreadable, malformed or contradictory. */
export class InputError extends ProblemsError {}

/** The cluster cannot be reached or did not answer in time. */
export class UnreachableError extends VsopError {}

/** 401 / 403: credentials or RBAC. */
export class AccessError extends VsopError {}

/** Something vsop needs is absent: the ConfigMap, the Istio CRD. */
export class NotFoundError extends VsopError {}

/** An object is in the way (unmanaged, edited concurrently past the retry budget, --strict findings). */
export class ConflictError extends VsopError {}

/** An answer from the Kubernetes API other than success, with what vsop was doing when it came. */
export class ApiError extends VsopError {
  readonly status: number;
  /** The Status reason: NotFound, AlreadyExists, Conflict, Invalid, Forbidden, ... */
  readonly reason: string;
  /** Seconds the server asked to wait (429, 503). */
  readonly retryAfter: number | undefined;
  constructor(message: string, status: number, reason: string, options?: { cause?: unknown; hint?: string; retryAfter?: number }) {
    super(message, options);
    this.status = status;
    this.reason = reason;
    this.retryAfter = options?.retryAfter;
  }
}

/** The exit-code table. The README documents it; keep both in step. */
export const EXIT = {
  ok: 0,
  changes: 1,
  usage: 2,
  config: 3,
  input: 4,
  unreachable: 5,
  access: 6,
  notFound: 7,
  conflict: 8,
  /** Node older than the engines field (bin/vsop.js checks before loading anything; keep both in step). */
  platform: 9,
  internal: 70,
  /** The output could not be written (a full disk, a broken descriptor): sysexits' EX_IOERR, as 70 is its EX_SOFTWARE. */
  output: 74,
  /** The shell's codes for a process ended by a signal (128 + its number): Ctrl-C, SIGTERM, a closed output pipe. */
  interrupted: 130,
  pipe: 141,
  terminated: 143,
} as const;

export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof ConfigError) return EXIT.config;
  if (err instanceof InputError) return EXIT.input;
  if (err instanceof UnreachableError) return EXIT.unreachable;
  if (err instanceof AccessError) return EXIT.access;
  if (err instanceof NotFoundError) return EXIT.notFound;
  if (err instanceof ConflictError) return EXIT.conflict;
  if (err instanceof ApiError) {
    if (err.status === 401 || err.status === 403) return EXIT.access;
    if (err.status === 404) return EXIT.notFound;
    if (err.status === 409) return EXIT.conflict;
    if (err.status === 400 || err.status === 422) return EXIT.input;
    return EXIT.unreachable;
  }
  return EXIT.internal;
}
