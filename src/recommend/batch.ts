import { buildInteractionMatrix } from './interactions.js';
import { recommendForUsers } from './evaluate.js';
import { createTrainer } from './registry.js';
import type { InteractionLog, ModelName, Recommender } from './types.js';

export interface BatchRecommendOptions {
  /** @default 'ease' */
  readonly model?: ModelName;
  readonly modelOptions?: Readonly<Record<string, unknown>>;
  /** @default 10 */
  readonly k?: number;
}

/** One output line of `kairos recommend-batch`. */
export interface BatchRecommendation {
  readonly user: string;
  readonly items: readonly string[];
}

export interface BatchRecommendResult {
  readonly model: Recommender;
  readonly trainMs: number;
  /** Per training user, in first-seen order, the top k unseen items. */
  readonly recommendations: readonly BatchRecommendation[];
}

/**
 * Trains one model on the whole log and ranks, for every user in it, the k best items the user has
 * not interacted with (popularity for users the model cannot score).
 */
export function recommendBatch(log: InteractionLog, options: BatchRecommendOptions = {}): BatchRecommendResult {
  const k = options.k ?? 10;
  const name = options.model ?? 'ease';
  const matrix = buildInteractionMatrix(log);
  const started = performance.now();
  const model = createTrainer(name, options.modelOptions ?? {}).fit(matrix);
  const trainMs = performance.now() - started;
  const users = Array.from({ length: matrix.userCount }, (_, u) => u);
  const recs = recommendForUsers(model, matrix, users, k);
  const recommendations = users.map((u) => ({
    user: matrix.userIds[u]!,
    items: Array.from(recs.get(u) ?? [], (i) => matrix.itemIds[i]!),
  }));
  return { model, trainMs, recommendations };
}
