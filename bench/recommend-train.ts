/**
 * Benchmark: training time of each recommendation model on ML-100k (the msr training split),
 * next to a dense matrix multiply of comparable work measured in the same run, and request-time
 * latency of one recommendation with a live-session fold-in next to a popularity top-10.
 *
 *   npx tsx bench/recommend-train.ts [--data-dir DIR]
 *
 * Writes bench/results/recommend-train.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DEFAULT_EVAL_MODELS,
  ItemExclusion,
  MersenneTwister,
  buildInteractionMatrix,
  createScorer,
  createTrainer,
  loadDataset,
  popularityScores,
  selectRows,
  stratifiedSplit,
  topN,
} from '../src/recommend/index.js';
import type { InteractionMatrix, Recommender } from '../src/recommend/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const argDir = process.argv.indexOf('--data-dir');
const dataDir = argDir > 0 ? process.argv[argDir + 1]! : resolve(here, '../../shared/datasets');

interface Row {
  metric: string;
  value: number;
  unit: string;
  baseline: string;
  baselineValue: number;
  ratio: number;
  goal: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Plain i-k-j dense multiply of two m×m Float64Arrays: m³ multiply-adds. */
function denseMultiply(m: number): number {
  const rng = new MersenneTwister(1);
  const a = Float64Array.from({ length: m * m }, () => rng.random());
  const b = Float64Array.from({ length: m * m }, () => rng.random());
  const c = new Float64Array(m * m);
  const started = performance.now();
  for (let i = 0; i < m; i++) {
    const ci = i * m;
    for (let k = 0; k < m; k++) {
      const aik = a[ci + k]!;
      const bk = k * m;
      for (let j = 0; j < m; j++) c[ci + j]! += aik * b[bk + j]!;
    }
  }
  return performance.now() - started;
}

function trainedItems(m: InteractionMatrix): number {
  let n = 0;
  for (let i = 0; i < m.itemCount; i++) if (m.itemPtr[i + 1]! > m.itemPtr[i]!) n++;
  return n;
}

const log = await loadDataset('ml-100k', dataDir);
const split = stratifiedSplit(log);
const train = buildInteractionMatrix(selectRows(log, split.train));
const n = trainedItems(train);
// EASE's inverse costs ≈ n³/2 multiply-adds: a dense multiply of side (n³/2)^(1/3) does as many.
const side = Math.round(Math.cbrt((n * n * n) / 2));
const results: Row[] = [];
const RUNS = 3;

const baselineMs = median(Array.from({ length: RUNS }, () => denseMultiply(side)));
console.log(
  `baseline: dense ${side}×${side} multiply (${(side ** 3 / 1e9).toFixed(2)} G multiply-adds) ${baselineMs.toFixed(0)} ms`,
);

const models = new Map<string, Recommender>();
for (const name of DEFAULT_EVAL_MODELS) {
  const trainer = createTrainer(name);
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const started = performance.now();
    models.set(name, trainer.fit(train));
    times.push(performance.now() - started);
  }
  const ms = median(times);
  console.log(
    `train ${name.padEnd(10)} ${ms.toFixed(0).padStart(6)} ms  (${(ms / baselineMs).toFixed(2)}× the dense multiply)`,
  );
  results.push({
    metric: `train_ms_${name}`,
    value: Math.round(ms),
    unit: 'ms',
    baseline: `dense_multiply_${side}`,
    baselineValue: Math.round(baselineMs),
    ratio: Number((ms / baselineMs).toFixed(3)),
    goal: name === 'ease' || name === 'ials' ? 'best model trains in ≤ 5 s on 2 cores' : 'lower is better',
  });
}

// Request latency: one recommendation for a known user with a 5-item live session folded in,
// seen items excluded; against a popularity top-10 with the same exclusions.
const popularity = popularityScores(train);
const rng = new MersenneTwister(9);
const REQUESTS = 3000;
const users = Array.from({ length: REQUESTS }, () => Math.floor(rng.random() * train.userCount));
const sessions = users.map(() => Array.from({ length: 5 }, () => Math.floor(rng.random() * train.itemCount)));
const exclude = new ItemExclusion(train.itemCount);
const ones = [1, 1, 1, 1, 1];

function excludeSeen(u: number, session: number[]): void {
  exclude.clear();
  for (let q = train.userPtr[u]!; q < train.userPtr[u + 1]!; q++) exclude.add(train.userItems[q]!);
  exclude.addAll(session);
}

function timeRequests(fn: (r: number) => void): number[] {
  for (let r = 0; r < 200; r++) fn(r); // warm-up
  const lat: number[] = [];
  for (let r = 0; r < REQUESTS; r++) {
    const t = performance.now();
    fn(r);
    lat.push((performance.now() - t) * 1000);
  }
  return lat;
}

const base = timeRequests((r) => {
  excludeSeen(users[r]!, sessions[r]!);
  topN(popularity, 10, { exclude });
});
const baseP50 = percentile(base, 50);
console.log(`latency popularity top-10: p50 ${baseP50.toFixed(1)} µs, p99 ${percentile(base, 99).toFixed(1)} µs`);

for (const name of ['ease', 'sar', 'ials'] as const) {
  // The public request path: user score + the session folded in, seen items excluded.
  const scorer = createScorer(models.get(name)!, popularity);
  const lat = timeRequests((r) => {
    const u = users[r]!;
    const session = sessions[r]!;
    excludeSeen(u, session);
    scorer.recommend({ user: u, session: { items: session, weights: ones }, k: 10, exclude });
  });
  const p50 = percentile(lat, 50);
  const p99 = percentile(lat, 99);
  console.log(
    `latency ${name} + session fold-in: p50 ${p50.toFixed(1)} µs, p99 ${p99.toFixed(1)} µs (${(p50 / baseP50).toFixed(1)}× popularity)`,
  );
  for (const [metric, value] of [
    [`recommend_session_p50_us_${name}`, p50],
    [`recommend_session_p99_us_${name}`, p99],
  ] as const) {
    const baselineValue = metric.includes('p50') ? baseP50 : percentile(base, 99);
    results.push({
      metric,
      value: Number(value.toFixed(1)),
      unit: 'µs',
      baseline: metric.includes('p50') ? 'popularity_top10_p50_us' : 'popularity_top10_p99_us',
      baselineValue: Number(baselineValue.toFixed(1)),
      ratio: Number((value / baselineValue).toFixed(2)),
      goal: 'a live recommendation in well under 1 ms',
    });
  }
}

const out = {
  name: 'recommend-train',
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  results,
  notes:
    `ML-100k msr training split (${train.userItems.length} interactions, ${n} items). Training: median of ${RUNS} runs per model with default options; ` +
    `baseline = plain i-k-j dense multiply of side ${side} (≈ EASE's n³/2 multiply-adds), same process. Latency: ${REQUESTS} requests, ` +
    'a random known user + 5 random session items, seen items excluded, top-10; baseline = popularity top-10 with the same exclusions.',
};
mkdirSync(resolve(here, 'results'), { recursive: true });
writeFileSync(resolve(here, 'results/recommend-train.json'), `${JSON.stringify(out, null, 2)}\n`);
console.log('wrote bench/results/recommend-train.json');
