import { RecommendErrors } from './errors.js';
import { createEaseTrainer, EaseModel } from './model-ease.js';
import { createIalsTrainer, IalsModel } from './model-ials.js';
import { createItemKnnTrainer, ItemKnnModel } from './model-item-knn.js';
import { createPopularityTrainer, PopularityModel } from './model-popularity.js';
import { isModelName, MODEL_NAMES } from './types.js';
import type { ModelArtifact, ModelName, Recommender, Trainer } from './types.js';

/**
 * A trainer for a model name; options (ModelOptionsByName[name]) are resolved and validated now,
 * not at fit time, so a typo in an option fails before any training.
 */
export function createTrainer(name: ModelName, options: Readonly<Record<string, unknown>> = {}): Trainer {
  switch (name) {
    case 'popularity':
      return createPopularityTrainer(options);
    case 'itemknn':
      return createItemKnnTrainer('itemknn', options);
    case 'sar':
      return createItemKnnTrainer('sar', options);
    case 'ease':
      return createEaseTrainer(options);
    case 'ials':
      return createIalsTrainer(options);
  }
  throw unknownModel(name);
}

function unknownModel(name: unknown): Error {
  return RecommendErrors.create(
    'RECOMMEND_UNKNOWN_MODEL',
    `Unknown model ${JSON.stringify(name)}; known: ${MODEL_NAMES.join(', ')}`,
    {
      details: { model: name, known: MODEL_NAMES },
    },
  );
}

/** Parses a model name from user input; throws RECOMMEND_UNKNOWN_MODEL otherwise. */
export function parseModelName(value: string): ModelName {
  const name = value.trim().toLowerCase();
  if (!isModelName(name)) throw unknownModel(value);
  return name;
}

/** Rebuilds a trained model from its artifact (see encodeArtifact/decodeArtifact). */
export function loadRecommender(artifact: ModelArtifact): Recommender {
  switch (artifact.model) {
    case 'popularity':
      return PopularityModel.fromArtifact(artifact);
    case 'itemknn':
    case 'sar':
      return ItemKnnModel.fromArtifact(artifact);
    case 'ease':
      return EaseModel.fromArtifact(artifact);
    case 'ials':
      return IalsModel.fromArtifact(artifact);
  }
  throw unknownModel((artifact as { model: unknown }).model);
}
