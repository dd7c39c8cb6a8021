// `vsop status` as a table beside `-o json` of the same world in the same run, each a fresh process
// reading files (-f), so the table's own cost shows as the ratio: target <= 1.5 x json. The worlds:
//   10,000 and 49,000 production Services x 3 developer namespaces (each holding a copy of a quarter of
//   them): the matrix, one row per Service;
//   2,000 production Services x 30 developer namespaces at COLUMNS=80: one row per Service and namespace.
// Runs alternate between the two formats, so load on the machine falls on both alike.
//
//   node bench/status.ts          (also part of npm run bench, through bench/run.ts)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BenchRow, median, printRows } from './rows.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'vsop.js');

export type StatusRow = BenchRow;

/** A directory with the ConfigMap and the Services (one JSON List), as `vsop status -f` reads them. */
function world(services: number, devs: number): { dir: string; total: number } {
  const dir = mkdtempSync(join(tmpdir(), 'vsop-bench-status-'));
  const devNames = Array.from({ length: devs }, (_, i) => `dev-${i}`);
  const svc = (namespace: string, name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ port: 80 }] } });
  const items = [];
  for (let s = 0; s < services; s++) {
    items.push(svc('prod', `svc-${s}`));
    for (let d = 0; d < devs; d++) if ((s + d) % 4 === 0) items.push(svc(devNames[d]!, `svc-${s}`));
  }
  writeFileSync(join(dir, 'services.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
  writeFileSync(
    join(dir, 'configmap.yaml'),
    `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: virtualservice-operator-config, namespace: virtualservice-operator-system}\ndata:\n  config.yaml: |\n    defaultNamespace: prod\n    developerNamespaces: [${devNames.join(', ')}]\n`,
  );
  return { dir, total: items.length };
}

function run(dir: string, output: string, env: Record<string, string>): number {
  const t = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'status', '-f', dir, '-o', output], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { PATH: process.env.PATH ?? '', ...env },
  });
  if (r.status !== 0) throw new Error(`vsop status -o ${output} exited ${r.status}: ${r.stderr}`);
  return performance.now() - t;
}

export function statusRows(runs = 3): StatusRow[] {
  const rows: StatusRow[] = [];
  for (const [services, devs, env, shape] of [
    [10_000, 3, {}, 'matrix'],
    [49_000, 3, {}, 'matrix'],
    [2_000, 30, { COLUMNS: '80' }, 'a row per Service and namespace, COLUMNS=80'],
  ] as const) {
    const { dir, total } = world(services, devs);
    try {
      const table: number[] = [];
      const json: number[] = [];
      for (let i = 0; i < runs; i++) {
        table.push(run(dir, 'table', env));
        json.push(run(dir, 'json', env));
      }
      const [t, j] = [median(table), median(json)];
      rows.push({
        name: `vsop status -f, ${services.toLocaleString('en')} production Services x ${devs} namespaces (${total.toLocaleString('en')} Services; ${shape})`,
        median: t,
        floorName: 'the same with -o json',
        floor: j,
        target: '<= 1.5x floor',
        ok: t <= 1.5 * j,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return rows;
}

if (import.meta.main) {
  printRows(statusRows());
}
