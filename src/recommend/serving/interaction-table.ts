import type { InteractionLog, InteractionMatrix } from '../types.js';
import { Catalogue, type CatalogueDelta } from './catalogue.js';
import { decodeContainer, encodeContainer } from './container.js';
import { Dictionary } from './dictionary.js';
import { RecommendServingErrors } from './errors.js';

/**
 * New interactions handed from the main thread (which tails the log and owns the dictionaries) to
 * the trainer: new dictionary entries, rows, identity merges, catalogue changes, and the log
 * positions they bring the table to. Typed arrays are transferred, not copied.
 */
export interface InteractionDelta {
  readonly userBase: number;
  readonly newUsers: readonly string[];
  readonly itemBase: number;
  readonly newItems: readonly string[];
  readonly users: Int32Array;
  readonly items: Int32Array;
  readonly weights: Float32Array;
  /** Unix seconds (the unit of the offline models). */
  readonly times: Float64Array;
  /** Identity merges as (from, into) user index pairs: from's interactions count for into. */
  readonly merges: Int32Array;
  readonly catalogue: CatalogueDelta;
  /** Next log offset per partition once this delta is applied. */
  readonly positions: readonly number[];
  /** Log records consumed to produce this delta. */
  readonly records: number;
}

/** Growable columnar rows (main thread side): what the next delta carries. */
export class DeltaBuffer {
  private users = new Int32Array(1024);
  private items = new Int32Array(1024);
  private weights = new Float32Array(1024);
  private times = new Float64Array(1024);
  private merges: number[] = [];
  length = 0;
  records = 0;

  add(user: number, item: number, weight: number, timeSeconds: number): void {
    if (this.length === this.users.length) this.grow();
    const r = this.length++;
    this.users[r] = user;
    this.items[r] = item;
    this.weights[r] = weight;
    this.times[r] = timeSeconds;
  }

  merge(from: number, into: number): void {
    this.merges.push(from, into);
  }

  get empty(): boolean {
    return this.length === 0 && this.merges.length === 0 && this.records === 0;
  }

  take(
    users: Dictionary,
    userBase: number,
    items: Dictionary,
    itemBase: number,
    catalogue: CatalogueDelta,
    positions: readonly number[],
  ): InteractionDelta {
    const n = this.length;
    const delta: InteractionDelta = {
      userBase,
      newUsers: users.since(userBase),
      itemBase,
      newItems: items.since(itemBase),
      users: this.users.slice(0, n),
      items: this.items.slice(0, n),
      weights: this.weights.slice(0, n),
      times: this.times.slice(0, n),
      merges: Int32Array.from(this.merges),
      catalogue,
      positions: [...positions],
      records: this.records,
    };
    this.length = 0;
    this.records = 0;
    this.merges = [];
    return delta;
  }

  private grow(): void {
    const size = this.users.length * 2;
    const users = new Int32Array(size);
    users.set(this.users);
    const items = new Int32Array(size);
    items.set(this.items);
    const weights = new Float32Array(size);
    weights.set(this.weights);
    const times = new Float64Array(size);
    times.set(this.times);
    this.users = users;
    this.items = items;
    this.weights = weights;
    this.times = times;
  }
}

/** The buffers of a delta, for postMessage's transfer list. */
export function deltaTransfer(delta: InteractionDelta): ArrayBuffer[] {
  const c = delta.catalogue;
  return [
    delta.users,
    delta.items,
    delta.weights,
    delta.times,
    delta.merges,
    c.items,
    c.categories,
    c.prices,
    c.available,
  ].map((a) => a.buffer as ArrayBuffer);
}

const SNAPSHOT_MAGIC = 'KRS1';

/**
 * The trainer's interaction table: every (user, item, weight, time) row handed over, compacted
 * to one row per pair after each training (largest weight, latest time: the offline merge rule),
 * identity merges as a user alias, and the catalogue. Indices are the main thread's dictionaries.
 */
export class InteractionTable {
  readonly users = new Dictionary();
  readonly items = new Dictionary();
  readonly catalogue = new Catalogue();
  private rowUsers = new Int32Array(1024);
  private rowItems = new Int32Array(1024);
  private rowWeights = new Float32Array(1024);
  private rowTimes = new Float64Array(1024);
  private alias = new Int32Array(1024).fill(-1);
  length = 0;
  positions: number[] = [];
  records = 0;
  /** Rows added since the last training. */
  fresh = 0;

  constructor(partitionCount: number) {
    this.positions = Array.from({ length: partitionCount }, () => 0);
  }

  apply(delta: InteractionDelta): void {
    this.extend(this.users, delta.userBase, delta.newUsers, 'user');
    this.extend(this.items, delta.itemBase, delta.newItems, 'item');
    this.catalogue.applyDelta(delta.catalogue);
    for (let k = 0; k < delta.users.length; k++) {
      this.push(delta.users[k]!, delta.items[k]!, delta.weights[k]!, delta.times[k]!);
    }
    this.fresh += delta.users.length;
    for (let k = 0; k + 1 < delta.merges.length; k += 2) this.mergeUsers(delta.merges[k]!, delta.merges[k + 1]!);
    this.positions = [...delta.positions];
    this.records += delta.records;
  }

  /** The user every interaction of `user` counts for (follows identity merges). */
  canonical(user: number): number {
    let u = user;
    for (let hops = 0; hops < 64; hops++) {
      const next = u < this.alias.length ? this.alias[u]! : -1;
      if (next < 0 || next === u) return u;
      u = next;
    }
    return u;
  }

  /** The rows as a columnar log over the full dictionaries, merged users mapped to their survivor. */
  toLog(): InteractionLog {
    const n = this.length;
    const users = new Int32Array(n);
    for (let r = 0; r < n; r++) users[r] = this.canonical(this.rowUsers[r]!);
    return {
      length: n,
      users,
      items: this.rowItems.slice(0, n),
      weights: this.rowWeights.slice(0, n),
      timestamps: this.rowTimes.slice(0, n),
      userIds: this.users.ids,
      itemIds: this.items.ids,
    };
  }

  /** Replaces the rows by the matrix's non-zeros (one row per pair); rows added since stay. */
  compact(m: InteractionMatrix, rowsCovered: number): void {
    const extra = this.length - rowsCovered;
    const keepUsers = this.rowUsers.slice(rowsCovered, this.length);
    const keepItems = this.rowItems.slice(rowsCovered, this.length);
    const keepWeights = this.rowWeights.slice(rowsCovered, this.length);
    const keepTimes = this.rowTimes.slice(rowsCovered, this.length);
    this.length = 0;
    for (let u = 0; u < m.userCount; u++) {
      for (let k = m.userPtr[u]!; k < m.userPtr[u + 1]!; k++)
        this.push(u, m.userItems[k]!, m.userWeights[k]!, m.userTimes[k]!);
    }
    for (let k = 0; k < extra; k++) this.push(keepUsers[k]!, keepItems[k]!, keepWeights[k]!, keepTimes[k]!);
  }

  encode(snapshotId: string): Buffer {
    const n = this.length;
    const catalogue = this.catalogue.fullDelta(this.items.size);
    return encodeContainer(
      SNAPSHOT_MAGIC,
      {
        snapshotId,
        positions: this.positions,
        records: this.records,
        userIds: this.users.ids,
        itemIds: this.items.ids,
        categories: catalogue.newCategories,
        names: catalogue.names,
      },
      {
        users: this.rowUsers.subarray(0, n),
        items: this.rowItems.subarray(0, n),
        weights: this.rowWeights.subarray(0, n),
        times: this.rowTimes.subarray(0, n),
        alias: this.alias.subarray(0, this.users.size),
        catItems: catalogue.items,
        catCategories: catalogue.categories,
        catPrices: catalogue.prices,
        catAvailable: catalogue.available,
      },
    );
  }

  static decode(buffer: Uint8Array, partitionCount: number): { table: InteractionTable; snapshotId: string } {
    const { header, arrays } = decodeContainer(SNAPSHOT_MAGIC, buffer);
    const h = header as {
      snapshotId: string;
      positions: number[];
      records: number;
      userIds: string[];
      itemIds: string[];
      categories: string[];
      names: (string | null)[];
    };
    const table = new InteractionTable(partitionCount);
    if (!Array.isArray(h.positions) || h.positions.length !== partitionCount) {
      throw RecommendServingErrors.create(
        'RECOMMEND_INVALID_SNAPSHOT',
        `snapshot has ${h.positions?.length} partitions, the log ${partitionCount}`,
      );
    }
    for (const id of h.userIds) table.users.intern(id);
    for (const id of h.itemIds) table.items.intern(id);
    table.catalogue.applyDelta({
      categoryBase: 0,
      newCategories: h.categories,
      items: arrays.catItems as Int32Array,
      categories: arrays.catCategories as Int32Array,
      prices: arrays.catPrices as Float64Array,
      available: arrays.catAvailable as Uint8Array,
      names: h.names,
    });
    table.catalogue.markSent();
    const users = arrays.users as Int32Array;
    const items = arrays.items as Int32Array;
    const weights = arrays.weights as Float32Array;
    const times = arrays.times as Float64Array;
    for (let r = 0; r < users.length; r++) table.push(users[r]!, items[r]!, weights[r]!, times[r]!);
    const alias = arrays.alias as Int32Array;
    for (let u = 0; u < alias.length; u++) if (alias[u]! >= 0) table.mergeUsers(u, alias[u]!);
    table.positions = [...h.positions];
    table.records = h.records;
    table.fresh = 0;
    return { table, snapshotId: h.snapshotId };
  }

  private mergeUsers(from: number, into: number): void {
    const target = this.canonical(into);
    const source = this.canonical(from);
    if (source === target) return;
    this.ensureAlias(Math.max(from, into) + 1);
    this.alias[source] = target;
  }

  /** Adds the ids of a delta; ids at indices we already have must match (a restarted trainer is re-sent them). */
  private extend(dict: Dictionary, base: number, ids: readonly string[], what: string): void {
    for (let k = 0; k < ids.length; k++) {
      const at = base + k;
      if (at < dict.size) {
        if (dict.ids[at] !== ids[k]) throw new Error(`${what} dictionary out of step at ${at}`);
      } else if (at === dict.size) {
        dict.intern(ids[k]!);
      } else {
        throw new Error(`${what} dictionary out of step (index ${at}, have ${dict.size})`);
      }
    }
  }

  private ensureAlias(size: number): void {
    if (size <= this.alias.length) return;
    let cap = this.alias.length;
    while (cap < size) cap *= 2;
    const alias = new Int32Array(cap).fill(-1);
    alias.set(this.alias);
    this.alias = alias;
  }

  private push(u: number, i: number, w: number, t: number): void {
    if (this.length === this.rowUsers.length) {
      const size = this.rowUsers.length * 2;
      const users = new Int32Array(size);
      users.set(this.rowUsers);
      const items = new Int32Array(size);
      items.set(this.rowItems);
      const weights = new Float32Array(size);
      weights.set(this.rowWeights);
      const times = new Float64Array(size);
      times.set(this.rowTimes);
      this.rowUsers = users;
      this.rowItems = items;
      this.rowWeights = weights;
      this.rowTimes = times;
    }
    const r = this.length++;
    this.rowUsers[r] = u;
    this.rowItems[r] = i;
    this.rowWeights[r] = w;
    this.rowTimes[r] = t;
  }
}
