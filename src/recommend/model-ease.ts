import { RecommendErrors } from './errors.js';
import { invertSpd } from './linalg.js';
import { resolveEaseOptions } from './options.js';
import type { EaseOptions, ResolvedEaseOptions } from './options.js';
import { rowsFromArrays, userRowsOf } from './user-rows.js';
import type { UserRows } from './user-rows.js';
import type { FoldIn, InteractionMatrix, ModelArtifact, Recommender, Trainer } from './types.js';

/**
 * EASE (Steck 2019): item-item weights B = I − P·diag(1/diag(P)), P = (XᵀX + Λ)⁻¹, a zero
 * diagonal by construction. Λ = λI plus, when `dropout` > 0, p/(1−p)·diag(XᵀX) (EDLAE's emphasis,
 * Steck 2020), which regularises popular items more. Only items with interactions (at most
 * `maxItems`, the most interacted) enter the n×n problem; the rest score −Infinity.
 */
export class EaseModel implements Recommender {
  readonly name = 'ease' as const;
  readonly additive = true;
  private readonly compactScores: Float64Array;

  constructor(
    readonly options: ResolvedEaseOptions,
    /** Item index of each model row (compact index → item index). */
    readonly active: Int32Array,
    /** n×n row-major weights over the compact index; row j is what item j adds to every item. */
    readonly weights: Float32Array,
    readonly rows: UserRows,
    readonly userIds: readonly string[],
    readonly itemIds: readonly string[],
    readonly meta: Readonly<Record<string, unknown>> = {},
  ) {
    this.compactOf = new Int32Array(itemIds.length).fill(-1);
    for (let c = 0; c < active.length; c++) this.compactOf[active[c]!] = c;
    this.compactScores = new Float64Array(active.length);
  }

  /** Item index → compact index, −1 when the item is not in the model. */
  readonly compactOf: Int32Array;

  get userCount(): number {
    return this.userIds.length;
  }

  get itemCount(): number {
    return this.itemIds.length;
  }

  scoreUser(user: number, out: Float64Array): boolean {
    const { ptr, items, values } = this.rows;
    if (user < 0 || user >= this.userCount) return this.emit(false, out);
    const acc = this.compactScores.fill(0);
    let any = false;
    for (let k = ptr[user]!; k < ptr[user + 1]!; k++) {
      const c = this.compactOf[items[k]!]!;
      if (c < 0) continue;
      this.addRow(acc, c, values[k]!);
      any = true;
    }
    return this.emit(any, out);
  }

  scoreItems(items: ArrayLike<number>, weights: ArrayLike<number>, out: Float64Array): boolean {
    const acc = this.compactScores.fill(0);
    let any = false;
    for (let k = 0; k < items.length; k++) {
      const c = this.compactOf[items[k]!] ?? -1;
      if (c < 0) continue;
      this.addRow(acc, c, weights[k]!);
      any = true;
    }
    return this.emit(any, out);
  }

  createFoldIn(): FoldIn {
    const acc = new Float64Array(this.active.length);
    let size = 0;
    return {
      add: (item, weight) => {
        const c = this.compactOf[item] ?? -1;
        if (c < 0) return;
        this.addRow(acc, c, weight);
        size++;
      },
      score: (out) => {
        this.compactScores.set(acc);
        return this.emit(size > 0, out);
      },
      get size() {
        return size;
      },
      reset: () => {
        acc.fill(0);
        size = 0;
      },
    };
  }

  valueOf(weight: number): number {
    return this.options.binarize ? 1 : weight;
  }

  private addRow(acc: Float64Array, c: number, w: number): void {
    const n = this.active.length;
    const b = this.weights;
    const off = c * n;
    for (let j = 0; j < n; j++) acc[j]! += w * b[off + j]!;
  }

  private emit(any: boolean, out: Float64Array): boolean {
    out.fill(-Infinity);
    const acc = this.compactScores;
    const active = this.active;
    for (let c = 0; c < active.length; c++) out[active[c]!] = any ? acc[c]! : 0;
    return any;
  }

  toArtifact(): ModelArtifact {
    return {
      model: this.name,
      options: this.options,
      userIds: this.userIds,
      itemIds: this.itemIds,
      meta: this.meta,
      arrays: {
        active: this.active,
        weights: this.weights,
        userPtr: this.rows.ptr,
        userItems: this.rows.items,
        userValues: this.rows.values,
      },
    };
  }

  static fromArtifact(a: ModelArtifact): EaseModel {
    return new EaseModel(
      resolveEaseOptions(a.options),
      a.arrays.active as Int32Array,
      a.arrays.weights as Float32Array,
      rowsFromArrays(a.arrays),
      a.userIds,
      a.itemIds,
      a.meta,
    );
  }
}

/** The items that enter the model: interacted, most interacted first when capped, in index order. */
function activeItems(m: InteractionMatrix, maxItems: number): Int32Array {
  const candidates: number[] = [];
  for (let i = 0; i < m.itemCount; i++) if (m.itemPtr[i + 1]! > m.itemPtr[i]!) candidates.push(i);
  if (candidates.length > maxItems) {
    const count = (i: number): number => m.itemPtr[i + 1]! - m.itemPtr[i]!;
    candidates.sort((a, b) => count(b) - count(a) || a - b);
    candidates.length = maxItems;
    candidates.sort((a, b) => a - b);
  }
  return Int32Array.from(candidates);
}

/** G = XᵀX over the active items (dense, row-major), X holding the model values. */
export function gramMatrix(rows: UserRows, compactOf: Int32Array, n: number, userCount: number): Float64Array {
  const g = new Float64Array(n * n);
  const cs: number[] = [];
  const vs: number[] = [];
  for (let u = 0; u < userCount; u++) {
    cs.length = 0;
    vs.length = 0;
    for (let k = rows.ptr[u]!; k < rows.ptr[u + 1]!; k++) {
      const c = compactOf[rows.items[k]!]!;
      if (c < 0) continue;
      cs.push(c);
      vs.push(rows.values[k]!);
    }
    for (let a = 0; a < cs.length; a++) {
      const off = cs[a]! * n;
      const va = vs[a]!;
      // Lower triangle only: the Cholesky reads nothing else.
      for (let b = 0; b < cs.length; b++) {
        if (cs[b]! <= cs[a]!) g[off + cs[b]!]! += va * vs[b]!;
      }
    }
  }
  return g;
}

export function fitEase(m: InteractionMatrix, options: ResolvedEaseOptions): EaseModel {
  const started = performance.now();
  const active = activeItems(m, options.maxItems);
  const n = active.length;
  if (n === 0) throw RecommendErrors.create('RECOMMEND_EMPTY_TRAINING_SET');
  const compactOf = new Int32Array(m.itemCount).fill(-1);
  for (let c = 0; c < n; c++) compactOf[active[c]!] = c;
  const rows = userRowsOf(m, (w) => (options.binarize ? 1 : w));
  const g = gramMatrix(rows, compactOf, n, m.userCount);
  const boost = options.dropout > 0 ? options.dropout / (1 - options.dropout) : 0;
  for (let c = 0; c < n; c++) {
    const d = c * n + c;
    g[d] = g[d]! * (1 + boost) + options.lambda;
  }
  const p = invertSpd(g, n);
  // B_ij = −P_ij / P_jj, B_ii = 0.
  const weights = new Float32Array(n * n);
  const inv = new Float64Array(n);
  for (let j = 0; j < n; j++) inv[j] = 1 / p[j * n + j]!;
  for (let i = 0; i < n; i++) {
    const off = i * n;
    for (let j = 0; j < n; j++) weights[off + j] = i === j ? 0 : -p[off + j]! * inv[j]!;
  }
  const trainMs = performance.now() - started;
  return new EaseModel(options, active, weights, rows, m.userIds, m.itemIds, { items: n, trainMs });
}

export function createEaseTrainer(partial: EaseOptions = {}): Trainer {
  const options = resolveEaseOptions(partial);
  return { name: 'ease', fit: (m) => fitEase(m, options) };
}
