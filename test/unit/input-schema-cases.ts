// The malformed objects of issue 11, item 4, and the kinds they stand for, with what vsop says of each
// (test/unit/input-schema.test.ts), and objects a cluster takes, which vsop must read. Each input is a
// file beside the seed's ConfigMap; the refusals are what the API server refuses (checked by hand with
// kubectl apply --dry-run=server --validate=strict against the test cluster's).

export const CONFIG = 'examples/seed/configmap.yaml';
const service = (name: string, spec = '{ports: [{port: 80}]}', namespace = 'default') =>
  `apiVersion: v1\nkind: Service\nmetadata: {name: ${name}, namespace: ${namespace}}\nspec: ${spec}\n`;
const managed = (http: string) =>
  [
    'apiVersion: networking.istio.io/v1',
    'kind: VirtualService',
    'metadata:',
    '  name: my-app-virtual-service',
    '  namespace: default',
    '  labels: {managed-by: virtualservice-operator}',
    'spec:',
    '  hosts: [my-app]',
    `  http: ${http}`,
    '---',
    service('my-app'),
  ].join('\n');
const foreign = (spec: string, meta = '{name: other, namespace: team}', apiVersion = 'networking.istio.io/v1') =>
  `apiVersion: ${apiVersion}\nkind: VirtualService\nmetadata: ${meta}\nspec:\n${spec}\n---\n${service('my-app')}`;
const long = (n: number) => 'a'.repeat(n);

export interface Case {
  name: string;
  input: string;
  /** The line, the path and the message (with the value) expected after "case.yaml:". */
  line: number;
  path: string;
  message: string | RegExp;
}

// The examples first, then the kinds they stand for.
export const REFUSED: Case[] = [
  {
    name: 'spec.http: "oops" (was four routes named o, o, p, s)',
    input: managed('"oops"'),
    line: 9,
    path: 'spec.http',
    message: 'virtualservice default/my-app-virtual-service: "oops" is not a list',
  },
  {
    name: "a route that is the number 42 (was kept as somebody else's route)",
    input: managed('[42]'),
    line: 9,
    path: 'spec.http[0]',
    message: 'virtualservice default/my-app-virtual-service: 42 is not a mapping',
  },
  { name: 'ports: "80" (was exit 70)', input: service('my-app', '{ports: "80"}'), line: 4, path: 'spec.ports', message: 'service default/my-app: "80" is not a list' },
  { name: 'ports: [null] (was exit 70)', input: service('my-app', '{ports: [null]}'), line: 4, path: 'spec.ports[0]', message: 'service default/my-app: null is not a mapping' },
  {
    name: 'ports: a mapping (was exit 70)',
    input: service('my-app', '{ports: {port: 80}}'),
    line: 4,
    path: 'spec.ports',
    message: 'service default/my-app: {"port":80} is not a list',
  },
  { name: 'ports: a number (was exit 70)', input: service('my-app', '{ports: 80}'), line: 4, path: 'spec.ports', message: 'service default/my-app: 80 is not a list' },
  {
    name: 'a kind containing NUL bytes (was ignored with exit 0)',
    input: 'apiVersion: v1\nkind: "Serv\\0ice"\nmetadata: {name: my-app, namespace: default}\nspec: {ports: [{port: 80}]}\n',
    line: 1,
    path: '',
    message: 'is not a Kubernetes object: kind "Serv\\u0000ice" is not a kind name',
  },
  { name: 'metadata.name: 123 (was "needs a metadata.name")', input: service('123'), line: 3, path: 'metadata.name', message: 'service: 123 is not a string' },
  {
    name: 'a Service name of 64 characters (the apiserver refuses it)',
    input: service(long(64)),
    line: 3,
    path: 'metadata.name',
    message: `"${long(64)}" is longer than 63 characters, the most a Service name may have`,
  },
  {
    name: 'a Service name with a dot (the apiserver refuses it: a DNS-1035 label)',
    input: service('my.app'),
    line: 3,
    path: 'metadata.name',
    message: '"my.app" is not a valid Service name',
  },
  { name: 'a Service name starting with a digit', input: service('1app'), line: 3, path: 'metadata.name', message: '"1app" is not a valid Service name' },
  {
    name: 'a VirtualService name longer than 253 characters',
    input: foreign('  hosts: [x]', `{name: ${long(254)}, namespace: team}`),
    line: 3,
    path: 'metadata.name',
    message: 'is longer than 253 characters',
  },
  {
    name: 'a namespace that is no DNS label',
    input: service('my-app', undefined, 'Dev_Bob'),
    line: 3,
    path: 'metadata.namespace',
    message: '"Dev_Bob" is not a valid namespace name',
  },
  // Types, formats and ranges of the schemas.
  { name: 'a port that is a string', input: service('my-app', '{ports: [{port: "80"}]}'), line: 4, path: 'spec.ports[0].port', message: '"80" is not an integer' },
  { name: 'a port without its number', input: service('my-app', '{ports: [{name: web}]}'), line: 4, path: 'spec.ports[0].port', message: 'is required' },
  {
    name: 'a targetPort that is neither number nor name',
    input: service('my-app', '{ports: [{port: 80, targetPort: true}]}'),
    line: 4,
    path: 'spec.ports[0].targetPort',
    message: 'true is not an integer or a string',
  },
  { name: 'a port beyond 32 bits', input: service('my-app', '{ports: [{port: 4294967297}]}'), line: 4, path: 'spec.ports[0].port', message: '4294967297 is not a 32-bit integer' },
  {
    name: 'a label that is not a string',
    input: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: my-app\n  namespace: default\n  labels:\n    tier: 3\nspec: {ports: [{port: 80}]}\n',
    line: 7,
    path: 'metadata.labels.tier',
    message: '3 is not a string',
  },
  {
    name: 'a creationTimestamp that is no time',
    input: 'apiVersion: v1\nkind: Service\nmetadata: {name: my-app, namespace: default, creationTimestamp: soon}\nspec: {ports: [{port: 80}]}\n',
    line: 3,
    path: 'metadata.creationTimestamp',
    message: '"soon" is not a date and time',
  },
  {
    name: 'an unknown field (kubectl apply refuses it)',
    input: 'apiVersion: v1\nkind: Service\nmetadata: {name: my-app, namespace: default}\nspec:\n  ports: [{port: 80}]\n  selectr: {app: x}\n',
    line: 6,
    path: 'spec.selectr',
    message: 'is not a field of the Service schema of Kubernetes v1.33.13',
  },
  {
    name: 'a field at the wrong indentation',
    input: 'apiVersion: v1\nkind: Service\nmetadata: {name: my-app, namespace: default}\nports: [{port: 80}]\nspec: {ports: [{port: 80}]}\n',
    line: 4,
    path: 'ports',
    message: 'is not a field',
  },
  {
    name: 'a VirtualService host that is a number',
    input: foreign('  hosts: [my-app, 5]'),
    line: 5,
    path: 'spec.hosts[1]',
    message: 'virtualservice team/other: 5 is not a string',
  },
  {
    name: 'a weight that is a fraction',
    input: foreign('  hosts: [x]\n  http:\n  - route:\n    - destination: {host: x}\n      weight: 1.5'),
    line: 9,
    path: 'spec.http[0].route[0].weight',
    message: '1.5 is not an integer',
  },
  {
    name: 'a destination without host',
    input: foreign('  hosts: [x]\n  http:\n  - route: [{destination: {port: {number: 80}}}]'),
    line: 7,
    path: 'spec.http[0].route[0].destination.host',
    message: 'is required',
  },
  {
    name: 'a string match that sets two of exact, prefix, regex',
    input: foreign('  hosts: [x]\n  http:\n  - match:\n    - headers:\n        x-developer: {exact: a, prefix: b}\n    route: [{destination: {host: x}}]'),
    line: 9,
    path: 'spec.http[0].match[0].headers.x-developer',
    message: 'sets more than one of exact, prefix, regex: choose one',
  },
  {
    name: "a timeout of 0s (the CRD's CEL rule: at least 1ms)",
    input: foreign('  hosts: [x]\n  http:\n  - timeout: 0s\n    route: [{destination: {host: x}}]'),
    line: 7,
    path: 'spec.http[0].timeout',
    message: '"0s" must be a valid duration greater than 1ms',
  },
  {
    name: 'a timeout that is no duration',
    input: foreign('  hosts: [x]\n  http:\n  - timeout: 5\n    route: [{destination: {host: x}}]'),
    line: 7,
    path: 'spec.http[0].timeout',
    message: '5 is not a string',
  },
  {
    name: 'a mirror percentage out of range',
    input: foreign('  hosts: [x]\n  http:\n  - mirrorPercent: -1\n    route: [{destination: {host: x}}]'),
    line: 7,
    path: 'spec.http[0].mirrorPercent',
    message: '-1 is less than 0',
  },
  // Versions and kinds.
  {
    name: 'a Service of another core version',
    input: 'apiVersion: v2\nkind: Service\nmetadata: {name: my-app, namespace: default}\n',
    line: 1,
    path: 'apiVersion',
    message: '"v2" is not a version the apiserver serves Service in (v1)',
  },
  {
    name: 'a VirtualService of a version Istio does not serve',
    input: foreign('  hosts: [x]', undefined, 'networking.istio.io/v2'),
    line: 1,
    path: 'apiVersion',
    message: '"networking.istio.io/v2" is not a version the apiserver serves VirtualService in (networking.istio.io/v1, networking.istio.io/v1alpha3, networking.istio.io/v1beta1)',
  },
  {
    name: 'an apiVersion that is no API version',
    input: 'apiVersion: "a/b/c"\nkind: Deployment\nmetadata: {name: x}\n',
    line: 1,
    path: '',
    message: 'apiVersion "a/b/c" is not an API version',
  },
  // The apiserver's own rules (ValidateService, ValidateObjectMeta, ValidateConfigMap).
  { name: 'port 0', input: service('my-app', '{ports: [{port: 0}]}'), line: 4, path: 'spec.ports[0].port', message: '0 is not a port number (1 to 65535)' },
  { name: 'port 70000', input: service('my-app', '{ports: [{port: 70000}]}'), line: 4, path: 'spec.ports[0].port', message: '70000 is not a port number (1 to 65535)' },
  {
    name: 'two ports without names',
    input: service('my-app', '{ports: [{port: 80}, {port: 81}]}'),
    line: 4,
    path: 'spec.ports[0].name',
    message: 'is required when a Service has more than one port',
  },
  {
    name: 'one port twice',
    input: service('my-app', '{ports: [{port: 80, name: a}, {port: 80, name: b}]}'),
    line: 4,
    path: 'spec.ports[1]',
    message: 'repeats port 80/TCP of this Service',
  },
  {
    name: 'a protocol that is none',
    input: service('my-app', '{ports: [{port: 80, protocol: HTTP}]}'),
    line: 4,
    path: 'spec.ports[0].protocol',
    message: '"HTTP" is not a protocol (SCTP, TCP, UDP)',
  },
  {
    name: 'a named targetPort that is no port name',
    input: service('my-app', '{ports: [{port: 80, targetPort: "Web_Port"}]}'),
    line: 4,
    path: 'spec.ports[0].targetPort',
    message: '"Web_Port" is not a valid port name',
  },
  { name: 'a Service type that is none', input: service('my-app', '{type: Ingress, ports: [{port: 80}]}'), line: 4, path: 'spec.type', message: '"Ingress" is not a Service type' },
  { name: 'a Service without ports', input: service('my-app', '{selector: {app: x}}'), line: 4, path: 'spec.ports', message: 'is required (at least one port)' },
  {
    name: 'an ExternalName Service without its name',
    input: service('my-app', '{type: ExternalName}'),
    line: 4,
    path: 'spec.externalName',
    message: 'is required for an ExternalName Service',
  },
  {
    name: 'a label value longer than 63 characters',
    input: `apiVersion: v1\nkind: Service\nmetadata:\n  name: my-app\n  namespace: default\n  labels: {app: ${long(64)}}\nspec: {ports: [{port: 80}]}\n`,
    line: 6,
    path: 'metadata.labels.app',
    message: 'is longer than 63 characters, the most a label value may have',
  },
  {
    name: 'a label key that is no qualified name',
    input: 'apiVersion: v1\nkind: Service\nmetadata:\n  name: my-app\n  namespace: default\n  labels: {"a/b/c": x}\nspec: {ports: [{port: 80}]}\n',
    line: 6,
    path: 'metadata.labels["a/b/c"]',
    message: '"a/b/c" is not a valid key',
  },
  {
    name: 'a ConfigMap key that is no key',
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: x}\ndata:\n  "a key": b\n',
    line: 5,
    path: 'data["a key"]',
    message: '"a key" is not a valid key',
  },
  {
    name: 'a ConfigMap value that is not a string',
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: x}\ndata:\n  replicas: 3\n',
    line: 5,
    path: 'data.replicas',
    message: '3 is not a string',
  },
  {
    name: 'binaryData that is not base64',
    input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: x}\nbinaryData:\n  blob: "not base64!"\n',
    line: 5,
    path: 'binaryData.blob',
    message: '"not base64!" is not base64',
  },
  // Inside a List, the line is the item's own.
  {
    name: 'an item of a List',
    input: `apiVersion: v1\nkind: List\nitems:\n- ${service('my-app').trimEnd().replace(/\n/g, '\n  ')}\n- ${service('web', '{ports: "80"}').trimEnd().replace(/\n/g, '\n  ')}\n`,
    line: 11,
    path: 'spec.ports',
    message: 'service default/web: "80" is not a list',
  },
];

export const ACCEPTED: [string, string][] = [
  ['a 63-character Service name (its VirtualService, <svc>-virtual-service, has 79: a custom resource name may have 253)', service(long(63))],
  [
    'fields set to null, as kubectl get -o yaml can show them',
    'apiVersion: v1\nkind: Service\nmetadata: {name: my-app, namespace: default, labels: null}\nspec: {selector: null, ports: [{port: 80, name: null}]}\n',
  ],
  [
    'a Service as kubectl get -o yaml prints it',
    [
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  name: my-app',
      '  namespace: default',
      '  uid: 3b1c2f4e-0000-4000-8000-000000000000',
      '  resourceVersion: "412"',
      '  creationTimestamp: "2024-05-01T12:00:00Z"',
      '  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}"}',
      '  managedFields:',
      '  - {apiVersion: v1, fieldsType: FieldsV1, fieldsV1: {"f:spec": {}}, manager: kubectl, operation: Update, time: "2024-05-01T12:00:00Z"}',
      'spec:',
      '  clusterIP: 10.0.0.12',
      '  clusterIPs: [10.0.0.12]',
      '  internalTrafficPolicy: Cluster',
      '  ipFamilies: [IPv4]',
      '  ipFamilyPolicy: SingleStack',
      '  ports: [{name: http, port: 80, protocol: TCP, targetPort: http}, {name: grpc, port: 9090, protocol: TCP, targetPort: 9090, appProtocol: grpc}]',
      '  selector: {app: my-app}',
      '  sessionAffinity: None',
      '  type: ClusterIP',
      'status: {loadBalancer: {}}',
      '',
    ].join('\n'),
  ],
  ['a headless Service without ports', service('my-app', '{clusterIP: None}')],
  ['an ExternalName Service', service('my-app', '{type: ExternalName, externalName: my-app.example.com.}', 'dev-alice')],
  [
    'a VirtualService with durations, a status and every match kind',
    foreign(
      [
        '  hosts: [my-app.default.svc.cluster.local]',
        '  http:',
        '  - match: [{uri: {prefix: /a}, headers: {x-b: {regex: "b.*"}}, port: 80}]',
        '    timeout: 1.5s',
        '    retries: {attempts: 3, perTryTimeout: 500ms}',
        '    route: [{destination: {host: my-app.default.svc.cluster.local, port: {number: 80}}, weight: 100}]',
        'status: {conditions: [{type: Reconciled, status: "True"}], anything: [1, 2]}',
      ].join('\n'),
    ),
  ],
  ['a Knative Service (another API group: not vsop’s)', 'apiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: x.y, namespace: default}\nspec: {template: {}}\n'],
  ['a kind vsop does not read, whatever it holds', 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: 5\n'],
];
