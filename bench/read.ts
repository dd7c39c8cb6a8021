// Reading a 50 MB Services file (issue 11, item 2) beside a floor measured in the same run: the same file
// parsed by the yaml package alone (parseAllDocuments, then toJS per document), which vsop builds on.
// vsop's side is what every -f command does before deciding anything: fileSource's read (decoding, the
// bounded YAML reader with its alias, tag and depth checks, each object held to the apiserver's schema,
// the inventory). Each measure is a fresh process (its wall time and peak resident memory), runs
// alternate between the two, medians of three. Target: <= 1.5 x the floor.
//
//   node bench/read.ts            (also part of npm run bench, through bench/run.ts)
//   node bench/read.ts --mb 10    (another size)

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { type BenchRow, median, printRows } from './rows.ts';

const CONFIG_MAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: virtualservice-operator-config
  namespace: virtualservice-operator-system
data:
  config.yaml: |
    defaultNamespace: prod
    developerNamespaces: [dev-a, dev-b, dev-c]
`;

/** Multi-document YAML of Services as kubectl get -o yaml writes them (labels, selector, two ports), about `mb` MB. */
function servicesFile(dir: string, mb: number): { file: string; services: number } {
  const parts: string[] = [];
  let bytes = 0;
  let n = 0;
  const namespaces = ['prod', 'dev-a', 'dev-b', 'dev-c'];
  while (bytes < mb * 1024 * 1024) {
    const doc = `apiVersion: v1
kind: Service
metadata:
  name: svc-${Math.floor(n / 4)}
  namespace: ${namespaces[n % 4]}
  labels:
    app.kubernetes.io/name: svc-${Math.floor(n / 4)}
    app.kubernetes.io/part-of: shop
spec:
  type: ClusterIP
  selector:
    app.kubernetes.io/name: svc-${Math.floor(n / 4)}
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: 8080
  - name: grpc
    port: 9090
    protocol: TCP
    targetPort: 9090
---
`;
    parts.push(doc);
    bytes += doc.length;
    n++;
  }
  const file = join(dir, 'services.yaml');
  writeFileSync(file, parts.join(''));
  return { file, services: n };
}

/** One measure in this process (the child's side): prints {ms, objects}. */
async function one(kind: string, file: string, config: string): Promise<void> {
  const t = performance.now();
  let objects: number;
  if (kind === 'floor') {
    const { parseAllDocuments } = await import('yaml');
    const docs = parseAllDocuments(readFileSync(file, 'utf8'));
    objects = (Array.isArray(docs) ? docs : []).map((d) => d.toJS()).filter((v) => v != null).length;
  } else {
    const { fileSource } = await import('../src/files.ts');
    const snapshot = await fileSource([config, file], { namespace: 'virtualservice-operator-system', name: 'virtualservice-operator-config' }, async () => '').read();
    objects = snapshot.services.length;
  }
  console.log(JSON.stringify({ ms: performance.now() - t, objects }));
}

function measure(kind: 'vsop' | 'floor', file: string, config: string): { ms: number; rssMb: number; objects: number } {
  const r = spawnSync(process.execPath, [import.meta.filename, '--one', kind, file, config], { encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`${kind} read failed (exit ${r.status}): ${r.stderr}`);
  const out = JSON.parse(r.stdout) as { ms: number; objects: number };
  // The child's peak resident memory: it reports its own (process.resourceUsage) on stderr.
  return { ...out, rssMb: rss(r.stderr) };
}

function rss(stderr: string): number {
  const m = /maxrss (\d+)/.exec(stderr);
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** The row for npm run bench: median wall time of vsop's read beside the floor's, and peak memory of each. */
export function readRows(mb = 50, runs = 3): BenchRow[] {
  const dir = mkdtempSync(join(tmpdir(), 'vsop-bench-read-'));
  try {
    const { file, services } = servicesFile(dir, mb);
    const config = join(dir, 'configmap.yaml');
    writeFileSync(config, CONFIG_MAP);
    const size = (statSync(file).size / 1024 / 1024).toFixed(0);
    const vsop: ReturnType<typeof measure>[] = [];
    const floor: ReturnType<typeof measure>[] = [];
    for (let i = 0; i < runs; i++) {
      floor.push(measure('floor', file, config));
      vsop.push(measure('vsop', file, config));
    }
    if (vsop[0]!.objects !== services || floor[0]!.objects !== services) throw new Error(`read ${vsop[0]!.objects} and ${floor[0]!.objects} of ${services} Services`);
    const v = median(vsop.map((m) => m.ms));
    const f = median(floor.map((m) => m.ms));
    const mem = `peak RSS ${median(vsop.map((m) => m.rssMb)).toFixed(0)} MB vs ${median(floor.map((m) => m.rssMb)).toFixed(0)} MB`;
    return [
      {
        name: `read -f: ${size} MB, ${services.toLocaleString('en')} Services (${mem})`,
        median: v,
        floorName: 'the yaml package parsing the same file',
        floor: f,
        target: '<= 1.5x floor',
        ok: v <= 1.5 * f,
      },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--one') {
  await one(process.argv[3]!, process.argv[4]!, process.argv[5]!);
  process.stderr.write(`maxrss ${process.resourceUsage().maxRSS}\n`); // kilobytes
} else if (import.meta.filename === process.argv[1]) {
  const at = process.argv.indexOf('--mb');
  printRows(readRows(at > 0 ? Number(process.argv[at + 1]) : 50));
}
