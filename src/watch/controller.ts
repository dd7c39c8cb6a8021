// The watch loop: informers keep local copies of the ConfigMap and of every input src/inputs.ts declares
// (the Services of the namespaces the config names, placeholders anywhere, the VirtualServices of every
// namespace); events only enqueue the keys they bear on, production Service names; workers run the very
// same plan and apply as `vsop sync` for that one key, from the local copies. A changed ConfigMap is
// validated and, if valid, takes effect at once.
//
// ReferenceGrants (routeKind HTTPRoute) have a key of their own, GRANTS_KEY: a grant lists every Service
// of its namespace that any of vsop's routes sends to, so planning it from one Service's objects would
// shrink it to that Service's entries. A Service's reconcile never writes grants: when a route it is about
// to write sends to a Service no grant allows yet, it writes nothing, queues GRANTS_KEY and waits; that key
// plans every grant from every cached object (the routes vsop renders, and the routes it has stored, so an
// entry goes only after the route that used it has been rewritten), writes them, and queues the waiting
// Services again. So an entry is created before the route that needs it and removed after the route that
// used it; a Service's reconcile that rewrote a route queues GRANTS_KEY for the removals.

import { applyPlan, type Result, type RetryPolicy } from '../apply.ts';
import { loadConfig, type LoadedConfig } from '../core/config.ts';
import { CONFIG_KEY, isManaged, PLACEHOLDER_LABEL } from '../core/ownership.ts';
import { configMapText } from '../core/text.ts';
import type { ConfigLocation, KubeObject, VirtualService } from '../core/types.ts';
import { ConfigError, ConflictError, formatProblem } from '../errors.ts';
import { affectedByVirtualService, configCollection, fallbackMessage, INPUTS, type Affected, type Input } from '../inputs.ts';
import type { Collection, ConfigMap, KubePort, WatchPort } from '../k8s/port.ts';
import { grantsWanted, missingGrantEntries } from '../core/gateway/grants.ts';
import { planGateway } from '../core/gateway/plan.ts';
import type { Finding } from '../core/plan.ts';
import type { HTTPRoute } from '../core/render/httproute.ts';
import { planSnapshot, type Snapshot } from '../reconcile.ts';
import { Informer, InputCache, logRestart, type Change } from './informer.ts';
import type { Logger } from './log.ts';
import { LABELS, QUEUE_LABELS, type Metrics } from './metrics.ts';
import { Settler, WorkQueue, type SettleOptions } from './queue.ts';
import { fingerprint } from './fingerprint.ts';
import { reclaimWhenIdle } from './reclaim.ts';

// When events reach the queue (see Settler): at once on an idle controller; in a flow (5 events within
// 80 ms to start one, events less than 50 ms apart to keep it going), together once the flow has stopped
// for 400 ms; no key waits more than 10 s.
const SETTLE: SettleOptions = { gapMs: 20, flowEvents: 5, keepMs: 50, quietMs: 400, maxMs: 10_000 };

/** The key of the ReferenceGrants: never a Service's name (a DNS-1035 label has no '*'). */
export const GRANTS_KEY = '*referencegrants';

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
  private readonly settler: Settler;
  private config: LoadedConfig | undefined;
  private configText = '';
  /**
   * The problem last said about the ConfigMap (its resourceVersion and the problem): said once in the log,
   * and once as an Event by the replica that may write. The informer's first list and the explicit look
   * after sync both see the same object, and a relist sees it again: that is not a new problem.
   */
  private rejected: { key: string; recorded: boolean } | undefined;
  private readonly configInformer: Informer<ConfigMap>;
  /** One local copy per input of src/inputs.ts, by the Snapshot field it fills. */
  private readonly caches = new Map<Input['field'], InputCache<KubeObject>>();
  private workers: Promise<void>[] = [];
  private firstPass: Set<string> | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Stops the collection of garbage at rest (see reclaim.ts); set while leading. */
  private stopReclaim: () => void = () => {};
  private gotFirstConfig!: () => void;
  private readonly firstConfig = new Promise<void>((resolve) => (this.gotFirstConfig = resolve));
  /** Keys whose VirtualServices changed while a worker held them (see touched). */
  private readonly editedInFlight = new Set<string>();
  /** Services waiting for GRANTS_KEY to write the grant entries their routes need. */
  private readonly waitingForGrants = new Set<string>();
  /** Services GRANTS_KEY has queued again: they wait no second time (a grant it could not make is reported there). */
  private readonly released = new Set<string>();
  /**
   * Keys whose last plan changed nothing and found no error, by the fingerprint of what it read
   * (fingerprint.ts): planned again only once something of theirs changes. Dropped with the config.
   */
  private readonly settled = new Map<string, string>();
  /** Warning findings already logged, per key. */
  private readonly reported = new Map<string, Set<string>>();
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
    this.settler = new Settler(this.queue, SETTLE);
    this.configInformer = this.informer<ConfigMap>(configCollection(o.location), () => this.onConfigChange());
    for (const input of INPUTS) {
      const cache = new InputCache<KubeObject>({
        input,
        informer: (collection, onChange, onFailure) => this.informer(collection, onChange, onFailure),
        // A grant changed: the grants are planned again, as a whole. A route changed: as a VirtualService.
        touched: (keys) => (input.field === 'referenceGrants' ? this.queue.add(GRANTS_KEY) : this.touched(keys, input.field === 'virtualServices' || input.field === 'httpRoutes')),
        fellBack: (fallback, err) => this.o.log.info(`warning: ${fallbackMessage(fallback, err.message)}`, { resource: fallback.collections[0]?.resource }),
      });
      this.caches.set(input.field, cache);
    }
    m.maxWorkers.set(LABELS, o.workers);
    m.configValid.set(0);
    Object.assign(m.sources, {
      routes: () => this.countRoutes(),
      virtualServices: () => this.managedVirtualServices().length,
      running: () => this.queue.running(),
      busy: () => this.queue.busy,
    });
  }

  /** Starts the informers; resolves once every cache holds a first full list. */
  async start(): Promise<void> {
    this.configInformer.start();
    await this.configInformer.synced;
    this.onConfigChange();
    if (!this.config) {
      // Not ready, but not crashing either: a Deployment applied before its ConfigMap starts when it comes.
      this.o.log.error('waiting for a valid configuration', { configmap: `${this.o.location.namespace}/${this.o.location.name}` });
      await this.firstConfig;
      if (this.stopped) return;
    }
    await Promise.all([...this.caches.values()].map((c) => c.synced()));
    this.synced = true;
    this.o.log.info('caches synced', { services: this.cache('services').objects.size, virtualservices: this.cache('virtualServices').objects.size });
  }

  /** Leading: work through every key, then keep working as events come, until `stop`. */
  lead(): void {
    if (this.stopped) return;
    const keys = this.allKeys();
    this.settled.clear();
    this.firstPass = new Set(keys);
    if (keys.length === 0) this.firstPassDone();
    this.addAll(keys);
    // Leading again after a loss (the Lease taken, then regained): the workers still run, and the timers
    // of the first time are replaced, not doubled.
    if (this.workers.length === 0) this.workers = Array.from({ length: this.o.workers }, () => this.work());
    clearInterval(this.resyncTimer);
    this.resyncTimer = setInterval(() => this.addAll(), this.o.resyncPeriod);
    this.resyncTimer.unref();
    this.stopReclaim();
    this.stopReclaim = reclaimWhenIdle({ busy: () => this.queue.depth > 0 || this.queue.running().total > 0 });
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
    this.stopReclaim();
    this.settler.stop();
    this.queue.shutDown();
    await Promise.race([Promise.all(this.workers), new Promise((r) => setTimeout(r, graceMs).unref())]);
    await Promise.all([this.configInformer.stop(), ...[...this.caches.values()].map((c) => c.stop())]);
  }

  private cache<F extends Input['field']>(field: F): InputCache<NonNullable<Snapshot[F]>[number]> {
    return this.caches.get(field) as unknown as InputCache<NonNullable<Snapshot[F]>[number]>;
  }

  /** `onFailure` may take a failure over (a 403 with a fallback: its cache says so itself). */
  private informer<T extends KubeObject>(collection: Collection, onChange: (c: Change<T>) => void, onFailure?: (err: unknown) => boolean): Informer<T> {
    return new Informer<T>({
      port: this.o.port,
      collection,
      onChange,
      onRestart: (reason, err) => {
        this.o.metrics.watchRestarts.inc({ resource: collection.resource, reason });
        if (reason === 'error' && onFailure?.(err)) return;
        logRestart(this.o.log, collection, reason, err);
      },
    });
  }

  private onConfigChange(): void {
    const cm = this.configInformer.store.get(`${this.o.location.namespace}/${this.o.location.name}`);
    const found = cm ? configMapText(cm) : undefined;
    const source = `configmap ${this.o.location.namespace}/${this.o.location.name}, ${found && !found.field.startsWith('data') ? found.field : CONFIG_KEY}`;
    if (!found || 'problem' in found) {
      this.rejectConfig(cm, `${source}: ${found ? found.problem : 'missing'}`);
      return;
    }
    const text = found.text;
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
    this.rejected = undefined;
    this.settled.clear();
    this.config = loaded;
    this.gotFirstConfig();
    this.configText = text;
    this.o.metrics.configValid.set(1);
    for (const cache of this.caches.values()) cache.follow(loaded);
    if (!first) {
      this.o.log.info('config reloaded', { namespace: loaded.config.defaultNamespace, developerNamespaces: loaded.config.developerNamespaces.map((d) => d.name) });
      this.addAll();
    }
  }

  /** The last good config stays in force; the problem goes to the log, an Event and a gauge. */
  private rejectConfig(cm: ConfigMap | undefined, problem: string): void {
    this.o.metrics.configValid.set(0);
    const key = `${cm?.metadata.uid ?? ''}/${cm?.metadata.resourceVersion ?? ''}\n${problem}`;
    if (this.rejected?.key !== key) {
      this.rejected = { key, recorded: false };
      this.o.log.error(this.config ? 'config rejected, keeping the last valid one' : 'config invalid', { error: problem });
    }
    if (!cm || !this.o.canWrite() || this.rejected.recorded) return;
    this.rejected.recorded = true;
    const now = new Date().toISOString();
    void this.o.port
      .createEvent({
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { generateName: `${cm.metadata.name}.`, namespace: cm.metadata.namespace!, name: '' },
        involvedObject: {
          apiVersion: 'v1',
          kind: 'ConfigMap',
          name: cm.metadata.name,
          namespace: cm.metadata.namespace,
          uid: cm.metadata.uid,
          resourceVersion: cm.metadata.resourceVersion,
        },
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

  /**
   * An object changed: the production Services it bore on and bears on are worked on again. A change to a
   * VirtualService (vsop's own writes are not seen as changes: see Informer) is someone editing routing
   * by hand: it goes to the queue at once, even while a flow of Service events is being held, so a hand
   * edit that broke vsop's routes is undone within one round trip even while Services pour in. Service
   * events go through the Settler: at once on an idle controller, together at the end of a flow.
   *
   * The echo of vsop's own write often arrives before the answer to that write, while the Informer cannot
   * yet tell it from someone else's: a change to a VirtualService of a key in process is looked at once
   * the reconcile is over (see echoesOnly), instead of running the key again for nothing.
   */
  private touched(keys: Affected, edit: boolean): void {
    if (keys === 'all') this.addAll();
    else if (!edit) this.settler.event(keys);
    else {
      for (const key of keys) {
        if (this.queue.inProcess(key)) this.editedInFlight.add(key);
        else this.queue.add(key);
      }
    }
  }

  /** Every key to the queue; what the settler holds goes with them. */
  private addAll(keys = this.allKeys()): void {
    this.settler.drop();
    for (const key of keys) this.queue.add(key);
  }

  /**
   * Every production Service, every name a managed object of vsop's is for (those may have to go), and the
   * grants (in either routeKind: after a switch back, vsop's grants go once its HTTPRoutes have).
   */
  private allKeys(): string[] {
    const keys = new Set<string>([GRANTS_KEY]);
    const loaded = this.config;
    if (!loaded) return [];
    const prod = loaded.config.defaultNamespace;
    for (const svc of this.cache('services').objects.values()) if (svc.metadata.namespace === prod || svc.metadata.labels?.[PLACEHOLDER_LABEL]) keys.add(svc.metadata.name);
    for (const vs of this.managedVirtualServices()) {
      const affected = affectedByVirtualService(vs, loaded);
      if (affected !== 'all') for (const key of affected) keys.add(key);
    }
    return [...keys];
  }

  /** vsop's own VirtualServices: managed, in the production namespace. */
  private managedVirtualServices(): VirtualService[] {
    const prod = this.config?.config.defaultNamespace;
    return [...this.cache('virtualServices').objects.values()].filter((vs) => vs.metadata.namespace === prod && isManaged(vs));
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const started = performance.now();
      try {
        const written = await this.reconcile(key);
        if (this.editedInFlight.delete(key) && !this.echoesOnly(key, written)) this.queue.add(key);
        this.queue.forget(key);
        this.o.metrics.reconcileTotal.inc({ ...LABELS, result: 'success' });
      } catch (err) {
        this.o.metrics.reconcileTotal.inc({ ...LABELS, result: 'error' });
        this.o.metrics.reconcileErrors.inc(LABELS);
        if (this.editedInFlight.delete(key)) this.queue.add(key);
        if (!this.stopped) {
          const delay = this.queue.addRateLimited(key);
          this.o.log.error('reconcile failed, retrying', { service: key, namespace: this.config?.config.defaultNamespace, error: err, retryInSeconds: delay / 1000 });
        }
      } finally {
        const seconds = (performance.now() - started) / 1000;
        this.o.metrics.reconcileTime.observe(LABELS, seconds);
        this.o.metrics.workDuration.observe(QUEUE_LABELS, seconds);
        this.queue.done(key);
        // A Service waiting for its grants is done with when GRANTS_KEY has queued it again and it has run.
        if (!this.waitingForGrants.has(key) && this.firstPass?.delete(key) && this.firstPass.size === 0) this.firstPassDone();
      }
    }
  }

  private firstPassDone(): void {
    this.firstPass = undefined;
    this.ready = true;
    this.o.metrics.lastSync.set(Date.now() / 1000);
    this.o.log.info('first full sync done');
  }

  /** The VirtualServices and HTTPRoutes that bear on a key, by kind/namespace/name, with their resourceVersions. */
  private versions(key: string): Map<string, string | undefined> {
    const routes = [...this.cache('virtualServices').objectsFor(key), ...this.cache('httpRoutes').objectsFor(key)];
    return new Map(routes.map((o) => [`${o.kind}/${o.metadata.namespace}/${o.metadata.name}`, o.metadata.resourceVersion]));
  }

  /**
   * Whether the VirtualServices of a key are now exactly those its reconcile saw, with its own writes in
   * place: then every change that came during it was the echo of those writes, and there is nothing new.
   */
  private echoesOnly(key: string, expected: Map<string, string | undefined>): boolean {
    const now = this.versions(key);
    return now.size === expected.size && [...now].every(([k, rv]) => expected.has(k) && expected.get(k) === rv);
  }

  /**
   * One key: the same plan and apply as `vsop sync KEY`, on the local copies. Returns the VirtualServices
   * bearing on the key as this reconcile saw and left them (for echoesOnly).
   */
  private async reconcile(key: string): Promise<Map<string, string | undefined>> {
    if (key === GRANTS_KEY) return this.reconcileGrants();
    const versions = this.versions(key);
    const loaded = this.config;
    if (!loaded || !this.o.canWrite()) return versions;
    const prod = loaded.config.defaultNamespace;
    // What bears on this key, through each input's index (src/inputs.ts): its Services in every namespace,
    // and the VirtualServices of any namespace that carry its name or name its host, not a scan of the stores.
    const snapshot: Snapshot = {
      config: { text: this.configText, source: `configmap ${this.o.location.namespace}/${this.o.location.name}, ${CONFIG_KEY}` },
      services: [],
      virtualServices: [],
    };
    for (const [field, cache] of this.caches) snapshot[field] = cache.objectsFor(key) as never;
    const inputs = fingerprint(snapshot);
    if (inputs !== undefined && this.settled.get(key) === inputs) {
      this.o.log.debug('unchanged since its last reconcile', { service: key, namespace: prod });
      return versions;
    }
    this.settled.delete(key);
    const result = planSnapshot(snapshot, { services: [key], allowGone: true, loaded });
    // Grants are GRANTS_KEY's (see the top of this file): this key's plan of them is one Service's view.
    this.report(
      key,
      result.plan.findings.filter((f) => f.objectKind !== 'ReferenceGrant'),
    );
    const changes = result.plan.actions.filter((a) => a.type !== 'unchanged' && a.kind !== 'ReferenceGrant');
    const released = this.released.delete(key);
    this.o.log.debug('reconciling', { service: key, namespace: prod, changes: changes.length });
    if (changes.length === 0) {
      // An error finding is said at every reconcile (report): such a key is never settled.
      if (inputs !== undefined && !released && !result.plan.findings.some((f) => f.severity === 'error')) this.settled.set(key, inputs);
      return versions;
    }
    const routes = changes.flatMap((a) => (a.kind === 'HTTPRoute' && a.type !== 'delete' ? [a.after as HTTPRoute] : []));
    const missing = routes.length ? missingGrantEntries(routes, [...this.cache('referenceGrants').objects.values()], prod) : [];
    if (missing.length > 0 && !released) {
      this.o.log.debug('waiting for ReferenceGrants', { service: key, missing });
      this.waitingForGrants.add(key);
      this.queue.add(GRANTS_KEY);
      return versions;
    }
    for (const w of result.warnings) this.o.log.debug('warning', { service: key, warning: formatProblem(w) });
    const results = await applyPlan(changes, gated(this.o.port, this.o.canWrite), { retry: this.o.retry, desire: result.desire });
    let routed = false;
    for (const r of results) {
      if (r.result === 'unchanged') continue;
      if (r.kind === 'VirtualService' || r.kind === 'HTTPRoute') {
        const k = `${r.kind}/${r.namespace}/${r.name}`;
        if (r.result === 'deleted') versions.delete(k);
        else versions.set(k, r.object?.metadata.resourceVersion);
      }
      routed ||= r.kind === 'HTTPRoute';
      this.remember(r);
      this.logResult(key, r);
    }
    // A route rewritten may use fewer grant entries now: the grants are planned again, after it.
    if (routed) this.queue.add(GRANTS_KEY);
    return versions;
  }

  /**
   * GRANTS_KEY: vsop's ReferenceGrants planned from every cached object (never one Service's), written, and
   * the Services that waited for them queued again. routeKind VirtualService: only the entries vsop's
   * stored HTTPRoutes still use are kept, so the grants go once the routes have.
   */
  private async reconcileGrants(): Promise<Map<string, string | undefined>> {
    const none = new Map<string, string | undefined>();
    const loaded = this.config;
    if (!loaded || !this.o.canWrite()) return none;
    const prod = loaded.config.defaultNamespace;
    const all = <F extends Input['field']>(field: F) => [...this.cache(field).objects.values()];
    const stored = all('httpRoutes');
    let rendered: HTTPRoute[] = [];
    if (loaded.config.routeKind === 'HTTPRoute') {
      const snapshot: Snapshot = {
        config: { text: this.configText, source: `configmap ${this.o.location.namespace}/${this.o.location.name}, ${CONFIG_KEY}` },
        services: all('services'),
        virtualServices: all('virtualServices'),
        httpRoutes: stored,
      };
      rendered = planSnapshot(snapshot, { loaded, renderOnly: true, keepRefused: true }).resolution.httpRoutes;
    }
    const desired = grantsWanted(rendered, stored, prod);
    const gateway = planGateway({ httpRoutes: [], referenceGrants: desired }, { httpRoutes: [], referenceGrants: all('referenceGrants') }, { defaultNamespace: prod });
    this.report(GRANTS_KEY, gateway.findings);
    const changes = gateway.actions.filter((a) => a.type !== 'unchanged');
    this.o.log.debug('reconciling', { service: GRANTS_KEY, namespace: prod, changes: changes.length });
    if (changes.length > 0) {
      const results = await applyPlan(changes, gated(this.o.port, this.o.canWrite), { retry: this.o.retry });
      for (const r of results) {
        if (r.result === 'unchanged') continue;
        this.remember(r);
        this.logResult(GRANTS_KEY, r);
      }
    }
    for (const key of this.waitingForGrants) {
      this.released.add(key);
      this.queue.add(key);
    }
    this.waitingForGrants.clear();
    return none;
  }

  /**
   * A plan's findings to the log: errors each time; a warning (another VirtualService or HTTPRoute shadows
   * or overlaps vsop's) at info when it first shows for the key, not at every reconcile of it, and again
   * once it has gone and come back.
   */
  private report(key: string, findings: readonly Finding[]): void {
    const seen = new Set<string>();
    for (const f of findings) {
      const fields = { service: key, namespace: f.namespace, [f.objectKind ? f.objectKind.toLowerCase() : 'virtualservice']: f.name };
      if (f.severity === 'error') this.o.log.error(f.message, fields);
      else {
        seen.add(f.message);
        if (this.reported.get(key)?.has(f.message)) this.o.log.debug(f.message, fields);
        else this.o.log.info(`warning: ${f.message}`, fields);
      }
    }
    if (seen.size) this.reported.set(key, seen);
    else this.reported.delete(key);
  }

  private logResult(key: string, r: Result): void {
    this.o.log.info(`${r.kind.toLowerCase()} ${r.result}`, { service: key, namespace: r.namespace, [r.kind === 'VirtualService' ? 'virtualservice' : 'name']: r.name });
  }

  /** Write-through: the local copies learn of vsop's own writes before their watch events arrive. */
  private remember(r: Result): void {
    const cache = this.cache(RESULT_FIELD[r.kind]);
    cache.remember(r.object as KubeObject | undefined, r.result === 'deleted', `${r.namespace}/${r.name}`);
  }

  private countRoutes(): number {
    let n = 0;
    for (const vs of this.managedVirtualServices()) n += (vs.spec?.http ?? []).filter((r) => r.name?.startsWith('vsop-')).length;
    return n;
  }
}

/** The input (Snapshot field) each kind vsop writes is read into. */
const RESULT_FIELD = { VirtualService: 'virtualServices', Service: 'services', HTTPRoute: 'httpRoutes', ReferenceGrant: 'referenceGrants' } as const;

/**
 * The port apply writes through, with every write refused (ConflictError) once this replica may no longer
 * write (it lost the Lease). Each method of KubePort is listed, as a read passed through or a write
 * checked: a method added to KubePort does not compile here until it is given one or the other.
 */
export function gated(port: KubePort, canWrite: () => boolean): KubePort {
  const check = () => {
    if (!canWrite()) throw new ConflictError('not the leader any more: write refused');
  };
  return {
    server: port.server,
    getConfigMap: (namespace, name) => port.getConfigMap(namespace, name),
    listServices: (namespace, labelSelector) => port.listServices(namespace, labelSelector),
    listVirtualServices: (namespace, apiVersion) => port.listVirtualServices(namespace, apiVersion),
    getVirtualService: (namespace, name, apiVersion) => port.getVirtualService(namespace, name, apiVersion),
    getService: (namespace, name) => port.getService(namespace, name),
    createVirtualService: async (vs, opts) => (check(), port.createVirtualService(vs, opts)),
    replaceVirtualService: async (vs, opts) => (check(), port.replaceVirtualService(vs, opts)),
    deleteVirtualService: async (namespace, name, apiVersion, pre, opts) => (check(), port.deleteVirtualService(namespace, name, apiVersion, pre, opts)),
    createService: async (svc, opts) => (check(), port.createService(svc, opts)),
    replaceService: async (svc, opts) => (check(), port.replaceService(svc, opts)),
    deleteService: async (namespace, name, pre, opts) => (check(), port.deleteService(namespace, name, pre, opts)),
    listObjects: (c) => port.listObjects(c),
    getObject: (kind, apiVersion, namespace, name) => port.getObject(kind, apiVersion, namespace, name),
    createObject: async (obj, opts) => (check(), port.createObject(obj, opts)),
    replaceObject: async (obj, opts) => (check(), port.replaceObject(obj, opts)),
    deleteObject: async (kind, apiVersion, namespace, name, pre, opts) => (check(), port.deleteObject(kind, apiVersion, namespace, name, pre, opts)),
  };
}
