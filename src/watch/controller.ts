// The watch loop: informers keep local copies of the ConfigMap, the Services of the namespaces the config
// names (plus placeholders anywhere) and the production VirtualServices; events only enqueue a key, the
// production Service's name; workers run the very same plan and apply as `vsop sync` for that one key,
// from the local copies. A changed ConfigMap is validated and, if valid, takes effect at once.

import { applyPlan, type Result, type RetryPolicy } from '../apply.ts';
import { loadConfig, type LoadedConfig } from '../core/config.ts';
import { CONFIG_KEY, isManaged, PLACEHOLDER_LABEL, SERVICE_ANNOTATION } from '../core/ownership.ts';
import { renderTemplate } from '../core/template.ts';
import type { ConfigLocation, KubeObject, Service, VirtualService } from '../core/types.ts';
import { ConfigError, ConflictError, formatProblem } from '../errors.ts';
import type { ConfigMap, WatchPort } from '../k8s/port.ts';
import { planSnapshot } from '../reconcile.ts';
import { Informer, keyOf, type Change } from './informer.ts';
import type { Logger } from './log.ts';
import { LABELS, QUEUE_LABELS, type Metrics } from './metrics.ts';
import { WorkQueue } from './queue.ts';

// Settling of events (see enqueue): one at a time, and in a burst (more than BURST_EVENTS in a window).
const QUIET_MS = 15;
const QUIET_MAX_MS = 100;
const RATE_WINDOW_MS = 100;
const BURST_EVENTS = 20;
const BURST_HOLD_MS = 1000;
const BURST_QUIET_MS = 400;
const BURST_MAX_MS = 5000;

export interface ControllerOptions {
  port: WatchPort;
  location: ConfigLocation;
  log: Logger;
  metrics: Metrics;
  workers: number;
  /** Every key is reconciled again this often, to catch anything missed (ms). */
  resyncPeriod: number;
  retry: RetryPolicy;
  /** Writes happen only while this says so (the leader Lease is held and fresh). */
  canWrite: () => boolean;
}

export class Controller {
  private readonly o: ControllerOptions;
  private readonly queue: WorkQueue;
  private config: LoadedConfig | undefined;
  private configText = '';
  private readonly configInformer: Informer<ConfigMap>;
  private vsInformer: Informer<VirtualService> | undefined;
  private readonly serviceInformers = new Map<string, Informer<Service>>();
  private readonly placeholderInformer: Informer<Service>;
  /** Every Service seen, by name then namespace: what one key's reconcile reads. */
  private readonly byName = new Map<string, Map<string, Service>>();
  private workers: Promise<void>[] = [];
  private firstPass: Set<string> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private rate = { since: 0, count: 0 };
  /** Store keys of the VirtualServices each Service key names (annotation or name), and of unmanaged ones. */
  private readonly vsIndex = new Map<string, Set<string>>();
  private readonly unmanaged = new Set<string>();
  private readonly vsKeyOf = new Map<string, string>();
  private gotFirstConfig!: () => void;
  private readonly firstConfig = new Promise<void>((resolve) => (this.gotFirstConfig = resolve));
  private burstUntil = 0;
  /** Ready: caches synced, and (while leading) the first full pass done. */
  ready = false;
  private synced = false;

  constructor(o: ControllerOptions) {
    this.o = o;
    const m = o.metrics;
    this.queue = new WorkQueue({
      hooks: {
        add: () => m.queueAdds.inc(QUEUE_LABELS),
        depth: (n) => m.queueDepth.set(QUEUE_LABELS, n),
        waited: (s) => m.queueLatency.observe(QUEUE_LABELS, s),
        retry: () => m.retries.inc(QUEUE_LABELS),
      },
    });
    this.configInformer = this.informer<ConfigMap>(
      { resource: 'configmaps', namespace: o.location.namespace, fieldSelector: `metadata.name=${o.location.name}` },
      () => this.onConfigChange(),
    );
    this.placeholderInformer = this.informer<Service>({ resource: 'services', namespace: '', labelSelector: `${PLACEHOLDER_LABEL}=true` }, (c) => this.onService(c));
    m.maxWorkers.set(LABELS, o.workers);
    m.configValid.set(0);
    Object.assign(m.sources, {
      routes: () => this.countRoutes(),
      virtualServices: () => [...(this.vsInformer?.store.values() ?? [])].filter(isManaged).length,
      running: () => this.queue.running(),
      busy: () => this.queue.busy,
    });
  }

  /** Starts the informers; resolves once every cache holds a first full list. */
  async start(): Promise<void> {
    this.configInformer.start();
    this.placeholderInformer.start();
    await this.configInformer.synced;
    this.onConfigChange();
    if (!this.config) {
      // Not ready, but not crashing either: a Deployment applied before its ConfigMap starts when it comes.
      this.o.log.error('waiting for a valid configuration', { configmap: `${this.o.location.namespace}/${this.o.location.name}` });
      await this.firstConfig;
      if (this.stopped) return;
    }
    await this.placeholderInformer.synced;
    await this.vsInformer!.synced;
    await Promise.all([...this.serviceInformers.values()].map((i) => i.synced));
    this.synced = true;
    this.o.log.info('caches synced', { services: this.byNameCount(), virtualservices: this.vsInformer!.store.size });
  }

  /** Leading: work through every key, then keep working as events come, until `stop`. */
  lead(): void {
    if (this.stopped) return;
    const keys = this.allKeys();
    this.firstPass = new Set(keys);
    if (keys.length === 0) this.firstPassDone();
    for (const key of keys) this.queue.add(key);
    this.workers = Array.from({ length: this.o.workers }, () => this.work());
    this.resyncTimer = setInterval(() => {
      for (const key of this.allKeys()) this.queue.add(key);
    }, this.o.resyncPeriod);
    this.resyncTimer.unref();
  }

  /** Standby (not leading): caches stay warm and the replica ready, but nothing is written. */
  get standbyReady(): boolean {
    return this.synced;
  }

  /** Stops taking work, lets in-flight keys finish (up to `graceMs`), and stops the informers. */
  async stop(graceMs: number): Promise<void> {
    this.stopped = true;
    this.gotFirstConfig();
    this.ready = false;
    clearInterval(this.resyncTimer);
    this.queue.shutDown();
    await Promise.race([Promise.all(this.workers), new Promise((r) => setTimeout(r, graceMs).unref())]);
    await Promise.all([this.configInformer, this.placeholderInformer, this.vsInformer, ...this.serviceInformers.values()].map((i) => i?.stop()));
  }

  private informer<T extends KubeObject>(collection: ConstructorParameters<typeof Informer<T>>[0]['collection'], onChange: (c: Change<T>) => void): Informer<T> {
    return new Informer<T>({
      port: this.o.port,
      collection,
      onChange,
      onRestart: (reason, err) => {
        this.o.metrics.watchRestarts.inc({ resource: collection.resource, reason });
        if (reason === 'error') this.o.log.error('watch interrupted, resuming', { resource: collection.resource, namespace: collection.namespace || undefined, error: err });
        else this.o.log.debug('watch expired (410 Gone), listing again', { resource: collection.resource, namespace: collection.namespace || undefined });
      },
    });
  }

  private onConfigChange(): void {
    const cm = this.configInformer.store.get(`${this.o.location.namespace}/${this.o.location.name}`);
    const text = cm?.data?.[CONFIG_KEY];
    const source = `configmap ${this.o.location.namespace}/${this.o.location.name}, ${CONFIG_KEY}`;
    if (text === undefined) {
      this.rejectConfig(cm, `${source}: missing`);
      return;
    }
    if (text === this.configText && this.config) return;
    let loaded: LoadedConfig;
    try {
      loaded = loadConfig(text, source);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      this.rejectConfig(cm, err.problems.map(formatProblem).join('; '));
      return;
    }
    for (const w of loaded.warnings) this.o.log.info('config warning', { warning: formatProblem(w) });
    const first = !this.config;
    const previous = this.config;
    this.config = loaded;
    this.gotFirstConfig();
    this.configText = text;
    this.o.metrics.configValid.set(1);
    this.followNamespaces(previous);
    if (!first) {
      this.o.log.info('config reloaded', { namespace: loaded.config.defaultNamespace, developerNamespaces: loaded.config.developerNamespaces.map((d) => d.name) });
      for (const key of this.allKeys()) this.queue.add(key);
    }
  }

  /** The last good config stays in force; the problem goes to the log, an Event and a gauge. */
  private rejectConfig(cm: ConfigMap | undefined, problem: string): void {
    this.o.metrics.configValid.set(0);
    this.o.log.error(this.config ? 'config rejected, keeping the last valid one' : 'config invalid', { error: problem });
    if (!cm || !this.o.canWrite()) return;
    const now = new Date().toISOString();
    void this.o.port
      .createEvent({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${cm.metadata.name}.`, namespace: cm.metadata.namespace!, name: '' },
        involvedObject: { apiVersion: 'v1', kind: 'ConfigMap', name: cm.metadata.name, namespace: cm.metadata.namespace, uid: cm.metadata.uid, resourceVersion: cm.metadata.resourceVersion },
        reason: 'InvalidConfig',
        message: `${problem}`.slice(0, 1000),
        type: 'Warning',
        source: { component: 'vsop' },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      })
      .catch((err: unknown) => this.o.log.error('cannot record an Event on the ConfigMap', { error: err }));
  }

  /** Watches follow the config: one per namespace it names, and the production VirtualServices. */
  private followNamespaces(previous: LoadedConfig | undefined): void {
    const cfg = this.config!.config;
    const wanted = new Set([cfg.defaultNamespace, ...cfg.developerNamespaces.map((d) => d.name)]);
    for (const [ns, inf] of this.serviceInformers) {
      if (wanted.has(ns)) continue;
      this.serviceInformers.delete(ns);
      void inf.stop();
      for (const svc of inf.store.values()) this.forget(svc);
    }
    for (const ns of wanted) {
      if (this.serviceInformers.has(ns)) continue;
      this.serviceInformers.set(ns, this.informer<Service>({ resource: 'services', namespace: ns }, (c) => this.onService(c)).start());
    }
    const apiVersion = this.config!.template.value.apiVersion;
    const prev = previous && { ns: previous.config.defaultNamespace, v: previous.template.value.apiVersion };
    if (!this.vsInformer || prev?.ns !== cfg.defaultNamespace || prev?.v !== apiVersion) {
      const old = this.vsInformer;
      this.vsIndex.clear();
      this.vsKeyOf.clear();
      this.unmanaged.clear();
      this.vsInformer = this.informer<VirtualService>({ resource: 'virtualservices', namespace: cfg.defaultNamespace, apiVersion }, (c) => this.onVirtualService(c)).start();
      void old?.stop();
    }
  }

  private onService({ type, object }: Change<Service>): void {
    const { name, namespace } = object.metadata;
    let copies = this.byName.get(name);
    if (type === 'deleted') {
      // A placeholder seen by both its namespace's watch and the placeholder watch goes once both say so.
      const stillWatched = [this.serviceInformers.get(namespace!), this.placeholderInformer].some((i) => i?.store.has(keyOf(object)));
      if (!stillWatched) copies?.delete(namespace!);
      if (copies?.size === 0) this.byName.delete(name);
    } else {
      if (!copies) this.byName.set(name, (copies = new Map()));
      copies.set(namespace!, object);
    }
    this.enqueue(name);
  }

  private forget(svc: Service): void {
    const copies = this.byName.get(svc.metadata.name);
    if (!copies || this.placeholderInformer.store.has(keyOf(svc))) return;
    copies.delete(svc.metadata.namespace!);
    if (copies.size === 0) this.byName.delete(svc.metadata.name);
    this.enqueue(svc.metadata.name);
  }

  private onVirtualService({ type, object }: Change<VirtualService>): void {
    const storeKey = keyOf(object);
    const before = this.vsKeyOf.get(storeKey);
    if (before !== undefined) this.vsIndex.get(before)?.delete(storeKey);
    this.vsKeyOf.delete(storeKey);
    this.unmanaged.delete(storeKey);
    const key = this.keyOfVirtualService(object);
    if (type !== 'deleted') {
      if (!isManaged(object)) this.unmanaged.add(storeKey);
      if (key) {
        let keys = this.vsIndex.get(key);
        if (!keys) this.vsIndex.set(key, (keys = new Set()));
        keys.add(storeKey);
        this.vsKeyOf.set(storeKey, key);
      }
    }
    if (key) this.enqueue(key);
  }

  /**
   * Events settle before their key is reconciled: briefly while they come one at a time (a developer
   * deploying a Service: routed within tens of milliseconds), longer while they pour in (a Helm release or
   * a restore creating hundreds), so that a burst writes each VirtualService once rather than once per
   * event.
   */
  private enqueue(key: string): void {
    const now = performance.now();
    if (now - this.rate.since > RATE_WINDOW_MS) this.rate = { since: now, count: 0 };
    if (++this.rate.count > BURST_EVENTS) this.burstUntil = now + BURST_HOLD_MS;
    if (now < this.burstUntil) this.queue.addQuiet(key, BURST_QUIET_MS, BURST_MAX_MS);
    else this.queue.addQuiet(key, QUIET_MS, QUIET_MAX_MS);
  }

  /** The production Service a VirtualService is for: its annotation, else the template's naming. */
  private keyOfVirtualService(vs: VirtualService): string | undefined {
    const annotated = vs.metadata.annotations?.[SERVICE_ANNOTATION];
    if (annotated) return annotated;
    return vs.metadata.name.endsWith('-virtual-service') ? vs.metadata.name.slice(0, -'-virtual-service'.length) : undefined;
  }

  private allKeys(): string[] {
    const keys = new Set<string>();
    const prod = this.config?.config.defaultNamespace;
    for (const [name, copies] of this.byName) if ((prod && copies.has(prod)) || [...copies.values()].some((s) => s.metadata.labels?.[PLACEHOLDER_LABEL])) keys.add(name);
    for (const vs of this.vsInformer?.store.values() ?? []) {
      const k = isManaged(vs) ? this.keyOfVirtualService(vs) : undefined;
      if (k) keys.add(k);
    }
    return [...keys];
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = performance.now();
      try {
        await this.reconcile(key);
        this.queue.forget(key);
        this.o.metrics.reconcileTotal.inc({ ...LABELS, result: 'success' });
      } catch (err) {
        this.o.metrics.reconcileTotal.inc({ ...LABELS, result: 'error' });
        this.o.metrics.reconcileErrors.inc(LABELS);
        if (!this.stopped) {
          const delay = this.queue.addRateLimited(key);
          this.o.log.error('reconcile failed, retrying', { service: key, namespace: this.config?.config.defaultNamespace, error: err, retryInSeconds: delay / 1000 });
        }
      } finally {
        const seconds = (performance.now() - started) / 1000;
        this.o.metrics.reconcileTime.observe(LABELS, seconds);
        this.o.metrics.workDuration.observe(QUEUE_LABELS, seconds);
        this.queue.done(key);
        if (this.firstPass?.delete(key) && this.firstPass.size === 0) this.firstPassDone();
      }
    }
  }

  private firstPassDone(): void {
    this.firstPass = undefined;
    this.ready = true;
    this.o.metrics.lastSync.set(Date.now() / 1000);
    this.o.log.info('first full sync done');
  }

  /** One key: the same plan and apply as `vsop sync KEY`, on the local copies. */
  private async reconcile(key: string): Promise<void> {
    const loaded = this.config;
    if (!loaded || !this.o.canWrite()) return;
    const prod = loaded.config.defaultNamespace;
    const desiredName = renderTemplate(loaded.template, { serviceName: key, defaultNamespace: prod }).metadata.name;
    // This Service's VirtualServices (by the template's name, or naming it), and every unmanaged one (for
    // same-name conflicts and host overlaps): found through indexes, not a scan of the whole store.
    const store = this.vsInformer?.store;
    const candidates = new Set([`${prod}/${desiredName}`, ...(this.vsIndex.get(key) ?? []), ...this.unmanaged]);
    const virtualServices = [...candidates].map((k) => store?.get(k)).filter((vs): vs is VirtualService => vs !== undefined);
    const services = [...(this.byName.get(key)?.values() ?? [])];
    const result = planSnapshot(
      { config: { text: this.configText, source: `configmap ${this.o.location.namespace}/${this.o.location.name}, ${CONFIG_KEY}` }, services, virtualServices },
      { services: [key], allowGone: true, loaded },
    );
    for (const f of result.plan.findings) {
      const fields = { service: key, namespace: f.namespace, virtualservice: f.name };
      if (f.severity === 'error') this.o.log.error(f.message, fields);
      else this.o.log.debug(f.message, fields);
    }
    const changes = result.plan.actions.filter((a) => a.type !== 'unchanged');
    this.o.log.debug('reconciling', { service: key, namespace: prod, changes: changes.length });
    if (changes.length === 0) return;
    for (const w of result.warnings) this.o.log.debug('warning', { service: key, warning: formatProblem(w) });
    const results = await applyPlan(changes, gated(this.o.port, this.o.canWrite), { retry: this.o.retry, desire: result.desire });
    for (const r of results) {
      if (r.result === 'unchanged') continue;
      this.remember(r);
      this.o.log.info(`${r.kind.toLowerCase()} ${r.result}`, { service: key, namespace: r.namespace, [r.kind === 'VirtualService' ? 'virtualservice' : 'name']: r.name });
    }
  }

  /** Write-through: the local copies learn of vsop's own writes before their watch events arrive. */
  private remember(r: Result): void {
    const key = `${r.namespace}/${r.name}`;
    if (r.kind === 'VirtualService') {
      this.vsInformer?.remember(r.object as VirtualService | undefined, r.result === 'deleted', key);
      return;
    }
    const copies = this.byName.get(r.name);
    if (r.result === 'deleted') copies?.delete(r.namespace);
    else if (r.object) {
      if (copies) copies.set(r.namespace, r.object as Service);
      else this.byName.set(r.name, new Map([[r.namespace, r.object as Service]]));
    }
  }

  private countRoutes(): number {
    let n = 0;
    for (const vs of this.vsInformer?.store.values() ?? []) if (isManaged(vs)) n += (vs.spec?.http ?? []).filter((r) => r.name?.startsWith('vsop-')).length;
    return n;
  }

  private byNameCount(): number {
    let n = 0;
    for (const c of this.byName.values()) n += c.size;
    return n;
  }
}

/** The port, with every write refused once this replica may no longer write (it lost the Lease). */
function gated(port: WatchPort, canWrite: () => boolean): WatchPort {
  const check = () => {
    if (!canWrite()) throw new ConflictError('not the leader any more: write refused');
  };
  return new Proxy(port, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof prop === 'string' && /^(create|replace|delete)/.test(prop) && typeof value === 'function') {
        return (...args: unknown[]) => {
          check();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
