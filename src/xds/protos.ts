// Envoy's v3 messages, encoded and decoded with protobufjs from the descriptor generated out of the gRPC
// project's own copy of the .proto files (envoy.gen.json, scripts/xds-protos.ts). Loaded only by `vsop xds`.
//
// The renderer (src/core/render/xds.ts) writes resources in the proto3 JSON mapping; protobufjs's
// fromObject takes most of it as it is, and packs an Any that names its type with `@type`, but it does not
// implement the JSON mapping of the well-known wrapper types (a UInt32Value is the bare number 5 in JSON)
// or of Duration ("1.5s"). `fromJson` below fills those two gaps, following the mapping's table
// (protobuf.dev/programming-guides/json), and refuses any field the message does not have.

import protobuf from 'protobufjs';
import descriptor from './envoy.gen.json' with { type: 'json' };
import type { XdsResource } from '../core/render/xds.ts';

const root = protobuf.Root.fromJSON(descriptor as protobuf.INamespace);

export const DiscoveryRequest = root.lookupType('envoy.service.discovery.v3.DiscoveryRequest');
export const DiscoveryResponse = root.lookupType('envoy.service.discovery.v3.DiscoveryResponse');
const Any = root.lookupType('google.protobuf.Any');

/** A DiscoveryRequest as the server reads it (proto field names; absent fields left out). */
export interface Request {
  version_info?: string;
  node?: { id?: string; cluster?: string; user_agent_name?: string; user_agent_version?: string };
  resource_names?: string[];
  type_url?: string;
  response_nonce?: string;
  /** Set on a NACK: why the client refused the last response (google.rpc.Status). */
  error_detail?: { code?: number; message?: string };
}

/** A DiscoveryResponse as the server writes it; each resource an encoded google.protobuf.Any. */
export interface Response {
  version_info: string;
  resources: { type_url: string; value: Uint8Array }[];
  type_url: string;
  nonce: string;
}

export function decodeRequest(bytes: Uint8Array): Request {
  return DiscoveryRequest.toObject(DiscoveryRequest.decode(bytes), { longs: String, enums: String, defaults: false }) as Request;
}

export function encodeResponse(r: Response): Buffer {
  return Buffer.from(DiscoveryResponse.encode(DiscoveryResponse.fromObject(r)).finish());
}

/** For tests and clients written here: the other direction of each. */
export function encodeRequest(r: Request): Buffer {
  return Buffer.from(DiscoveryRequest.encode(DiscoveryRequest.fromObject(r)).finish());
}
export function decodeResponse(bytes: Uint8Array): Response {
  return DiscoveryResponse.toObject(DiscoveryResponse.decode(bytes), { longs: String, enums: String, bytes: Uint8Array as never }) as Response;
}

/**
 * A resource as a google.protobuf.Any: its type URL and the message's bytes. Throws (a bug in the
 * renderer, exit 70) when the resource names a type or a field the descriptor lacks.
 */
export function encodeResource(resource: XdsResource): { type_url: string; value: Uint8Array } {
  const type = typeOf(resource['@type']);
  return { type_url: resource['@type'], value: type.encode(type.fromObject(fromJson(type, resource))).finish() };
}

/** A resource decoded back into the proto3 JSON mapping's shape protobufjs gives (for tests). */
export function decodeResource(any: { type_url: string; value: Uint8Array }): Record<string, unknown> {
  const type = typeOf(any.type_url);
  return type.toObject(type.decode(any.value), { longs: String, enums: String, json: true });
}

function typeOf(typeUrl: string): protobuf.Type {
  return root.lookupType(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
}

const WRAPPERS = new Set(
  ['DoubleValue', 'FloatValue', 'Int64Value', 'UInt64Value', 'Int32Value', 'UInt32Value', 'BoolValue', 'StringValue', 'BytesValue'].map((n) => `.google.protobuf.${n}`),
);

/** proto3 JSON → the object protobufjs's fromObject takes, for one message of `type`. */
function fromJson(type: protobuf.Type, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === '@type') continue;
    const field = type.fields[key];
    if (!field) throw new Error(`${type.fullName.slice(1)} has no field ${key}`);
    field.resolve();
    const one = (x: unknown) => fieldValue(field, x);
    out[key] = field.repeated && Array.isArray(v) ? v.map(one) : field.map ? Object.fromEntries(Object.entries(v as object).map(([k, x]) => [k, one(x)])) : one(v);
  }
  return out;
}

function fieldValue(field: protobuf.Field, v: unknown): unknown {
  const t = field.resolvedType;
  if (!(t instanceof protobuf.Type)) return v;
  if (WRAPPERS.has(t.fullName)) return { value: v };
  if (t.fullName === '.google.protobuf.Duration') return duration(v as string);
  if (t.fullName === '.google.protobuf.Any') {
    const inner = v as XdsResource;
    const packed = encodeResource(inner);
    return Any.fromObject(packed);
  }
  return fromJson(t, v as Record<string, unknown>);
}

/** "1.5s" → { seconds, nanos }, as the JSON mapping writes a Duration. */
function duration(text: string): { seconds: number; nanos: number } {
  const m = /^(-?\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!m) throw new Error(`${JSON.stringify(text)} is not a Duration in the JSON mapping (such as "1.5s")`);
  return { seconds: Number(m[1]), nanos: Number((m[2] ?? '').padEnd(9, '0')) * (text.startsWith('-') ? -1 : 1) };
}
