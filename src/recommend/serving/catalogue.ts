import { Dictionary } from './dictionary.js';
import type { ProductFacts } from './events.js';

/** Catalogue changes since the last hand-over (main thread → trainer), or a whole catalogue. */
export interface CatalogueDelta {
  /** Categories added since `categoryBase` (indices categoryBase, categoryBase + 1, …). */
  readonly categoryBase: number;
  readonly newCategories: readonly string[];
  /** Changed items and their current facts (category index −1 = unknown, price NaN = unknown). */
  readonly items: Int32Array;
  readonly categories: Int32Array;
  readonly prices: Float64Array;
  readonly available: Uint8Array;
  readonly names: readonly (string | null)[];
}

/**
 * The item catalogue learned from events (category, price, name, stock) over the shared item
 * index. Business rules read it on the request path: category boosts, out-of-stock filtering.
 */
export class Catalogue {
  readonly categories = new Dictionary();
  private category = new Int32Array(1024).fill(-1);
  private price = new Float64Array(1024).fill(NaN);
  private availableFlags = new Uint8Array(1024).fill(1);
  private readonly names = new Map<number, string>();
  private readonly dirty = new Set<number>();
  private sentCategories = 0;

  /** Category index of an item, −1 when unknown. */
  categoryOf(item: number): number {
    return item < this.category.length ? this.category[item]! : -1;
  }

  priceOf(item: number): number {
    return item < this.price.length ? this.price[item]! : NaN;
  }

  nameOf(item: number): string | undefined {
    return this.names.get(item);
  }

  isAvailable(item: number): boolean {
    return item >= this.availableFlags.length || this.availableFlags[item] === 1;
  }

  /** Records what an event says about an item; true when something changed. */
  apply(item: number, facts: ProductFacts): boolean {
    this.ensure(item + 1);
    let changed = false;
    if (facts.category !== undefined) {
      const c = this.categories.intern(facts.category);
      if (this.category[item] !== c) {
        this.category[item] = c;
        changed = true;
      }
    }
    if (facts.price !== undefined && this.price[item] !== facts.price) {
      this.price[item] = facts.price;
      changed = true;
    }
    if (facts.name !== undefined && this.names.get(item) !== facts.name) {
      this.names.set(item, facts.name);
      changed = true;
    }
    if (facts.available !== undefined) {
      const flag = facts.available ? 1 : 0;
      if (this.availableFlags[item] !== flag) {
        this.availableFlags[item] = flag;
        changed = true;
      }
    }
    if (changed) this.dirty.add(item);
    return changed;
  }

  /** The changes since the last call (what the trainer has not seen yet). */
  takeDelta(): CatalogueDelta {
    const items = Int32Array.from(this.dirty);
    this.dirty.clear();
    const delta = this.slice(items, this.sentCategories);
    this.sentCategories = this.categories.size;
    return delta;
  }

  /** Everything, as one delta (snapshots, a restarted trainer). */
  fullDelta(itemCount: number): CatalogueDelta {
    const items: number[] = [];
    for (let i = 0; i < Math.min(itemCount, this.category.length); i++) {
      if (this.category[i] !== -1 || !Number.isNaN(this.price[i]!) || this.availableFlags[i] === 0 || this.names.has(i))
        items.push(i);
    }
    return this.slice(Int32Array.from(items), 0);
  }

  /** Marks everything as handed over up to now (after a full hand-over). */
  markSent(): void {
    this.dirty.clear();
    this.sentCategories = this.categories.size;
  }

  applyDelta(delta: CatalogueDelta): void {
    for (let k = 0; k < delta.newCategories.length; k++) {
      const at = this.categories.intern(delta.newCategories[k]!);
      if (at !== delta.categoryBase + k)
        throw new Error(`category dictionary out of step (${at} ≠ ${delta.categoryBase + k})`);
    }
    for (let k = 0; k < delta.items.length; k++) {
      const item = delta.items[k]!;
      this.ensure(item + 1);
      this.category[item] = delta.categories[k]!;
      this.price[item] = delta.prices[k]!;
      this.availableFlags[item] = delta.available[k]!;
      const name = delta.names[k];
      if (name === null || name === undefined) this.names.delete(item);
      else this.names.set(item, name);
    }
  }

  /** Category index per item for items [0, itemCount). */
  categoryArray(itemCount: number): Int32Array {
    this.ensure(itemCount);
    return this.category.slice(0, itemCount);
  }

  private slice(items: Int32Array, categoryBase: number): CatalogueDelta {
    const categories = new Int32Array(items.length);
    const prices = new Float64Array(items.length);
    const available = new Uint8Array(items.length);
    const names: (string | null)[] = [];
    for (let k = 0; k < items.length; k++) {
      const i = items[k]!;
      categories[k] = this.category[i]!;
      prices[k] = this.price[i]!;
      available[k] = this.availableFlags[i]!;
      names.push(this.names.get(i) ?? null);
    }
    return {
      categoryBase,
      newCategories: this.categories.since(categoryBase),
      items,
      categories,
      prices,
      available,
      names,
    };
  }

  private ensure(size: number): void {
    if (size <= this.category.length) return;
    let cap = this.category.length;
    while (cap < size) cap *= 2;
    const category = new Int32Array(cap).fill(-1);
    category.set(this.category);
    const price = new Float64Array(cap).fill(NaN);
    price.set(this.price);
    const available = new Uint8Array(cap).fill(1);
    available.set(this.availableFlags);
    this.category = category;
    this.price = price;
    this.availableFlags = available;
  }
}
