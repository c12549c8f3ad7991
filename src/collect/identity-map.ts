/**
 * The identity map: which profile key routes to which. Edges are the links as created (and as persisted
 * in the metadata store, collection `identity`); a key without an edge is a root (a live profile).
 * Resolution follows edges to the root; resolved paths of two hops or more are cached (path
 * compression) in a side table that is dropped whenever an existing edge changes, so the cache never
 * disagrees with the persisted edges.
 */

/** One change made to the map, kept to persist it once durable and to undo it if the append fails. */
export interface IdentityChange {
  /** `link`: a root merged into another profile (a seal is emitted). `relink`: a linked key re-pointed (routing only). */
  readonly kind: 'link' | 'relink';
  readonly fromKey: string;
  readonly toKey: string;
  /** The edge before the change (relink only). */
  readonly previous: string | undefined;
}

export type LinkOutcome = IdentityChange | 'cycle' | 'unchanged';

/** Upper bound on the hops a resolution follows (edges never form cycles; this guards a corrupt map). */
const MAX_HOPS = 1000;

export class IdentityMap {
  private readonly edges = new Map<string, string>();
  private readonly compressed = new Map<string, string>();

  get size(): number {
    return this.edges.size;
  }

  /** Loads persisted edges (start-up). */
  load(fromKey: string, toKey: string): void {
    this.edges.set(fromKey, toKey);
  }

  isLinked(key: string): boolean {
    return this.edges.has(key);
  }

  edge(key: string): string | undefined {
    return this.edges.get(key);
  }

  /** The root profile key `key` routes to (itself when unlinked). */
  resolve(key: string): string {
    const cached = this.compressed.get(key);
    let current = cached ?? key;
    let hops = 0;
    for (let next = this.edges.get(current); next !== undefined; next = this.edges.get(current)) {
      current = next;
      if (++hops > MAX_HOPS) break;
    }
    if (current !== key && (hops >= 2 || (cached !== undefined && hops >= 1))) this.compressed.set(key, current);
    return current;
  }

  /**
   * Links `fromKey` into `toKey`. A root becomes linked (`link`: its state merges into the survivor); a
   * key already linked elsewhere is re-pointed (`relink`: routing only, no second merge). A link that would
   * make a cycle is ignored (`cycle`); one that changes nothing is `unchanged`.
   */
  link(fromKey: string, toKey: string): LinkOutcome {
    if (fromKey === toKey) return 'cycle';
    const previous = this.edges.get(fromKey);
    if (previous === undefined) {
      if (this.resolve(toKey) === fromKey) return 'cycle';
      this.edges.set(fromKey, toKey);
      return { kind: 'link', fromKey, toKey, previous: undefined };
    }
    if (previous === toKey) return 'unchanged';
    // Re-pointing fromKey is a cycle when fromKey is on toKey's path to its root.
    let current = toKey;
    for (let hops = 0; hops <= MAX_HOPS; hops++) {
      if (current === fromKey) return 'cycle';
      const next = this.edges.get(current);
      if (next === undefined) break;
      current = next;
    }
    // Same root already: the edge would change nothing about routing.
    if (this.resolve(fromKey) === current) return 'unchanged';
    this.edges.set(fromKey, toKey);
    this.compressed.clear();
    return { kind: 'relink', fromKey, toKey, previous };
  }

  /** Reverts a change whose append failed (only if nothing changed that edge since). */
  undo(change: IdentityChange): void {
    if (this.edges.get(change.fromKey) !== change.toKey) return;
    if (change.previous === undefined) this.edges.delete(change.fromKey);
    else this.edges.set(change.fromKey, change.previous);
    this.compressed.clear();
  }
}
