// What `vsop xds` serves, kept current: the same informers as `vsop watch` (the ConfigMap, and every input
// src/inputs.ts declares for it: watch's, and the EndpointSlices of the namespaces the config names); on any change, the
// resources are rendered again from the local copies by the same path as `vsop render` (planSnapshot, then
// the xDS renderer) and handed to the server, which sends each client only what changed for it. Changes
// that arrive together (one event loop turn) make one snapshot; there is no fixed delay.
//
// Nothing is written to the cluster, so there is no leader election: every replica serves.

import { type LoadedConfig, loadConfig } from '../core/config.ts';
import { renderXds, type XdsResources } from '../core/render/xds.ts';
import { configMapText } from '../core/text.ts';
import type { ConfigLocation, KubeObject } from '../core/types.ts';
import { ConfigError, formatProblem } from '../errors.ts';
import { configCollection, fallbackMessage, XDS_INPUTS } from '../inputs.ts';
import type { Collection, ConfigMap, WatchPort } from '../k8s/port.ts';
import { planSnapshot, type Snapshot } from '../reconcile.ts';
import { type Change, Informer, InputCache } from '../watch/informer.ts';
import type { Logger } from '../watch/log.ts';
import type { XdsMetrics } from './metrics.ts';

export interface FeedOptions {
  port: WatchPort;
  location: ConfigLocation;
  log: Logger;
  metrics: XdsMetrics;
  /** Told each snapshot rendered (the server encodes it and pushes what changed). */
  serve: (resources: XdsResources) => void;
}

export class XdsFeed {
  private readonly o: FeedOptions;
  private readonly configInformer: Informer<ConfigMap>;
  private readonly caches = new Map<string, InputCache<KubeObject>>();
  private loaded: LoadedConfig | undefined;
  private configText = '';
  private scheduled = false;
  private synced = false;

  constructor(o: FeedOptions) {
    this.o = o;
    this.configInformer = this.informer<ConfigMap>(configCollection(o.location), () => this.onConfigChange());
    for (const input of XDS_INPUTS) {
      this.caches.set(
        input.field,
        new InputCache<KubeObject>({
          input,
          informer: (collection, onChange, onFailure) => this.informer(collection, onChange, onFailure),
          touched: () => this.schedule(),
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
  }

  async stop(): Promise<void> {
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
        if (reason === 'error') this.o.log.error('watch interrupted, resuming', { resource: collection.resource, namespace: collection.namespace || undefined, error: err });
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

  private build(): void {
    const loaded = this.loaded;
    if (!loaded) return;
    const started = performance.now();
    const snapshot = { config: { text: this.configText, source: `configmap ${this.o.location.namespace}/${this.o.location.name}` }, services: [], virtualServices: [] } as Snapshot;
    for (const [field, cache] of this.caches) (snapshot as unknown as Record<string, KubeObject[]>)[field] = [...cache.objects.values()];
    let resources: XdsResources;
    try {
      const r = planSnapshot(snapshot, { renderOnly: true, loaded });
      const rendered = renderXds({
        tables: r.resolution.tables,
        services: snapshot.services,
        endpointSlices: snapshot.endpointSlices ?? [],
        namespace: loaded.config.defaultNamespace,
      });
      for (const w of [...r.warnings, ...rendered.warnings]) this.o.log.debug('warning', { warning: formatProblem(w) });
      resources = rendered.resources;
    } catch (err) {
      // A template that renders invalid objects for some Service: the last good snapshot stays served.
      if (!(err instanceof ConfigError)) throw err;
      this.o.log.error('cannot render, serving the last snapshot', { error: err.problems.map(formatProblem).join('; ') });
      return;
    }
    this.o.serve(resources);
    this.o.metrics.builds.inc();
    this.o.metrics.buildTime.observe((performance.now() - started) / 1000);
    this.o.log.debug('snapshot served', { listeners: resources.listener.length, clusters: resources.cluster.length });
  }
}
