import { parseDuration, type Duration } from '../../core/index.js';
import { RecommendErrors } from '../errors.js';
import { resolveModelOptions } from '../options.js';
import { isModelName, MODEL_NAMES, type ModelName } from '../types.js';

/** What a placement does: user recommendations, item-to-item, or complements of a cart. */
export const PLACEMENT_KINDS = ['home', 'product', 'cart'] as const;
export type PlacementKind = (typeof PLACEMENT_KINDS)[number];

/**
 * Options of the recommendation extension (`createRecommendationExtension`): the trainer, the
 * registry, the live scorer and its cache. Durations accept "10m" or milliseconds.
 */
export interface RecommendationOptions {
  /** Model trained for serving. @default 'sar' */
  readonly model?: ModelName;
  /** Options of that model (ModelOptionsByName), validated at start. @default {} */
  readonly modelOptions?: Readonly<Record<string, unknown>>;
  /** Retrain this long after the last training when new interactions arrived; 0 disables. @default '10m' */
  readonly retrainInterval?: Duration;
  /** Retrain once this many interactions arrived since the last training; 0 disables. @default 10000 */
  readonly retrainEveryInteractions?: number;
  /**
   * Share of the time the trainer may spend training when the interaction-count and growth triggers
   * fire: after a training that took T, those triggers wait T × (1/share − 1). Under a steady
   * 10,000 events/s the count trigger would otherwise retrain back to back. The first model, the
   * interval trigger and `POST /v1/models/train` are not held back. @default 0.1
   */
  readonly trainerShare?: number;
  /** No model is trained before this many interactions exist. @default 1 */
  readonly minInteractions?: number;
  /** Neighbours kept per item in the serving form (item-item rows). @default 50 */
  readonly neighbors?: number;
  /** Candidates precomputed per known user (their score as of training). @default 100 */
  readonly userCandidates?: number;
  /** Complements kept per item (co-added / co-purchased), for the cart placement. @default 30 */
  readonly complements?: number;
  /** Interactions at least this strong count as co-added/co-purchased (3 = add to cart, 5 = purchase). @default 3 */
  readonly complementMinWeight?: number;
  /** Items kept in the global popularity list. @default 500 */
  readonly popularItems?: number;
  /** Items kept per category popularity list (fallback of the product placement). @default 50 */
  readonly categoryItems?: number;
  /** Items kept per segment popularity list (cold start of segment members). @default 100 */
  readonly segmentItems?: number;
  /** Half-life of the popularity time decay (relative to the newest interaction). @default '7d' */
  readonly popularityHalfLife?: Duration;
  /** Newest profile items folded into every request (the live session). @default 10 */
  readonly sessionItems?: number;
  /** Half-life of a session item's weight, relative to the newest session item. @default '30m' */
  readonly sessionHalfLife?: Duration;
  /** Weight of the session score against the user's trained score (both max-normalised). @default 1 */
  readonly sessionWeight?: number;
  /** Weight of the visitor's session on the product and cart placements. @default 0.25 */
  readonly contextSessionWeight?: number;
  /** Weight of the cart items' neighbours next to their complements on the cart placement. @default 0.5 */
  readonly cartSimilarWeight?: number;
  /** Weight of the popularity among the visitor's segments' members (max-normalised). @default 0.05 */
  readonly segmentPopularityWeight?: number;
  /** Weight of the global popularity (max-normalised): the tie-breaker, and the cold-start ranking. @default 0.01 */
  readonly popularityWeight?: number;
  /** Members of these segments get the category being viewed boosted. @default ['high-intent'] */
  readonly boostSegments?: readonly string[];
  /** Score multiplier 1 + this for items of the boosted category. @default 0.5 */
  readonly categoryBoost?: number;
  /** Never recommend items the visitor interacted with (live profile and training history). @default true */
  readonly excludeSeen?: boolean;
  /** Never recommend items the visitor bought. @default true */
  readonly excludePurchased?: boolean;
  /** Placement names → behaviour. @default {home:'home', product:'product', pdp:'product', cart:'cart'} */
  readonly placements?: Readonly<Record<string, PlacementKind>>;
  /** Placement of a request without `placement`. @default 'home' */
  readonly defaultPlacement?: string;
  /** `n` of a request without it. @default 10 */
  readonly defaultN?: number;
  /** Largest `n` accepted. @default 100 */
  readonly maxN?: number;
  /** How long a cached list may be served when nothing invalidated it; 0 disables the cache. @default '30s' */
  readonly cacheTtl?: Duration;
  /** Cached lists kept (oldest profile evicted first). @default 100000 */
  readonly cacheMaxEntries?: number;
  /** Impressions remembered for click/order attribution (a ring). @default 200000 */
  readonly impressionsKept?: number;
  /** Measure each new version on a time holdout (trains the model once more without it). @default true */
  readonly evaluate?: boolean;
  /** Share of the newest interactions held out for the metrics. @default 0.1 */
  readonly holdoutFraction?: number;
  /** At most this many held-out interactions. @default 5000 */
  readonly maxHoldout?: number;
  /** Model files kept on disk (the active one is never deleted). @default 3 */
  readonly keepVersions?: number;
  /** Log records read per partition per step. @default 256 */
  readonly readBatch?: number;
  /** How long a tail read waits for new records. @default '500ms' */
  readonly pollInterval?: Duration;
  /** Scheduler tick: hand new interactions to the trainer, check the retrain triggers. @default '250ms' */
  readonly tickInterval?: Duration;
  /** Save the interaction table and cursors this often (also after every training and at stop). @default '5m' */
  readonly snapshotInterval?: Duration;
  /** Learn segment memberships from the segments' enter/exit records, for segment popularity. @default true */
  readonly segmentPopularity?: boolean;
}

/** The options the trainer worker needs (plain data: they cross the thread boundary). */
export interface TrainerSettings {
  readonly model: ModelName;
  readonly modelOptions: Readonly<Record<string, unknown>>;
  readonly neighbors: number;
  readonly userCandidates: number;
  readonly complements: number;
  readonly complementMinWeight: number;
  readonly popularItems: number;
  readonly categoryItems: number;
  readonly segmentItems: number;
  readonly popularityHalfLifeMs: number;
  readonly evaluate: boolean;
  readonly holdoutFraction: number;
  readonly maxHoldout: number;
}

export interface ResolvedRecommendationOptions {
  readonly trainer: TrainerSettings;
  readonly retrainIntervalMs: number;
  readonly retrainEveryInteractions: number;
  readonly trainerShare: number;
  readonly minInteractions: number;
  readonly sessionItems: number;
  readonly sessionHalfLifeMs: number;
  readonly sessionWeight: number;
  readonly contextSessionWeight: number;
  readonly cartSimilarWeight: number;
  readonly segmentPopularityWeight: number;
  readonly popularityWeight: number;
  readonly boostSegments: readonly string[];
  readonly categoryBoost: number;
  readonly excludeSeen: boolean;
  readonly excludePurchased: boolean;
  readonly placements: Readonly<Record<string, PlacementKind>>;
  readonly defaultPlacement: string;
  readonly defaultN: number;
  readonly maxN: number;
  readonly cacheTtlMs: number;
  readonly cacheMaxEntries: number;
  readonly impressionsKept: number;
  readonly keepVersions: number;
  readonly readBatch: number;
  readonly pollIntervalMs: number;
  readonly tickIntervalMs: number;
  readonly snapshotIntervalMs: number;
  readonly segmentPopularity: boolean;
}

const KNOWN = [
  'model',
  'modelOptions',
  'retrainInterval',
  'retrainEveryInteractions',
  'trainerShare',
  'minInteractions',
  'neighbors',
  'userCandidates',
  'complements',
  'complementMinWeight',
  'popularItems',
  'categoryItems',
  'segmentItems',
  'popularityHalfLife',
  'sessionItems',
  'sessionHalfLife',
  'sessionWeight',
  'contextSessionWeight',
  'cartSimilarWeight',
  'segmentPopularityWeight',
  'popularityWeight',
  'boostSegments',
  'categoryBoost',
  'excludeSeen',
  'excludePurchased',
  'placements',
  'defaultPlacement',
  'defaultN',
  'maxN',
  'cacheTtl',
  'cacheMaxEntries',
  'impressionsKept',
  'evaluate',
  'holdoutFraction',
  'maxHoldout',
  'keepVersions',
  'readBatch',
  'pollInterval',
  'tickInterval',
  'snapshotInterval',
  'segmentPopularity',
];

export const DEFAULT_PLACEMENTS: Readonly<Record<string, PlacementKind>> = Object.freeze({
  home: 'home',
  product: 'product',
  pdp: 'product',
  cart: 'cart',
});

function invalid(field: string, value: unknown, rule: string): never {
  throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', `${field} ${rule} (got ${JSON.stringify(value)})`, {
    details: { field, value },
  });
}

function num(field: string, value: unknown, min: number, max = Infinity, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    invalid(field, value, `must be a number in [${min}, ${max}]`);
  }
  if (integer && !Number.isInteger(value)) invalid(field, value, 'must be an integer');
  return value;
}

function bool(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') invalid(field, value, 'must be a boolean');
  return value;
}

function duration(field: string, value: Duration): number {
  try {
    return parseDuration(value, field);
  } catch (error) {
    return invalid(field, value, `must be a duration such as "10m" (${(error as Error).message})`);
  }
}

/** Fills defaults, validates (RECOMMEND_INVALID_OPTIONS), freezes. */
export function resolveRecommendationOptions(partial: RecommendationOptions = {}): ResolvedRecommendationOptions {
  for (const key of Object.keys(partial))
    if (!KNOWN.includes(key)) invalid(key, (partial as Record<string, unknown>)[key], 'is not an option');
  const model = partial.model ?? 'sar';
  if (!isModelName(model)) invalid('model', model, `must be one of ${MODEL_NAMES.join(', ')}`);
  const modelOptions = resolveModelOptions(model, partial.modelOptions ?? {});
  const placements = { ...(partial.placements ?? DEFAULT_PLACEMENTS) };
  for (const [name, kind] of Object.entries(placements)) {
    if (!(PLACEMENT_KINDS as readonly string[]).includes(kind))
      invalid(`placements.${name}`, kind, `must be one of ${PLACEMENT_KINDS.join(', ')}`);
  }
  const defaultPlacement = partial.defaultPlacement ?? 'home';
  if (placements[defaultPlacement] === undefined)
    invalid('defaultPlacement', defaultPlacement, 'must name a placement');
  const boostSegments = partial.boostSegments ?? ['high-intent'];
  if (!Array.isArray(boostSegments) || boostSegments.some((s) => typeof s !== 'string'))
    invalid('boostSegments', boostSegments, 'must be a list of segment ids');
  const maxN = num('maxN', partial.maxN ?? 100, 1, 1000, true);
  const trainer: TrainerSettings = Object.freeze({
    model,
    modelOptions,
    neighbors: num('neighbors', partial.neighbors ?? 50, 1, 10_000, true),
    userCandidates: num('userCandidates', partial.userCandidates ?? 100, 0, 10_000, true),
    complements: num('complements', partial.complements ?? 30, 0, 10_000, true),
    complementMinWeight: num('complementMinWeight', partial.complementMinWeight ?? 3, 0),
    popularItems: num('popularItems', partial.popularItems ?? 500, 1, 1_000_000, true),
    categoryItems: num('categoryItems', partial.categoryItems ?? 50, 0, 100_000, true),
    segmentItems: num('segmentItems', partial.segmentItems ?? 100, 0, 100_000, true),
    popularityHalfLifeMs: duration('popularityHalfLife', partial.popularityHalfLife ?? '7d'),
    evaluate: bool('evaluate', partial.evaluate ?? true),
    holdoutFraction: num('holdoutFraction', partial.holdoutFraction ?? 0.1, 0.001, 0.5),
    maxHoldout: num('maxHoldout', partial.maxHoldout ?? 5000, 1, 10_000_000, true),
  });
  return Object.freeze({
    trainer,
    retrainIntervalMs: duration('retrainInterval', partial.retrainInterval ?? '10m'),
    retrainEveryInteractions: num(
      'retrainEveryInteractions',
      partial.retrainEveryInteractions ?? 10_000,
      0,
      Infinity,
      true,
    ),
    trainerShare: num('trainerShare', partial.trainerShare ?? 0.1, 0.001, 1),
    minInteractions: num('minInteractions', partial.minInteractions ?? 1, 1, Infinity, true),
    sessionItems: num('sessionItems', partial.sessionItems ?? 10, 0, 1000, true),
    sessionHalfLifeMs: duration('sessionHalfLife', partial.sessionHalfLife ?? '30m'),
    sessionWeight: num('sessionWeight', partial.sessionWeight ?? 1, 0),
    contextSessionWeight: num('contextSessionWeight', partial.contextSessionWeight ?? 0.25, 0),
    cartSimilarWeight: num('cartSimilarWeight', partial.cartSimilarWeight ?? 0.5, 0),
    segmentPopularityWeight: num('segmentPopularityWeight', partial.segmentPopularityWeight ?? 0.05, 0),
    popularityWeight: num('popularityWeight', partial.popularityWeight ?? 0.01, 0),
    boostSegments: Object.freeze([...(boostSegments as readonly string[])]),
    categoryBoost: num('categoryBoost', partial.categoryBoost ?? 0.5, 0),
    excludeSeen: bool('excludeSeen', partial.excludeSeen ?? true),
    excludePurchased: bool('excludePurchased', partial.excludePurchased ?? true),
    placements: Object.freeze(placements),
    defaultPlacement,
    defaultN: num('defaultN', partial.defaultN ?? 10, 1, maxN, true),
    maxN,
    cacheTtlMs: duration('cacheTtl', partial.cacheTtl ?? '30s'),
    cacheMaxEntries: num('cacheMaxEntries', partial.cacheMaxEntries ?? 100_000, 1, Infinity, true),
    impressionsKept: num('impressionsKept', partial.impressionsKept ?? 200_000, 1, 100_000_000, true),
    keepVersions: num('keepVersions', partial.keepVersions ?? 3, 1, 1000, true),
    readBatch: num('readBatch', partial.readBatch ?? 256, 1, 100_000, true),
    pollIntervalMs: duration('pollInterval', partial.pollInterval ?? '500ms'),
    tickIntervalMs: Math.max(10, duration('tickInterval', partial.tickInterval ?? '250ms')),
    snapshotIntervalMs: duration('snapshotInterval', partial.snapshotInterval ?? '5m'),
    segmentPopularity: bool('segmentPopularity', partial.segmentPopularity ?? true),
  });
}
