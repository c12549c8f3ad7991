import { describe, expect, it } from 'vitest';
import { choleskyInPlace, choleskySolveInPlace, invertSpd } from './linalg.js';
import { MersenneTwister } from './rng.js';

/** A random SPD matrix AᵀA + n·I. */
function randomSpd(n: number, seed: number): Float64Array {
  const rng = new MersenneTwister(seed);
  const a = Array.from({ length: n * n }, () => rng.random() - 0.5);
  const g = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[k * n + i]! * a[k * n + j]!;
      g[i * n + j] = s + (i === j ? 0.5 : 0);
    }
  return g;
}

/** Brute-force inverse by Gauss–Jordan elimination with partial pivoting. */
function gaussJordanInverse(m: Float64Array, n: number): Float64Array {
  const a = Array.from(m);
  const inv: number[] = Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0));
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(a[r * n + c]!) > Math.abs(a[p * n + c]!)) p = r;
    for (let k = 0; k < n; k++) {
      [a[c * n + k], a[p * n + k]] = [a[p * n + k]!, a[c * n + k]!];
      [inv[c * n + k], inv[p * n + k]] = [inv[p * n + k]!, inv[c * n + k]!];
    }
    const d = a[c * n + c]!;
    for (let k = 0; k < n; k++) {
      a[c * n + k]! /= d;
      inv[c * n + k]! /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c]!;
      for (let k = 0; k < n; k++) {
        a[r * n + k]! -= f * a[c * n + k]!;
        inv[r * n + k]! -= f * inv[c * n + k]!;
      }
    }
  }
  return Float64Array.from(inv);
}

describe('invertSpd', () => {
  // Sizes around the 4×2 blocking boundaries.
  it.each([1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 17, 31])('matches Gauss–Jordan for n = %i', (n) => {
    const g = randomSpd(n, n);
    const expected = gaussJordanInverse(g, n);
    const actual = invertSpd(g.slice(), n);
    for (let k = 0; k < n * n; k++) expect(actual[k]!).toBeCloseTo(expected[k]!, 9);
  });

  it('throws RECOMMEND_NOT_POSITIVE_DEFINITE on an indefinite matrix', () => {
    const m = Float64Array.from([1, 2, 2, 1]);
    expect(() => choleskyInPlace(m, 2)).toThrow(expect.objectContaining({ code: 'RECOMMEND_NOT_POSITIVE_DEFINITE' }));
  });
});

describe('choleskySolveInPlace', () => {
  it('solves A·x = b', () => {
    const n = 6;
    const a = randomSpd(n, 99);
    const x = Float64Array.from([1, -2, 3, 0.5, 0, 4]);
    const b = new Float64Array(n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) b[i]! += a[i * n + j]! * x[j]!;
    const l = a.slice();
    choleskyInPlace(l, n);
    choleskySolveInPlace(l, n, b);
    for (let i = 0; i < n; i++) expect(b[i]!).toBeCloseTo(x[i]!, 10);
  });
});
