// What `vsop xds` serves, kept current: the same informers as `vsop watch` (the ConfigMap, and every input
// src/inputs.ts declares for it: watch's, and the EndpointSlices of the namespaces the config names). As
// in watch, a change bears on the production Services the inputs' indexes name, and only those are
// rendered again, each from the local copies that bear on it (InputCache.objectsFor), by the same path as
// `vsop render` (planSnapshot, then the xDS renderer); the server takes each Service's resources as one
// group, encodes only those, and sends each client only what changed for it. A new config renders every
// Service. Changes that arrive together (one event loop turn) make one snapshot; there is no fixed delay.
//
// Nothing is written to the cluster, so there is no leader election: every replica serves.

import { type LoadedConfig, loadConfig } from '../core/config.ts';
import { invalidMessage } from '../core/overrides.ts';
import { renderXds, type XdsResources, type XdsRouting } from '../core/render/xds.ts';
import type { RoutingTable } from '../core/routing/table.ts';
import { configMapText } from '../core/text.ts';
import type { ConfigLocation, KubeObject } from '../core/types.ts';
import { ConfigError, formatProblem } from '../errors.ts';
import { type Affected, configCollection, fallbackMessage, type Input, XDS_INPUTS } from '../inputs.ts';
import type { Collection, ConfigMap, WatchPort } from '../k8s/port.ts';
import { planSnapshot, type Reconciled, type Snapshot } from '../reconcile.ts';
import { type Change, Informer, InputCache, logRestart } from '../watch/informer.ts';
import type { Logger } from '../watch/log.ts';
import { reclaimWhenIdle } from '../watch/reclaim.ts';
import type { XdsMetrics } from './metrics.ts';

export interface FeedOptions {
  port: WatchPort;
  location: ConfigLocation;
  log: Logger;
  metrics: XdsMetrics;
  /**
   * Told each snapshot rendered: the resources of each production Service rendered again (undefined: it
   * has none any more). The server encodes them and pushes what changed.
   */
  serve: (changes: ReadonlyMap<string, XdsResources | undefined>) => void;
}

export class XdsFeed {
  private readonly o: FeedOptions;
  private readonly configInformer: Informer<ConfigMap>;
  private readonly caches = new Map<Input['field'], InputCache<KubeObject>>();
  private loaded: LoadedConfig | undefined;
  private configText = '';
  private scheduled = false;
  private synced = false;
  /** Production Services to render again at the next snapshot, or every one ('all': a new config). */
  private dirty: Set<string> | 'all' = 'all';
  /** Production Services whose resources are served. */
  private readonly served = new Set<string>();
  /**
   * The routing last served per production Service, held while its overrides cannot be read; readable:
   * false when it was rendered without them (they have been unreadable since this process started).
   */
  private readonly held = new Map<string, { tables: XdsRouting[]; readable: boolean }>();
  /**
   * Production Services the template cannot render now: 'object' when the problem is the rendered object's
   * alone (served from the table), 'routing' when it may bear on the routes (held or not served). Each is
   * logged once when it starts and at info when it ends.
   */
  private readonly unrenderable = new Map<string, 'object' | 'routing'>();
  /** Production Services whose overrides cannot be read now: their recovery is logged. */
  private readonly unreadable = new Set<string>();
  /** Stops the collection of garbage at rest (src/watch/reclaim.ts, as watch has it). */
  private stopReclaim: (() => void) | undefined;

  constructor(o: FeedOptions) {
    this.o = o;
    this.configInformer = this.informer<ConfigMap>(configCollection(o.location), () => this.onConfigChange());
    for (const input of XDS_INPUTS) {
      this.caches.set(
        input.field,
        new InputCache<KubeObject>({
          input,
          informer: (collection, onChange, onFailure) => this.informer(collection, onChange, onFailure),
          touched: (keys) => this.touched(keys),
          fellBack: (fallback, err) => this.o.log.info(`warning: ${fallbackMessage(fallback, err.message)}`, { resource: fallback.collections[0]?.resource }),
        }),
      );
    }
  }

  /** Starts the informers; resolves once a valid config is read and every cache holds a first full list (the first snapshot is then served). */
  async start(): Promise<void> {
    this.configInformer.start();
    await this.configInformer.synced;
    while (!this.loaded) {
      this.onConfigChange();
      if (this.loaded) break;
      this.o.log.error('waiting for a valid configuration', { configmap: `${this.o.location.namespace}/${this.o.location.name}` });
      await new Promise<void>((resolve) => (this.waitingForConfig = resolve));
    }
    await Promise.all([...this.caches.values()].map((c) => c.synced()));
    this.synced = true;
    this.build();
    // Rendering every Service leaves V8's heap grown well past what is live; xds rests between changes.
    this.stopReclaim = reclaimWhenIdle({ busy: () => this.scheduled });
  }

  async stop(): Promise<void> {
    this.stopReclaim?.();
    this.waitingForConfig?.();
    await Promise.all([this.configInformer.stop(), ...[...this.caches.values()].map((c) => c.stop())]);
  }

  private waitingForConfig: (() => void) | undefined;

  private informer<T extends KubeObject>(collection: Collection, onChange: (change: Change<T>) => void, onFailure?: (err: unknown) => boolean): Informer<T> {
    return new Informer<T>({
      port: this.o.port,
      collection,
      onChange,
      onRestart: (reason, err) => {
        if (reason === 'error' && onFailure?.(err)) return;
        logRestart(this.o.log, collection, reason, err);
      },
    });
  }

  private onConfigChange(): void {
    const { namespace, name } = this.o.location;
    const cm = this.configInformer.store.get(`${namespace}/${name}`);
    const found = cm ? configMapText(cm) : undefined;
    const source = `configmap ${namespace}/${name}`;
    if (!found || 'problem' in found) {
      this.o.log.error(this.loaded ? 'config rejected, keeping the last valid one' : 'config invalid', { error: `${source}: ${found ? found.problem : 'missing'}` });
      return;
    }
    if (found.text === this.configText && this.loaded) return;
    try {
      this.loaded = loadConfig(found.text, source);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.o.log.error(this.loaded ? 'config rejected, keeping the last valid one' : 'config invalid', { error: err.problems.map(formatProblem).join('; ') });
      return;
    }
    this.configText = found.text;
    for (const cache of this.caches.values()) cache.follow(this.loaded);
    this.waitingForConfig?.();
    this.touched('all');
  }

  private touched(keys: Affected): void {
    if (keys === 'all') this.dirty = 'all';
    else if (this.dirty !== 'all') for (const key of keys) this.dirty.add(key);
    this.schedule();
  }

  /** One snapshot for every change that arrives in the same turn of the event loop. */
  private schedule(): void {
    if (this.scheduled || !this.synced) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.build();
    });
  }

  /** Renders the Services changes bore on since the last snapshot, and hands them to the server. */
  private build(): void {
    const loaded = this.loaded;
    if (!loaded) return;
    const started = performance.now();
    const keys = this.dirty === 'all' ? this.allKeys(loaded) : this.dirty;
    this.dirty = new Set();
    const changes = new Map<string, XdsResources | undefined>();
    for (const key of keys) {
      const resources = this.render(key, loaded);
      if (resources === 'failed') continue;
      changes.set(key, resources);
      if (resources) this.served.add(key);
      else this.served.delete(key);
    }
    this.o.serve(changes);
    this.o.metrics.builds.inc();
    this.o.metrics.rendered.inc(changes.size);
    this.o.metrics.buildTime.observe((performance.now() - started) / 1000);
    this.o.log.debug('snapshot served', { services: changes.size });
  }

  /** Every production Service, and every Service served (one that has gone is served no more). */
  private allKeys(loaded: LoadedConfig): Set<string> {
    const keys = new Set(this.served);
    const prod = loaded.config.defaultNamespace;
    for (const svc of this.caches.get('services')!.objects.values()) if (svc.metadata.namespace === prod) keys.add(svc.metadata.name);
    return keys;
  }

  /**
   * One production Service's resources, from the objects that bear on it (as watch reconciles one key);
   * undefined when it is no production Service (any more); 'failed' when nothing can be served for it (the
   * template renders an object for it whose spec is invalid, which may bear on its routes, and no routing of
   * it is held): what was served stays served. A template problem with the rendered object alone (its name
   * too long for this Service, say) does not stop it being served: xDS serves the routing table, never the
   * object (a warning, once; the recovery at info).
   *
   * Overrides recorded for it that cannot be read (a hand-edited annotation) do not stop it being served:
   * sync and watch leave such a VirtualService alone and Istio keeps routing by it, so a running xds holds
   * the routing it last served (Listener, RouteConfiguration, the Clusters they name), while the
   * ClusterLoadAssignments follow the EndpointSlices, as Istio's endpoints do: a rollout moves the
   * calls. With no routing held (a restart), it is served without the unreadable overrides: production
   * and the automatic developer routes, hand-routed header requests falling to them. Either is logged at
   * error, naming the object and the problem, and counted; the recovery at info.
   */
  private render(key: string, loaded: LoadedConfig): XdsResources | undefined | 'failed' {
    const snapshot: Snapshot = { config: { text: this.configText, source: this.source() }, services: [], virtualServices: [] };
    for (const [field, cache] of this.caches) snapshot[field] = cache.objectsFor(key) as never;
    const serve = (tables: readonly XdsRouting[]) => {
      const rendered = renderXds({ tables, services: snapshot.services, endpointSlices: snapshot.endpointSlices ?? [], namespace: loaded.config.defaultNamespace });
      for (const w of rendered.warnings) this.o.log.debug('warning', { service: key, warning: formatProblem(w) });
      return rendered.resources;
    };
    const held = this.held.get(key);
    const cannotRender = (error: string) => {
      this.unrenderable.set(key, 'routing');
      if (!held) {
        // Never served (every Service served holds its routing): there is nothing to hold.
        this.o.log.error('cannot render, not serving this Service', { service: key, error });
        return 'failed' as const;
      }
      this.o.log.error('cannot render, holding the last routing of this Service (its endpoints stay current)', { service: key, error });
      return serve(held.tables);
    };
    let r: Reconciled;
    try {
      r = planSnapshot(snapshot, { renderOnly: true, keepRefused: true, loaded });
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      return cannotRender(err.problems.map(formatProblem).join('; '));
    }
    let tables: RoutingTable[] = r.resolution.tables.filter((t) => t.service === key);
    const problems = r.resolution.problems.filter((p) => p.service === key);
    if (tables.length === 0 && problems.length > 0) {
      // The template's problem for this Service: one with the rendered object alone (its name, its
      // metadata) leaves the routing decision standing, and xDS never serves the object: served from the
      // table, said once. One that may bear on its routes (resolve gives no table): held, or not served.
      tables = r.resolution.objectRefused.filter((t) => t.service === key);
      const error = problems.map(formatProblem).join('; ');
      if (tables.length === 0) return cannotRender(error);
      if (this.unrenderable.get(key) !== 'object') {
        this.o.log.info(
          `warning: the template cannot render this Service's ${loaded.template.kind}; serving its routing over xDS all the same (xDS never uses the rendered object)`,
          {
            service: key,
            error,
          },
        );
      }
      this.unrenderable.set(key, 'object');
    } else if (tables.length > 0 && this.unrenderable.delete(key)) this.o.log.info(`the template renders this Service's ${loaded.template.kind} again`, { service: key });
    if (tables.length === 0) {
      this.held.delete(key);
      this.unreadable.delete(key);
      this.unrenderable.delete(key);
      return undefined;
    }
    for (const w of r.warnings) this.o.log.debug('warning', { service: key, warning: formatProblem(w) });
    const unreadable = r.unreadable.filter((i) => i.service === key);
    if (unreadable.length > 0) {
      this.o.metrics.unreadable.inc();
      this.unreadable.add(key);
      const error = unreadable.map(invalidMessage).join('; ');
      if (held?.readable) {
        this.o.log.error('overrides unreadable, holding the last routing of this Service (its endpoints stay current)', { service: key, error });
        return serve(held.tables);
      }
      this.o.log.error('overrides unreadable, serving this Service without them (hand routes fall to the automatic routing) until they are fixed', {
        service: key,
        error,
      });
      this.held.set(key, { tables: tables.map(routing), readable: false });
      return serve(tables);
    }
    if (this.unreadable.delete(key)) this.o.log.info('overrides readable again, serving them', { service: key });
    this.held.set(key, { tables: tables.map(routing), readable: true });
    return serve(tables);
  }

  private source(): string {
    return `configmap ${this.o.location.namespace}/${this.o.location.name}`;
  }
}

/** What the renderer needs of a table, and nothing more: held per Service, it keeps no Service or view alive. */
function routing(t: RoutingTable): XdsRouting {
  return { service: t.service, ports: t.ports, rules: t.rules, weights: t.weights };
}
