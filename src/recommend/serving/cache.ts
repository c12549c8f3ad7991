import type { RecommendSource } from './types.js';

/** A cached list: the `items` JSON of a response, for one model version. */
export interface CachedList {
  readonly version: number;
  /** The profile state it was computed from: its key ('' without a profile), event count and last update (−1 without). */
  readonly stateKey: string;
  readonly stateEvents: number;
  readonly stateUpdatedMs: number;
  readonly itemsJson: string;
  /** Items in the list. */
  readonly count: number;
  readonly placement: string;
  readonly source: RecommendSource;
  readonly expiresAtMs: number;
}

/**
 * Recommendation lists keyed by (profile, placement, itemId, n). An entry is served only for the
 * model version and the profile state it was computed from, and before its TTL; a commit that
 * changes the profile (onCommit changedKeys) drops the profile's entries.
 * Entries are grouped per profile key, so invalidation costs O(1) per changed key; a request key
 * that resolved to another canonical key (merged identities) is remembered so either invalidates.
 */
export class RecommendationCache {
  private readonly byProfile = new Map<string, Map<string, CachedList>>();
  /** canonical key → request keys cached under another name. */
  private readonly aliases = new Map<string, Set<string>>();
  private entries = 0;

  constructor(
    private readonly maxEntries: number,
    readonly ttlMs: number,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  get size(): number {
    return this.entries;
  }

  get(profileKey: string, subKey: string, version: number, nowMs: number): CachedList | undefined {
    const entry = this.byProfile.get(profileKey)?.get(subKey);
    if (entry === undefined || entry.version !== version || entry.expiresAtMs <= nowMs) return undefined;
    return entry;
  }

  set(profileKey: string, canonicalKey: string | undefined, subKey: string, entry: CachedList): void {
    if (!this.enabled) return;
    let lists = this.byProfile.get(profileKey);
    if (!lists) {
      while (this.entries >= this.maxEntries && this.evictOldest()) {
        // evicted one profile
      }
      lists = new Map();
      this.byProfile.set(profileKey, lists);
    }
    if (!lists.has(subKey)) this.entries++;
    lists.set(subKey, entry);
    if (canonicalKey !== undefined && canonicalKey !== profileKey) {
      let set = this.aliases.get(canonicalKey);
      if (!set) this.aliases.set(canonicalKey, (set = new Set()));
      set.add(profileKey);
    }
  }

  /** Drops every list of a profile (and of request keys that resolved to it). */
  invalidate(profileKey: string): void {
    this.drop(profileKey);
    const aliased = this.aliases.get(profileKey);
    if (aliased) {
      this.aliases.delete(profileKey);
      for (const key of aliased) this.drop(key);
    }
  }

  clear(): void {
    this.byProfile.clear();
    this.aliases.clear();
    this.entries = 0;
  }

  private drop(key: string): void {
    const lists = this.byProfile.get(key);
    if (!lists) return;
    this.entries -= lists.size;
    this.byProfile.delete(key);
  }

  private evictOldest(): boolean {
    const oldest = this.byProfile.keys().next();
    if (oldest.done) return false;
    this.drop(oldest.value);
    return true;
  }
}
