import type { PlacementKind } from './options.js';
import type { ServingModel } from './serving-model.js';
import { ItemMask, SparseScores, TopK } from './sparse.js';
import type { RecommendSource } from './types.js';

/** Blend weights of the live score (see docs/recommend.md "Serving", scoring formula). */
export interface ScoreWeights {
  readonly sessionWeight: number;
  readonly contextSessionWeight: number;
  readonly cartSimilarWeight: number;
  readonly segmentPopularityWeight: number;
  readonly popularityWeight: number;
  readonly categoryBoost: number;
}

/** One request in index space (the service maps ids to indices and reads the live profile). */
export interface ScoreInput {
  readonly placement: PlacementKind;
  readonly n: number;
  /** The visitor's user index, −1 when unknown (only users < model.userCount have trained candidates). */
  readonly user: number;
  /** The live session, newest first: item indices and weights (recency-decayed). */
  readonly sessionItems: ArrayLike<number>;
  readonly sessionWeights: ArrayLike<number>;
  /** product: [the viewed item]; cart: the cart's items. Unknown ids are −1. */
  readonly contextItems: ArrayLike<number>;
  /** Category of the context item when the model cannot place it (product fallback), −1 else. */
  readonly contextCategory: number;
  /** Items never returned (seen, purchased). */
  readonly exclude: ArrayLike<number>;
  /** Also exclude the user's training history. */
  readonly excludeHistory: boolean;
  /** Model segment indices of the visitor's live segments. */
  readonly segments: ArrayLike<number>;
  /** Items of this category get ×(1 + categoryBoost); −1 = no boost. */
  readonly boostCategory: number;
  /** Category and stock of items (the live catalogue). */
  readonly catalogue: ItemFacts;
}

/** What the scorer reads about items besides the model. */
export interface ItemFacts {
  categoryOf(item: number): number;
  isAvailable(item: number): boolean;
}

/**
 * The best items, best first. `items`/`scores` are the scorer's own buffers: read the first
 * `count` entries before the next call (a request allocates no typed arrays).
 */
export interface ScoreOutput {
  readonly count: number;
  readonly items: Int32Array;
  readonly scores: Float64Array;
  readonly source: RecommendSource;
}

/**
 * Request-time scoring over a model's sparse serving form. One scorer per model version; its
 * scratch buffers are reused by every request (scoring is synchronous, so requests never share
 * them mid-flight). Cost: O(session × neighbours + candidates + popular fill), never O(catalogue).
 *
 *   personal(i) = top_u(i)/max top_u + sessionWeight · session(i)/max session            (home)
 *               = nbr_c(i)/max nbr_c + contextSessionWeight · session(i)/max session     (product)
 *               = comp(i)/max comp + cartSimilarWeight · nbr(i)/max nbr + ctx · session    (cart)
 *   session(i)  = Σ_j w_j · nbr_j(i),   w_j = 2^(−(t_newest − t_j)/halfLife)
 *   score(i)    = (personal(i) + segmentPopularityWeight · segpop(i) + popularityWeight · pop(i))
 *                 × (1 + categoryBoost if i is in the boosted category)
 */
export class LiveScorer {
  private readonly personal: SparseScores;
  private readonly part: SparseScores;
  private readonly excluded: ItemMask;
  private readonly top: TopK;

  constructor(
    readonly model: ServingModel,
    private readonly weights: ScoreWeights,
    /** Largest n asked for. @default 1000 */
    maxN = 1000,
  ) {
    this.personal = new SparseScores(model.itemCount);
    this.part = new SparseScores(model.itemCount);
    this.excluded = new ItemMask(model.itemCount);
    this.top = new TopK(maxN);
  }

  score(input: ScoreInput): ScoreOutput {
    const { model, personal, part, excluded, weights: w } = this;
    const a = model.arrays;
    const itemCount = model.itemCount;
    personal.clear();
    excluded.clear();
    for (let k = 0; k < input.exclude.length; k++) excluded.add(input.exclude[k]!);
    for (let k = 0; k < input.contextItems.length; k++) excluded.add(input.contextItems[k]!);
    const user = input.user >= 0 && input.user < model.userCount ? input.user : -1;
    if (user >= 0 && input.excludeHistory) {
      for (let k = a.histPtr[user]!; k < a.histPtr[user + 1]!; k++) excluded.add(a.histItems[k]!);
    }

    let sessionFactor = w.sessionWeight;
    if (input.placement === 'home') {
      if (user >= 0) {
        const start = a.topPtr[user]!;
        const end = a.topPtr[user + 1]!;
        // Rows are best first: the first score is the row's max.
        if (end > start) personal.addRow(a.topItems, a.topScores, start, end, 1 / a.topScores[start]!);
      }
    } else if (input.placement === 'product') {
      sessionFactor = w.contextSessionWeight;
      part.clear();
      for (let k = 0; k < input.contextItems.length; k++)
        this.addItemRow(part, a.nbrPtr, a.nbrItems, a.nbrScores, input.contextItems[k]!, 1, itemCount);
      if (part.size === 0 && input.contextCategory >= 0 && input.contextCategory < model.categoryCount) {
        part.addRow(a.catItems, a.catScores, a.catPtr[input.contextCategory]!, a.catPtr[input.contextCategory + 1]!, 1);
      }
      this.fold(part, personal, 1);
    } else {
      sessionFactor = w.contextSessionWeight;
      part.clear();
      for (let k = 0; k < input.contextItems.length; k++)
        this.addItemRow(part, a.compPtr, a.compItems, a.compScores, input.contextItems[k]!, 1, itemCount);
      this.fold(part, personal, 1);
      part.clear();
      for (let k = 0; k < input.contextItems.length; k++)
        this.addItemRow(part, a.nbrPtr, a.nbrItems, a.nbrScores, input.contextItems[k]!, 1, itemCount);
      this.fold(part, personal, w.cartSimilarWeight);
    }
    if (sessionFactor > 0 && input.sessionItems.length > 0) {
      part.clear();
      for (let k = 0; k < input.sessionItems.length; k++) {
        this.addItemRow(
          part,
          a.nbrPtr,
          a.nbrItems,
          a.nbrScores,
          input.sessionItems[k]!,
          input.sessionWeights[k]!,
          itemCount,
        );
      }
      this.fold(part, personal, sessionFactor);
    }
    const personalCount = personal.size;

    // Popularity among the visitor's segments, then globally: the cold-start ranking, the fill
    // when the personal candidates run short, and the tie-breaker between equal personal scores.
    const want = input.n + 8;
    if (w.segmentPopularityWeight > 0) {
      for (let k = 0; k < input.segments.length; k++) {
        const s = input.segments[k]!;
        if (s < 0 || s + 1 >= a.segPtr.length) continue;
        this.addPopular(
          a.segItems,
          a.segScores,
          a.segPtr[s]!,
          a.segPtr[s + 1]!,
          w.segmentPopularityWeight,
          want,
          input.catalogue,
        );
      }
    }
    if (w.popularityWeight > 0)
      this.addPopular(a.popItems, a.popScores, 0, a.popItems.length, w.popularityWeight, want, input.catalogue);

    const top = this.top;
    top.reset(input.n);
    const boost = 1 + w.categoryBoost;
    const facts = input.catalogue;
    for (let t = 0; t < personal.size; t++) {
      const i = personal.touched[t]!;
      if (excluded.has(i) || !facts.isAvailable(i)) continue;
      let s = personal.values[i]!;
      if (!(s > 0)) continue;
      if (input.boostCategory >= 0 && facts.categoryOf(i) === input.boostCategory) s *= boost;
      top.offer(i, s);
    }
    const source: RecommendSource = top.size === 0 ? 'empty' : personalCount > 0 ? 'personal' : 'popular';
    return { count: top.size, items: top.items, scores: top.scores, source };
  }

  private addItemRow(
    into: SparseScores,
    ptr: Int32Array,
    items: Int32Array,
    scores: Float32Array,
    item: number,
    weight: number,
    itemCount: number,
  ): void {
    if (item < 0 || item >= itemCount || !(weight > 0)) return;
    into.addRow(items, scores, ptr[item]!, ptr[item + 1]!, weight);
  }

  /** personal += factor · part / max(part). */
  private fold(part: SparseScores, into: SparseScores, factor: number): void {
    if (part.size === 0 || !(factor > 0)) return;
    const max = part.max();
    if (max > 0) part.addInto(into, factor / max);
  }

  /** Adds weight·score/max for the first entries of a best-first list until `want` eligible ones. */
  private addPopular(
    items: Int32Array,
    scores: Float32Array,
    start: number,
    end: number,
    weight: number,
    want: number,
    facts: ItemFacts,
  ): void {
    if (end <= start) return;
    const max = scores[start]!;
    if (!(max > 0)) return;
    let added = 0;
    for (let k = start; k < end && added < want; k++) {
      const i = items[k]!;
      if (this.excluded.has(i) || !facts.isAvailable(i)) continue;
      this.personal.add(i, (weight * scores[k]!) / max);
      added++;
    }
  }
}
