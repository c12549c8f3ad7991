import { resolveItemKnnOptions } from './options.js';
import type { ItemKnnOptions, ResolvedItemKnnOptions } from './options.js';
import { topN } from './scoring.js';
import { rowsFromArrays, userRowsOf } from './user-rows.js';
import type { UserRows } from './user-rows.js';
import type { FoldIn, InteractionMatrix, ModelArtifact, Recommender, Trainer } from './types.js';

const DAY_SECONDS = 86_400;

/**
 * Item-kNN / SAR (Microsoft's Smart Adaptive Recommendations): a sparse item-item similarity from
 * binary co-occurrence counts, and a user affinity row (weight, optionally time-decayed with a
 * half-life as SAR does). score(u) = affinity(u)·S; a session folds in as Σ w_j·S[j,:].
 */
export class ItemKnnModel implements Recommender {
  readonly additive = true;

  constructor(
    readonly name: 'sar' | 'itemknn',
    readonly options: ResolvedItemKnnOptions,
    /** Similarity rows in CSR: simPtr (itemCount+1), simItems, simValues. */
    readonly simPtr: Int32Array,
    readonly simItems: Int32Array,
    readonly simValues: Float32Array,
    readonly rows: UserRows,
    readonly userIds: readonly string[],
    readonly itemIds: readonly string[],
    readonly meta: Readonly<Record<string, unknown>> = {},
  ) {}

  get userCount(): number {
    return this.userIds.length;
  }

  get itemCount(): number {
    return this.itemIds.length;
  }

  scoreUser(user: number, out: Float64Array): boolean {
    out.fill(0);
    if (user < 0 || user >= this.userCount) return false;
    const { ptr, items, values } = this.rows;
    let any = false;
    for (let k = ptr[user]!; k < ptr[user + 1]!; k++) any = this.addRow(out, items[k]!, values[k]!) || any;
    return any;
  }

  scoreItems(items: ArrayLike<number>, weights: ArrayLike<number>, out: Float64Array): boolean {
    out.fill(0);
    let any = false;
    for (let k = 0; k < items.length; k++) any = this.addRow(out, items[k]!, weights[k]!) || any;
    return any;
  }

  createFoldIn(): FoldIn {
    const acc = new Float64Array(this.itemCount);
    let size = 0;
    return {
      add: (item, weight) => {
        if (this.addRow(acc, item, weight)) size++;
      },
      score: (out) => {
        out.set(acc);
        return size > 0;
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
    return this.options.useWeights ? weight : 1;
  }

  /** Adds w·S[item,:] into acc; false when the item has no similarity row. */
  private addRow(acc: Float64Array, item: number, w: number): boolean {
    if (item < 0 || item >= this.itemCount) return false;
    const start = this.simPtr[item]!;
    const end = this.simPtr[item + 1]!;
    if (start === end) return false;
    const si = this.simItems;
    const sv = this.simValues;
    for (let k = start; k < end; k++) acc[si[k]!]! += w * sv[k]!;
    return true;
  }

  toArtifact(): ModelArtifact {
    return {
      model: this.name,
      options: this.options,
      userIds: this.userIds,
      itemIds: this.itemIds,
      meta: this.meta,
      arrays: {
        simPtr: this.simPtr,
        simItems: this.simItems,
        simValues: this.simValues,
        userPtr: this.rows.ptr,
        userItems: this.rows.items,
        userValues: this.rows.values,
      },
    };
  }

  static fromArtifact(a: ModelArtifact): ItemKnnModel {
    const name = a.model === 'itemknn' ? 'itemknn' : 'sar';
    return new ItemKnnModel(
      name,
      resolveItemKnnOptions(a.options, name),
      a.arrays.simPtr as Int32Array,
      a.arrays.simItems as Int32Array,
      a.arrays.simValues as Float32Array,
      rowsFromArrays(a.arrays),
      a.userIds,
      a.itemIds,
      a.meta,
    );
  }
}

export function fitItemKnn(
  m: InteractionMatrix,
  name: 'sar' | 'itemknn',
  options: ResolvedItemKnnOptions,
): ItemKnnModel {
  const started = performance.now();
  const n = m.itemCount;
  const halfLife = options.timeDecayHalfLifeDays * DAY_SECONDS;
  const rows = userRowsOf(m, (w, nz) => {
    const base = options.useWeights ? w : 1;
    return halfLife > 0 ? base * Math.pow(2, -(m.maxTimestamp - m.userTimes[nz]!) / halfLife) : base;
  });
  const diag = new Float64Array(n);
  for (let i = 0; i < n; i++) diag[i] = m.itemPtr[i + 1]! - m.itemPtr[i]!;

  const counts = new Float64Array(n);
  const touched = new Int32Array(n);
  const sim = new Float64Array(n);
  const ptr = new Int32Array(n + 1);
  let outItems = new Int32Array(Math.max(16, m.userItems.length));
  let outValues = new Float32Array(outItems.length);
  let nnz = 0;
  for (let i = 0; i < n; i++) {
    // Co-occurrence row i: every item of every user of item i.
    let touchedCount = 0;
    for (let a = m.itemPtr[i]!; a < m.itemPtr[i + 1]!; a++) {
      const u = m.itemUsers[a]!;
      for (let b = m.userPtr[u]!; b < m.userPtr[u + 1]!; b++) {
        const j = m.userItems[b]!;
        if (counts[j] === 0) touched[touchedCount++] = j;
        counts[j]!++;
      }
    }
    let kept = 0;
    for (let t = 0; t < touchedCount; t++) {
      const j = touched[t]!;
      const c = counts[j]!;
      counts[j] = 0;
      if (c < options.threshold) continue;
      const s = similarity(options.similarity, c, diag[i]!, diag[j]!);
      if (s > 0) {
        sim[j] = s;
        touched[kept++] = j;
      }
    }
    let selected: ArrayLike<number>;
    if (options.neighbors > 0 && kept > options.neighbors) {
      selected = topN(sim, options.neighbors).items;
    } else {
      selected = touched.subarray(0, kept).slice().sort();
    }
    if (nnz + selected.length > outItems.length) {
      const size = Math.max(outItems.length * 2, nnz + selected.length);
      const grownItems = new Int32Array(size);
      grownItems.set(outItems.subarray(0, nnz));
      const grownValues = new Float32Array(size);
      grownValues.set(outValues.subarray(0, nnz));
      outItems = grownItems;
      outValues = grownValues;
    }
    for (let s = 0; s < selected.length; s++) {
      const j = selected[s]!;
      outItems[nnz] = j;
      outValues[nnz] = sim[j]!;
      nnz++;
    }
    for (let t = 0; t < kept; t++) sim[touched[t]!] = 0;
    ptr[i + 1] = nnz;
  }
  const trainMs = performance.now() - started;
  return new ItemKnnModel(
    name,
    options,
    ptr,
    outItems.slice(0, nnz),
    outValues.slice(0, nnz),
    rows,
    m.userIds,
    m.itemIds,
    { similarities: nnz, trainMs },
  );
}

function similarity(kind: ResolvedItemKnnOptions['similarity'], c: number, ci: number, cj: number): number {
  switch (kind) {
    case 'jaccard':
      return c / (ci + cj - c);
    case 'cosine':
      return c / Math.sqrt(ci * cj);
    case 'lift':
      return c / (ci * cj);
    case 'cooccurrence':
      return c;
  }
}

export function createItemKnnTrainer(name: 'sar' | 'itemknn', partial: ItemKnnOptions = {}): Trainer {
  const options = resolveItemKnnOptions(partial, name);
  return { name, fit: (m) => fitItemKnn(m, name, options) };
}
