/**
 * Pure request-time helpers: top-N selection with exclusions, blending a model score with a live
 * session score, popularity fallback. Nothing here allocates per item; callers reuse buffers.
 */
import type { TopN } from './types.js';

/** Returns true for an item index that must not be recommended. */
export type ItemFilter = (item: number) => boolean;

/**
 * A reusable exclusion set over item indices (a byte mask plus the list of set entries, so
 * clearing costs the number of entries, not the catalogue size).
 */
export class ItemExclusion {
  private readonly mask: Uint8Array;
  private readonly members: Int32Array;
  private size = 0;

  constructor(readonly itemCount: number) {
    this.mask = new Uint8Array(itemCount);
    this.members = new Int32Array(itemCount);
  }

  add(item: number): void {
    if (item < 0 || item >= this.itemCount || this.mask[item] === 1) return;
    this.mask[item] = 1;
    this.members[this.size++] = item;
  }

  addAll(items: ArrayLike<number>): void {
    for (let k = 0; k < items.length; k++) this.add(items[k]!);
  }

  has(item: number): boolean {
    return this.mask[item] === 1;
  }

  get count(): number {
    return this.size;
  }

  clear(): void {
    for (let k = 0; k < this.size; k++) this.mask[this.members[k]!] = 0;
    this.size = 0;
  }
}

export interface TopNOptions {
  /** Items never returned (seen, purchased, out of stock…). */
  readonly exclude?: ItemExclusion;
  /** Arbitrary business rule; true = drop the item. */
  readonly filter?: ItemFilter;
  /** Items with a score ≤ this are dropped (e.g. -Infinity for "unscorable"). @default -Infinity */
  readonly minScore?: number;
}

/**
 * The k best items of `scores`, best first; ties go to the lower index so results are
 * deterministic. A size-k min-heap: O(n log k), no allocation beyond the result.
 */
export function topN(scores: ArrayLike<number>, k: number, options: TopNOptions = {}): TopN {
  const { exclude, filter } = options;
  const minScore = options.minScore ?? -Infinity;
  const heapItems = new Int32Array(Math.max(0, k));
  const heapScores = new Float64Array(Math.max(0, k));
  let size = 0;
  if (k <= 0) return { items: heapItems, scores: heapScores };
  const n = scores.length;
  for (let i = 0; i < n; i++) {
    const s = scores[i]!;
    if (!(s > minScore)) continue;
    if (size === k) {
      // The root is the worst kept; a later index with an equal score loses the tie.
      const rs = heapScores[0]!;
      if (s <= rs) continue;
    }
    if (exclude !== undefined && exclude.has(i)) continue;
    if (filter !== undefined && filter(i)) continue;
    if (size < k) {
      let c = size++;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (!worse(s, i, heapScores[p]!, heapItems[p]!)) break;
        heapScores[c] = heapScores[p]!;
        heapItems[c] = heapItems[p]!;
        c = p;
      }
      heapScores[c] = s;
      heapItems[c] = i;
    } else {
      siftDown(heapScores, heapItems, size, s, i);
    }
  }
  // Pop the heap into best-first order.
  const items = new Int32Array(size);
  const out = new Float64Array(size);
  for (let at = size - 1; at >= 0; at--) {
    items[at] = heapItems[0]!;
    out[at] = heapScores[0]!;
    const last = --size;
    if (last > 0) siftDown(heapScores, heapItems, last, heapScores[last]!, heapItems[last]!);
  }
  return { items, scores: out };
}

/** True when (sa, ia) ranks below (sb, ib): lower score, or same score and higher index. */
function worse(sa: number, ia: number, sb: number, ib: number): boolean {
  return sa < sb || (sa === sb && ia > ib);
}

function siftDown(hs: Float64Array, hi: Int32Array, size: number, s: number, i: number): void {
  let c = 0;
  for (;;) {
    const l = 2 * c + 1;
    if (l >= size) break;
    const r = l + 1;
    let m = l;
    if (r < size && worse(hs[r]!, hi[r]!, hs[l]!, hi[l]!)) m = r;
    if (!worse(hs[m]!, hi[m]!, s, i)) break;
    hs[c] = hs[m]!;
    hi[c] = hi[m]!;
    c = m;
  }
  hs[c] = s;
  hi[c] = i;
}

/**
 * out[i] = userScores[i] + sessionWeight · sessionScores[i]. For the linear item-item models
 * (EASE, SAR) a weight of 1 is exactly the score of history ∪ session.
 */
export function blendScores(
  out: Float64Array,
  userScores: ArrayLike<number>,
  sessionScores: ArrayLike<number>,
  sessionWeight: number,
): Float64Array {
  for (let i = 0; i < out.length; i++) out[i] = userScores[i]! + sessionWeight * sessionScores[i]!;
  return out;
}

/** Scales a score vector in place so its largest absolute value is 1 (blend scores of other scales). */
export function normalizeMaxAbs(scores: Float64Array): Float64Array {
  let m = 0;
  for (let i = 0; i < scores.length; i++) {
    const a = Math.abs(scores[i]!);
    if (a > m) m = a;
  }
  if (m > 0) for (let i = 0; i < scores.length; i++) scores[i]! /= m;
  return scores;
}

/**
 * Session weights with exponential recency decay: weight · 2^(−age/halfLife). Items the visitor
 * saw minutes ago dominate items from the start of a long visit.
 */
export function decaySessionWeights(
  weights: ArrayLike<number>,
  timesMs: ArrayLike<number>,
  nowMs: number,
  halfLifeMs: number,
  out: Float64Array = new Float64Array(weights.length),
): Float64Array {
  for (let k = 0; k < weights.length; k++) {
    const age = Math.max(0, nowMs - timesMs[k]!);
    out[k] = weights[k]! * (halfLifeMs > 0 ? Math.pow(2, -age / halfLifeMs) : 1);
  }
  return out;
}

/**
 * Cold-start fallback: when the personal score is empty (unknown user, empty session), rank by
 * popularity; otherwise add a tiny popularity term that only breaks ties between equal scores.
 */
export function withPopularityFallback(
  out: Float64Array,
  personal: ArrayLike<number> | undefined,
  popularity: ArrayLike<number>,
): Float64Array {
  if (personal === undefined) {
    for (let i = 0; i < out.length; i++) out[i] = popularity[i]!;
    return out;
  }
  let maxPop = 0;
  for (let i = 0; i < popularity.length; i++) if (popularity[i]! > maxPop) maxPop = popularity[i]!;
  const eps = maxPop > 0 ? 1e-9 / maxPop : 0;
  for (let i = 0; i < out.length; i++) out[i] = personal[i]! + eps * popularity[i]!;
  return out;
}
