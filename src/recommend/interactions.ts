import { RecommendErrors } from './errors.js';
import type { Interaction, InteractionLog, InteractionMatrix } from './types.js';

/** Dictionary-encodes interactions into a columnar log (ids in first-seen order). */
export function createInteractionLog(interactions: Iterable<Interaction>): InteractionLog {
  const builder = new InteractionLogBuilder();
  for (const it of interactions) builder.add(it.user, it.item, it.weight, it.timestamp);
  return builder.build();
}

/** Incremental builder used by the parsers (no intermediate objects per row). */
export class InteractionLogBuilder {
  private readonly userIndex = new Map<string, number>();
  private readonly itemIndex = new Map<string, number>();
  private readonly userIds: string[] = [];
  private readonly itemIds: string[] = [];
  private users = new Int32Array(1024);
  private items = new Int32Array(1024);
  private weights = new Float32Array(1024);
  private timestamps = new Float64Array(1024);
  private length = 0;

  add(user: string, item: string, weight: number, timestamp: number): void {
    if (this.length === this.users.length) this.grow();
    let u = this.userIndex.get(user);
    if (u === undefined) {
      u = this.userIds.length;
      this.userIndex.set(user, u);
      this.userIds.push(user);
    }
    let i = this.itemIndex.get(item);
    if (i === undefined) {
      i = this.itemIds.length;
      this.itemIndex.set(item, i);
      this.itemIds.push(item);
    }
    const r = this.length++;
    this.users[r] = u;
    this.items[r] = i;
    this.weights[r] = weight;
    this.timestamps[r] = timestamp;
  }

  build(): InteractionLog {
    const n = this.length;
    return {
      length: n,
      users: this.users.slice(0, n),
      items: this.items.slice(0, n),
      weights: this.weights.slice(0, n),
      timestamps: this.timestamps.slice(0, n),
      userIds: this.userIds,
      itemIds: this.itemIds,
    };
  }

  private grow(): void {
    const size = this.users.length * 2;
    const users = new Int32Array(size);
    users.set(this.users);
    const items = new Int32Array(size);
    items.set(this.items);
    const weights = new Float32Array(size);
    weights.set(this.weights);
    const timestamps = new Float64Array(size);
    timestamps.set(this.timestamps);
    this.users = users;
    this.items = items;
    this.weights = weights;
    this.timestamps = timestamps;
  }
}

/** The rows `rows` of a log, in that order, sharing its dictionaries (indices stay comparable). */
export function selectRows(log: InteractionLog, rows: ArrayLike<number>): InteractionLog {
  const n = rows.length;
  const users = new Int32Array(n);
  const items = new Int32Array(n);
  const weights = new Float32Array(n);
  const timestamps = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const r = rows[k]!;
    users[k] = log.users[r]!;
    items[k] = log.items[r]!;
    weights[k] = log.weights[r]!;
    timestamps[k] = log.timestamps[r]!;
  }
  return { length: n, users, items, weights, timestamps, userIds: log.userIds, itemIds: log.itemIds };
}

/**
 * Builds the CSR/CSC matrix of a log over its full dictionaries (users or items without rows get
 * empty rows/columns, so indices match the log and any split of it). Duplicate pairs merge: the
 * largest weight and the latest timestamp win.
 */
export function buildInteractionMatrix(log: InteractionLog): InteractionMatrix {
  const userCount = log.userIds.length;
  const itemCount = log.itemIds.length;
  if (log.length === 0) {
    throw RecommendErrors.create('RECOMMEND_EMPTY_TRAINING_SET');
  }
  // Counting sort of rows by user, then by item within the user.
  const order = sortRows(log, userCount, itemCount);
  const userPtr = new Int32Array(userCount + 1);
  const itemsTmp = new Int32Array(log.length);
  const weightsTmp = new Float32Array(log.length);
  const timesTmp = new Float64Array(log.length);
  let nnz = 0;
  let maxTimestamp = -Infinity;
  let prevUser = -1;
  let prevItem = -1;
  for (let k = 0; k < order.length; k++) {
    const r = order[k]!;
    const u = log.users[r]!;
    const i = log.items[r]!;
    const w = log.weights[r]!;
    const t = log.timestamps[r]!;
    if (t > maxTimestamp) maxTimestamp = t;
    if (u === prevUser && i === prevItem) {
      const last = nnz - 1;
      if (w > weightsTmp[last]!) weightsTmp[last] = w;
      if (t > timesTmp[last]!) timesTmp[last] = t;
      continue;
    }
    itemsTmp[nnz] = i;
    weightsTmp[nnz] = w;
    timesTmp[nnz] = t;
    userPtr[u + 1]!++;
    nnz++;
    prevUser = u;
    prevItem = i;
  }
  for (let u = 0; u < userCount; u++) userPtr[u + 1]! += userPtr[u]!;
  const userItems = itemsTmp.slice(0, nnz);
  const userWeights = weightsTmp.slice(0, nnz);
  const userTimes = timesTmp.slice(0, nnz);

  const itemPtr = new Int32Array(itemCount + 1);
  for (let k = 0; k < nnz; k++) itemPtr[userItems[k]! + 1]!++;
  for (let i = 0; i < itemCount; i++) itemPtr[i + 1]! += itemPtr[i]!;
  const fill = itemPtr.slice(0, itemCount);
  const itemUsers = new Int32Array(nnz);
  const itemWeights = new Float32Array(nnz);
  for (let u = 0; u < userCount; u++) {
    for (let k = userPtr[u]!; k < userPtr[u + 1]!; k++) {
      const i = userItems[k]!;
      const at = fill[i]!++;
      itemUsers[at] = u;
      itemWeights[at] = userWeights[k]!;
    }
  }
  return {
    userCount,
    itemCount,
    userPtr,
    userItems,
    userWeights,
    userTimes,
    itemPtr,
    itemUsers,
    itemWeights,
    userIds: log.userIds,
    itemIds: log.itemIds,
    maxTimestamp,
  };
}

function sortRows(log: InteractionLog, userCount: number, itemCount: number): Int32Array {
  // Two stable counting sorts: by item, then by user → ordered by (user, item, source order).
  const n = log.length;
  const byItem = countingSort(log.items, itemCount, identity(n));
  return countingSort(log.users, userCount, byItem);
}

function identity(n: number): Int32Array {
  const out = new Int32Array(n);
  for (let k = 0; k < n; k++) out[k] = k;
  return out;
}

function countingSort(keys: Int32Array, keyCount: number, rows: Int32Array): Int32Array {
  const counts = new Int32Array(keyCount + 1);
  for (let k = 0; k < rows.length; k++) counts[keys[rows[k]!]! + 1]!++;
  for (let c = 0; c < keyCount; c++) counts[c + 1]! += counts[c]!;
  const out = new Int32Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    out[counts[keys[r]!]!++] = r;
  }
  return out;
}

/** Number of non-zeros per item (column lengths). */
export function itemCounts(m: InteractionMatrix): Int32Array {
  const out = new Int32Array(m.itemCount);
  for (let i = 0; i < m.itemCount; i++) out[i] = m.itemPtr[i + 1]! - m.itemPtr[i]!;
  return out;
}
