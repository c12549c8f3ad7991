import { choleskyInPlace, choleskySolveInPlace } from './linalg.js';
import { resolveIalsOptions } from './options.js';
import type { IalsOptions, ResolvedIalsOptions } from './options.js';
import { MersenneTwister } from './rng.js';
import type { FoldIn, InteractionMatrix, ModelArtifact, Recommender, Trainer } from './types.js';

/**
 * Implicit ALS (Hu, Koren, Volinsky 2008): minimise Σ_{u,i} c_ui (p_ui − x_u·y_i)² +
 * λ(Σ‖x_u‖² + Σ‖y_i‖²) with p_ui = 1 for observed pairs (0 otherwise) and confidence
 * c_ui = 1 + α·value. Each half-sweep solves every factor with a few warm-started conjugate-gradient
 * steps (Takács, Pilászy, Tikk 2011), so no f×f system is factorised during training. A live
 * session folds in by solving its user factor exactly from the session items.
 */
export class IalsModel implements Recommender {
  readonly name = 'ials' as const;
  readonly additive = false;
  /** YᵀY + λI, the shared part of every user system. */
  private readonly gram: Float64Array;
  private readonly known: Uint8Array;
  private readonly scratchA: Float64Array;
  private readonly scratchX: Float64Array;
  private scratchFold: FoldIn | undefined;

  constructor(
    readonly options: ResolvedIalsOptions,
    /** userCount × f, row-major. */
    readonly userFactors: Float64Array,
    /** itemCount × f, row-major. */
    readonly itemFactors: Float64Array,
    /** 1 for users with training interactions. */
    readonly userKnown: Uint8Array,
    /** 1 for items with training interactions. */
    readonly itemKnown: Uint8Array,
    readonly userIds: readonly string[],
    readonly itemIds: readonly string[],
    readonly meta: Readonly<Record<string, unknown>> = {},
  ) {
    const f = options.factors;
    this.gram = gramOf(itemFactors, itemIds.length, f, options.regularization);
    this.known = itemKnown;
    this.scratchA = new Float64Array(f * f);
    this.scratchX = new Float64Array(f);
  }

  get userCount(): number {
    return this.userIds.length;
  }

  get itemCount(): number {
    return this.itemIds.length;
  }

  scoreUser(user: number, out: Float64Array): boolean {
    if (user < 0 || user >= this.userCount || this.userKnown[user] !== 1) {
      this.emit(undefined, 0, out);
      return false;
    }
    this.emit(this.userFactors, user * this.options.factors, out);
    return true;
  }

  scoreItems(items: ArrayLike<number>, weights: ArrayLike<number>, out: Float64Array): boolean {
    // One reusable fold-in: a request allocates nothing.
    const fold = (this.scratchFold ??= this.createFoldIn());
    fold.reset();
    for (let k = 0; k < items.length; k++) fold.add(items[k]!, weights[k]!);
    return fold.score(out);
  }

  createFoldIn(): FoldIn {
    const f = this.options.factors;
    const alpha = this.options.alpha;
    const a = new Float64Array(this.gram);
    const b = new Float64Array(f);
    const y = this.itemFactors;
    let size = 0;
    return {
      add: (item, weight) => {
        if (item < 0 || item >= this.itemCount || this.known[item] !== 1) return;
        const c = 1 + alpha * weight;
        const off = item * f;
        // A += (c−1)·y yᵀ (lower triangle is all the Cholesky reads), b += c·y.
        for (let p = 0; p < f; p++) {
          const yp = (c - 1) * y[off + p]!;
          const row = p * f;
          for (let q = 0; q <= p; q++) a[row + q]! += yp * y[off + q]!;
          b[p]! += c * y[off + p]!;
        }
        size++;
      },
      score: (out) => {
        if (size === 0) {
          this.emit(undefined, 0, out);
          return false;
        }
        const l = this.scratchA;
        l.set(a);
        choleskyInPlace(l, f);
        const x = this.scratchX;
        x.set(b);
        choleskySolveInPlace(l, f, x);
        this.emit(x, 0, out);
        return true;
      },
      get size() {
        return size;
      },
      reset: () => {
        a.set(this.gram);
        b.fill(0);
        size = 0;
      },
    };
  }

  valueOf(weight: number): number {
    return this.options.binarize ? 1 : weight;
  }

  private emit(x: Float64Array | undefined, xOff: number, out: Float64Array): void {
    const f = this.options.factors;
    const y = this.itemFactors;
    for (let i = 0; i < this.itemCount; i++) {
      if (this.known[i] !== 1) {
        out[i] = -Infinity;
        continue;
      }
      if (x === undefined) {
        out[i] = 0;
        continue;
      }
      let s = 0;
      const off = i * f;
      for (let p = 0; p < f; p++) s += x[xOff + p]! * y[off + p]!;
      out[i] = s;
    }
  }

  toArtifact(): ModelArtifact {
    return {
      model: this.name,
      options: this.options,
      userIds: this.userIds,
      itemIds: this.itemIds,
      meta: this.meta,
      arrays: {
        userFactors: this.userFactors,
        itemFactors: this.itemFactors,
        userKnown: this.userKnown,
        itemKnown: this.itemKnown,
      },
    };
  }

  static fromArtifact(a: ModelArtifact): IalsModel {
    return new IalsModel(
      resolveIalsOptions(a.options),
      a.arrays.userFactors as Float64Array,
      a.arrays.itemFactors as Float64Array,
      a.arrays.userKnown as Uint8Array,
      a.arrays.itemKnown as Uint8Array,
      a.userIds,
      a.itemIds,
      a.meta,
    );
  }
}

/** FᵀF + λI over `count` rows of f factors (full symmetric f×f). */
function gramOf(factors: Float64Array, count: number, f: number, lambda: number): Float64Array {
  const g = new Float64Array(f * f);
  for (let r = 0; r < count; r++) {
    const off = r * f;
    for (let p = 0; p < f; p++) {
      const v = factors[off + p]!;
      if (v === 0) continue;
      const row = p * f;
      for (let q = 0; q <= p; q++) g[row + q]! += v * factors[off + q]!;
    }
  }
  for (let p = 0; p < f; p++) {
    g[p * f + p]! += lambda;
    for (let q = 0; q < p; q++) g[q * f + p] = g[p * f + q]!;
  }
  return g;
}

function dot(a: Float64Array, ao: number, b: Float64Array, bo: number, f: number): number {
  // Four accumulators: the loop is bound by loads and add latency, not by multiplies.
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let t = 0;
  for (; t + 3 < f; t += 4) {
    s0 += a[ao + t]! * b[bo + t]!;
    s1 += a[ao + t + 1]! * b[bo + t + 1]!;
    s2 += a[ao + t + 2]! * b[bo + t + 2]!;
    s3 += a[ao + t + 3]! * b[bo + t + 3]!;
  }
  for (; t < f; t++) s0 += a[ao + t]! * b[bo + t]!;
  return s0 + s1 + (s2 + s3);
}

function axpy(alpha: number, x: Float64Array, xo: number, y: Float64Array, yo: number, f: number): void {
  for (let t = 0; t < f; t++) y[yo + t]! += alpha * x[xo + t]!;
}

/** out = G·v for the full symmetric f×f G. */
function matVec(g: Float64Array, v: Float64Array, vo: number, out: Float64Array, f: number): void {
  for (let q = 0; q < f; q++) out[q] = dot(g, q * f, v, vo, f);
}

/**
 * One half-sweep: re-solves every row of `x` (rows × f) against the fixed `y`, with the sparse
 * pattern (ptr, idx, conf) where conf = c − 1 = α·value: for row r, minimise
 * Σ_j c_rj (1 − x_r·y_j)² + Σ_{unobserved} (x_r·y_j)² + λ‖x_r‖², by `steps` CG iterations
 * warm-started at the current x_r.
 */
function sweep(
  x: Float64Array,
  rows: number,
  y: Float64Array,
  yRows: number,
  ptr: Int32Array,
  idx: Int32Array,
  conf: Float64Array,
  o: ResolvedIalsOptions,
): void {
  const f = o.factors;
  const steps = o.cgSteps;
  const g = gramOf(y, yRows, f, o.regularization);
  const r = new Float64Array(f);
  const p = new Float64Array(f);
  const ap = new Float64Array(f);
  for (let row = 0; row < rows; row++) {
    const start = ptr[row]!;
    const end = ptr[row + 1]!;
    const xo = row * f;
    if (start === end) {
      x.fill(0, xo, xo + f);
      continue;
    }
    // r = b − A·x, with b = Σ c_j y_j and A = G + Σ (c_j − 1) y_j y_jᵀ.
    matVec(g, x, xo, r, f);
    for (let t = 0; t < f; t++) r[t] = -r[t]!;
    for (let k = start; k < end; k++) {
      const yo = idx[k]! * f;
      const cm1 = conf[k]!;
      axpy(1 + cm1 - cm1 * dot(y, yo, x, xo, f), y, yo, r, 0, f);
    }
    p.set(r);
    let rs = dot(r, 0, r, 0, f);
    for (let step = 0; step < steps && rs > 1e-20; step++) {
      matVec(g, p, 0, ap, f);
      for (let k = start; k < end; k++) {
        const yo = idx[k]! * f;
        axpy(conf[k]! * dot(y, yo, p, 0, f), y, yo, ap, 0, f);
      }
      const a = rs / dot(p, 0, ap, 0, f);
      axpy(a, p, 0, x, xo, f);
      axpy(-a, ap, 0, r, 0, f);
      const next = dot(r, 0, r, 0, f);
      const beta = next / rs;
      for (let t = 0; t < f; t++) p[t] = r[t]! + beta * p[t]!;
      rs = next;
    }
  }
}

export function fitIals(m: InteractionMatrix, options: ResolvedIalsOptions): IalsModel {
  const started = performance.now();
  const f = options.factors;
  const rng = new MersenneTwister(options.seed);
  const userFactors = new Float64Array(m.userCount * f);
  const itemFactors = new Float64Array(m.itemCount * f);
  for (let k = 0; k < userFactors.length; k++) userFactors[k] = options.initScale * rng.normal();
  for (let k = 0; k < itemFactors.length; k++) itemFactors[k] = options.initScale * rng.normal();
  const value = (w: number): number => (options.binarize ? 1 : w);
  const userConf = Float64Array.from(m.userWeights, (w) => options.alpha * value(w));
  const itemConf = Float64Array.from(m.itemWeights, (w) => options.alpha * value(w));
  const userKnown = new Uint8Array(m.userCount);
  const itemKnown = new Uint8Array(m.itemCount);
  for (let u = 0; u < m.userCount; u++) userKnown[u] = m.userPtr[u + 1]! > m.userPtr[u]! ? 1 : 0;
  for (let i = 0; i < m.itemCount; i++) itemKnown[i] = m.itemPtr[i + 1]! > m.itemPtr[i]! ? 1 : 0;
  for (let it = 0; it < options.iterations; it++) {
    sweep(userFactors, m.userCount, itemFactors, m.itemCount, m.userPtr, m.userItems, userConf, options);
    sweep(itemFactors, m.itemCount, userFactors, m.userCount, m.itemPtr, m.itemUsers, itemConf, options);
  }
  // A final user half-sweep so user factors are consistent with the final item factors.
  sweep(userFactors, m.userCount, itemFactors, m.itemCount, m.userPtr, m.userItems, userConf, options);
  const trainMs = performance.now() - started;
  return new IalsModel(options, userFactors, itemFactors, userKnown, itemKnown, m.userIds, m.itemIds, { trainMs });
}

export function createIalsTrainer(partial: IalsOptions = {}): Trainer {
  const options = resolveIalsOptions(partial);
  return { name: 'ials', fit: (m) => fitIals(m, options) };
}
