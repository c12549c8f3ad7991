/** One served list, as remembered for attribution. */
export interface Impression {
  readonly placement: string;
  readonly version: number;
}

/**
 * The last `capacity` impressions, for attributing a later `Product Clicked` / `Order Completed`
 * that carries `properties.recommendation_id`. Ids are `<prefix><sequence in base 36>`, so the
 * sequence number locates the slot of a ring of typed arrays: recording allocates nothing and keeps
 * nothing per response on the heap (a Map of 200k entries churned at every request would put the
 * garbage collector on the request path).
 */
export class ImpressionLog {
  private readonly sequences: Float64Array;
  private readonly placements: Uint16Array;
  private readonly versions: Int32Array;
  private readonly placementNames: string[] = [];
  private readonly placementIndex = new Map<string, number>();
  private next = 0;

  constructor(
    readonly capacity: number,
    /** Every id starts with it (unique per process start). */
    readonly prefix: string,
  ) {
    this.sequences = new Float64Array(capacity).fill(-1);
    this.placements = new Uint16Array(capacity);
    this.versions = new Int32Array(capacity);
  }

  /** Records the next impression and returns its recommendationId. */
  record(placement: string, version: number): string {
    const sequence = this.next++;
    const slot = sequence % this.capacity;
    let p = this.placementIndex.get(placement);
    if (p === undefined) {
      p = this.placementNames.length;
      this.placementNames.push(placement);
      this.placementIndex.set(placement, p);
    }
    this.sequences[slot] = sequence;
    this.placements[slot] = p;
    this.versions[slot] = version;
    return `${this.prefix}${sequence.toString(36)}`;
  }

  /** The impression of an id this process issued and still remembers. */
  get(recommendationId: string): Impression | undefined {
    if (!recommendationId.startsWith(this.prefix)) return undefined;
    const digits = recommendationId.slice(this.prefix.length);
    if (!/^[0-9a-z]{1,11}$/.test(digits)) return undefined;
    const sequence = parseInt(digits, 36);
    const slot = sequence % this.capacity;
    if (this.sequences[slot] !== sequence) return undefined;
    return { placement: this.placementNames[this.placements[slot]!]!, version: this.versions[slot]! };
  }

  /** Impressions recorded since start (the remembered ones are the last `capacity`). */
  get recorded(): number {
    return this.next;
  }
}
