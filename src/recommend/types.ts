/**
 * Shared shapes of the recommend capability. Everything numeric is a typed array indexed by a
 * dense user or item index; string ids live only in the dictionaries next to them.
 */

/** Names of the models the trainer knows (the registry keys). */
export const MODEL_NAMES = ['popularity', 'itemknn', 'sar', 'ease', 'ials'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

export function isModelName(value: unknown): value is ModelName {
  return typeof value === 'string' && (MODEL_NAMES as readonly string[]).includes(value);
}

/** One interaction as a caller hands it in (from a rating or an e-commerce event). */
export interface Interaction {
  readonly user: string;
  readonly item: string;
  /** Strength: a rating, or an event weight (view < add-to-cart < purchase, see EVENT_WEIGHTS). */
  readonly weight: number;
  /** Unix seconds (the MovieLens and Taobao unit). */
  readonly timestamp: number;
}

/**
 * A columnar interaction log: row r is (users[r], items[r], weights[r], timestamps[r]), indices
 * into the `userIds` / `itemIds` dictionaries. Row order is the source order (splits depend on it).
 */
export interface InteractionLog {
  readonly length: number;
  readonly users: Int32Array;
  readonly items: Int32Array;
  readonly weights: Float32Array;
  /** Unix seconds. */
  readonly timestamps: Float64Array;
  readonly userIds: readonly string[];
  readonly itemIds: readonly string[];
}

/**
 * User×item matrix in CSR (by user) with its transpose (by item). Duplicate (user, item) rows of
 * the log are merged: the largest weight and the latest timestamp win, so a purchase after three
 * views counts as a purchase, not as 3 + 5.
 */
export interface InteractionMatrix {
  readonly userCount: number;
  readonly itemCount: number;
  /** Row pointers by user (length userCount + 1). */
  readonly userPtr: Int32Array;
  /** Item index of each non-zero, sorted within a user row. */
  readonly userItems: Int32Array;
  readonly userWeights: Float32Array;
  /** Unix seconds of the latest interaction of each non-zero. */
  readonly userTimes: Float64Array;
  /** Column pointers by item (length itemCount + 1). */
  readonly itemPtr: Int32Array;
  /** User index of each non-zero, sorted within an item column. */
  readonly itemUsers: Int32Array;
  readonly itemWeights: Float32Array;
  readonly userIds: readonly string[];
  readonly itemIds: readonly string[];
  /** Latest timestamp in the data (Unix seconds); "now" for time decay. */
  readonly maxTimestamp: number;
}

/** Typed arrays a model artifact may carry. */
export type ArtifactArray = Float64Array | Float32Array | Int32Array | Uint8Array;

/**
 * The serialisable state of a trained model: a JSON-able header plus named typed arrays. The
 * engine versions artifacts in the registry and swaps them atomically; `encodeArtifact` turns one
 * into a Buffer and back.
 */
export interface ModelArtifact {
  readonly model: ModelName;
  /** Resolved options the model was trained with. */
  readonly options: Readonly<Record<string, unknown>>;
  /** Item ids of the model's dense item index. */
  readonly itemIds: readonly string[];
  /** User ids of the model's dense user index. */
  readonly userIds: readonly string[];
  /** Small facts (training time, counts); free form, JSON-able. */
  readonly meta: Readonly<Record<string, unknown>>;
  readonly arrays: Readonly<Record<string, ArtifactArray>>;
}

/**
 * A live session: recently seen item indices with weights (typically event weight × recency decay).
 * Items need not be in the training data of the user.
 */
export interface SessionItems {
  readonly items: ArrayLike<number>;
  readonly weights: ArrayLike<number>;
}

/** What `recommend` returns: item indices best first, with their scores. */
export interface TopN {
  readonly items: Int32Array;
  readonly scores: Float64Array;
}

/**
 * A trained model. Scores are written into caller-owned Float64Arrays of length `itemCount` so the
 * hot path allocates nothing per request.
 */
export interface Recommender {
  readonly name: ModelName;
  readonly userCount: number;
  readonly itemCount: number;
  /**
   * True when the score of history ∪ session equals scoreUser + scoreItems(session) (the linear
   * item-item models), so a live session can be added to a cached user score; false when the
   * session must be folded in together with the history (iALS) or does not matter (popularity).
   */
  readonly additive: boolean;
  /**
   * Scores every item for a user of the training data (as of training). Returns false and writes
   * zeros when the model knows nothing about the user (cold start: use the popularity fallback).
   */
  scoreUser(user: number, out: Float64Array): boolean;
  /**
   * Fold-in: scores every item for a bag of items with weights that the model was not trained on
   * (a live session, or a history). Item-item models sum the item rows; iALS solves the user
   * factor from the items. Returns false when no item is known to the model.
   */
  scoreItems(items: ArrayLike<number>, weights: ArrayLike<number>, out: Float64Array): boolean;
  /**
   * An incremental fold-in for one live session: `add` one item at a time as events arrive,
   * `score` whenever a recommendation is asked for. Cheaper than `scoreItems` over the whole list
   * when the same session is scored after every event.
   */
  createFoldIn(): FoldIn;
  /** The value the model trains on for a raw interaction weight (1 when it binarises). */
  valueOf(weight: number): number;
  /** The serialisable state; `loadRecommender(toArtifact())` gives an equivalent model. */
  toArtifact(): ModelArtifact;
}

/** Incremental session state of one visitor (see Recommender.createFoldIn). */
export interface FoldIn {
  /** Folds one item in; unknown item indices are ignored. */
  add(item: number, weight: number): void;
  /** Writes the scores of everything added so far; false when nothing known was added. */
  score(out: Float64Array): boolean;
  /** Items added (known to the model). */
  readonly size: number;
  reset(): void;
}

/** A named, deterministic training procedure. */
export interface Trainer {
  readonly name: ModelName;
  fit(data: InteractionMatrix): Recommender;
}
