/**
 * Which profiles are in which live segment, for segment popularity: learned from the enter/exit
 * records the segments operator commits (onCommit outbox, in commit order; no profile state is read
 * back) and from the profiles requests read anyway. The trainer turns it into "popular among the
 * members of segment S" lists for cold start.
 */
export class MembershipTracker {
  private readonly members = new Map<string, readonly string[]>();

  constructor(private readonly maxProfiles = 1_000_000) {}

  /** An enter (or exit) of an active segment version, as committed by the stream. */
  apply(profileKey: string, segmentId: string, entered: boolean): void {
    const current = this.members.get(profileKey) ?? [];
    if (current.includes(segmentId) === entered) return;
    this.set(profileKey, entered ? [...current, segmentId] : current.filter((id) => id !== segmentId));
  }

  /** A request read this profile's state and found these segments. */
  observe(profileKey: string, segments: readonly string[]): void {
    this.set(profileKey, segments);
  }

  get size(): number {
    return this.members.size;
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

  private set(key: string, segments: readonly string[]): void {
    if (segments.length === 0) {
      this.members.delete(key);
      return;
    }
    if (!this.members.has(key) && this.members.size >= this.maxProfiles) return;
    this.members.set(key, segments);
  }
}
