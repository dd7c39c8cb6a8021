// The apiserver's own rules for the objects vsop reads, where the schema says nothing: Kubernetes validates
// built-in types in Go (k8s.io/kubernetes v1.33 pkg/apis/core/validation/validation.go: ValidateService,
// validateServicePort, ValidateConfigMap) and every object's metadata (k8s.io/apimachinery
// pkg/api/validation/objectmeta.go: ValidateObjectMetaAccessor, ValidateAnnotations). A custom resource
// (a VirtualService) gets the metadata rules with a DNS-1123 subdomain name; Istio's own webhook rules
// are in ../istio/shape.ts.
//
// Kept to what decides whether the apiserver would store the object, and so whether vsop may read it:
// names, labels, annotations, the ports and type of a Service, a ConfigMap's keys and size. Rules on
// IP addresses, node ports and session affinity are left out: vsop reads none of those fields.
// Called only on objects the schema already accepted, so the types below hold.

import {
  configMapKeyProblem,
  dnsLabelProblem,
  labelValueProblem,
  namespaceNameProblem,
  objectNameProblem,
  portNameProblem,
  qualifiedNameProblem,
  serviceNameProblem,
} from '../names.ts';

export type Path = (string | number)[];

/** One problem of an object: where in it (e.g. ["spec", "ports", 0, "port"]) and what is wrong. */
export interface SchemaProblem {
  path: Path;
  message: string;
}

const TOTAL_ANNOTATION_BYTES = 256 * 1024; // TotalAnnotationSizeLimitB
const CONFIG_MAP_BYTES = 1024 * 1024; // core.MaxSecretSize, which ValidateConfigMap applies
const SERVICE_TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

type Meta = { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
}

export function ruleProblems(value: Record<string, unknown>): SchemaProblem[] {
  const out: SchemaProblem[] = [];
  const add = (path: Path, value: unknown, why: string | undefined) => {
    if (why) out.push({ path, message: `${JSON.stringify(value)} ${why}` });
  };
  const meta = (value.metadata ?? {}) as Meta;
  if (meta.name !== undefined) add(['metadata', 'name'], meta.name, value.kind === 'Service' ? serviceNameProblem(meta.name) : objectNameProblem(meta.name));
  if (meta.namespace) add(['metadata', 'namespace'], meta.namespace, namespaceNameProblem(meta.namespace));
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    add(['metadata', 'labels', k], k, qualifiedNameProblem(k));
    add(['metadata', 'labels', k], v, labelValueProblem(v));
  }
  let annotationBytes = 0;
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    add(['metadata', 'annotations', k], k, qualifiedNameProblem(k.toLowerCase()));
    annotationBytes += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (annotationBytes > TOTAL_ANNOTATION_BYTES)
    out.push({ path: ['metadata', 'annotations'], message: `hold ${annotationBytes} bytes, more than the ${TOTAL_ANNOTATION_BYTES} the apiserver takes` });
  if (value.kind === 'Service') serviceProblems((value.spec ?? {}) as Record<string, unknown>, add, out);
  if (value.kind === 'ConfigMap') configMapProblems(value, add, out);
  return out;
}

type Add = (path: Path, value: unknown, why: string | undefined) => void;

function serviceProblems(spec: Record<string, unknown>, add: Add, out: SchemaProblem[]): void {
  const type = (spec.type as string | undefined) ?? 'ClusterIP'; // the apiserver's default
  if (!SERVICE_TYPES.includes(type)) add(['spec', 'type'], type, `is not a Service type (${SERVICE_TYPES.join(', ')})`);
  const ports = (spec.ports ?? []) as ServicePort[];
  const headless = spec.clusterIP === 'None' || (spec.clusterIPs as string[] | undefined)?.[0] === 'None';
  if (ports.length === 0 && !headless && type !== 'ExternalName') {
    out.push({ path: ['spec', 'ports'], message: 'is required (at least one port), unless the Service is headless (clusterIP: None) or an ExternalName' });
  }
  if (type === 'ExternalName') {
    const cname = String(spec.externalName ?? '').replace(/\.$/, '');
    if (cname === '') out.push({ path: ['spec', 'externalName'], message: 'is required for an ExternalName Service' });
    else add(['spec', 'externalName'], spec.externalName, objectNameProblem(cname) && 'is not a DNS name (a DNS-1123 subdomain, with an optional trailing ".")');
  }
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const at = (...rest: Path) => ['spec', 'ports', i, ...rest];
    if (p.name === undefined || p.name === '') {
      if (ports.length > 1) out.push({ path: at('name'), message: 'is required when a Service has more than one port' });
    } else if (names.has(p.name)) add(at('name'), p.name, 'names another port of this Service too');
    else {
      add(at('name'), p.name, dnsLabelProblem(p.name));
      names.add(p.name);
    }
    add(at('port'), p.port, p.port < 1 || p.port > 65535 ? 'is not a port number (1 to 65535)' : undefined);
    const protocol = p.protocol ?? 'TCP';
    add(at('protocol'), protocol, PROTOCOLS.includes(protocol) ? undefined : `is not a protocol (${PROTOCOLS.join(', ')})`);
    const target = p.targetPort;
    if (typeof target === 'number') add(at('targetPort'), target, target < 1 || target > 65535 ? 'is not a port number (1 to 65535)' : undefined);
    else if (target !== undefined) add(at('targetPort'), target, portNameProblem(target));
    const key = `${p.port}/${protocol}`;
    if (seen.has(key)) out.push({ path: at(), message: `repeats port ${p.port}/${protocol} of this Service` });
    seen.add(key);
  });
  for (const [k, v] of Object.entries((spec.selector ?? {}) as Record<string, string>)) {
    add(['spec', 'selector', k], k, qualifiedNameProblem(k));
    add(['spec', 'selector', k], v, labelValueProblem(v));
  }
}

function configMapProblems(cm: Record<string, unknown>, add: Add, out: SchemaProblem[]): void {
  const data = (cm.data ?? {}) as Record<string, string>;
  const binary = (cm.binaryData ?? {}) as Record<string, string>;
  let bytes = 0;
  for (const [field, map] of [
    ['data', data],
    ['binaryData', binary],
  ] as const) {
    for (const [k, v] of Object.entries(map)) {
      add([field, k], k, configMapKeyProblem(k));
      if (field === 'data' && k in binary) add([field, k], k, 'is also a key of binaryData');
      // binaryData counts decoded bytes, as the apiserver stores them.
      bytes += field === 'data' ? Buffer.byteLength(v) : Buffer.from(v, 'base64').length;
    }
  }
  if (bytes > CONFIG_MAP_BYTES) out.push({ path: [], message: `holds ${bytes} bytes of data, more than the ${CONFIG_MAP_BYTES} the apiserver takes in one ConfigMap` });
}
