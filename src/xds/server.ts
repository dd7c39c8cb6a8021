// The Aggregated Discovery Service, state of the world (the xDS protocol of Envoy's docs, "xDS REST and
// gRPC protocol"; gRPC's client follows it, gRFC A27): one bidirectional stream per client carries
// requests for every resource type and our responses, over @grpc/grpc-js. Incremental (delta) xDS is not
// served: grpc-go, grpc-js-xds and Envoy's ADS all speak state of the world unless told otherwise, and
// grpc-js answers the delta method UNIMPLEMENTED.
//
// Versions are content: each resource's version is a hash of its encoded bytes, and a response's
// version_info a hash of the names and versions the client holds once it takes it, so the same resources
// give the same version on every replica and after a restart, and a snapshot that changes nothing a client
// subscribed to is never sent to it again. Resources come in groups (one per production Service, see
// src/xds/feed.ts): a change replaces the groups it bears on, only their resources are encoded again, and
// only streams subscribed to a resource that changed are looked at. Listeners and Clusters go whole in
// every response, RouteConfigurations and ClusterLoadAssignments only those that changed for that client
// (the protocol's "Grouping Resources into Responses": in state of the world, only Listener and Cluster
// responses must hold every resource; grpc-go, grpc-js-xds and Envoy keep the others they were sent). A
// NACK (a request with error_detail) is logged with the client's message and counted; the client keeps
// its last good version, the version it refused is not sent again, and its next response of that type is
// whole.

import { createHash } from 'node:crypto';
import { format } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { resourceName, TYPE_URL, XDS_KINDS, type XdsKind, type XdsResources } from '../core/render/xds.ts';
import type { Logger } from '../watch/log.ts';
import type { XdsMetrics } from './metrics.ts';
import { decodeRequest, encodeResource, encodeResponse, type Request, type Response } from './protos.ts';

const ADS_PATH = '/envoy.service.discovery.v3.AggregatedDiscoveryService/StreamAggregatedResources';

/** grpc-js's description of the one method served, with protobufjs doing the (de)serialising. */
const ADS_SERVICE: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: ADS_PATH,
    requestStream: true,
    responseStream: true,
    requestSerialize: () => {
      throw new Error('the server does not send requests');
    },
    requestDeserialize: (b: Buffer) => decodeRequest(b),
    responseSerialize: (r: Response) => encodeResponse(r),
    responseDeserialize: () => {
      throw new Error('the server does not read responses');
    },
  },
};

const KIND_OF = new Map(XDS_KINDS.map((k) => [TYPE_URL[k] as string, k]));
/** Kinds a client may ask for whole (an empty first request, or "*"): the xDS protocol's wildcard kinds. */
const WILDCARD_KINDS: ReadonlySet<XdsKind> = new Set(['listener', 'cluster']);
/** The order a change is pushed in: clusters and endpoints before the listeners and routes that use them (make before break). */
const PUSH_ORDER: readonly XdsKind[] = ['cluster', 'endpoint', 'listener', 'route'];
/** Kinds whose every response holds every resource the client subscribed to (state of the world); the others carry what changed. */
const WHOLE_KINDS: ReadonlySet<XdsKind> = new Set(['listener', 'cluster']);

interface Encoded {
  any: { type_url: string; value: Uint8Array };
  version: string;
  /** The group it belongs to. */
  group: string;
}

/** One client's subscription to one kind on its stream. */
interface Subscription {
  wildcard: boolean;
  names: Set<string>;
  /** The version_info and nonce of the last response sent. */
  sent?: { version: string; nonce: string };
  /** The nonce of the last response the client answered (ACK or NACK): each is counted once. */
  answered?: string;
  /** The last version the client refused: never sent again. */
  nacked?: string;
  /**
   * The resources (name → version) the client holds from us, as far as we know: a response of a kind sent
   * in part carries those that differ. Undefined after a NACK (what the client kept is not known): the
   * next response is whole.
   */
  holds?: Map<string, string>;
}

interface Stream {
  id: number;
  node: string;
  call: grpc.ServerDuplexStream<Request, Response>;
  subs: Map<XdsKind, Subscription>;
  nonce: number;
}

export interface AdsServerOptions {
  log: Logger;
  metrics: XdsMetrics;
}

export class AdsServer {
  private readonly o: AdsServerOptions;
  /** Made in the constructor, after grpc-js's logs are routed: the constructor itself logs (GRPC_TRACE=server). */
  private readonly server: grpc.Server;
  private readonly snapshot: Record<XdsKind, Map<string, Encoded>> = { listener: new Map(), route: new Map(), cluster: new Map(), endpoint: new Map() };
  /** The names each group holds, per kind. */
  private readonly groups = new Map<string, Map<XdsKind, string[]>>();
  private readonly streams = new Set<Stream>();
  private nextId = 1;
  /** Whether a snapshot has been set: until then requests wait (readiness says so). */
  ready = false;

  /** True while listen() binds: its failure is vsop's to report (a usage error naming the address). */
  private binding = false;

  constructor(o: AdsServerOptions) {
    this.o = o;
    routeGrpcLogs(o.log, () => this.binding);
    this.server = new grpc.Server();
    this.server.addService(ADS_SERVICE, { StreamAggregatedResources: (call: grpc.ServerDuplexStream<Request, Response>) => this.open(call) });
  }

  /** Listens on `address` (host:port; port 0 picks one) without TLS; resolves to the port bound. */
  listen(address: string): Promise<number> {
    this.binding = true;
    return new Promise<number>((resolve, reject) =>
      this.server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    ).finally(() => {
      this.binding = false;
    });
  }

  /** Ends every stream and stops listening. */
  async stop(): Promise<void> {
    for (const s of this.streams) s.call.end();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.server.forceShutdown();
  }

  /**
   * Serves exactly these resources from now on (one group). A resource that cannot be encoded is a bug (it
   * throws).
   */
  update(resources: XdsResources): void {
    const groups = new Map<string, XdsResources | undefined>([...this.groups.keys()].map((g) => [g, undefined]));
    groups.set('', resources);
    this.patch(groups);
  }

  /**
   * Replaces the resources of each group named (undefined: the group has gone), leaving the other groups
   * as they are. Only the resources of these groups are encoded; each stream gets, per kind, a response
   * only where something it subscribed to changed. A resource that cannot be encoded is a bug (it throws).
   */
  patch(groups: ReadonlyMap<string, XdsResources | undefined>): void {
    const changed = new Map<XdsKind, Set<string>>(XDS_KINDS.map((k) => [k, new Set()]));
    for (const [group, resources] of groups) {
      const before = this.groups.get(group);
      const names = new Map<XdsKind, string[]>();
      for (const kind of XDS_KINDS) {
        const have = this.snapshot[kind];
        const now = new Set<string>();
        for (const r of resources?.[kind] ?? []) {
          const name = resourceName(r);
          now.add(name);
          const any = encodeResource(r);
          const version = hash([any.value]);
          const old = have.get(name);
          if (old && old.version === version && old.group === group) continue;
          have.set(name, { any, version, group });
          changed.get(kind)!.add(name);
        }
        for (const name of before?.get(kind) ?? []) {
          if (now.has(name) || have.get(name)?.group !== group) continue;
          have.delete(name);
          changed.get(kind)!.add(name);
        }
        names.set(kind, [...now]);
      }
      if (resources) this.groups.set(group, names);
      else this.groups.delete(group);
    }
    for (const kind of XDS_KINDS) this.o.metrics.resources.set({ type: kind }, this.snapshot[kind].size);
    this.ready = true;
    for (const s of this.streams) {
      for (const kind of PUSH_ORDER) {
        const sub = s.subs.get(kind);
        const names = changed.get(kind)!;
        if (sub && names.size > 0 && (sub.wildcard || [...names].some((n) => sub.names.has(n)))) this.push(s, kind);
      }
    }
  }

  private open(call: grpc.ServerDuplexStream<Request, Response>): void {
    const stream: Stream = { id: this.nextId++, node: '', call, subs: new Map(), nonce: 0 };
    this.streams.add(stream);
    this.o.metrics.clients.inc();
    const close = () => {
      if (!this.streams.delete(stream)) return;
      this.o.metrics.clients.dec();
      this.o.log.debug('xds stream closed', { stream: stream.id, node: stream.node });
    };
    call.on('data', (req: Request) => this.onRequest(stream, req));
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('error', close);
    call.on('cancelled', close);
  }

  private onRequest(stream: Stream, req: Request): void {
    if (req.node?.id !== undefined && !stream.node) {
      stream.node = req.node.id;
      this.o.log.info('xds client connected', { stream: stream.id, node: stream.node, client: `${req.node.user_agent_name ?? ''} ${req.node.user_agent_version ?? ''}`.trim() });
    }
    const kind = KIND_OF.get(req.type_url ?? '');
    if (!kind) {
      this.o.log.info('xds request for a type not served', { stream: stream.id, node: stream.node, type: req.type_url });
      return;
    }
    let sub = stream.subs.get(kind);
    // A response to an older response (its nonce is not the last one sent) is stale: the protocol says to ignore it.
    if (sub?.sent && req.response_nonce !== undefined && req.response_nonce !== '' && req.response_nonce !== sub.sent.nonce) return;
    const names = req.resource_names ?? [];
    if (!sub) {
      sub = { wildcard: WILDCARD_KINDS.has(kind) && names.length === 0, names: new Set() };
      stream.subs.set(kind, sub);
    }
    if (names.includes('*')) sub.wildcard = true;
    sub.names = new Set(names.filter((n) => n !== '*'));
    // A name no longer asked for is dropped by the client: asked for again, it is sent again.
    if (sub.holds && !sub.wildcard) for (const n of sub.holds.keys()) if (!sub.names.has(n)) sub.holds.delete(n);
    // A response is answered once: the first request carrying its nonce ACKs or NACKs it. A later one with
    // that nonce (the client subscribing to other names, keeping the version it has) answers nothing.
    const answers = sub.sent !== undefined && req.response_nonce === sub.sent.nonce && sub.answered !== sub.sent.nonce;
    if (answers) sub.answered = sub.sent!.nonce;
    if (req.error_detail && sub.sent && answers) {
      sub.nacked = sub.sent.version;
      sub.holds = undefined;
      this.o.metrics.nacks.inc({ type: kind });
      this.o.log.error('xds client rejected a response (NACK); it keeps its last accepted version', {
        stream: stream.id,
        node: stream.node,
        type: kind,
        version: sub.sent.version,
        kept: req.version_info ?? '',
        error: req.error_detail.message ?? `code ${req.error_detail.code ?? 0}`,
      });
    } else if (answers && !req.error_detail && req.version_info === sub.sent!.version) this.o.metrics.acks.inc({ type: kind });
    this.push(stream, kind);
  }

  /**
   * Sends `kind` to one stream if its subscribed resources differ from what it holds (or refused): every
   * one for Listeners and Clusters, those that differ for the others.
   */
  private push(stream: Stream, kind: XdsKind): void {
    const sub = stream.subs.get(kind);
    if (!sub || !this.ready) return;
    const have = this.snapshot[kind];
    const names = sub.wildcard ? [...have.keys(), ...sub.names] : [...sub.names];
    const chosen = [...new Set(names)].sort().flatMap((n) => {
      const e = have.get(n);
      return e ? [[n, e] as const] : [];
    });
    const version = hash(chosen.flatMap(([n, e]) => [n, e.version]));
    if (sub.nacked === version) return;
    const holds = sub.holds;
    const whole = WHOLE_KINDS.has(kind) || !holds;
    if (whole && sub.sent?.version === version) return;
    // In part: what the client does not hold. None (a RouteConfiguration or ClusterLoadAssignment gone, or
    // a name asked for again that it still holds): nothing to send; it stops asking once nothing refers to it.
    const send = whole ? chosen : chosen.filter(([n, e]) => holds.get(n) !== e.version);
    if (send.length === 0 && !whole) return;
    const nonce = String(++stream.nonce);
    sub.sent = { version, nonce };
    if (whole) sub.holds = new Map(chosen.map(([n, e]) => [n, e.version]));
    else for (const [n, e] of send) holds.set(n, e.version);
    stream.call.write({ version_info: version, resources: send.map(([, e]) => e.any), type_url: TYPE_URL[kind], nonce });
    this.o.metrics.pushes.inc({ type: kind });
    this.o.log.debug('xds push', { stream: stream.id, node: stream.node, type: kind, version, resources: send.length });
  }
}

/**
 * grpc-js's own log lines (its default writes "E No address added …" raw on stderr, at GRPC_VERBOSITY,
 * ERROR unless set) go through vsop's logger instead, as `grpc-js` lines with the text in `detail` (JSON
 * with --log-format json), at their own level; while `quiet` says so (a bind whose failure vsop reports
 * itself), at debug. grpc-js has one logger per process: the last server made sets it.
 */
function routeGrpcLogs(log: Logger, quiet: () => boolean): void {
  const at =
    (level: 'error' | 'info' | 'debug') =>
    (message?: unknown, ...rest: unknown[]) =>
      log[quiet() ? 'debug' : level]('grpc-js', { detail: format(message, ...rest) });
  grpc.setLogger({ error: at('error'), info: at('info'), debug: at('debug') });
}

/** A short content hash: the first 16 hex digits of SHA-256 over the parts, each length-prefixed. */
function hash(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash('sha256');
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p) : p;
    h.update(`${b.length}:`).update(b);
  }
  return h.digest('hex').slice(0, 16);
}
