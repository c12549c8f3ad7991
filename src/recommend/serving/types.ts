import type { ModelName } from '../types.js';
import type { PlacementKind } from './options.js';

/** `GET /v1/recommendations` query (DESIGN.md §4). */
export interface RecommendQuery {
  readonly userId?: string;
  readonly anonymousId?: string;
  readonly placement?: string;
  /** The item being viewed (product placement), or the cart's items, comma-separated (cart placement). */
  readonly itemId?: string;
  readonly n?: number;
}

/** One recommended item as the API returns it. */
export interface RecommendedItem {
  readonly itemId: string;
  readonly score: number;
}

/** `GET /v1/recommendations` body: item ids and scores only, never anything about the visitor. */
export interface RecommendResponse {
  readonly items: readonly RecommendedItem[];
  readonly recommendationId: string;
  readonly model: { readonly name: string; readonly version: number };
  readonly generatedAt: string;
}

/** Where a list came from (the `source` label of kairos_recommend_requests_total). */
export type RecommendSource = 'personal' | 'popular' | 'empty';

/** Offline quality of a version, measured when it was trained (newest interactions held out). */
export interface HoldoutMetrics {
  /** Held-out (user, item) pairs scored: users known to the training part, items new to them. */
  readonly pairs: number;
  readonly users: number;
  readonly k: number;
  /** Share of held-out pairs whose item is in the user's top k. */
  readonly hitRate: number;
  /** Mean over users of binary nDCG@k of their held-out items. */
  readonly ndcg: number;
  /** The same hit rate for plain popularity, on the same pairs (the baseline to beat). */
  readonly popularityHitRate: number;
}

export const MODEL_STATES = ['active', 'retired', 'failed'] as const;
export type ModelState = (typeof MODEL_STATES)[number];

/** A model registry record (MetadataStore collection `models`). */
export interface ModelRecord {
  readonly version: number;
  readonly model: ModelName;
  readonly state: ModelState;
  readonly createdAt: string;
  /** Training wall time (both fits when evaluated), ms. */
  readonly trainMs?: number;
  /** Artifact file, relative to the data dir; absent once deleted by retention or when training failed. */
  readonly file?: string;
  readonly bytes?: number;
  readonly interactions?: number;
  readonly users?: number;
  readonly items?: number;
  /** Next log offset per partition the training data reached. */
  readonly logPositions?: readonly number[];
  readonly metrics?: HoldoutMetrics | null;
  readonly options?: Readonly<Record<string, unknown>>;
  readonly error?: { readonly code: string; readonly message: string };
}

/** What `GET /v1/models` shows about the training loop. */
export interface TrainerStatus {
  readonly training: boolean;
  readonly queued: boolean;
  readonly interactionsSinceTraining: number;
  readonly eventsConsumed: number;
  readonly positions: readonly number[];
  readonly lastTrainingAt: string | null;
  readonly users: number;
  readonly items: number;
}

export interface ModelsView {
  readonly active: { readonly name: string; readonly version: number } | null;
  readonly versions: readonly ModelRecord[];
  readonly trainer: TrainerStatus;
}

/** A request after validation: what the scorer works from. */
export interface ResolvedQuery {
  readonly placementName: string;
  readonly placement: PlacementKind;
  readonly n: number;
  readonly lookup: { readonly userId: string } | { readonly anonymousId: string } | undefined;
  readonly contextItemIds: readonly string[];
  /** The cache key part besides the profile. */
  readonly cacheKey: string;
}
