// Seeded worlds for the differential test (test/integration/differential.test.ts): a vsop config, the
// Services and VirtualServices of a mesh, and requests to send through it. fast-check is the only source
// of randomness (fc.gen drawn with fc.sample under a seed), so a seed names a world exactly.

import fc from 'fast-check';
import { stringify } from 'yaml';
import type { KubeObject, Service, VirtualService } from '../../src/core/types.ts';
import type { Call } from '../harness/istio.ts';

/** One request, every field given (the shape of trace's TraceRequest and of the simulation's Call). */
export type WorldRequest = Required<Call>;

export interface World {
  /** `<seed>`: the world is generateWorlds(seed, 1)[0]. */
  id: string;
  seed: number;
  /** config.yaml as vsop reads it from its ConfigMap (src/core/config.ts). */
  configYaml: string;
  /** Services (production, copies, placeholders) and the VirtualServices that exist before the sync. */
  objects: KubeObject[];
  requests: WorldRequest[];
}

export type Gen = fc.GeneratorValue;

const PROD_NAMESPACES = ['default', 'production', 'prod'];
const DEV_POOL = ['dev-alice', 'dev-bob', 'staging', 'qa', 'team-a', 'team-a-login'];
const APPS = ['my-app', 'payments', 'web'];
export const OTHER_NAMESPACE = 'team-x';
export const OLD = '2021-03-04T05:06:07Z';
export const NEWER = '2024-03-04T05:06:07Z';

/**
 * `count` worlds; world i is drawn from seed `seed + i` alone, so any one can be made again by itself
 * (generateWorlds(world.seed, 1)). Same seed, same worlds, on every machine.
 */
export function generateWorlds(seed: number, count: number): World[] {
  return Array.from({ length: count }, (_, i) => {
    const s = (seed + i) | 0;
    const [g] = fc.sample(fc.gen(), { seed: s, numRuns: 1 });
    return drawWorld(g!, s);
  });
}

/**
 * `prepare` for each world, timed; a world it throws for is a plan failure, named with the seed that
 * makes it again alone.
 */
export function prepareWorlds<P>(worlds: readonly World[], prepare: (w: World) => P): { prepared: P[]; planFailures: string[]; ms: number } {
  const started = performance.now();
  const prepared: P[] = [];
  const planFailures: string[] = [];
  for (const world of worlds) {
    try {
      prepared.push(prepare(world));
    } catch (err) {
      planFailures.push(`world ${world.id} (VSOP_DIFF_SEED=${world.seed} VSOP_DIFF_CASES=1): ${(err as Error).stack}`);
    }
  }
  return { prepared, planFailures, ms: performance.now() - started };
}

export const int = (g: Gen, min: number, max: number) => g(fc.integer, { min, max });
export const chance = (g: Gen, percent: number) => int(g, 1, 100) <= percent;
export const pick = <T>(g: Gen, items: readonly T[]): T => items[int(g, 0, items.length - 1)]!;
export const subset = <T>(g: Gen, items: readonly T[], percent: number): T[] => items.filter(() => chance(g, percent));

export interface Dev {
  name: string;
  headerValue: string;
  parent?: string;
}

export interface Shape {
  prod: string;
  devs: Dev[];
  header: string;
  apps: { name: string; ports: number[] }[];
}

function drawWorld(g: Gen, seed: number): World {
  const shape = drawShape(g);
  const placeholders = chance(g, 30);
  const objects: KubeObject[] = [...services(g, shape, placeholders), ...shape.apps.flatMap((a) => liveVirtualServices(g, shape, a.name))];
  return { id: String(seed), seed, configYaml: configYaml(g, shape, placeholders), objects, requests: requests(g, shape) };
}

/** The production namespace, developer namespaces (header values, parents), routing header and apps of a world. */
export function drawShape(g: Gen): Shape {
  const prod = pick(g, PROD_NAMESPACES);
  const devNames = subset(g, DEV_POOL, 50);
  if (devNames.length === 0) devNames.push(pick(g, DEV_POOL));
  const devs: Dev[] = devNames.map((name, i) => {
    const dev: Dev = { name, headerValue: chance(g, 20) ? `${name.split('-').pop()}-v` : name };
    if (i > 0 && chance(g, 30)) dev.parent = devNames[int(g, 0, i - 1)]!;
    return dev;
  });
  const header = chance(g, 75) ? 'x-developer' : 'x-env';
  const apps = subset(g, APPS, 50).map((name) => ({ name, ports: pick(g, [[80], [80], [8080], [80, 9090]]) }));
  if (apps.length === 0) apps.push({ name: 'my-app', ports: [80] });
  return { prod, devs, header, apps };
}

export function configYaml(g: Gen, s: Shape, placeholders: boolean, template: (g: Gen) => string = vsTemplate, extra: Record<string, unknown> = {}): string {
  const developerNamespaces = s.devs.map((d) =>
    d.headerValue === d.name && !d.parent
      ? d.name
      : { name: d.name, ...(d.headerValue !== d.name ? { headerValue: d.headerValue } : {}), ...(d.parent ? { parent: d.parent } : {}) },
  );
  return stringify({
    defaultNamespace: s.prod,
    developerNamespaces,
    ...(s.header !== 'x-developer' || chance(g, 50) ? { routingHeader: s.header } : {}),
    ...(placeholders ? { enablePlaceholderServices: true } : {}),
    ...extra,
    [extra.routeKind === 'HTTPRoute' ? 'httpRouteTemplate' : 'virtualServiceTemplate']: template(g),
  });
}

const PROD_DEST = '${serviceName}.${defaultNamespace}.svc.cluster.local';

/** A template: path, header, method, query and other-host routes, multi-port, then a catch-all form (or none). */
function vsTemplate(g: Gen): string {
  const routes: Record<string, unknown>[] = [];
  const to = (port?: number) => [{ destination: { host: PROD_DEST, ...(port ? { port: { number: port } } : {}) } }];
  if (chance(g, 30))
    routes.push({ name: 'legacy-api', match: [{ uri: { prefix: '/v1/legacy' } }], route: [{ destination: { host: 'legacy-gateway.${defaultNamespace}.svc.cluster.local' } }] });
  if (chance(g, 40))
    routes.push({ name: 'main', match: [{ uri: { prefix: '/api/' } }], rewrite: { uri: '/' }, timeout: '5s', retries: { attempts: 3, perTryTimeout: '2s' }, route: to() });
  if (chance(g, 25)) routes.push({ name: 'canary', match: [{ headers: { 'x-canary': { exact: 'true' } } }], headers: { request: { set: { 'x-canary-seen': '1' } } }, route: to() });
  if (chance(g, 20)) routes.push({ name: 'writes', match: [{ method: { exact: 'POST' }, uri: { prefix: '/write' } }], route: to() });
  if (chance(g, 20)) routes.push({ name: 'debug', match: [{ queryParams: { debug: { exact: '1' } } }, { uri: { regex: '/v[0-9]+/items' } }], route: to() });
  if (chance(g, 15))
    routes.push({ name: 'admin', match: [{ uri: { prefix: '/ADMIN' }, ignoreUriCase: true }], route: [{ destination: { host: 'admin.${defaultNamespace}.svc.cluster.local' } }] });
  if (chance(g, 20)) routes.push({ name: 'grpc-port', match: [{ port: 9090 }], route: to(9090) });
  const catchAll = pick(g, ['none', 'plain', 'plain', 'prefix', 'regex', 'weighted']);
  if (catchAll === 'plain') routes.push({ name: 'default', route: to() });
  if (catchAll === 'prefix') routes.push({ name: 'default', match: [{ uri: { prefix: '/' } }], route: to() });
  if (catchAll === 'regex') routes.push({ name: 'default', match: [{ uri: { regex: '.*' } }], route: to() });
  if (catchAll === 'weighted') routes.push({ route: [{ destination: { host: PROD_DEST }, weight: 100 }] });
  // A route after a catch-all never reaches Envoy (Istio stops at the catch-all): a template mistake to survive.
  if ((catchAll === 'prefix' || catchAll === 'regex') && chance(g, 30)) {
    routes.push({
      name: 'after-catch-all',
      match: [{ uri: { prefix: '/v1/legacy' } }],
      route: [{ destination: { host: 'legacy-gateway.${defaultNamespace}.svc.cluster.local' } }],
    });
  }
  if (routes.length === 0) routes.push({ route: to() });
  const hosts = chance(g, 50) ? '  - ${serviceName}\n' : '  - ${serviceName}\n  - ${serviceName}.${defaultNamespace}.svc.cluster.local\n';
  const http = stringify(routes).replace(/^/gm, '  ').trimEnd();
  return `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: "\${serviceName}-vs"
  namespace: "\${defaultNamespace}"
spec:
  hosts:
${hosts}  http:
  # Developer routes will be injected here
${http}
`;
}

function service(namespace: string, name: string, ports: number[], extra: Partial<Service['metadata']> = {}, spec: Record<string, unknown> = {}): Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace, ...extra },
    spec: { ...spec, ports: ports.map((port) => ({ name: port === 80 || port === 8080 ? 'http' : `http-${port}`, port })) },
  };
}

/** Production Services, developer copies (some with fewer or other ports), stale placeholders, helpers. */
export function services(g: Gen, s: Shape, placeholders: boolean): Service[] {
  const out: Service[] = [];
  out.push(service(s.prod, 'legacy-gateway', [80]));
  if (chance(g, 50)) out.push(service(s.prod, 'admin', [80]));
  for (const app of s.apps) {
    out.push(service(s.prod, app.name, app.ports));
    for (const dev of s.devs) {
      const roll = int(g, 1, 100);
      if (roll <= 45) out.push(service(dev.name, app.name, app.ports));
      else if (roll <= 55) out.push(service(dev.name, app.name, app.ports.length > 1 ? [app.ports[0]!] : [app.ports[0] === 80 ? 8080 : 80]));
      else if (roll <= 65 && placeholders) {
        out.push(
          service(
            dev.name,
            app.name,
            app.ports,
            {
              labels: { 'virtualservice-operator/placeholder-service': 'true' },
              annotations: { 'virtualservice-operator/placeholder-service': 'true', 'virtualservice-operator/source-service': `${s.prod}/${app.name}` },
            },
            { type: 'ExternalName', externalName: `${app.name}.${s.prod}.svc.cluster.local` },
          ),
        );
      }
    }
  }
  if (chance(g, 30)) out.push(service(OTHER_NAMESPACE, 'my-app', [80]));
  return out;
}

const fqdn = (s: Shape, app: string) => `${app}.${s.prod}.svc.cluster.local`;
const dest = (host: string, port?: number) => ({ destination: { host, ...(port ? { port: { number: port } } : {}) } });

/** VirtualServices that exist before vsop runs: a managed one with hand edits, and foreign ones for the same host. */
function liveVirtualServices(g: Gen, s: Shape, app: string): VirtualService[] {
  const out: VirtualService[] = [];
  const vs = (namespace: string, name: string, spec: VirtualService['spec'], meta: Partial<VirtualService['metadata']> = {}): VirtualService => ({
    apiVersion: 'networking.istio.io/v1beta1',
    kind: 'VirtualService',
    metadata: { name, namespace, creationTimestamp: pick(g, [OLD, NEWER]), ...meta },
    spec,
  });
  const someDev = () => pick(g, s.devs).name;
  if (chance(g, 40)) out.push(managed(g, s, app, vs));
  if (chance(g, 20)) {
    // Another tool's VirtualService for the same host in the production namespace (Flagger, by hand).
    out.push(vs(s.prod, `${app}-canary`, { hosts: [chance(g, 50) ? app : fqdn(s, app)], http: foreignRoutes(g, s, app) }));
  }
  if (chance(g, 25)) {
    const binding = pick(g, [{ gateways: ['istio-system/public-gw'] }, { gateways: ['mesh', 'istio-system/public-gw'] }, { exportTo: ['.'] }, { exportTo: [OTHER_NAMESPACE] }, {}]);
    // Exact or wildcard hosts: an exact one beats every wildcard, the most specific wildcard the others.
    const hosts = pick(g, [[fqdn(s, app)], [fqdn(s, app)], [`*.${s.prod}.svc.cluster.local`], ['*.svc.cluster.local']]);
    out.push(vs(pick(g, [OTHER_NAMESPACE, someDev()]), `${app}-foreign`, { hosts, ...binding, http: foreignRoutes(g, s, app) }));
  }
  return out;
}

/** A foreign VirtualService's routes: everything to a copy, a catch-all before a header route, one port only, or header only. */
function foreignRoutes(g: Gen, s: Shape, app: string): NonNullable<VirtualService['spec']['http']> {
  const toDev = () => [dest(`${app}.${pick(g, s.devs).name}.svc.cluster.local`)];
  const byHeader = { match: [{ headers: { [s.header]: { exact: pick(g, s.devs).headerValue } } }], route: toDev() };
  switch (pick(g, ['plain', 'cut', 'port', 'header'])) {
    case 'cut':
      return [{ match: [{ uri: pick(g, [{ prefix: '/' }, { regex: '.*' }]) }], route: [dest(fqdn(s, app))] }, byHeader];
    case 'port':
      return [{ match: [{ port: 9090 }], route: toDev() }];
    case 'header':
      return [byHeader];
    default:
      return [{ route: toDev() }];
  }
}

/** The VirtualService vsop manages for `app`, as a person left it: foreign routes (catch-alls too) and overrides. */
function managed(
  g: Gen,
  s: Shape,
  app: string,
  vs: (ns: string, name: string, spec: VirtualService['spec'], meta: Partial<VirtualService['metadata']>) => VirtualService,
): VirtualService {
  const http: NonNullable<VirtualService['spec']['http']> = [];
  const foreign = pick(g, ['none', 'header', 'prefix', 'regex', 'plain', 'path', 'cut']);
  const toDev = [dest(`${app}.${pick(g, s.devs).name}.svc.cluster.local`)];
  if (foreign === 'header') http.push({ name: 'hand-debug', match: [{ headers: { 'x-debug': { exact: 'on' } } }], route: toDev });
  if (foreign === 'prefix') http.push({ name: 'hand-all', match: [{ uri: { prefix: '/' } }], route: [dest(fqdn(s, app))] });
  if (foreign === 'regex') http.push({ name: 'hand-all', match: [{ uri: { regex: '.*' } }], route: [dest(fqdn(s, app))] });
  if (foreign === 'plain') http.push({ name: 'hand-all', route: [dest(fqdn(s, app))] });
  if (foreign === 'path') http.push({ name: 'hand-path', match: [{ uri: { prefix: '/hand' } }], route: toDev });
  if (foreign === 'cut')
    http.push({ name: 'hand-all', match: [{ uri: { regex: '.*' } }], route: [dest(fqdn(s, app))] }, { name: 'hand-path', match: [{ uri: { prefix: '/hand' } }], route: toDev });
  http.push({ name: 'vsop-default', route: [dest(fqdn(s, app))] });
  const annotations: Record<string, string> = { 'vsop.io/service': app };
  if (chance(g, 60)) annotations['vsop.io/overrides'] = overrides(g, s);
  return vs(s.prod, `${app}-vs`, { hosts: [app], http }, { labels: { 'managed-by': 'virtualservice-operator' }, annotations });
}

/** A vsop.io/overrides annotation (src/core/overrides.ts): header routes, weights, removed namespaces. */
export function overrides(g: Gen, s: Shape, matches: readonly ('exact' | 'prefix' | 'regex')[] = ['exact', 'prefix', 'regex']): string {
  const routes = subset(g, s.devs, 40).map((d, i) => ({
    namespace: d.name,
    headers: [{ name: 'x-cid', value: pick(g, [`c${i}`, `c${i}-`, `c${i}[0-9]+`]), match: pick(g, ['exact', 'prefix', 'regex']) }],
    ...(chance(g, 20) ? { port: 80 } : {}),
    ...(chance(g, 20) ? { force: true } : {}),
  }));
  // A regex value needs the regex match type and vice versa, or the header value check refuses it.
  for (const r of routes) {
    const h = r.headers[0]!;
    h.match = h.value.includes('[') ? 'regex' : h.value.endsWith('-') ? 'prefix' : 'exact';
    // routeKind HTTPRoute has no prefix header match: the regex route add proposes instead.
    if (h.match === 'prefix' && !matches.includes('prefix')) Object.assign(h, { value: `${h.value}.*`, match: 'regex' });
  }
  let left = 100;
  const weights = subset(g, s.devs, 30).map((d) => {
    const percent = int(g, 0, Math.min(left, 60));
    left -= percent;
    return { namespace: d.name, percent };
  });
  const removed = subset(g, s.devs, 15).map((d) => d.name);
  return JSON.stringify({ version: 1, routes, weights, removed, cleared: chance(g, 10) });
}

const PATHS = ['/', '/api/orders', '/v1/legacy/x', '/write/x', '/admin/panel', '/v2/items', '/hand/x', '/other', '/?debug=1', '/api/x?debug=0'];

export function requests(g: Gen, s: Shape): WorldRequest[] {
  const callers = [s.prod, ...s.devs.map((d) => d.name), OTHER_NAMESPACE];
  const values = [...s.devs.map((d) => d.headerValue), ...s.devs.map((d) => d.name), 'dev-nobody'];
  return Array.from({ length: int(g, 6, 12) }, () => {
    const app = pick(g, s.apps);
    const from = pick(g, callers);
    const form = from === s.prod ? pick(g, ['short', 'ns', 'fqdn']) : pick(g, ['ns', 'fqdn', 'fqdn']);
    const host = form === 'short' ? app.name : form === 'ns' ? `${app.name}.${s.prod}` : fqdn(s, app.name);
    const headers: Record<string, string> = {};
    if (chance(g, 70)) headers[s.header] = pick(g, values);
    if (chance(g, 15)) headers['x-canary'] = 'true';
    if (chance(g, 15)) headers['x-cid'] = pick(g, ['c0', 'c1', 'c0-z', 'c12']);
    if (chance(g, 10)) headers['x-debug'] = 'on';
    return { host, port: pick(g, app.ports), path: pick(g, PATHS), method: chance(g, 25) ? 'POST' : 'GET', headers, from };
  });
}
