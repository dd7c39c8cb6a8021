// Seeded worlds for the differential test in routeKind HTTPRoute mode (test/integration/differential-httproute.test.ts):
// the same namespaces, apps, Services and requests as the VirtualService worlds (test/helpers/worlds.ts), with
// an HTTPRoute template, and the HTTPRoutes that exist before the sync in the Gateway API's shape instead of
// VirtualServices. What does not carry over: rules added by hand to vsop's own route (vsop puts its HTTPRoute
// back as rendered: only the vsop.io/overrides record survives) and VirtualServices for the same host (with
// routeKind HTTPRoute, mixing kinds for one workload is undefined in Istio). Instead, other HTTPRoutes attach
// to the same Service: producer routes in the production namespace (a header, path, method, two-header or
// match-less rule; some with a parentRef port, which Istio keeps apart from vsop's portless route), older or
// newer than vsop's, and consumer routes in a developer namespace (for that namespace's callers only).

import fc from 'fast-check';
import { stringify } from 'yaml';
import type { HTTPRoute } from '../../src/core/render/httproute.ts';
import { SEED_HTTPROUTE_TEMPLATE } from '../../src/core/template.ts';
import type { KubeObject } from '../../src/core/types.ts';
import { chance, configYaml, drawShape, type Gen, int, NEWER, OLD, OTHER_NAMESPACE, overrides, pick, requests, type Shape, services, type World } from './worlds.ts';

/** `count` worlds; world i is drawn from seed `seed + i` alone, as generateWorlds does. */
export function generateHttpRouteWorlds(seed: number, count: number): World[] {
  return Array.from({ length: count }, (_, i) => {
    const s = (seed + i) | 0;
    const [g] = fc.sample(fc.gen(), { seed: s, numRuns: 1 });
    return drawWorld(g!, s);
  });
}

const GROUP = 'gateway.networking.k8s.io';

function drawWorld(g: Gen, seed: number): World {
  const shape = drawShape(g);
  const placeholders = chance(g, 30);
  const svcs = services(g, shape, placeholders);
  const routes = shape.apps.flatMap((a) => liveRoutes(g, shape, a, svcs));
  return {
    id: String(seed),
    seed,
    configYaml: configYaml(g, shape, placeholders, template, { routeKind: 'HTTPRoute' }),
    objects: [...svcs, ...routes],
    requests: requests(g, shape),
  };
}

const toProd = (extra: Record<string, unknown> = {}) => [{ name: '${serviceName}', ...extra }];
/** legacy-gateway exists in every world's production namespace (a backendRef to a Service needs a port). */
const toLegacy = [{ name: 'legacy-gateway', port: 80 }];

/** An HTTPRoute template: path, header, method, query and other-Service rules, then a catch-all form. */
function template(g: Gen): string {
  const rules: Record<string, unknown>[] = [];
  if (chance(g, 30)) rules.push({ matches: [{ path: { type: 'PathPrefix', value: '/v1/legacy' } }], backendRefs: toLegacy });
  if (chance(g, 40)) rules.push({ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], timeouts: { request: '5s' }, backendRefs: toProd() });
  if (chance(g, 25))
    rules.push({
      matches: [{ headers: [{ name: 'x-canary', value: 'true' }] }],
      filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-canary-seen', value: '1' }] } }],
      backendRefs: toProd(),
    });
  if (chance(g, 20)) rules.push({ matches: [{ method: 'POST', path: { type: 'PathPrefix', value: '/write' } }], backendRefs: toProd() });
  if (chance(g, 20))
    rules.push({ matches: [{ queryParams: [{ name: 'debug', value: '1' }] }, { path: { type: 'RegularExpression', value: '/v[0-9]+/items' } }], backendRefs: toProd() });
  if (chance(g, 15)) rules.push({ matches: [{ path: { type: 'Exact', value: '/admin/panel' } }], backendRefs: toLegacy });
  const catchAll = pick(g, ['none', 'plain', 'plain', 'prefix', 'weighted']);
  if (catchAll === 'plain') rules.push({ backendRefs: toProd() });
  if (catchAll === 'prefix') rules.push({ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRefs: toProd() });
  if (catchAll === 'weighted') rules.push({ backendRefs: toProd({ weight: 100 }) });
  // The template must send somewhere to production (config.ts refuses it otherwise).
  if (!rules.some((r) => (r.backendRefs as { name: string }[])[0]!.name === '${serviceName}')) rules.push({ backendRefs: toProd() });
  // The default template (its parent, the production Service), with these rules in place of its one.
  const [head] = SEED_HTTPROUTE_TEMPLATE.split('  - backendRefs:\n');
  return `${head}${stringify(rules).replace(/^/gm, '  ').trimEnd()}\n`;
}

const route = (
  namespace: string,
  name: string,
  created: string,
  parentRefs: Record<string, unknown>[],
  rules: Record<string, unknown>[],
  meta: Partial<HTTPRoute['metadata']> = {},
): HTTPRoute => ({
  apiVersion: `${GROUP}/v1`,
  kind: 'HTTPRoute',
  metadata: { name, namespace, creationTimestamp: created, ...meta },
  spec: { parentRefs, rules },
});

/** HTTPRoutes attached to `app` before vsop runs: vsop's own (with overrides), foreign producer and consumer routes. */
function liveRoutes(g: Gen, s: Shape, app: Shape['apps'][number], svcs: readonly KubeObject[]): HTTPRoute[] {
  const out: HTTPRoute[] = [];
  const age = () => pick(g, [OLD, NEWER]);
  const parent = (port?: number, namespace?: string) => ({ group: '', kind: 'Service', name: app.name, ...(namespace ? { namespace } : {}), ...(port ? { port } : {}) });
  if (chance(g, 40)) {
    // vsop's HTTPRoutes from an earlier sync, one per port of a multi-port Service, each with the record.
    const annotations = { 'vsop.io/service': app.name, ...(chance(g, 60) ? { 'vsop.io/overrides': overrides(g, s, ['exact', 'regex']) } : {}) };
    const created = age();
    const scopes = app.ports.length > 1 ? app.ports : [undefined];
    for (const port of scopes)
      out.push(
        route(s.prod, port ? `${app.name}-routes-${port}` : `${app.name}-routes`, created, [parent(port)], [{ backendRefs: [{ name: app.name, port: port ?? app.ports[0] }] }], {
          labels: { 'managed-by': 'virtualservice-operator' },
          annotations,
        }),
      );
  }
  if (chance(g, 30)) {
    // Another tool's route for the same Service (a canary, a debug rule), sending to a production Service.
    const dev = pick(g, s.devs).headerValue;
    const rules = pick(g, [
      [{ backendRefs: toLegacy }],
      [{ matches: [{ headers: [{ type: 'RegularExpression', name: s.header, value: 'dev-.*' }] }], backendRefs: toLegacy }],
      [{ matches: [{ headers: [{ name: s.header, value: dev }] }], backendRefs: toLegacy }],
      [{ matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: toLegacy }],
      [{ matches: [{ method: 'POST' }], backendRefs: toLegacy }],
      [{ matches: [{ path: { type: 'Exact', value: '/' } }], backendRefs: toLegacy }],
      [
        {
          matches: [
            {
              headers: [
                { name: s.header, value: dev },
                { name: 'x-canary', value: 'true' },
              ],
            },
          ],
          backendRefs: toLegacy,
        },
      ],
    ]);
    const port = chance(g, 20) ? pick(g, app.ports) : undefined;
    out.push(route(s.prod, `${app.name}-canary`, age(), [parent(port)], rules));
  }
  if (chance(g, 20)) {
    // A consumer route: in a namespace with a copy of the same ports, pinning that namespace's callers to it.
    const holders = [...s.devs.map((d) => d.name), OTHER_NAMESPACE].filter((ns) =>
      svcs.some(
        (o) =>
          o.kind === 'Service' &&
          o.metadata.namespace === ns &&
          o.metadata.name === app.name &&
          (o as { spec?: { type?: string; ports?: { port: number }[] } }).spec?.type !== 'ExternalName' &&
          JSON.stringify((o as { spec?: { ports?: { port: number }[] } }).spec?.ports?.map((p) => p.port)) === JSON.stringify(app.ports),
      ),
    );
    if (holders.length > 0) {
      const ns = holders[int(g, 0, holders.length - 1)]!;
      const port = app.ports.length > 1 ? pick(g, app.ports) : undefined;
      out.push(route(ns, `${app.name}-pin`, age(), [parent(port, s.prod)], [{ backendRefs: [{ name: app.name, port: port ?? app.ports[0] }] }]));
    }
  }
  return out;
}
