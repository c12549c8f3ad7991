/**
 * Dense linear algebra on row-major Float64Array, written for V8: contiguous inner loops and
 * 4×2 register blocking, because these kernels are the whole cost of training EASE.
 */
import { RecommendErrors } from './errors.js';

/**
 * In-place Cholesky factorisation A = L·Lᵀ of a symmetric positive-definite n×n matrix. Reads the
 * lower triangle of `a`, leaves L there; the strict upper triangle is left untouched.
 * Throws RECOMMEND_NOT_POSITIVE_DEFINITE when a pivot is not positive.
 */
export function choleskyInPlace(a: Float64Array, n: number): void {
  for (let i0 = 0; i0 < n; i0 += 4) {
    const rows = Math.min(4, n - i0);
    if (rows === 4) {
      const ra = i0 * n;
      const rb = ra + n;
      const rc = rb + n;
      const rd = rc + n;
      let j = 0;
      // Two columns j, j+1 of four rows at once: each loaded L[j][k] serves four rows.
      for (; j + 1 < i0; j += 2) {
        const rj = j * n;
        const rk = rj + n;
        let a0 = a[ra + j]!;
        let b0 = a[rb + j]!;
        let c0 = a[rc + j]!;
        let d0 = a[rd + j]!;
        let a1 = a[ra + j + 1]!;
        let b1 = a[rb + j + 1]!;
        let c1 = a[rc + j + 1]!;
        let d1 = a[rd + j + 1]!;
        for (let k = 0; k < j; k++) {
          const v = a[rj + k]!;
          const w = a[rk + k]!;
          const xa = a[ra + k]!;
          const xb = a[rb + k]!;
          const xc = a[rc + k]!;
          const xd = a[rd + k]!;
          a0 -= xa * v;
          b0 -= xb * v;
          c0 -= xc * v;
          d0 -= xd * v;
          a1 -= xa * w;
          b1 -= xb * w;
          c1 -= xc * w;
          d1 -= xd * w;
        }
        const ljj = a[rj + j]!;
        a0 /= ljj;
        b0 /= ljj;
        c0 /= ljj;
        d0 /= ljj;
        const w = a[rk + j]!;
        const lkk = a[rk + j + 1]!;
        a[ra + j] = a0;
        a[rb + j] = b0;
        a[rc + j] = c0;
        a[rd + j] = d0;
        a[ra + j + 1] = (a1 - a0 * w) / lkk;
        a[rb + j + 1] = (b1 - b0 * w) / lkk;
        a[rc + j + 1] = (c1 - c0 * w) / lkk;
        a[rd + j + 1] = (d1 - d0 * w) / lkk;
      }
      for (; j < i0; j++) {
        const rj = j * n;
        let a0 = a[ra + j]!;
        let b0 = a[rb + j]!;
        let c0 = a[rc + j]!;
        let d0 = a[rd + j]!;
        for (let k = 0; k < j; k++) {
          const v = a[rj + k]!;
          a0 -= a[ra + k]! * v;
          b0 -= a[rb + k]! * v;
          c0 -= a[rc + k]! * v;
          d0 -= a[rd + k]! * v;
        }
        const ljj = a[rj + j]!;
        a[ra + j] = a0 / ljj;
        a[rb + j] = b0 / ljj;
        a[rc + j] = c0 / ljj;
        a[rd + j] = d0 / ljj;
      }
    } else {
      for (let i = i0; i < i0 + rows; i++) {
        const ri = i * n;
        for (let j = 0; j < i0; j++) {
          const rj = j * n;
          let s = a[ri + j]!;
          for (let k = 0; k < j; k++) s -= a[ri + k]! * a[rj + k]!;
          a[ri + j] = s / a[rj + j]!;
        }
      }
    }
    // The small diagonal block.
    for (let i = i0; i < i0 + rows; i++) {
      const ri = i * n;
      for (let j = i0; j <= i; j++) {
        const rj = j * n;
        let s = a[ri + j]!;
        for (let k = 0; k < j; k++) s -= a[ri + k]! * a[rj + k]!;
        if (j === i) {
          if (!(s > 0) || !Number.isFinite(s)) {
            throw RecommendErrors.create('RECOMMEND_NOT_POSITIVE_DEFINITE', undefined, { details: { row: i } });
          }
          a[ri + i] = Math.sqrt(s);
        } else {
          a[ri + j] = s / a[rj + j]!;
        }
      }
    }
  }
}

/**
 * Given L (lower triangle of `l`, row-major), writes V = L⁻ᵀ (upper triangular) into `v`
 * row-major: row j of V is the forward-substitution solution of L·x = e_j, so each row is built
 * from contiguous dot products. Four rows of V share every load of a row of L.
 */
export function invertLowerTransposed(l: Float64Array, n: number, v: Float64Array): void {
  v.fill(0);
  for (let j0 = 0; j0 < n; j0 += 4) {
    const rows = Math.min(4, n - j0);
    if (rows === 4) {
      const va = j0 * n;
      const vb = va + n;
      const vc = vb + n;
      const vd = vc + n;
      // The 4×4 triangular head of the block, done plainly.
      for (let jj = 0; jj < 4; jj++) {
        const vr = (j0 + jj) * n;
        for (let i = j0 + jj; i < j0 + 4; i++) {
          const li = i * n;
          let s = i === j0 + jj ? 1 : 0;
          for (let k = j0 + jj; k < i; k++) s -= l[li + k]! * v[vr + k]!;
          v[vr + i] = s / l[li + i]!;
        }
      }
      let i = j0 + 4;
      // Two rows i, i+1 of L at once against the four rows of V.
      for (; i + 1 < n; i += 2) {
        const li = i * n;
        const lk = li + n;
        let sa = 0;
        let sb = 0;
        let sc = 0;
        let sd = 0;
        let ta = 0;
        let tb = 0;
        let tc = 0;
        let td = 0;
        // Rows of V are zero left of their diagonal, so every row may start at j0.
        for (let k = j0; k < i; k++) {
          const x = l[li + k]!;
          const y = l[lk + k]!;
          const pa = v[va + k]!;
          const pb = v[vb + k]!;
          const pc = v[vc + k]!;
          const pd = v[vd + k]!;
          sa -= x * pa;
          sb -= x * pb;
          sc -= x * pc;
          sd -= x * pd;
          ta -= y * pa;
          tb -= y * pb;
          tc -= y * pc;
          td -= y * pd;
        }
        const d = l[li + i]!;
        sa /= d;
        sb /= d;
        sc /= d;
        sd /= d;
        v[va + i] = sa;
        v[vb + i] = sb;
        v[vc + i] = sc;
        v[vd + i] = sd;
        const y = l[lk + i]!;
        const e = l[lk + i + 1]!;
        v[va + i + 1] = (ta - y * sa) / e;
        v[vb + i + 1] = (tb - y * sb) / e;
        v[vc + i + 1] = (tc - y * sc) / e;
        v[vd + i + 1] = (td - y * sd) / e;
      }
      for (; i < n; i++) {
        const li = i * n;
        let sa = 0;
        let sb = 0;
        let sc = 0;
        let sd = 0;
        for (let k = j0; k < i; k++) {
          const x = l[li + k]!;
          sa -= x * v[va + k]!;
          sb -= x * v[vb + k]!;
          sc -= x * v[vc + k]!;
          sd -= x * v[vd + k]!;
        }
        const d = l[li + i]!;
        v[va + i] = sa / d;
        v[vb + i] = sb / d;
        v[vc + i] = sc / d;
        v[vd + i] = sd / d;
      }
    } else {
      for (let j = j0; j < n; j++) {
        const vr = j * n;
        for (let i = j; i < n; i++) {
          const li = i * n;
          let s = i === j ? 1 : 0;
          for (let k = j; k < i; k++) s -= l[li + k]! * v[vr + k]!;
          v[vr + i] = s / l[li + i]!;
        }
      }
    }
  }
}

/**
 * P = V·Vᵀ for upper-triangular V (row-major): P[a][b] = Σ_{k ≥ max(a,b)} V[a][k]·V[b][k].
 * With V = L⁻ᵀ this is (L·Lᵀ)⁻¹. Writes the full symmetric result into `p`.
 */
export function upperGram(v: Float64Array, n: number, p: Float64Array): void {
  for (let a0 = 0; a0 < n; a0 += 4) {
    const rows = Math.min(4, n - a0);
    // Entries P[a][b] with b ≥ a: dot over k ≥ b.
    if (rows === 4) {
      const ra = a0 * n;
      const rb = ra + n;
      const rc = rb + n;
      const rd = rc + n;
      let b = a0 + 3;
      // Two columns b, b+1 at once; column b+1 sums from k = b+1, so the k = b term is apart.
      for (; b + 1 < n; b += 2) {
        const rv = b * n;
        const rw = rv + n;
        let x = v[rv + b]!;
        let sa = v[ra + b]! * x;
        let sb = v[rb + b]! * x;
        let sc = v[rc + b]! * x;
        let sd = v[rd + b]! * x;
        let ta = 0;
        let tb = 0;
        let tc = 0;
        let td = 0;
        for (let k = b + 1; k < n; k++) {
          x = v[rv + k]!;
          const y = v[rw + k]!;
          const pa = v[ra + k]!;
          const pb = v[rb + k]!;
          const pc = v[rc + k]!;
          const pd = v[rd + k]!;
          sa += pa * x;
          sb += pb * x;
          sc += pc * x;
          sd += pd * x;
          ta += pa * y;
          tb += pb * y;
          tc += pc * y;
          td += pd * y;
        }
        p[ra + b] = sa;
        p[rb + b] = sb;
        p[rc + b] = sc;
        p[rd + b] = sd;
        p[ra + b + 1] = ta;
        p[rb + b + 1] = tb;
        p[rc + b + 1] = tc;
        p[rd + b + 1] = td;
      }
      for (; b < n; b++) {
        const rv = b * n;
        let sa = 0;
        let sb = 0;
        let sc = 0;
        let sd = 0;
        for (let k = b; k < n; k++) {
          const x = v[rv + k]!;
          sa += v[ra + k]! * x;
          sb += v[rb + k]! * x;
          sc += v[rc + k]! * x;
          sd += v[rd + k]! * x;
        }
        p[ra + b] = sa;
        p[rb + b] = sb;
        p[rc + b] = sc;
        p[rd + b] = sd;
      }
      for (let a = a0; a < a0 + 3; a++) {
        const r = a * n;
        for (let b = a; b < a0 + 3; b++) {
          const rv = b * n;
          let s = 0;
          for (let k = b; k < n; k++) s += v[r + k]! * v[rv + k]!;
          p[r + b] = s;
        }
      }
    } else {
      for (let a = a0; a < n; a++) {
        const r = a * n;
        for (let b = a; b < n; b++) {
          const rv = b * n;
          let s = 0;
          for (let k = b; k < n; k++) s += v[r + k]! * v[rv + k]!;
          p[r + b] = s;
        }
      }
    }
  }
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) p[b * n + a] = p[a * n + b]!;
  }
}

/**
 * Inverse of a symmetric positive-definite matrix through its Cholesky factor. `a` (row-major,
 * lower triangle read) is destroyed; the inverse is returned in a new array. Cost ≈ n³/2
 * multiply-adds.
 */
export function invertSpd(a: Float64Array, n: number): Float64Array {
  choleskyInPlace(a, n);
  const v = new Float64Array(n * n);
  invertLowerTransposed(a, n, v);
  // a is free now: reuse it for the result.
  upperGram(v, n, a);
  return a;
}

/** Solves (L·Lᵀ)x = b in place for a Cholesky factor L (lower triangle of `l`, row-major). */
export function choleskySolveInPlace(l: Float64Array, n: number, b: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const r = i * n;
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[r + k]! * b[k]!;
    b[i] = s / l[r + i]!;
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * b[k]!;
    b[i] = s / l[i * n + i]!;
  }
}
