import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';

export interface BenchResult {
  metric: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number;
  ratio: number;
  goal?: string;
}

/** Writes bench/results/<name>.json in the shared format and prints a table. */
export function writeResults(name: string, results: BenchResult[], notes: string): void {
  const dir = join(import.meta.dirname, '..', 'results');
  mkdirSync(dir, { recursive: true });
  const doc = {
    name,
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    results,
    notes,
  };
  writeFileSync(join(dir, `${name}.json`), JSON.stringify(doc, null, 2) + '\n');
  console.log(`\n${name}`);
  console.table(
    results.map((r) => ({
      metric: r.metric,
      value: `${round(r.value)} ${r.unit}`,
      baseline: `${round(r.baselineValue)} (${r.baseline})`,
      ratio: round(r.ratio, 3),
      goal: r.goal ?? '',
    })),
  );
}

export function round(value: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
