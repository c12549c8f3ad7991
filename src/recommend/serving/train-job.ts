import { buildInteractionMatrix } from '../interactions.js';
import { createTrainer } from '../registry.js';
import type { ModelArtifact, ModelName } from '../types.js';
import {
  buildServingArrays,
  decayedPopularity,
  itemNeighbours,
  popularItems,
  userCandidates,
  type SegmentMembers,
  type ServingArrays,
} from './build-serving.js';
import { scoreHoldout, timeHoldout } from './holdout.js';
import type { InteractionTable } from './interaction-table.js';
import type { TrainerSettings } from './options.js';
import type { HoldoutMetrics } from './types.js';

export const HOLDOUT_K = 10;

/** What one training produces: the serving form plus the facts the registry records. */
export interface TrainingResult {
  readonly version: number;
  readonly model: ModelName;
  readonly options: Readonly<Record<string, unknown>>;
  readonly arrays: ServingArrays;
  readonly segments: readonly string[];
  readonly itemCount: number;
  readonly userCount: number;
  readonly categoryCount: number;
  readonly interactions: number;
  readonly metrics: HoldoutMetrics | null;
  readonly trainMs: number;
  readonly trainedAtMs: number;
  readonly positions: readonly number[];
}

/**
 * Trains one version from the table (runs in the trainer thread): a holdout evaluation of the same
 * configuration first (optional), then the model on everything, then its serving form; finally the
 * table is compacted to one row per pair.
 */
export function runTraining(
  table: InteractionTable,
  version: number,
  segments: readonly SegmentMembers[],
  settings: TrainerSettings,
  nowMs: number,
): TrainingResult {
  const started = performance.now();
  const rowsCovered = table.length;
  const m = buildInteractionMatrix(table.toLog());
  const trainer = createTrainer(settings.model, settings.modelOptions);
  let metrics: HoldoutMetrics | null = null;
  if (settings.evaluate) {
    const split = timeHoldout(m, settings.holdoutFraction, settings.maxHoldout);
    if (split) {
      const model = trainer.fit(split.train);
      const nbr = itemNeighbours(model, split.train, settings.neighbors);
      const top = userCandidates(model, split.train, nbr, Math.max(settings.userCandidates, HOLDOUT_K));
      const popular = popularItems(
        decayedPopularity(split.train, settings.popularityHalfLifeMs / 1000),
        HOLDOUT_K + 200,
      );
      metrics = scoreHoldout(split, top, popular, HOLDOUT_K);
    }
  }
  const model = trainer.fit(m);
  const categoryCount = table.catalogue.categories.size;
  const arrays = buildServingArrays({
    model,
    matrix: m,
    itemCategory: table.catalogue.categoryArray(m.itemCount),
    categoryCount,
    segments,
    canonical: (u) => table.canonical(u),
    settings,
  });
  table.compact(m, rowsCovered);
  table.fresh = 0;
  return {
    version,
    model: settings.model,
    options: settings.modelOptions,
    arrays,
    segments: segments.map((s) => s.id),
    itemCount: m.itemCount,
    userCount: m.userCount,
    categoryCount,
    interactions: m.userItems.length,
    metrics,
    trainMs: performance.now() - started,
    trainedAtMs: nowMs,
    positions: [...table.positions],
  };
}

/** The registry artifact of a training (ModelArtifact: encodeArtifact/decodeArtifact round-trip it). */
export function toServingArtifact(
  result: TrainingResult,
  itemIds: readonly string[],
  userIds: readonly string[],
): ModelArtifact {
  return {
    model: result.model,
    options: result.options,
    itemIds: itemIds.slice(0, result.itemCount),
    userIds: userIds.slice(0, result.userCount),
    meta: {
      kind: 'serving',
      version: result.version,
      segments: result.segments,
      categoryCount: result.categoryCount,
      interactions: result.interactions,
      metrics: result.metrics,
      trainMs: result.trainMs,
      trainedAtMs: result.trainedAtMs,
      positions: result.positions,
    },
    arrays: { ...result.arrays },
  };
}

/** The array buffers of a result, for postMessage's transfer list. */
export function resultTransfer(result: TrainingResult): ArrayBuffer[] {
  return Object.values(result.arrays).map((a: Int32Array | Float32Array) => a.buffer as ArrayBuffer);
}
