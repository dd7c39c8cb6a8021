// The rows every part of npm run bench reports: a median beside a floor measured in the same run, and
// the target the ratio is held to.

export interface BenchRow {
  name: string;
  /** Milliseconds. */
  median: number;
  floorName: string;
  /** Milliseconds. */
  floor: number;
  target: string;
  ok: boolean;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Two lines per row: ok or MISS and the name; the figures, with `digits` after the point. */
export function printRows(rows: readonly BenchRow[], digits = 0): void {
  for (const r of rows) {
    console.log(`${r.ok ? 'ok  ' : 'MISS'} ${r.name}`);
    console.log(`     ${r.median.toFixed(digits)} ms   floor (${r.floorName}) ${r.floor.toFixed(digits)} ms   ratio ${(r.median / r.floor).toFixed(2)}   target ${r.target}`);
  }
}
