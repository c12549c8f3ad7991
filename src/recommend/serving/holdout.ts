import { buildInteractionMatrix } from '../interactions.js';
import type { InteractionLog, InteractionMatrix } from '../types.js';
import type { HoldoutMetrics } from './types.js';

/** The newest share of a matrix's (user, item) pairs, and the matrix of the rest. */
export interface HoldoutSplit {
  readonly train: InteractionMatrix;
  /** Held-out pairs whose user has training pairs (only they can be ranked). */
  readonly users: Int32Array;
  readonly items: Int32Array;
}

/**
 * Splits by time: the newest `fraction` of pairs (at most `max`) are held out, the rest is the
 * training matrix over the same dictionaries. Undefined when the split leaves nothing to score.
 */
export function timeHoldout(m: InteractionMatrix, fraction: number, max: number): HoldoutSplit | undefined {
  const nnz = m.userItems.length;
  const size = Math.min(max, Math.floor(nnz * fraction));
  if (size < 1 || size >= nnz) return undefined;
  const pairUser = new Int32Array(nnz);
  for (let u = 0; u < m.userCount; u++) for (let a = m.userPtr[u]!; a < m.userPtr[u + 1]!; a++) pairUser[a] = u;
  const order = Array.from({ length: nnz }, (_, a) => a).sort((a, b) => m.userTimes[a]! - m.userTimes[b]! || a - b);
  const cut = nnz - size;
  const trainRows = order.slice(0, cut);
  const log: InteractionLog = {
    length: trainRows.length,
    users: Int32Array.from(trainRows, (a) => pairUser[a]!),
    items: Int32Array.from(trainRows, (a) => m.userItems[a]!),
    weights: Float32Array.from(trainRows, (a) => m.userWeights[a]!),
    timestamps: Float64Array.from(trainRows, (a) => m.userTimes[a]!),
    userIds: m.userIds,
    itemIds: m.itemIds,
  };
  const train = buildInteractionMatrix(log);
  const users: number[] = [];
  const items: number[] = [];
  for (let k = cut; k < nnz; k++) {
    const a = order[k]!;
    const u = pairUser[a]!;
    if (train.userPtr[u + 1]! > train.userPtr[u]!) {
      users.push(u);
      items.push(m.userItems[a]!);
    }
  }
  if (users.length === 0) return undefined;
  return { train, users: Int32Array.from(users), items: Int32Array.from(items) };
}

/**
 * HR@k and nDCG@k of served lists on held-out pairs: a user's list is their precomputed
 * candidates (history excluded) filled up with popular items, as the live scorer fills it; the
 * baseline is popularity alone with the same exclusions.
 */
export function scoreHoldout(
  split: HoldoutSplit,
  top: { ptr: Int32Array; items: Int32Array },
  popular: Int32Array,
  k: number,
): HoldoutMetrics {
  const { train } = split;
  const byUser = new Map<number, number[]>();
  for (let q = 0; q < split.users.length; q++) {
    const u = split.users[q]!;
    let list = byUser.get(u);
    if (!list) byUser.set(u, (list = []));
    list.push(split.items[q]!);
  }
  let hits = 0;
  let popHits = 0;
  let ndcgSum = 0;
  const discount = (rank: number) => 1 / Math.log2(rank + 2);
  for (const [u, relevant] of byUser) {
    const hist = new Set<number>();
    for (let a = train.userPtr[u]!; a < train.userPtr[u + 1]!; a++) hist.add(train.userItems[a]!);
    const list: number[] = [];
    for (let a = top.ptr[u] ?? 0; a < (top.ptr[u + 1] ?? 0) && list.length < k; a++) list.push(top.items[a]!);
    for (let p = 0; p < popular.length && list.length < k; p++) {
      const i = popular[p]!;
      if (!hist.has(i) && !list.includes(i)) list.push(i);
    }
    const popList: number[] = [];
    for (let p = 0; p < popular.length && popList.length < k; p++)
      if (!hist.has(popular[p]!)) popList.push(popular[p]!);
    const rel = new Set(relevant);
    let dcg = 0;
    list.forEach((i, rank) => {
      if (rel.has(i)) dcg += discount(rank);
    });
    let idcg = 0;
    for (let r = 0; r < Math.min(rel.size, k); r++) idcg += discount(r);
    ndcgSum += idcg > 0 ? dcg / idcg : 0;
    for (const i of relevant) {
      if (list.includes(i)) hits++;
      if (popList.includes(i)) popHits++;
    }
  }
  const pairs = split.users.length;
  return {
    pairs,
    users: byUser.size,
    k,
    hitRate: hits / pairs,
    ndcg: ndcgSum / byUser.size,
    popularityHitRate: popHits / pairs,
  };
}
