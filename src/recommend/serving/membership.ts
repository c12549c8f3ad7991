import type { KeyState } from '../../stream/index.js';
import type { SegmentRef } from './options.js';

/**
 * Which profiles are in which live segment, learned from the profiles the stream changes (onCommit
 * changedKeys, read back in the background) and from the profiles requests read anyway. The
 * trainer turns it into "popular among the members of segment S" lists for cold start.
 */
export class MembershipTracker {
  private readonly pending = new Set<string>();
  private readonly members = new Map<string, readonly string[]>();
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly read: (profileKeys: readonly string[]) => Promise<readonly (KeyState | undefined)[]>,
    private readonly segmentsOf: (state: KeyState) => readonly SegmentRef[],
    private readonly maxProfiles = 1_000_000,
    private readonly chunk = 512,
  ) {}

  changed(profileKeys: readonly string[]): void {
    for (const key of profileKeys) this.pending.add(key);
  }

  /** A request read this profile's state and found these segments. */
  observe(profileKey: string, segments: readonly string[]): void {
    this.set(profileKey, segments);
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  get size(): number {
    return this.members.size;
  }

  /** Reads every pending profile (in chunks, yielding between them); concurrent calls share one pass. */
  flush(): Promise<void> {
    this.flushing ??= this.run().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** segment id → member profile keys. */
  bySegment(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [key, segments] of this.members) {
      for (const id of segments) {
        let list = out.get(id);
        if (!list) out.set(id, (list = []));
        list.push(key);
      }
    }
    return out;
  }

  private async run(): Promise<void> {
    while (this.pending.size > 0) {
      const keys: string[] = [];
      for (const key of this.pending) {
        keys.push(key);
        this.pending.delete(key);
        if (keys.length >= this.chunk) break;
      }
      const states = await this.read(keys);
      keys.forEach((key, index) => {
        const state = states[index];
        this.set(key, state && state.sealedInto === undefined ? this.segmentsOf(state).map((s) => s.id) : []);
      });
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private set(key: string, segments: readonly string[]): void {
    if (segments.length === 0) {
      this.members.delete(key);
      return;
    }
    if (!this.members.has(key) && this.members.size >= this.maxProfiles) return;
    this.members.set(key, segments);
  }
}
