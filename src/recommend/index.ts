// Public surface of the recommend capability: models, request-time scoring helpers, artifacts,
// datasets and the offline evaluation harness.
export { MODEL_NAMES, isModelName } from './types.js';
export type {
  ArtifactArray,
  FoldIn,
  Interaction,
  InteractionLog,
  InteractionMatrix,
  ModelArtifact,
  ModelName,
  Recommender,
  SessionItems,
  Trainer,
  TopN,
} from './types.js';
export { RecommendErrors } from './errors.js';
export type { RecommendErrorCode } from './errors.js';
export {
  SIMILARITIES,
  resolveEaseOptions,
  resolveIalsOptions,
  resolveItemKnnOptions,
  resolveModelOptions,
  resolvePopularityOptions,
} from './options.js';
export type {
  EaseOptions,
  IalsOptions,
  ItemKnnOptions,
  ModelOptionsByName,
  PopularityOptions,
  ResolvedEaseOptions,
  ResolvedIalsOptions,
  ResolvedItemKnnOptions,
  ResolvedPopularityOptions,
  Similarity,
} from './options.js';
export { buildInteractionMatrix, createInteractionLog, InteractionLogBuilder, selectRows } from './interactions.js';
export { createTrainer, loadRecommender, parseModelName } from './registry.js';
export { EaseModel, createEaseTrainer, fitEase } from './model-ease.js';
export { IalsModel, createIalsTrainer, fitIals } from './model-ials.js';
export { ItemKnnModel, createItemKnnTrainer, fitItemKnn } from './model-item-knn.js';
export { PopularityModel, createPopularityTrainer, popularityScores } from './model-popularity.js';
export {
  ItemExclusion,
  blendScores,
  decaySessionWeights,
  normalizeMaxAbs,
  topN,
  withPopularityFallback,
} from './scoring.js';
export type { ItemFilter, TopNOptions } from './scoring.js';
export { Scorer, createScorer } from './scorer.js';
export type { Recommendation, RecommendRequest, ScoreSource } from './scorer.js';
export { decodeArtifact, encodeArtifact } from './artifact.js';
export {
  DATASET_NAMES,
  EVENT_WEIGHTS,
  RATING_FORMATS,
  datasetFile,
  eventWeight,
  isDatasetName,
  loadDataset,
  loadRatingsFile,
  parseBehaviorCsv,
  parseMl100k,
  parseRatings,
  parseRatingsCsv,
} from './datasets.js';
export type { DatasetName, RatingFormat } from './datasets.js';
export { groupByUser, stratifiedSplit, temporalSplit, timeOrder } from './split.js';
export type { SplitRows, StratifiedSplitOptions, TemporalSplitOptions } from './split.js';
export { catalogCoverage, rankingMetrics } from './metrics.js';
export type { RankingMetrics } from './metrics.js';
export { DEFAULT_EVAL_MODELS, PROTOCOLS, evaluateOffline, isProtocol, recommendForUsers } from './evaluate.js';
export type { ModelEvalResult, OfflineEvalOptions, OfflineEvalReport, ProgressListener, Protocol } from './evaluate.js';
export { DEFAULT_PREQUENTIAL_MODELS, runPrequential } from './prequential.js';
export type { PrequentialOptions, PrequentialReport, PrequentialResult } from './prequential.js';
export { recommendBatch } from './batch.js';
export type { BatchRecommendOptions, BatchRecommendResult, BatchRecommendation } from './batch.js';
export { MersenneTwister } from './rng.js';
export { choleskyInPlace, choleskySolveInPlace, invertSpd } from './linalg.js';
// Live serving inside the engine (trainer tail, trainer thread, registry, live scorer, API).
export { createRecommendationExtension } from './serving/extension.js';
export { RecommendationService } from './serving/service.js';
export type { RecommendationServiceDeps } from './serving/service.js';
export { DEFAULT_PLACEMENTS, PLACEMENT_KINDS, resolveRecommendationOptions } from './serving/options.js';
export type {
  PlacementKind,
  RecommendationOptions,
  ResolvedRecommendationOptions,
  TrainerSettings,
} from './serving/options.js';
export { RecommendServingErrors } from './serving/errors.js';
export type { RecommendServingErrorCode } from './serving/errors.js';
export { MODELS_COLLECTION, TRAINER_COLLECTION } from './serving/model-registry.js';
export { MODEL_STATES } from './serving/types.js';
export type {
  HoldoutMetrics,
  ModelRecord,
  ModelState,
  ModelsView,
  RecommendQuery,
  RecommendResponse,
  RecommendedItem,
  TrainerStatus,
} from './serving/types.js';
