import { describe, expect, it } from 'vitest';
import { catalogCoverage, rankingMetrics } from './metrics.js';

const map = (entries: [number, number[]][]): Map<number, number[]> => new Map(entries);

describe('rankingMetrics', () => {
  it('matches a hand-computed single user', () => {
    // Relevant {1,2,3,4}; ranked [1, 9, 2, 8]: hits at ranks 1 and 3.
    const m = rankingMetrics(map([[0, [1, 9, 2, 8]]]), map([[0, [1, 2, 3, 4]]]), 4);
    expect(m.precision).toBeCloseTo(2 / 4, 12);
    expect(m.recall).toBeCloseTo(2 / 4, 12);
    const dcg = 1 / Math.log(2) + 1 / Math.log(4);
    const idcg = 1 / Math.log(2) + 1 / Math.log(3) + 1 / Math.log(4) + 1 / Math.log(5);
    expect(m.ndcg).toBeCloseTo(dcg / idcg, 12);
    // AP: (1/1 + 2/3) / |relevant| = (5/3)/4.
    expect(m.map).toBeCloseTo(5 / 3 / 4, 12);
    expect(m.mapAtK).toBeCloseTo(5 / 3 / 4, 12);
  });

  it('normalises map by all relevant items and mapAtK by min(relevant, k)', () => {
    const relevant = map([[0, [1, 2, 3, 4, 5, 6]]]);
    const m = rankingMetrics(map([[0, [1, 2]]]), relevant, 2);
    expect(m.map).toBeCloseTo(2 / 6, 12);
    expect(m.mapAtK).toBeCloseTo(2 / 2, 12);
    // Precision divides by k even when fewer items are recommended (Spark/MS convention).
    expect(rankingMetrics(map([[0, [1]]]), relevant, 2).precision).toBeCloseTo(0.5, 12);
  });

  it('reproduces the Microsoft Recommenders python_evaluation unit-test fixture', () => {
    // tests/unit/recommenders/evaluation/conftest.py (rating_true, rating_pred), ranked by prediction:
    // expected P@10 0.26666, R@10 0.37777, nDCG@10 0.38172, map 0.23613, map_at_k 0.23613.
    const truth = map([
      [1, [3, 1, 2]],
      [2, [1, 4, 5, 6, 7]],
      [3, [2, 5, 6, 8, 9, 10, 11, 12, 13, 14]],
    ]);
    const recs = map([
      [1, [3, 10, 12]],
      [2, [10, 3, 5, 11, 13]],
      [3, [4, 10, 7, 13, 1, 3, 5, 2, 11, 14]],
    ]);
    const m = rankingMetrics(recs, truth, 10);
    expect(m.precision).toBeCloseTo(0.26666, 4);
    expect(m.recall).toBeCloseTo(0.37777, 4);
    expect(m.ndcg).toBeCloseTo(0.38172, 4);
    expect(m.map).toBeCloseTo(0.23613, 4);
    expect(m.mapAtK).toBeCloseTo(0.23613, 4);
    expect(m.users).toBe(3);
    // Their "perfect" case: predictions = truth gives P@10 0.6 (18 true rows / 3 users / 10), recall 1.
    const perfect = rankingMetrics(truth, truth, 10);
    expect(perfect.precision).toBeCloseTo(0.6, 12);
    expect(perfect.recall).toBeCloseTo(1, 12);
    expect(perfect.ndcg).toBeCloseTo(1, 12);
    expect(perfect.map).toBeCloseTo(1, 12);
    // rating_nohit: every metric 0.
    const nohit = rankingMetrics(
      map([
        [1, [100]],
        [2, [100]],
        [3, [100]],
      ]),
      truth,
      10,
    );
    expect(nohit).toMatchObject({ precision: 0, recall: 0, ndcg: 0, map: 0, mapAtK: 0 });
  });

  it('averages nDCG over every truth user but P/R/MAP over common users', () => {
    const truth = map([
      [0, [1]],
      [1, [2]],
    ]);
    const m = rankingMetrics(map([[0, [1]]]), truth, 1);
    expect(m.users).toBe(1);
    expect(m.precision).toBe(1);
    expect(m.ndcg).toBe(0.5);
  });
});

describe('catalogCoverage', () => {
  it('is distinct recommended items over distinct training items (MS diversity fixture: 0.8)', () => {
    const recs = map([
      [1, [3, 5]],
      [2, [2, 5]],
      [3, [1, 2]],
    ]);
    expect(catalogCoverage(recs, 5, 10)).toBeCloseTo(0.8, 12);
    expect(catalogCoverage(recs, 5, 1)).toBeCloseTo(3 / 5, 12);
  });
});
