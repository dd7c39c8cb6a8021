// The differential test of issue #9 in routeKind HTTPRoute mode (issue 14): for generated worlds
// (test/helpers/worlds-httproute.ts: the VirtualService worlds' namespaces, Services and requests, an
// HTTPRoute template, and HTTPRoutes already attached to the same Services: vsop's own with overrides,
// other tools' producer routes older or newer than vsop's, consumer routes), vsop's answer to "where does
// this request go once vsop has synced?" (traceRequest over worldAfter of planSnapshot, which applies the
// Gateway API's precedence across every attached HTTPRoute as src/core/istio/gateway.ts reads Istio's
// translation) must equal the Envoy cluster, and the HTTPRoute, that Istio's own translation of the
// Gateway API for sidecars picks (istio-check simulate-batch, given the HTTPRoutes and ReferenceGrants as
// the sync leaves them). The referee never sees vsop's prediction; nothing expected is copied from vsop.
// And status must mark a developer namespace taken exactly where Istio sends its witness (GET / with the
// header, from production) to another HTTPRoute's rule.
//
//   node test/harness/run-integration.ts test/integration/differential-httproute.test.ts
//   VSOP_DIFF_SEED=42 VSOP_DIFF_CASES=1000 node test/harness/run-integration.ts test/integration/differential-httproute.test.ts
//
// VSOP_DIFF_CASES is the number of worlds (default 300), VSOP_DIFF_SEED the first world's seed (world i
// uses seed + i, so a failing world is re-run alone with its own seed).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { traceRequest, type TraceAnswer } from '../../src/core/istio/trace.ts';
import type { HTTPRoute } from '../../src/core/render/httproute.ts';
import { toYamlStream } from '../../src/core/render.ts';
import { statusView, type ServiceStatus } from '../../src/core/status.ts';
import type { Config, KubeObject, Service } from '../../src/core/types.ts';
import { planSnapshot, worldAfter } from '../../src/reconcile.ts';
import { simulateChunked, type CallResult, type Call } from '../harness/istio.ts';
import { skipReason } from '../harness/require.ts';
import { generateHttpRouteWorlds } from '../helpers/worlds-httproute.ts';
import { prepareWorlds, type World } from '../helpers/worlds.ts';

const skip = skipReason();
const CASES = Number(process.env.VSOP_DIFF_CASES ?? 300);
const SEED = Number(process.env.VSOP_DIFF_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CHUNK = 100;
const SHOWN = 5;

interface Prepared {
  world: World;
  config: Config;
  services: Service[];
  /** The HTTPRoutes and vsop's ReferenceGrants as the sync leaves them. */
  objects: KubeObject[];
  predictions: TraceAnswer[];
  status: ServiceStatus[];
  /** Per status row, developer namespace routed to a copy, and port: GET / with its header, from production. */
  witnesses: { service: string; namespace: string; target: string; taken: boolean; call: Call }[];
}

function prepare(world: World): Prepared {
  const services = world.objects.filter((o): o is Service => o.kind === 'Service');
  const live = world.objects.filter((o): o is HTTPRoute => o.kind === 'HTTPRoute');
  const snapshot = { config: { text: world.configYaml, source: `world ${world.id} config.yaml` }, services, virtualServices: [], httpRoutes: live, referenceGrants: [] };
  const planned = planSnapshot(snapshot, { routing: true });
  const after = worldAfter(planned);
  const config = planned.loaded.config;
  const status = statusView({
    defaultNamespace: config.defaultNamespace,
    tables: planned.resolution.tables,
    virtualServices: [],
    httpRoutes: planned.resolution.httpRoutes,
    findings: planned.plan.findings,
    world: after,
  });
  const witnesses: Prepared['witnesses'] = [];
  for (const row of status) {
    const svc = services.find((s) => s.metadata.name === row.service && s.metadata.namespace === config.defaultNamespace)!;
    for (const n of row.namespaces) {
      const dev = config.developerNamespaces.find((d) => d.name === n.namespace)!;
      for (const port of [...new Set((svc.spec?.ports ?? []).map((p) => p.port))]) {
        const routed = n.byPort?.find((x) => x.port === port)?.route ?? n.route;
        if (routed.state !== 'route' && routed.state !== 'fallback') continue;
        const call = {
          host: `${row.service}.${config.defaultNamespace}.svc.cluster.local`,
          port,
          path: '/',
          method: 'GET',
          headers: { [config.routingHeader]: dev.headerValue },
          from: config.defaultNamespace,
        };
        witnesses.push({ service: row.service, namespace: n.namespace, target: routed.target, taken: n.taken?.some((x) => x.port === port) ?? false, call });
      }
    }
  }
  return {
    world,
    config,
    services: [...after.services],
    objects: [...(after.httpRoutes ?? []), ...planned.resolution.referenceGrants],
    predictions: world.requests.map((r) => traceRequest(after, r)),
    status,
    witnesses,
  };
}

/** One comparable line: the cluster or weights, or no route, and the HTTPRoute whose rule answered. */
function outcome(a: { cluster: string; weights?: { cluster: string; weight: number }[]; error?: string }, route: string | undefined): string {
  if (a.error) return /no route/i.test(a.error) ? 'no route' : `error: ${a.error}`;
  const to = a.weights?.length
    ? `weights ${a.weights
        .map((w) => `${w.cluster}=${w.weight}`)
        .sort()
        .join(' ')}`
    : `cluster ${a.cluster}`;
  return `${to} via ${route ?? 'the Service'}`;
}
const vsopRoute = (a: TraceAnswer) =>
  a.httpRoute ? `HTTPRoute/${a.httpRoute.namespace}/${a.httpRoute.name}` : a.virtualService ? `VirtualService/${a.virtualService.namespace}/${a.virtualService.name}` : undefined;

function report(p: Prepared, what: string, request: unknown, istio: string, vsop: string): string {
  return [
    `--- ${what}: seed ${SEED}, world ${p.world.id}`,
    `request: ${JSON.stringify(request)}`,
    `istio:   ${istio}`,
    `vsop:    ${vsop}`,
    `re-run:  VSOP_DIFF_SEED=${p.world.seed} VSOP_DIFF_CASES=1 node test/harness/run-integration.ts test/integration/differential-httproute.test.ts`,
    'config.yaml:',
    p.world.configYaml.trimEnd(),
    'HTTPRoutes and ReferenceGrants after the sync:',
    toYamlStream(p.objects).trimEnd(),
  ].join('\n');
}

/**
 * Why an HTTPRoute breaks the Gateway API CRD's limits (standard channel v1.3.0,
 * gateway.networking.k8s.io_httproutes.yaml: spec.rules maxItems 16, matches maxItems 64 per rule, and the
 * CEL rule "While 16 rules and 64 matches per rule are allowed, the total number of matches across all
 * rules in a route must be less than 128"), or undefined. The apiserver refuses such a route; vsop renders
 * them today (see the todo test below), so such worlds are set aside, not judged.
 */
function overLimits(objects: readonly KubeObject[]): string | undefined {
  for (const o of objects) {
    if (o.kind !== 'HTTPRoute') continue;
    const rules = (o as HTTPRoute).spec.rules ?? [];
    const matches = rules.reduce((n, r) => n + Math.max(r.matches?.length ?? 0, 1), 0);
    if (rules.length > 16 || matches > 128 || rules.some((r) => (r.matches?.length ?? 0) > 64))
      return `HTTPRoute ${o.metadata.namespace}/${o.metadata.name}: ${rules.length} rules (at most 16), ${matches} matches (at most 128)`;
  }
  return undefined;
}

interface Run {
  prepared: Prepared[];
  /** Worlds whose rendered HTTPRoutes break the CRD's limits: not simulated. */
  overLimit: string[];
  results: CallResult[][];
  witnessResults: CallResult[][];
  planFailures: string[];
  vsopMs: number;
  istioMs: number;
}

let once: Promise<Run> | undefined;
function runAll(): Promise<Run> {
  once ??= (async () => {
    const { prepared, planFailures, ms: vsopMs } = prepareWorlds(generateHttpRouteWorlds(SEED, CASES), prepare);
    const overLimit: string[] = [];
    for (let i = prepared.length - 1; i >= 0; i--) {
      const why = overLimits(prepared[i]!.objects);
      if (why) overLimit.unshift(`world ${prepared[i]!.world.id}: ${why}`) && prepared.splice(i, 1);
    }
    const results: CallResult[][] = [];
    const witnessResults: CallResult[][] = [];
    const t0 = performance.now();
    const answers = await simulateChunked(
      prepared.map((p) => ({
        services: toYamlStream(p.services),
        virtualServices: toYamlStream(p.objects),
        // Each witness, then its twin without the header.
        calls: [...p.world.requests, ...p.witnesses.flatMap((w) => [w.call, { ...w.call, headers: {} }])],
      })),
      CHUNK,
    );
    answers.forEach((a, i) => {
      const n = prepared[i]!.world.requests.length;
      results.push(a.slice(0, n));
      witnessResults.push(a.slice(n));
    });
    return { prepared, overLimit, results, witnessResults, planFailures, vsopMs, istioMs: performance.now() - t0 };
  })();
  return once;
}

const RERUN = `VSOP_DIFF_SEED=${SEED} VSOP_DIFF_CASES=${CASES} node test/harness/run-integration.ts test/integration/differential-httproute.test.ts`;

test(`routeKind HTTPRoute: vsop's trace agrees with Istio's translation of the Gateway API (seed ${SEED}, ${CASES} worlds)`, { skip, timeout: 30 * 60_000 }, async (t) => {
  t.diagnostic(`seed ${SEED}; re-run: ${RERUN}`);
  const { prepared, overLimit, results, planFailures, vsopMs, istioMs } = await runAll();
  const mismatches: string[] = [];
  const refereeFailures: string[] = [];
  const tally = new Map<string, number>();
  let requests = 0;
  prepared.forEach((p, w) => {
    results[w]!.forEach((expected, i) => {
      requests++;
      if (expected.error && !/no route/i.test(expected.error)) {
        refereeFailures.push(`world ${p.world.id} request ${i} ${JSON.stringify(p.world.requests[i])}: ${expected.error}`);
        return;
      }
      const want = outcome(expected, expected.config);
      const answered = p.objects.find((o) => expected.config === `${o.kind}/${o.metadata.namespace}/${o.metadata.name}`);
      const via = !answered
        ? 'the Service'
        : answered.metadata.labels?.['managed-by'] === 'virtualservice-operator'
          ? "vsop's HTTPRoute"
          : answered.metadata.namespace === p.config.defaultNamespace
            ? 'a producer route'
            : 'a consumer route';
      const by = want === 'no route' ? want : `${want.startsWith('weights') ? 'weights' : want.split(' ')[0]} ${via}`;
      tally.set(by, (tally.get(by) ?? 0) + 1);
      const got = outcome(p.predictions[i]!, vsopRoute(p.predictions[i]!));
      if (want !== got) mismatches.push(report(p, `mismatch, request ${i}`, p.world.requests[i], want, got));
    });
  });
  t.diagnostic(
    `${prepared.length} worlds judged (${overLimit.length} set aside: over the CRD's limits), ${requests} requests (${[...tally].map(([k, n]) => `${k} ${n}`).join(', ')}); ` +
      `vsop ${vsopMs.toFixed(0)} ms, istio ${istioMs.toFixed(0)} ms`,
  );
  assert.deepEqual(planFailures, [], `vsop could not plan ${planFailures.length} world(s) (seed ${SEED})`);
  assert.deepEqual(refereeFailures.slice(0, 20), [], `Istio's simulation could not follow ${refereeFailures.length} request(s) (seed ${SEED})`);
  assert.equal(
    mismatches.length,
    0,
    `${mismatches.length} of ${requests} requests go elsewhere than vsop says (seed ${SEED}); the first ${Math.min(SHOWN, mismatches.length)}:\n${mismatches.slice(0, SHOWN).join('\n')}`,
  );
});

// status calls a developer namespace routed (its copy, or a parent's) unless another HTTPRoute's rule
// catches its header requests first (taken). Judged by Istio alone: for every claim status calls routed and
// not taken, the plainest header request (GET / with the header, from production) must reach that copy
// through vsop's HTTPRoute wherever the same request without the header reaches production through it
// (then a template rule met it, and vsop renders a variant of that rule for each routed namespace). A taken claim is counted, not judged: status finds it with the witnesses of
// every variant (a POST /write, an /api path), which GET / need not meet.
test(`routeKind HTTPRoute: every claim status calls routed and not taken reaches the copy in Istio (seed ${SEED})`, { skip, timeout: 30 * 60_000 }, async (t) => {
  const { prepared, witnessResults } = await runAll();
  const disagreements: string[] = [];
  let judged = 0;
  let taken = 0;
  prepared.forEach((p, w) => {
    p.witnesses.forEach((x, i) => {
      if (x.taken) {
        taken++;
        return;
      }
      const r = witnessResults[w]![2 * i]!;
      const twin = witnessResults[w]![2 * i + 1]!;
      const own = p.objects.filter(
        (o) => o.kind === 'HTTPRoute' && o.metadata.labels?.['managed-by'] === 'virtualservice-operator' && o.metadata.annotations?.['vsop.io/service'] === x.service,
      );
      const want = `outbound|${x.call.port}||${x.service}.${x.target}.svc.cluster.local`;
      const byVsop = (res: CallResult) => own.some((o) => res.config === `HTTPRoute/${o.metadata.namespace}/${o.metadata.name}`);
      // Only where the twin reaches production through vsop's route (a template without a catch-all sends GET / nowhere).
      if (twin.cluster !== `outbound|${x.call.port}||${x.service}.${p.config.defaultNamespace}.svc.cluster.local` || !byVsop(twin)) return;
      judged++;
      if (r.cluster === want && byVsop(r)) return;
      disagreements.push(
        report(p, `status says ${x.namespace} reaches ${x.target} on ${x.service}:${x.call.port}`, x.call, `${r.error ?? r.cluster} via ${r.config ?? 'the Service'}`, want),
      );
    });
  });
  t.diagnostic(`${judged} routed claims judged, ${taken} taken (not judged)`);
  if (CASES >= 50) assert.ok(judged > 0 && taken > 0, 'the generator no longer makes both routed and taken claims');
  assert.equal(
    disagreements.length,
    0,
    `${disagreements.length} of ${judged} claims (seed ${SEED}); the first ${Math.min(SHOWN, disagreements.length)}:\n${disagreements.slice(0, SHOWN).join('\n')}`,
  );
});

// vsop renders one HTTPRoute per Service (per port): each template rule sending to production gets a variant
// per routing rule, so a template with 3 such rules and 5 developer namespaces with copies makes 18 rules,
// over the CRD's 16, and the apiserver refuses the write (422). Not yet handled (left to the lead: refuse
// with a message naming the count, or split the rules over several routes, which changes their precedence
// by age and name); todo until then: it lists the worlds, and does not fail the run.
test(`routeKind HTTPRoute: no world renders an HTTPRoute over the CRD's limits (seed ${SEED})`, {
  skip,
  todo: 'vsop does not yet check the CRD limits (16 rules, 128 matches)',
}, async (t) => {
  const { prepared, overLimit } = await runAll();
  t.diagnostic(`${overLimit.length} of ${prepared.length + overLimit.length} worlds over the limits${overLimit.length ? `, e.g. ${overLimit[0]}` : ''}`);
  assert.deepEqual(overLimit, []);
});
