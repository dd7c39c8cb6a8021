// npm run bench: vsop's speed targets, each beside a floor measured in the same run (machines are noisy,
// so only ratios to a same-run floor mean anything). Not part of npm test.
//
//   resolve+plan, 10,000 production Services x 20 developer namespaces   target <= 0.5 x the same-run floor (issue 13)
//     the watch's resync of the same world, nothing changed (a fingerprint per key)   the same target
//     the same in routeKind HTTPRoute mode (HTTPRoutes and ReferenceGrants) reported beside it
//   start of `vsop --version`                                            target <= 1.5 x `node -e 0`
//   start of `vsop sync -f examples/seed --diff` (offline)               target <= 2.0 x `node -e 0`
//   `vsop status` tables, 10,000 and 49,000 Services (bench/status.ts)    target <= 1.5 x -o json
//   reading a 50 MB Services file with -f (bench/read.ts)                target <= 1.5 x the yaml package alone

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/core/config.ts';
import { httpRouteSpecWithDefaults } from '../src/core/gateway/defaults.ts';
import { planGateway } from '../src/core/gateway/plan.ts';
import { plan } from '../src/core/plan.ts';
import { resolve } from '../src/core/resolve.ts';
import type { Service } from '../src/core/types.ts';
import { fingerprint } from '../src/watch/fingerprint.ts';
import { readRows } from './read.ts';
import { type BenchRow, median, printRows } from './rows.ts';
import { statusRows } from './status.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'vsop.js');
const rows: BenchRow[] = [];

function time(fn: () => void, runs: number): number {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return median(out);
}

// --- resolve + plan at scale -------------------------------------------------------------------
const SERVICES = 10_000;
const DEVS = 20;
const devNames = Array.from({ length: DEVS }, (_, i) => `dev-${i}`);
const { config, template } = loadConfig(`defaultNamespace: prod\ndeveloperNamespaces: [${devNames.join(', ')}]\n`, 'bench');
const services: Service[] = [];
const svc = (namespace: string, name: string): Service => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ port: 80 }] } });
for (let s = 0; s < SERVICES; s++) {
  services.push(svc('prod', `svc-${s}`));
  // each developer namespace holds a copy of a quarter of the Services
  for (let d = 0; d < DEVS; d++) if ((s + d) % 4 === 0) services.push(svc(devNames[d]!, `svc-${s}`));
}
const desired = resolve(config, template, services).virtualServices;
const live = structuredClone(desired);
const opts = { defaultNamespace: 'prod' };
time(() => plan(resolve(config, template, services).virtualServices, live, opts), 3); // warm up
const steady = time(() => plan(resolve(config, template, services).virtualServices, live, opts), 9);
const fresh = time(() => plan(resolve(config, template, services).virtualServices, [], opts), 9);
const copy = time(() => structuredClone(desired), 9);
const routes = desired.reduce((n, vs) => n + (vs.spec.http?.length ?? 0), 0);
const label = `${SERVICES.toLocaleString('en')} Services x ${DEVS} namespaces (${services.length.toLocaleString('en')} Services, ${routes.toLocaleString('en')} routes)`;
rows.push({
  name: `resolve+plan, all unchanged: ${label}`,
  median: steady,
  floorName: 'structuredClone of the output',
  floor: copy,
  target: '<= 0.5x floor',
  ok: steady <= 0.5 * copy,
});
rows.push({ name: `resolve+plan, all created: ${label}`, median: fresh, floorName: 'structuredClone of the output', floor: copy, target: 'reported', ok: true });

// The watch's steady state (issue 13 item 4): at a resync, each key's inputs are fingerprinted
// (src/watch/fingerprint.ts) and a key whose inputs did not change since it last planned nothing is not
// planned again. The same world, as the watch's caches hand each key its objects (its Services in every
// namespace and its VirtualService, each with a resourceVersion), beside the same floor.
{
  let rv = 1;
  const stored = <T extends { metadata: object }>(o: T): T => ({ ...o, metadata: { ...o.metadata, resourceVersion: String(rv++) } });
  const byKey = new Map<string, { services: Service[]; virtualServices: typeof desired }>();
  for (const svc of services) {
    let k = byKey.get(svc.metadata.name);
    if (!k) byKey.set(svc.metadata.name, (k = { services: [], virtualServices: [] }));
    k.services.push(stored(svc));
  }
  for (const vs of desired) byKey.get(vs.metadata.annotations!['vsop.io/service']!)!.virtualServices.push(stored(vs));
  const cfg = { text: '', source: 'bench' };
  const resync = () => {
    for (const k of byKey.values()) fingerprint({ config: cfg, services: k.services, virtualServices: k.virtualServices });
  };
  time(resync, 3);
  const settled = time(resync, 9);
  rows.push({
    name: `watch resync, all unchanged (a fingerprint per key, no plan): ${label}`,
    median: settled,
    floorName: 'structuredClone of the output',
    floor: copy,
    target: '<= 0.5x floor',
    ok: settled <= 0.5 * copy,
  });
}

// The same world in routeKind HTTPRoute mode (issue 14): resolve renders HTTPRoutes and the ReferenceGrants
// they need; the plan compares them with the live ones as the apiserver stores them (the CRD's defaults
// filled in, so that nothing is planned for a route stored as vsop wrote it). Reported beside the
// VirtualService rows: the issue asks for the same scale, not a target of its own.
{
  const gw = loadConfig(`defaultNamespace: prod\nrouteKind: HTTPRoute\ndeveloperNamespaces: [${devNames.join(', ')}]\n`, 'bench');
  const render = () => resolve(gw.config, gw.template, services);
  const want = render();
  const stored = {
    httpRoutes: want.httpRoutes.map((r) => ({ ...structuredClone(r), spec: httpRouteSpecWithDefaults(structuredClone(r.spec)) })),
    referenceGrants: structuredClone(want.referenceGrants),
  };
  const none = { httpRoutes: [], referenceGrants: [] };
  const gwOpts = { defaultNamespace: 'prod' };
  const planned = planGateway(want, stored, gwOpts).actions;
  const changed = planned.filter((a) => a.type !== 'unchanged').length;
  if (changed !== 0) throw new Error(`HTTPRoute mode: ${changed} actions planned against the stored objects, expected none`);
  time(() => planGateway(render(), stored, gwOpts), 3); // warm up
  const gwSteady = time(() => planGateway(render(), stored, gwOpts), 9);
  const gwFresh = time(() => planGateway(render(), none, gwOpts), 9);
  const gwCopy = time(() => structuredClone(want.httpRoutes), 9);
  const rules = want.httpRoutes.reduce((n, r) => n + (r.spec.rules?.length ?? 0), 0);
  const gwLabel = `${SERVICES.toLocaleString('en')} Services x ${DEVS} namespaces (${want.httpRoutes.length.toLocaleString('en')} HTTPRoutes, ${rules.toLocaleString('en')} rules, ${want.referenceGrants.length} ReferenceGrants)`;
  const floorName = 'structuredClone of the HTTPRoutes';
  rows.push({
    name: `routeKind HTTPRoute: resolve+plan, all unchanged: ${gwLabel}`,
    median: gwSteady,
    floorName,
    floor: gwCopy,
    target: `reported (VirtualService: ${steady.toFixed(1)} ms)`,
    ok: true,
  });
  rows.push({
    name: `routeKind HTTPRoute: resolve+plan, all created: ${gwLabel}`,
    median: gwFresh,
    floorName,
    floor: gwCopy,
    target: `reported (VirtualService: ${fresh.toFixed(1)} ms)`,
    ok: true,
  });
}

// --- starts ---------------------------------------------------------------------------------------
function spawnTime(args: string[], runs: number, env: () => Record<string, string> = () => ({})): number {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const e = { PATH: process.env.PATH ?? '', ...env() };
    const t = performance.now();
    const r = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'ignore', env: e });
    out.push(performance.now() - t);
    if (r.status !== 0 && r.status !== 1) throw new Error(`${args.join(' ')} exited ${r.status}`);
  }
  return median(out);
}
// Fresh processes, after two runs of each: the first run of a command writes its code cache (bin/vsop.js),
// as a user's first run does once per build, and fills Node's compile cache and the page cache.
const RUNS = 21;
const VERSION = [BIN, '--version'];
const SYNC_DIFF = [BIN, 'sync', '-f', 'examples/seed', '--diff'];
for (const args of [['-e', '0'], VERSION, SYNC_DIFF]) spawnTime(args, 2);
const node0 = spawnTime(['-e', '0'], RUNS);
const version = spawnTime(VERSION, RUNS);
const node1 = spawnTime(['-e', '0'], RUNS);
const diff = spawnTime(SYNC_DIFF, RUNS);
const floor = Math.min(node0, node1);
rows.push({ name: 'start: vsop --version', median: version, floorName: 'node -e 0', floor, target: '<= 1.5x floor', ok: version <= 1.5 * floor });
rows.push({ name: 'start: vsop sync -f examples/seed --diff', median: diff, floorName: 'node -e 0', floor, target: '<= 2.0x floor', ok: diff <= 2 * floor });
// The first run after an install or a build: no code cache, no compile cache (each run an empty directory).
const scratch = mkdtempSync(join(tmpdir(), 'vsop-bench-'));
let n = 0;
const first = spawnTime(SYNC_DIFF, 9, () => ({ NODE_COMPILE_CACHE: join(scratch, String(n++)) }));
rmSync(scratch, { recursive: true, force: true });
rows.push({ name: 'first start, no caches: vsop sync -f examples/seed --diff', median: first, floorName: 'node -e 0', floor, target: 'reported', ok: true });

// --- status: the table beside -o json ----------------------------------------------------------
rows.push(...statusRows());

// --- reading a 50 MB Services file: vsop's -f reader beside the yaml package alone ---------------
rows.push(...readRows());

// --- report --------------------------------------------------------------------------------------
console.log(`node ${process.version}, ${process.arch}, medians\n`);
printRows(rows, 1);
if (process.argv.includes('--json')) console.log(JSON.stringify(rows, null, 2));
process.exitCode = rows.every((r) => r.ok) ? 0 : 1;
