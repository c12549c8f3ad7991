import { RecommendErrors } from './errors.js';
import { buildInteractionMatrix, selectRows } from './interactions.js';
import { catalogCoverage, rankingMetrics } from './metrics.js';
import { popularityScores } from './model-popularity.js';
import { createTrainer } from './registry.js';
import { ItemExclusion, topN } from './scoring.js';
import { groupByUser, stratifiedSplit, temporalSplit } from './split.js';
import type { SplitRows } from './split.js';
import type { InteractionLog, InteractionMatrix, ModelName, Recommender } from './types.js';

export const PROTOCOLS = ['msr', 'temporal', 'prequential'] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export function isProtocol(value: unknown): value is Protocol {
  return typeof value === 'string' && (PROTOCOLS as readonly string[]).includes(value);
}

/** Progress of a long evaluation (the CLI draws bars from it). */
export type ProgressListener = (event: { phase: string; done: number; total: number }) => void;

export interface OfflineEvalOptions {
  /** 'msr' (per-user stratified 75/25, seed 42) or 'temporal' (global time split). @default 'msr' */
  readonly protocol?: 'msr' | 'temporal';
  /** Cut-off of the ranking metrics. @default 10 */
  readonly k?: number;
  /** Models to train and score, in report order. @default DEFAULT_EVAL_MODELS */
  readonly models?: readonly ModelName[];
  /** Per-model option overrides. */
  readonly modelOptions?: Partial<Record<ModelName, Readonly<Record<string, unknown>>>>;
  /** Seed of the msr split. @default 42 */
  readonly seed?: number;
  /** Share of test rows in the temporal split. @default 0.2 */
  readonly testFraction?: number;
  /**
   * Evaluate on a validation split carved out of the training side (the same split procedure
   * applied to train with seed + 1000), never touching test: for choosing hyper-parameters.
   * @default false
   */
  readonly validation?: boolean;
  readonly onProgress?: ProgressListener;
}

/** Models evaluated when none are named. */
export const DEFAULT_EVAL_MODELS: readonly ModelName[] = Object.freeze([
  'popularity',
  'itemknn',
  'sar',
  'ials',
  'ease',
]);

export interface ModelEvalResult {
  readonly model: ModelName;
  readonly precision: number;
  readonly recall: number;
  readonly ndcg: number;
  /** MS Recommenders `map` (the README's "MAP"): normalised by all relevant items. */
  readonly map: number;
  /** MS Recommenders `map_at_k`: normalised by min(relevant, k). */
  readonly mapAtK: number;
  readonly coverage: number;
  readonly trainMs: number;
  /** Time to rank every evaluated user. */
  readonly recommendMs: number;
  readonly users: number;
}

export interface OfflineEvalReport {
  readonly protocol: 'msr' | 'temporal';
  readonly validation: boolean;
  readonly k: number;
  readonly trainRows: number;
  readonly testRows: number;
  readonly users: number;
  readonly items: number;
  readonly results: readonly ModelEvalResult[];
}

/**
 * Top-k per user with the user's training items excluded and popularity as the cold-start
 * fallback. Users are evaluated in index order.
 */
export function recommendForUsers(
  model: Recommender,
  train: InteractionMatrix,
  users: Iterable<number>,
  k: number,
  popularity: Float64Array = popularityScores(train),
): Map<number, Int32Array> {
  const scores = new Float64Array(train.itemCount);
  const exclude = new ItemExclusion(train.itemCount);
  const recs = new Map<number, Int32Array>();
  for (const u of users) {
    const known = model.scoreUser(u, scores);
    if (!known) scores.set(popularity);
    exclude.clear();
    if (u < train.userCount) {
      for (let q = train.userPtr[u]!; q < train.userPtr[u + 1]!; q++) exclude.add(train.userItems[q]!);
    }
    recs.set(u, topN(scores, k, { exclude }).items);
  }
  return recs;
}

function splitFor(log: InteractionLog, o: OfflineEvalOptions): SplitRows {
  const protocol = o.protocol ?? 'msr';
  const seed = o.seed ?? 42;
  const split = (l: InteractionLog, s: number): SplitRows =>
    protocol === 'msr'
      ? stratifiedSplit(l, { ratio: 0.75, seed: s })
      : temporalSplit(l, { testFraction: o.testFraction ?? 0.2 });
  const outer = split(log, seed);
  if (!o.validation) return outer;
  // Validation: split the training rows again; indices map back into the full log.
  const trainLog = selectRows(log, outer.train);
  const inner = split(trainLog, seed + 1000);
  const back = (rows: Int32Array): Int32Array => rows.map((r) => outer.train[r]!);
  return { train: back(inner.train), test: back(inner.test) };
}

/** Runs the msr or temporal protocol: train every model on the train side, rank, score. */
export function evaluateOffline(log: InteractionLog, options: OfflineEvalOptions = {}): OfflineEvalReport {
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 1) {
    throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', 'k must be a positive integer', { details: { k } });
  }
  const models = options.models ?? DEFAULT_EVAL_MODELS;
  const split = splitFor(log, options);
  const train = buildInteractionMatrix(selectRows(log, split.train));
  const truth = groupByUser(log, split.test);
  let trainItems = 0;
  for (let i = 0; i < train.itemCount; i++) if (train.itemPtr[i + 1]! > train.itemPtr[i]!) trainItems++;
  const popularity = popularityScores(train);
  const results: ModelEvalResult[] = [];
  models.forEach((name, index) => {
    options.onProgress?.({ phase: `train ${name}`, done: index, total: models.length });
    const trainer = createTrainer(name, options.modelOptions?.[name] ?? {});
    const started = performance.now();
    const model = trainer.fit(train);
    const trainMs = performance.now() - started;
    const rankStarted = performance.now();
    const recs = recommendForUsers(model, train, truth.keys(), k, popularity);
    const recommendMs = performance.now() - rankStarted;
    const m = rankingMetrics(recs, truth, k);
    results.push({
      model: name,
      precision: m.precision,
      recall: m.recall,
      ndcg: m.ndcg,
      map: m.map,
      mapAtK: m.mapAtK,
      coverage: catalogCoverage(recs, trainItems, k),
      trainMs,
      recommendMs,
      users: m.users,
    });
  });
  options.onProgress?.({ phase: 'done', done: models.length, total: models.length });
  return {
    protocol: options.protocol ?? 'msr',
    validation: options.validation ?? false,
    k,
    trainRows: split.train.length,
    testRows: split.test.length,
    users: truth.size,
    items: trainItems,
    results,
  };
}
