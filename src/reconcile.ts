// reconcileOnce = read → resolve → plan. Every command that looks at routing (render, sync, status, and
// later watch and route) goes through here, whether the state comes from files or from a cluster.

import { loadConfig, type LoadedConfig } from './core/config.ts';
import type { ConfigText } from './core/inventory.ts';
import { planPlaceholders } from './core/placeholders.ts';
import { plan, type Plan } from './core/plan.ts';
import { resolve, type Resolution } from './core/resolve.ts';
import type { Service, VirtualService } from './core/types.ts';
import { ConfigError, NotFoundError, type Problem } from './errors.ts';

/** What vsop reads, from wherever it comes. */
export interface Snapshot {
  config: ConfigText;
  services: Service[];
  virtualServices: VirtualService[];
}

export interface StateSource {
  read(): Promise<Snapshot>;
}

export interface ReconcileOptions {
  /** Limit to these production Services. */
  services?: readonly string[];
  adopt?: boolean;
  /** Also work out, per Service and namespace, how requests are routed (for status). */
  routing?: boolean;
  /** A named Service that is not (or no longer) in production is not an error: its objects go (watch). */
  allowGone?: boolean;
}

export interface Reconciled {
  loaded: LoadedConfig;
  resolution: Resolution;
  plan: Plan;
  snapshot: Snapshot;
  warnings: Problem[];
}

export async function reconcileOnce(source: StateSource, opts: ReconcileOptions = {}): Promise<Reconciled> {
  const snapshot = await source.read();
  return planSnapshot(snapshot, opts);
}

/** The pure half of reconcileOnce, for callers that already hold a snapshot. */
export function planSnapshot(snapshot: Snapshot, opts: ReconcileOptions = {}): Reconciled {
  const loaded = loadConfig(snapshot.config.text, snapshot.config.source, snapshot.config.locate);
  const resolution = resolve(loaded.config, loaded.template, snapshot.services, { routing: opts.routing ?? false });
  if (resolution.problems.length > 0) throw new ConfigError('the template renders invalid VirtualServices', resolution.problems);
  if (opts.services && !opts.allowGone) {
    const known = new Set(resolution.services);
    const unknown = opts.services.filter((s) => !known.has(s));
    if (unknown.length > 0) {
      const ns = loaded.config.defaultNamespace;
      throw new NotFoundError(
        `${unknown.map((s) => `service ${ns}/${s}`).join(', ')} not found among the production Services`,
        { hint: known.size ? `production Services: ${[...known].slice(0, 20).join(', ')}${known.size > 20 ? ', …' : ''}` : `namespace ${ns} has no Services` },
      );
    }
  }
  const p = plan(resolution.virtualServices, snapshot.virtualServices, {
    defaultNamespace: loaded.config.defaultNamespace,
    ...(opts.services ? { services: opts.services } : {}),
    ...(opts.adopt ? { adopt: true } : {}),
  });
  const developerServices = snapshot.services.filter((s) => s.metadata.namespace !== loaded.config.defaultNamespace);
  p.actions.push(...planPlaceholders(resolution.placeholders, developerServices, opts.services ? new Set(opts.services) : undefined));
  return { loaded, resolution, plan: p, snapshot, warnings: loaded.warnings };
}
