import { describe, expect, it } from 'vitest';
import { MersenneTwister } from './rng.js';
import {
  blendScores,
  decaySessionWeights,
  ItemExclusion,
  normalizeMaxAbs,
  topN,
  withPopularityFallback,
} from './scoring.js';

/** Reference: full sort by (score desc, index asc). */
function sortedTop(scores: number[], k: number, drop: (i: number) => boolean = () => false): number[] {
  return scores
    .map((s, i) => [s, i] as const)
    .filter(([s, i]) => s > -Infinity && !drop(i))
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i);
}

describe('topN', () => {
  it('equals a full sort on random scores with ties, for many k', () => {
    const rng = new MersenneTwister(5);
    const scores = Array.from({ length: 500 }, () => Math.floor(rng.random() * 50));
    for (const k of [0, 1, 2, 7, 10, 100, 499, 500, 800]) {
      expect(Array.from(topN(scores, k).items)).toEqual(sortedTop(scores, k));
    }
    const top = topN(scores, 10);
    for (let r = 1; r < top.scores.length; r++) expect(top.scores[r - 1]!).toBeGreaterThanOrEqual(top.scores[r]!);
  });

  it('honours the exclusion set, an arbitrary filter and −Infinity', () => {
    const scores = [5, 9, -Infinity, 7, 8, 1];
    const exclude = new ItemExclusion(scores.length);
    exclude.addAll([1, 4]);
    const odd = (i: number): boolean => i % 2 === 1;
    expect(Array.from(topN(scores, 3, { exclude }).items)).toEqual([3, 0, 5]);
    expect(Array.from(topN(scores, 3, { filter: odd }).items)).toEqual([4, 0]);
    expect(Array.from(topN(scores, 10, { exclude, filter: (i) => i === 0 }).items)).toEqual([3, 5]);
  });

  it('clears an exclusion set for reuse', () => {
    const exclude = new ItemExclusion(4);
    exclude.addAll([0, 1, 1, 9]);
    expect(exclude.count).toBe(2);
    exclude.clear();
    expect(exclude.count).toBe(0);
    expect(Array.from(topN([1, 2, 3, 4], 4, { exclude }).items)).toEqual([3, 2, 1, 0]);
  });
});

describe('blending and fallback', () => {
  it('adds a weighted session score', () => {
    const out = blendScores(new Float64Array(3), [1, 2, 3], [10, 0, -10], 0.5);
    expect(Array.from(out)).toEqual([6, 2, -2]);
    expect(Array.from(normalizeMaxAbs(Float64Array.from([2, -4, 1])))).toEqual([0.5, -1, 0.25]);
  });

  it('falls back to popularity for a cold visitor and only breaks ties otherwise', () => {
    const pop = [10, 30, 20];
    expect(Array.from(withPopularityFallback(new Float64Array(3), undefined, pop))).toEqual(pop);
    const tied = withPopularityFallback(new Float64Array(3), [1, 1, 0.5], pop);
    expect(Array.from(topN(tied, 3).items)).toEqual([1, 0, 2]);
  });

  it('decays session weights by half per half-life', () => {
    const w = decaySessionWeights([4, 4, 2], [0, 60_000, 120_000], 120_000, 60_000);
    expect(Array.from(w)).toEqual([1, 2, 2]);
  });
});
