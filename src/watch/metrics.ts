// Prometheus metrics under the names the operations guide's dashboards and alerts use (controller-runtime
// and client-go's), plus vsop's own. One registry per process, never the global one.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const CONTROLLER = 'service';
const QUEUE = 'service';
const LABELS = { controller: CONTROLLER } as const;
const QUEUE_LABELS = { name: QUEUE, controller: CONTROLLER } as const;

/** Values read when Prometheus scrapes, supplied by whoever owns them (the controller). */
export interface MetricSources {
  routes(): number;
  virtualServices(): number;
  running(): { longest: number; total: number };
  busy(): number;
}

export class Metrics {
  readonly registry = new Registry();
  readonly sources: MetricSources = { routes: () => 0, virtualServices: () => 0, running: () => ({ longest: 0, total: 0 }), busy: () => 0 };
  readonly reconcileTotal = new Counter({
    name: 'controller_runtime_reconcile_total',
    help: 'Total number of reconciliations per controller',
    labelNames: ['controller', 'result'],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'controller_runtime_reconcile_errors_total',
    help: 'Total number of reconciliation errors per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly reconcileTime = new Histogram({
    name: 'controller_runtime_reconcile_time_seconds',
    help: 'Length of time per reconciliation per controller',
    labelNames: ['controller'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly activeWorkers: Gauge<'controller'> = new Gauge({
    name: 'controller_runtime_active_workers',
    help: 'Number of currently used workers per controller',
    labelNames: ['controller'],
    registers: [this.registry],
    collect: () => this.activeWorkers.set(LABELS, this.sources.busy()),
  });
  readonly maxWorkers = new Gauge({
    name: 'controller_runtime_max_concurrent_reconciles',
    help: 'Maximum number of concurrent reconciles per controller',
    labelNames: ['controller'],
    registers: [this.registry],
  });
  readonly queueAdds = new Counter({
    name: 'workqueue_adds_total',
    help: 'Total number of adds handled by workqueue',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name', 'controller'], registers: [this.registry] });
  readonly queueLatency = new Histogram({
    name: 'workqueue_queue_duration_seconds',
    help: 'How long in seconds an item stays in workqueue before being requested',
    labelNames: ['name', 'controller'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
    registers: [this.registry],
  });
  readonly workDuration = new Histogram({
    name: 'workqueue_work_duration_seconds',
    help: 'How long in seconds processing an item from workqueue takes',
    labelNames: ['name', 'controller'],
    buckets: [0.001, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
    registers: [this.registry],
  });
  readonly retries = new Counter({
    name: 'workqueue_retries_total',
    help: 'Total number of retries handled by workqueue',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
  });
  readonly unfinished: Gauge<'name' | 'controller'> = new Gauge({
    name: 'workqueue_unfinished_work_seconds',
    help: 'How many seconds of work has been done that is in progress',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
    collect: () => this.unfinished.set(QUEUE_LABELS, this.sources.running().total),
  });
  readonly longestRunning: Gauge<'name' | 'controller'> = new Gauge({
    name: 'workqueue_longest_running_processor_seconds',
    help: 'How many seconds has the longest running processor for workqueue been running',
    labelNames: ['name', 'controller'],
    registers: [this.registry],
    collect: () => this.longestRunning.set(QUEUE_LABELS, this.sources.running().longest),
  });
  readonly restRequests = new Counter({
    name: 'rest_client_requests_total',
    help: 'Number of HTTP requests, partitioned by status code, method, and host',
    labelNames: ['code', 'method', 'host'],
    registers: [this.registry],
  });
  readonly routesManaged: Gauge = new Gauge({
    name: 'vsop_routes_managed',
    help: 'Routes vsop renders into the VirtualServices it manages',
    registers: [this.registry],
    collect: () => this.routesManaged.set(this.sources.routes()),
  });
  readonly virtualServicesManaged: Gauge = new Gauge({
    name: 'vsop_virtualservices_managed',
    help: 'VirtualServices vsop manages',
    registers: [this.registry],
    collect: () => this.virtualServicesManaged.set(this.sources.virtualServices()),
  });
  readonly configValid = new Gauge({
    name: 'vsop_config_valid',
    help: '1 when the ConfigMap in force was read and is valid, 0 when the last change to it was rejected',
    registers: [this.registry],
  });
  readonly lastSync = new Gauge({ name: 'vsop_last_successful_sync_timestamp_seconds', help: 'When the last full sync succeeded (Unix time)', registers: [this.registry] });
  readonly leader = new Gauge({ name: 'vsop_leader', help: '1 while this replica holds the leader Lease (and may write)', registers: [this.registry] });
  readonly watchRestarts = new Counter({
    name: 'vsop_watch_restarts_total',
    help: 'Watches started again, by reason: expired (410 Gone, listed again), closed (went silent or its connection ended: routine), error',
    labelNames: ['resource', 'reason'],
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.maxWorkers.set(LABELS, 0);
    this.queueDepth.set(QUEUE_LABELS, 0);
    this.reconcileErrors.inc(LABELS, 0);
    this.queueAdds.inc(QUEUE_LABELS, 0);
    this.retries.inc(QUEUE_LABELS, 0);
    for (const result of ['success', 'error']) this.reconcileTotal.inc({ ...LABELS, result }, 0);
  }
}

export { LABELS, QUEUE_LABELS };
