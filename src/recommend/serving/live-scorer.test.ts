import { describe, expect, it } from 'vitest';
import type { ServingArrays } from './build-serving.js';
import { LiveScorer, type ScoreInput, type ScoreWeights } from './live-scorer.js';
import { ServingModel } from './serving-model.js';

/** CSR from rows of [item, score] pairs. */
function csr(rows: [number, number][][]): { ptr: Int32Array; items: Int32Array; scores: Float32Array } {
  const ptr = new Int32Array(rows.length + 1);
  const items: number[] = [];
  const scores: number[] = [];
  rows.forEach((row, r) => {
    for (const [i, s] of row) {
      items.push(i);
      scores.push(s);
    }
    ptr[r + 1] = items.length;
  });
  return { ptr, items: Int32Array.from(items), scores: Float32Array.from(scores) };
}

// Items 0-3 are category 0 ("shoes"), 4-7 category 1 ("hats"); 8 items, 3 users, 1 segment.
const nbr = csr([
  [
    [1, 0.9],
    [2, 0.5],
    [4, 0.6],
  ],
  [
    [0, 0.9],
    [3, 0.4],
  ],
  [
    [0, 0.5],
    [3, 0.3],
  ],
  [
    [1, 0.4],
    [2, 0.3],
  ],
  [
    [5, 0.8],
    [0, 0.6],
  ],
  [
    [4, 0.8],
    [6, 0.2],
  ],
  [[5, 0.2]],
  [],
]);
const top = csr([
  [
    [3, 2],
    [2, 1],
  ],
  [],
  [[7, 1]],
]);
const hist = csr([
  [
    [0, 1],
    [1, 1],
  ],
  [],
  [[6, 1]],
]);
const comp = csr([[[5, 1]], [], [], [], [], [[0, 1]], [], []]);
const cat = csr([
  [
    [0, 5],
    [1, 4],
  ],
  [
    [4, 6],
    [5, 3],
  ],
]);
const seg = csr([
  [
    [6, 4],
    [7, 3],
  ],
]);
const arrays: ServingArrays = {
  nbrPtr: nbr.ptr,
  nbrItems: nbr.items,
  nbrScores: nbr.scores,
  topPtr: top.ptr,
  topItems: top.items,
  topScores: top.scores,
  histPtr: hist.ptr,
  histItems: hist.items,
  compPtr: comp.ptr,
  compItems: comp.items,
  compScores: comp.scores,
  catPtr: cat.ptr,
  catItems: cat.items,
  catScores: cat.scores,
  popItems: Int32Array.from([4, 0, 1, 5, 2, 3, 6, 7]),
  popScores: Float32Array.from([8, 7, 6, 5, 4, 3, 2, 1]),
  segPtr: seg.ptr,
  segItems: seg.items,
  segScores: seg.scores,
};
const model = new ServingModel('sar', 7, 8, 3, 2, arrays, ['vip'], null, 0);
const weights: ScoreWeights = {
  sessionWeight: 1,
  contextSessionWeight: 0.25,
  cartSimilarWeight: 0.5,
  segmentPopularityWeight: 0.05,
  popularityWeight: 0.01,
  categoryBoost: 1,
};
const categoryOf = (i: number) => (i < 4 ? 0 : 1);

function input(partial: Partial<ScoreInput>): ScoreInput {
  return {
    placement: 'home',
    n: 3,
    user: -1,
    sessionItems: [],
    sessionWeights: [],
    contextItems: [],
    contextCategory: -1,
    exclude: [],
    excludeHistory: true,
    segments: [],
    boostCategory: -1,
    catalogue: { categoryOf, isAvailable: () => true },
    ...partial,
  };
}

describe('LiveScorer', () => {
  const scorer = new LiveScorer(model, weights);
  const score = (partial: Partial<ScoreInput>) => {
    const out = scorer.score(input(partial));
    return { ...out, items: [...out.items.subarray(0, out.count)], scores: [...out.scores.subarray(0, out.count)] };
  };
  const items = (partial: Partial<ScoreInput>) => score(partial).items;

  it('ranks a cold visitor by popularity', () => {
    const out = score({ n: 3 });
    expect(out.items).toEqual([4, 0, 1]);
    expect(out.source).toBe('popular');
    expect(out.scores[0]).toBeCloseTo(0.01);
  });

  it('ranks a known user by their trained candidates, their history excluded', () => {
    const out = score({ user: 0, n: 2 });
    expect(out.items).toEqual([3, 2]);
    expect(out.source).toBe('personal');
    // Candidates normalised by the row's best: 2/2 and 1/2, plus the popularity tie-breaker.
    expect(out.scores[0]).toBeCloseTo(1 + 0.01 * (3 / 8));
  });

  it('folds the live session in: a new click changes the list at once', () => {
    const before = items({ user: 0, n: 2, sessionItems: [3], sessionWeights: [1], exclude: [3] });
    const after = items({ user: 0, n: 2, sessionItems: [4, 3], sessionWeights: [1, 1], exclude: [4, 3] });
    expect(before).toEqual([2, 4]);
    expect(after[0]).toBe(5);
    expect(after).not.toEqual(before);
  });

  it('never returns excluded, seen-in-history or unavailable items', () => {
    expect(items({ user: 0, n: 8 })).not.toContain(0);
    expect(items({ user: 0, n: 8 })).not.toContain(1);
    expect(items({ n: 8, exclude: [4, 0] })).toEqual([1, 5, 2, 3, 6, 7]);
    expect(items({ n: 8, catalogue: { categoryOf, isAvailable: (i) => i !== 1 } })).not.toContain(1);
    expect(items({ user: 0, n: 8, excludeHistory: false })).toContain(0);
  });

  it('serves item-to-item on product pages, the item itself excluded; category popularity for unknown items', () => {
    expect(items({ placement: 'product', contextItems: [0], n: 3 })).toEqual([1, 4, 2]);
    // An item the model has no neighbours for: the most popular items of its category.
    expect(items({ placement: 'product', contextItems: [7], contextCategory: 1, n: 2 })).toEqual([4, 5]);
    expect(items({ placement: 'product', contextItems: [-1], contextCategory: 0, n: 2 })).toEqual([0, 1]);
  });

  it('serves complements of the cart first, then its neighbours', () => {
    const out = items({ placement: 'cart', contextItems: [0], n: 3 });
    expect(out[0]).toBe(5);
    expect(out).not.toContain(0);
    expect(out.slice(1)).toEqual([1, 4]);
  });

  it("starts segment members on their segment's favourites", () => {
    expect(items({ segments: [0], n: 2 })).toEqual([6, 7]);
    expect(items({ segments: [], n: 2 })).toEqual([4, 0]);
  });

  it('boosts the category being viewed', () => {
    // Neighbours of 0: 1 (0.9, shoes), 4 (0.6, hats), 2 (0.5, shoes).
    expect(items({ placement: 'product', contextItems: [0], n: 3, boostCategory: 1 })).toEqual([4, 1, 2]);
  });

  it('is deterministic and leaves no state behind between requests', () => {
    const a = score({ user: 2, sessionItems: [0, 5], sessionWeights: [1, 0.5], n: 5 });
    score({ placement: 'cart', contextItems: [0, 5], n: 8 });
    const b = score({ user: 2, sessionItems: [0, 5], sessionWeights: [1, 0.5], n: 5 });
    expect(b.items).toEqual(a.items);
    expect(b.scores).toEqual(a.scores);
  });

  it('returns nothing from an empty model', () => {
    const empty = new LiveScorer(ServingModel.empty(), weights);
    const out = empty.score(input({ user: 3, sessionItems: [2], sessionWeights: [1], n: 5 }));
    expect(out.count).toBe(0);
    expect(out.source).toBe('empty');
  });
});
