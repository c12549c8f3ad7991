/**
 * An append-only string dictionary: ids get dense indices in first-seen order and never change
 * them, so every model version, the trainer and the live scorer share one index space (a model
 * trained on the first n items indexes exactly those n).
 */
export class Dictionary {
  readonly ids: string[] = [];
  private readonly index = new Map<string, number>();

  constructor(ids: Iterable<string> = []) {
    for (const id of ids) this.intern(id);
  }

  get size(): number {
    return this.ids.length;
  }

  /** The index of `id`, or −1. */
  get(id: string): number {
    return this.index.get(id) ?? -1;
  }

  /** The index of `id`, adding it when new. */
  intern(id: string): number {
    let i = this.index.get(id);
    if (i === undefined) {
      i = this.ids.length;
      this.index.set(id, i);
      this.ids.push(id);
    }
    return i;
  }

  /** The ids added at or after `from`. */
  since(from: number): string[] {
    return this.ids.slice(from);
  }
}
