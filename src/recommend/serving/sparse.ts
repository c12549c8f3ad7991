/**
 * Sparse score accumulation over a dense item index: a value per item plus the list of items
 * touched, so clearing and iterating cost the number of touched items, not the catalogue.
 */
export class SparseScores {
  readonly values: Float64Array;
  readonly touched: Int32Array;
  private readonly seen: Uint8Array;
  size = 0;

  constructor(readonly capacity: number) {
    this.values = new Float64Array(capacity);
    this.touched = new Int32Array(capacity);
    this.seen = new Uint8Array(capacity);
  }

  add(item: number, value: number): void {
    if (this.seen[item] === 0) {
      this.seen[item] = 1;
      this.touched[this.size++] = item;
    }
    this.values[item]! += value;
  }

  /** Adds w·row for a CSR row [start, end). */
  addRow(items: Int32Array, scores: Float32Array, start: number, end: number, w: number): void {
    for (let k = start; k < end; k++) this.add(items[k]!, w * scores[k]!);
  }

  max(): number {
    let m = 0;
    for (let k = 0; k < this.size; k++) {
      const v = this.values[this.touched[k]!]!;
      if (v > m) m = v;
    }
    return m;
  }

  /** Adds factor·this into `into` (every touched item). */
  addInto(into: SparseScores, factor: number): void {
    for (let k = 0; k < this.size; k++) {
      const i = this.touched[k]!;
      into.add(i, factor * this.values[i]!);
    }
  }

  clear(): void {
    for (let k = 0; k < this.size; k++) {
      const i = this.touched[k]!;
      this.values[i] = 0;
      this.seen[i] = 0;
    }
    this.size = 0;
  }
}

/** A reusable set of item indices (byte mask + member list). */
export class ItemMask {
  private readonly mask: Uint8Array;
  private readonly members: Int32Array;
  private size = 0;

  constructor(readonly capacity: number) {
    this.mask = new Uint8Array(capacity);
    this.members = new Int32Array(capacity);
  }

  add(item: number): void {
    if (item < 0 || item >= this.capacity || this.mask[item] === 1) return;
    this.mask[item] = 1;
    this.members[this.size++] = item;
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

/**
 * The k best (score, item) pairs offered, best first; ties to the lower item index. Insertion into
 * a sorted array: k is small (a page of recommendations) and so is the candidate count.
 */
export class TopK {
  readonly items: Int32Array;
  readonly scores: Float64Array;
  size = 0;
  /** How many are kept (at most the capacity given at construction; see reset). */
  k: number;

  constructor(readonly capacity: number) {
    this.k = capacity;
    this.items = new Int32Array(capacity);
    this.scores = new Float64Array(capacity);
  }

  offer(item: number, score: number): void {
    const k = this.k;
    if (k === 0) return;
    if (this.size === k) {
      const ls = this.scores[k - 1]!;
      if (score < ls || (score === ls && item > this.items[k - 1]!)) return;
    }
    let at = this.size < k ? this.size++ : k - 1;
    while (at > 0) {
      const ps = this.scores[at - 1]!;
      if (ps > score || (ps === score && this.items[at - 1]! < item)) break;
      this.scores[at] = ps;
      this.items[at] = this.items[at - 1]!;
      at--;
    }
    this.scores[at] = score;
    this.items[at] = item;
  }

  /** Empties it; `k` (≤ capacity) changes how many the next round keeps. */
  reset(k = this.k): void {
    this.k = Math.min(k, this.capacity);
    this.size = 0;
  }
}
