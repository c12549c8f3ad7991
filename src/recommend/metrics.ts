/**
 * Ranking metrics defined exactly as Microsoft Recommenders' `recommenders.evaluation.
 * python_evaluation` (relevancy_method="top_k", binary relevance: every test row is relevant):
 *
 * - users: P@k, R@k and MAP average over the users present in both truth and recommendations
 *   ("common users"); nDCG averages over every truth user (a user without recommendations counts
 *   0), as their current `ndcg_at_k` does. With a recommendation list for every test user — the
 *   harness always produces one — the two sets coincide.
 * - precision@k = hits/k; recall@k = hits/|relevant|.
 * - nDCG@k: DCG = Σ_hits 1/ln(1+rank), IDCG = Σ_{i=1..min(|relevant|,k)} 1/ln(1+i).
 * - `map` ("MAP", the README's column; their function `map`): Σ_hits (hits so far / rank) divided by
 *   |relevant| (all relevant items, not min(|relevant|, k)).
 * - `mapAtK` (their `map_at_k` since 1.2): the same sum divided by min(|relevant|, k).
 * - when no user has a hit at all, every metric is 0 (their early return).
 */
export interface RankingMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly ndcg: number;
  readonly map: number;
  readonly mapAtK: number;
  /** Users averaged over (common users). */
  readonly users: number;
}

/** A ranked list per user (best first; only the first k count) and the relevant items per user. */
export function rankingMetrics(
  recommendations: ReadonlyMap<number, ArrayLike<number>>,
  relevant: ReadonlyMap<number, ArrayLike<number>>,
  k: number,
): RankingMetrics {
  let common = 0;
  let totalHits = 0;
  let precision = 0;
  let recall = 0;
  let ndcg = 0;
  let map = 0;
  let mapAtK = 0;
  for (const [user, truth] of relevant) {
    const recs = recommendations.get(user);
    if (!recs || recs.length === 0 || truth.length === 0) continue;
    common++;
    const truthSet = new Set<number>();
    for (let t = 0; t < truth.length; t++) truthSet.add(truth[t]!);
    const actual = truthSet.size;
    let hits = 0;
    let dcg = 0;
    let rr = 0;
    const top = Math.min(k, recs.length);
    for (let r = 0; r < top; r++) {
      if (truthSet.has(recs[r]!)) {
        hits++;
        const rank = r + 1;
        dcg += 1 / Math.log(1 + rank);
        rr += hits / rank;
      }
    }
    totalHits += hits;
    if (hits === 0) continue;
    let idcg = 0;
    for (let i = 1; i <= Math.min(actual, k); i++) idcg += 1 / Math.log(1 + i);
    precision += hits / k;
    recall += hits / actual;
    ndcg += dcg / idcg;
    map += rr / actual;
    mapAtK += rr / Math.min(actual, k);
  }
  if (totalHits === 0 || common === 0) {
    return { precision: 0, recall: 0, ndcg: 0, map: 0, mapAtK: 0, users: common };
  }
  let truthUsers = 0;
  for (const truth of relevant.values()) if (truth.length > 0) truthUsers++;
  return {
    precision: precision / common,
    recall: recall / common,
    ndcg: ndcg / truthUsers,
    map: map / common,
    mapAtK: mapAtK / common,
    users: common,
  };
}

/**
 * Catalogue coverage as MS Recommenders' `catalog_coverage`: distinct recommended items over
 * distinct items in the training data.
 */
export function catalogCoverage(
  recommendations: ReadonlyMap<number, ArrayLike<number>>,
  trainItemCount: number,
  k: number,
): number {
  if (trainItemCount === 0) return 0;
  const seen = new Set<number>();
  for (const recs of recommendations.values()) {
    const top = Math.min(k, recs.length);
    for (let r = 0; r < top; r++) seen.add(recs[r]!);
  }
  return seen.size / trainItemCount;
}
