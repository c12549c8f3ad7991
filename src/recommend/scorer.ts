import { topN } from './scoring.js';
import type { ItemExclusion, ItemFilter } from './scoring.js';
import type { Recommender, SessionItems, TopN } from './types.js';

/** One recommendation request against a trained model. */
export interface RecommendRequest {
  /** The user's index in the model (as of training); omit for an anonymous visitor. */
  readonly user?: number;
  /** The live session: recently seen item indices with weights (event weight × recency). */
  readonly session?: SessionItems;
  readonly k: number;
  /** Items never returned (seen, purchased, out of stock). */
  readonly exclude?: ItemExclusion;
  /** Any business rule; true drops the item. */
  readonly filter?: ItemFilter;
  /** Weight of the session score against the user score. @default 1 */
  readonly sessionWeight?: number;
}

/** Where the ranking came from. */
export type ScoreSource = 'user+session' | 'user' | 'session' | 'popularity';

export interface Recommendation extends TopN {
  readonly source: ScoreSource;
}

/**
 * Request-time scoring: the model's user score plus the live session folded in
 * (score = user + sessionWeight · session; for the item-item models this equals the score of
 * history ∪ session, for iALS it adds the session factor's scores to the user factor's), with
 * popularity when neither is known. Keeps its score buffers, so a request allocates only the k
 * results; one scorer per thread of control.
 */
export class Scorer {
  private readonly userScores: Float64Array;
  private readonly sessionScores: Float64Array;
  private readonly scores: Float64Array;

  constructor(
    readonly model: Recommender,
    /** Cold-start ranking, indexed like the model's items (e.g. popularityScores of the training data). */
    readonly popularity: ArrayLike<number>,
  ) {
    this.userScores = new Float64Array(model.itemCount);
    this.sessionScores = new Float64Array(model.itemCount);
    this.scores = new Float64Array(model.itemCount);
  }

  recommend(request: RecommendRequest): Recommendation {
    const { model } = this;
    const known = request.user !== undefined && model.scoreUser(request.user, this.userScores);
    const session = request.session;
    const folded =
      session !== undefined &&
      session.items.length > 0 &&
      model.scoreItems(session.items, session.weights, this.sessionScores);
    const w = request.sessionWeight ?? 1;
    const out = this.scores;
    let source: ScoreSource;
    if (known && folded) {
      for (let i = 0; i < out.length; i++) out[i] = this.userScores[i]! + w * this.sessionScores[i]!;
      source = 'user+session';
    } else if (known) {
      out.set(this.userScores);
      source = 'user';
    } else if (folded) {
      out.set(this.sessionScores);
      source = 'session';
    } else {
      for (let i = 0; i < out.length; i++) out[i] = this.popularity[i] ?? 0;
      source = 'popularity';
    }
    const top = topN(out, request.k, { exclude: request.exclude, filter: request.filter });
    return { items: top.items, scores: top.scores, source };
  }
}

export function createScorer(model: Recommender, popularity: ArrayLike<number>): Scorer {
  return new Scorer(model, popularity);
}
