/** One served list, remembered for attribution. */
export interface Impression {
  readonly placement: string;
  readonly version: number;
  readonly itemIds: readonly string[];
}

/**
 * The last `capacity` impressions by recommendationId (a ring: the oldest is forgotten first), so
 * a later `Product Clicked` / `Order Completed` carrying `properties.recommendation_id` can be
 * attributed to the list, its placement and its model version.
 */
export class ImpressionLog {
  private readonly ring: (string | undefined)[];
  private readonly byId = new Map<string, Impression>();
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<string | undefined>(capacity);
  }

  record(recommendationId: string, impression: Impression): void {
    const old = this.ring[this.next];
    if (old !== undefined) this.byId.delete(old);
    this.ring[this.next] = recommendationId;
    this.next = (this.next + 1) % this.capacity;
    this.byId.set(recommendationId, impression);
  }

  get(recommendationId: string): Impression | undefined {
    return this.byId.get(recommendationId);
  }

  get size(): number {
    return this.byId.size;
  }
}
