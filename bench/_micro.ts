import { readFileSync } from 'node:fs';
import { Catalogue } from '../src/recommend/serving/catalogue.js';
import { Dictionary } from '../src/recommend/serving/dictionary.js';
import { DeltaBuffer, InteractionTable } from '../src/recommend/serving/interaction-table.js';
import { resolveRecommendationOptions } from '../src/recommend/serving/options.js';
import { runTraining } from '../src/recommend/serving/train-job.js';
import { ServingModel } from '../src/recommend/serving/serving-model.js';
import { LiveScorer } from '../src/recommend/serving/live-scorer.js';
import { eventWeight } from '../src/recommend/datasets.js';

const users = new Dictionary(); const items = new Dictionary(); const buffer = new DeltaBuffer(); const catalogue = new Catalogue();
const hist = new Map<number, number[]>();
for (const line of readFileSync('/work/shared/datasets/taobao-user-behavior/user_behavior_stream_96k.csv', 'utf8').split('\n')) {
  const [u, i, c, b, t] = line.split(','); if (!t) continue;
  const ui = users.intern(u!); const ii = items.intern(i!);
  catalogue.apply(ii, { itemId: i!, category: c! });
  buffer.add(ui, ii, eventWeight(b!)!, Number(t));
  (hist.get(ui) ?? hist.set(ui, []).get(ui)!).push(ii);
}
const table = new InteractionTable(1);
table.apply(buffer.take(users, 0, items, 0, catalogue.takeDelta(), [0]));
const o = resolveRecommendationOptions({});
let t = performance.now();
const result = runTraining(table, 1, [], o.trainer, Date.now());
console.log('train', (performance.now() - t).toFixed(0), 'ms', result.metrics);
const model = ServingModel.fromResult(result);
const scorer = new LiveScorer(model, { sessionWeight: 1, contextSessionWeight: 0.25, cartSimilarWeight: 0.5, segmentPopularityWeight: 0.05, popularityWeight: 0.01, categoryBoost: 0.5 });
const userList = [...hist.keys()];
const N = 20000;
for (const placement of ['home', 'product', 'cart'] as const) {
  const lat: number[] = [];
  for (let r = 0; r < N; r++) {
    const u = userList[(r * 7919) % userList.length]!;
    const h = hist.get(u)!;
    const s = performance.now();
    scorer.score({ placement, n: 10, user: u, sessionItems: h.slice(0, 10), sessionWeights: h.slice(0, 10).map(() => 1), contextItems: placement === 'home' ? [] : [h[0]!], contextCategory: -1, exclude: h, excludeHistory: true, segments: [], boostCategory: -1, categoryOf: (i) => catalogue.categoryOf(i), isAvailable: (i) => catalogue.isAvailable(i) });
    lat.push((performance.now() - s) * 1000);
  }
  lat.sort((a, b) => a - b);
  console.log(placement, 'p50', lat[N / 2]!.toFixed(1), 'µs p99', lat[Math.floor(N * 0.99)]!.toFixed(1), 'µs');
}
