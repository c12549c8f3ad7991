import { buildInteractionMatrix } from '../interactions.js';
import { EaseModel } from '../model-ease.js';
import { IalsModel } from '../model-ials.js';
import { fitItemKnn, ItemKnnModel } from '../model-item-knn.js';
import { resolveItemKnnOptions } from '../options.js';
import type { InteractionLog, InteractionMatrix, Recommender } from '../types.js';
import type { TrainerSettings } from './options.js';
import { SparseScores, TopK } from './sparse.js';

/**
 * The serving form of a trained model: everything the request path reads, precomputed and sparse,
 * so a request costs O(session × neighbours), never O(catalogue). Rows are CSR over the shared
 * item/user index (`…Ptr` has length rows + 1).
 */
export interface ServingArrays {
  /** Item → its top-K neighbours with the model's item-item weight (what the item adds to each). */
  readonly nbrPtr: Int32Array;
  readonly nbrItems: Int32Array;
  readonly nbrScores: Float32Array;
  /** User → best candidates as of training, their history excluded. */
  readonly topPtr: Int32Array;
  readonly topItems: Int32Array;
  readonly topScores: Float32Array;
  /** User → items interacted with in the training data (the seen filter beyond the live profile). */
  readonly histPtr: Int32Array;
  readonly histItems: Int32Array;
  /** Item → complements: co-added / co-purchased items (cosine on strong interactions). */
  readonly compPtr: Int32Array;
  readonly compItems: Int32Array;
  readonly compScores: Float32Array;
  /** Category → its most popular items. */
  readonly catPtr: Int32Array;
  readonly catItems: Int32Array;
  readonly catScores: Float32Array;
  /** The most popular items (time-decayed count of users). */
  readonly popItems: Int32Array;
  readonly popScores: Float32Array;
  /** Segment (in `segments` order) → items most popular among its members. */
  readonly segPtr: Int32Array;
  readonly segItems: Int32Array;
  readonly segScores: Float32Array;
}

/** Segment members handed to the trainer (user indices of the shared dictionary). */
export interface SegmentMembers {
  readonly id: string;
  readonly users: Int32Array;
}

/** Rows of a CSR under construction. */
class CsrBuilder {
  private items: Int32Array;
  private scores: Float32Array;
  readonly ptr: Int32Array;
  private nnz = 0;
  private row = 0;

  constructor(rows: number, hint: number) {
    this.ptr = new Int32Array(rows + 1);
    this.items = new Int32Array(Math.max(16, hint));
    this.scores = new Float32Array(this.items.length);
  }

  /** Appends the next row (rows are appended in order; skipped rows are empty). */
  push(row: number, top: TopK | { items: ArrayLike<number>; scores: ArrayLike<number>; size: number }): void {
    while (this.row < row) this.ptr[++this.row] = this.nnz;
    if (this.nnz + top.size > this.items.length) {
      const size = Math.max(this.items.length * 2, this.nnz + top.size);
      const items = new Int32Array(size);
      items.set(this.items.subarray(0, this.nnz));
      const scores = new Float32Array(size);
      scores.set(this.scores.subarray(0, this.nnz));
      this.items = items;
      this.scores = scores;
    }
    for (let k = 0; k < top.size; k++) {
      this.items[this.nnz] = top.items[k]!;
      this.scores[this.nnz] = top.scores[k]!;
      this.nnz++;
    }
    this.ptr[++this.row] = this.nnz;
  }

  finish(): { ptr: Int32Array; items: Int32Array; scores: Float32Array } {
    while (this.row < this.ptr.length - 1) this.ptr[++this.row] = this.nnz;
    return { ptr: this.ptr, items: this.items.slice(0, this.nnz), scores: this.scores.slice(0, this.nnz) };
  }
}

function emptyCsr(rows: number): { ptr: Int32Array; items: Int32Array; scores: Float32Array } {
  return { ptr: new Int32Array(rows + 1), items: new Int32Array(0), scores: new Float32Array(0) };
}

/** Top-K rows of a CSR similarity (self and non-positive entries dropped). */
function topOfCsr(ptr: Int32Array, items: Int32Array, values: Float32Array, rows: number, k: number) {
  const out = new CsrBuilder(rows, rows * Math.min(k, 16));
  const top = new TopK(k);
  for (let i = 0; i < rows; i++) {
    top.reset();
    for (let a = ptr[i]!; a < ptr[i + 1]!; a++) {
      const j = items[a]!;
      const v = values[a]!;
      if (j !== i && v > 0) top.offer(j, v);
    }
    if (top.size > 0) out.push(i, top);
  }
  return out.finish();
}

/** The model's item-item weights, top K per item (see docs/recommend.md "Serving"). */
export function itemNeighbours(
  model: Recommender,
  m: InteractionMatrix,
  k: number,
): { ptr: Int32Array; items: Int32Array; scores: Float32Array } {
  const n = m.itemCount;
  if (model instanceof ItemKnnModel) return topOfCsr(model.simPtr, model.simItems, model.simValues, n, k);
  if (model instanceof EaseModel) {
    const out = new CsrBuilder(n, n * Math.min(k, 16));
    const top = new TopK(k);
    const active = model.active;
    const size = active.length;
    const w = model.weights;
    // Rows in item order: compact index order is item order (activeItems sorts it).
    for (let c = 0; c < size; c++) {
      top.reset();
      const off = c * size;
      for (let d = 0; d < size; d++) {
        const v = w[off + d]!;
        if (d !== c && v > 0) top.offer(active[d]!, v);
      }
      if (top.size > 0) out.push(active[c]!, top);
    }
    return out.finish();
  }
  if (model instanceof IalsModel) {
    // Candidates from co-occurrence (cosine), weighted by the factors' dot product y_i·y_j: the
    // item-item form of a fold-in without the (YᵀY + λI)⁻¹ term.
    const knn = fitItemKnn(m, 'itemknn', resolveItemKnnOptions({ neighbors: 2 * k }, 'itemknn'));
    const f = model.options.factors;
    const y = model.itemFactors;
    const out = new CsrBuilder(n, n * Math.min(k, 16));
    const top = new TopK(k);
    for (let i = 0; i < n; i++) {
      top.reset();
      for (let a = knn.simPtr[i]!; a < knn.simPtr[i + 1]!; a++) {
        const j = knn.simItems[a]!;
        if (j === i) continue;
        let s = 0;
        for (let p = 0; p < f; p++) s += y[i * f + p]! * y[j * f + p]!;
        if (s > 0) top.offer(j, s);
      }
      if (top.size > 0) out.push(i, top);
    }
    return out.finish();
  }
  return emptyCsr(n);
}

/**
 * Each user's best candidates as of training, history excluded. Linear item-item models: the
 * history's rows of the neighbour lists, weighted by the model's user values (SAR: weight ×
 * time decay) — the model's score restricted to the top-K neighbours. iALS: candidates from the
 * same rows, scored exactly x_u·y_i.
 */
export function userCandidates(
  model: Recommender,
  m: InteractionMatrix,
  nbr: { ptr: Int32Array; items: Int32Array; scores: Float32Array },
  k: number,
): { ptr: Int32Array; items: Int32Array; scores: Float32Array } {
  if (k === 0 || nbr.items.length === 0) return emptyCsr(m.userCount);
  const values = model instanceof ItemKnnModel || model instanceof EaseModel ? model.rows.values : undefined;
  const ials = model instanceof IalsModel ? model : undefined;
  const acc = new SparseScores(m.itemCount);
  const top = new TopK(k);
  const hist = new Uint8Array(m.itemCount);
  const out = new CsrBuilder(m.userCount, m.userCount * Math.min(k, 16));
  const f = ials?.options.factors ?? 0;
  for (let u = 0; u < m.userCount; u++) {
    const start = m.userPtr[u]!;
    const end = m.userPtr[u + 1]!;
    if (start === end) continue;
    for (let a = start; a < end; a++) {
      const j = m.userItems[a]!;
      hist[j] = 1;
      acc.addRow(nbr.items, nbr.scores, nbr.ptr[j]!, nbr.ptr[j + 1]!, values ? values[a]! : 1);
    }
    top.reset();
    for (let t = 0; t < acc.size; t++) {
      const i = acc.touched[t]!;
      if (hist[i] === 1) continue;
      let s = acc.values[i]!;
      if (ials) {
        s = 0;
        const xo = u * f;
        const yo = i * f;
        for (let p = 0; p < f; p++) s += ials.userFactors[xo + p]! * ials.itemFactors[yo + p]!;
      }
      if (s > 0) top.offer(i, s);
    }
    acc.clear();
    for (let a = start; a < end; a++) hist[m.userItems[a]!] = 0;
    if (top.size > 0) out.push(u, top);
  }
  return out.finish();
}

/** Time-decayed popularity: Σ over users of 2^(−age/halfLife), age from the newest interaction. */
export function decayedPopularity(m: InteractionMatrix, halfLifeSeconds: number): Float64Array {
  const pop = new Float64Array(m.itemCount);
  for (let u = 0; u < m.userCount; u++) {
    for (let a = m.userPtr[u]!; a < m.userPtr[u + 1]!; a++) {
      const age = m.maxTimestamp - m.userTimes[a]!;
      pop[m.userItems[a]!]! += halfLifeSeconds > 0 ? Math.pow(2, -age / halfLifeSeconds) : 1;
    }
  }
  return pop;
}

/** The k most popular items, best first. */
export function popularItems(pop: Float64Array, k: number): Int32Array {
  const top = topOfDense(pop, k);
  return top.items.slice(0, top.size);
}

function topOfDense(scores: Float64Array, k: number): TopK {
  const top = new TopK(k);
  for (let i = 0; i < scores.length; i++) if (scores[i]! > 0) top.offer(i, scores[i]!);
  return top;
}

/** Complements: item-item cosine over users' strong interactions (≥ minWeight: cart adds, purchases). */
export function complementsOf(
  m: InteractionMatrix,
  k: number,
  minWeight: number,
): { ptr: Int32Array; items: Int32Array; scores: Float32Array } {
  if (k === 0) return emptyCsr(m.itemCount);
  const rows: number[] = [];
  const users: number[] = [];
  for (let u = 0; u < m.userCount; u++) {
    for (let a = m.userPtr[u]!; a < m.userPtr[u + 1]!; a++) {
      if (m.userWeights[a]! >= minWeight) {
        rows.push(a);
        users.push(u);
      }
    }
  }
  if (rows.length === 0) return emptyCsr(m.itemCount);
  const log: InteractionLog = {
    length: rows.length,
    users: Int32Array.from(users),
    items: Int32Array.from(rows, (a) => m.userItems[a]!),
    weights: Float32Array.from(rows, (a) => m.userWeights[a]!),
    timestamps: Float64Array.from(rows, (a) => m.userTimes[a]!),
    userIds: m.userIds,
    itemIds: m.itemIds,
  };
  const strong = buildInteractionMatrix(log);
  const knn = fitItemKnn(
    strong,
    'itemknn',
    resolveItemKnnOptions({ neighbors: k + 1, similarity: 'cosine' }, 'itemknn'),
  );
  return topOfCsr(knn.simPtr, knn.simItems, knn.simValues, m.itemCount, k);
}

/** Per-category top items by popularity (itemCategory −1 = no category). */
export function categoryPopularity(pop: Float64Array, itemCategory: Int32Array, categoryCount: number, k: number) {
  if (k === 0 || categoryCount === 0) return emptyCsr(categoryCount);
  const tops: (TopK | undefined)[] = Array.from({ length: categoryCount }, () => undefined);
  for (let i = 0; i < pop.length; i++) {
    const c = i < itemCategory.length ? itemCategory[i]! : -1;
    if (c < 0 || c >= categoryCount || !(pop[i]! > 0)) continue;
    (tops[c] ??= new TopK(k)).offer(i, pop[i]!);
  }
  const out = new CsrBuilder(categoryCount, categoryCount * 4);
  for (let c = 0; c < categoryCount; c++) {
    const top = tops[c];
    if (top && top.size > 0) out.push(c, top);
  }
  return out.finish();
}

/** Per-segment top items by time-decayed popularity among the segment's members. */
export function segmentPopularity(
  m: InteractionMatrix,
  segments: readonly SegmentMembers[],
  canonical: (user: number) => number,
  halfLifeSeconds: number,
  k: number,
) {
  const out = new CsrBuilder(segments.length, segments.length * k);
  if (k === 0) return out.finish();
  const acc = new SparseScores(m.itemCount);
  for (let s = 0; s < segments.length; s++) {
    const seen = new Set<number>();
    for (const raw of segments[s]!.users) {
      const u = canonical(raw);
      if (u < 0 || u >= m.userCount || seen.has(u)) continue;
      seen.add(u);
      for (let a = m.userPtr[u]!; a < m.userPtr[u + 1]!; a++) {
        const age = m.maxTimestamp - m.userTimes[a]!;
        acc.add(m.userItems[a]!, halfLifeSeconds > 0 ? Math.pow(2, -age / halfLifeSeconds) : 1);
      }
    }
    const top = new TopK(k);
    for (let t = 0; t < acc.size; t++) top.offer(acc.touched[t]!, acc.values[acc.touched[t]!]!);
    acc.clear();
    out.push(s, top);
  }
  return out.finish();
}

export interface ServingInputs {
  readonly model: Recommender;
  readonly matrix: InteractionMatrix;
  readonly itemCategory: Int32Array;
  readonly categoryCount: number;
  readonly segments: readonly SegmentMembers[];
  readonly canonical: (user: number) => number;
  readonly settings: TrainerSettings;
}

/** Builds the whole serving form of a trained model. */
export function buildServingArrays(input: ServingInputs): ServingArrays {
  const { model, matrix: m, settings } = input;
  const halfLifeSeconds = settings.popularityHalfLifeMs / 1000;
  const nbr = itemNeighbours(model, m, settings.neighbors);
  const top = userCandidates(model, m, nbr, settings.userCandidates);
  const comp = complementsOf(m, settings.complements, settings.complementMinWeight);
  const pop = decayedPopularity(m, halfLifeSeconds);
  const popTop = topOfDense(pop, settings.popularItems);
  const cat = categoryPopularity(pop, input.itemCategory, input.categoryCount, settings.categoryItems);
  const seg = segmentPopularity(m, input.segments, input.canonical, halfLifeSeconds, settings.segmentItems);
  return {
    nbrPtr: nbr.ptr,
    nbrItems: nbr.items,
    nbrScores: nbr.scores,
    topPtr: top.ptr,
    topItems: top.items,
    topScores: top.scores,
    histPtr: m.userPtr.slice(),
    histItems: m.userItems.slice(),
    compPtr: comp.ptr,
    compItems: comp.items,
    compScores: comp.scores,
    catPtr: cat.ptr,
    catItems: cat.items,
    catScores: cat.scores,
    popItems: popTop.items.slice(0, popTop.size),
    popScores: Float32Array.from(popTop.scores.subarray(0, popTop.size)),
    segPtr: seg.ptr,
    segItems: seg.items,
    segScores: seg.scores,
  };
}
