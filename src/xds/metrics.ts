// Prometheus metrics of `vsop xds`: clients connected, responses pushed, ACKs and NACKs per resource type,
// resources served, snapshots built, and Node's process metrics. One registry per process, never the global one.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

const TYPE = ['type'] as const;

export class XdsMetrics {
  readonly registry = new Registry();
  readonly clients = new Gauge({ name: 'vsop_xds_connected_streams', help: 'ADS streams open now', registers: [this.registry] });
  readonly pushes = new Counter({ name: 'vsop_xds_pushes_total', help: 'Discovery responses sent, per resource type', labelNames: TYPE, registers: [this.registry] });
  readonly acks = new Counter({
    name: 'vsop_xds_acks_total',
    help: 'Responses a client accepted (ACK), per resource type: each once, by its nonce (a request that only changes the names subscribed is no ACK)',
    labelNames: TYPE,
    registers: [this.registry],
  });
  readonly nacks = new Counter({
    name: 'vsop_xds_nacks_total',
    help: "Responses a client rejected (NACK), per resource type: each is logged with the client's error",
    labelNames: TYPE,
    registers: [this.registry],
  });
  readonly resources = new Gauge({ name: 'vsop_xds_resources', help: 'Resources served now, per resource type', labelNames: TYPE, registers: [this.registry] });
  readonly builds = new Counter({ name: 'vsop_xds_snapshots_total', help: 'Snapshots rendered from the cluster state', registers: [this.registry] });
  readonly rendered = new Counter({
    name: 'vsop_xds_services_rendered_total',
    help: 'Production Services rendered: a change renders those it bears on, a new config every one',
    registers: [this.registry],
  });
  readonly unreadable = new Counter({
    name: 'vsop_xds_unreadable_overrides_total',
    help: "Renders of a production Service whose managed VirtualService's (or HTTPRoute's) overrides cannot be read: its last routing is held (endpoints current), or, with none held, it is served without them",
    registers: [this.registry],
  });
  readonly buildTime = new Histogram({
    name: 'vsop_xds_snapshot_seconds',
    help: 'Time to render one snapshot (read the local copies, decide and render the Services changes bore on, encode what changed)',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    registers: [this.registry],
  });

  constructor() {
    // The process's own (resident memory, heap, event loop lag, GC), as watch exports them.
    collectDefaultMetrics({ register: this.registry });
    for (const t of ['listener', 'route', 'cluster', 'endpoint']) {
      this.pushes.inc({ type: t }, 0);
      this.acks.inc({ type: t }, 0);
      this.nacks.inc({ type: t }, 0);
    }
  }
}
