import type { Clock } from '../../core/index.js';
import type { MetadataStore } from '../../store/index.js';

/** Metadata collection of the stream workers' heartbeats: id = member id, doc = MemberDoc. */
export const MEMBERS_COLLECTION = 'stream-members';

/** What a worker publishes about itself, rewritten at every heartbeat. */
export interface MemberDoc {
  readonly id: string;
  /** Heartbeat sequence: advances at every heartbeat. Liveness is judged on it, not on timestamps. */
  readonly beat: number;
  /** Partitions whose tasks run (or are being released) here. */
  readonly owned: readonly number[];
  readonly startedAtMs: number;
  /** Wall-clock time of the write, by the member's clock (informational, and for very stale docs). */
  readonly updatedAtMs: number;
  readonly host: string;
  readonly pid: number;
  /** Where its /readyz answers, when it serves HTTP. */
  readonly url?: string;
}

export interface MembershipView {
  /** Live members (this one included, first heartbeat or not), sorted by id. */
  readonly live: readonly MemberDoc[];
  /** Members whose heartbeat stopped. */
  readonly dead: readonly MemberDoc[];
}

export interface MembershipOptions {
  readonly metadata: MetadataStore;
  readonly memberId: string;
  readonly clock: Clock;
  /** A member whose beat has not advanced for this long, by this observer's clock, is dead. */
  readonly ttlMs: number;
  /**
   * A doc whose own `updatedAtMs` is older than this (by our clock) is dead at first sight: a member
   * that died long ago need not be watched for a whole ttl. Generous, since clocks of machines differ.
   * @default 15 × ttlMs
   */
  readonly staleAfterMs?: number;
  /** Dead members' docs are deleted after this long unseen alive (housekeeping). @default 20 × ttlMs */
  readonly forgetAfterMs?: number;
  readonly info: { readonly host: string; readonly pid: number; readonly url?: string; readonly startedAtMs: number };
}

interface Observation {
  beat: number;
  /** Our clock when we saw the beat change. */
  changedAtMs: number;
}

/**
 * Worker membership in the MetadataStore (PostgreSQL when distributed): each worker rewrites its doc
 * with an increasing `beat`; every observer judges liveness by **its own clock**: a member whose beat
 * has not changed for `ttlMs` since this observer last saw it change is dead. No clocks are compared
 * across machines (a skewed clock cannot make a live worker look dead or a dead one look alive), and no
 * store-side TTL is needed, so any MetadataStore works.
 *
 * Liveness only decides who *should* run a partition; safety never depends on it: every takeover goes
 * through `StateStore.acquire`, which fences the previous owner (see docs/distributed.md).
 */
export class Membership {
  private beat = 0;
  private readonly observed = new Map<string, Observation>();
  private readonly staleAfterMs: number;
  private readonly forgetAfterMs: number;
  private lastBeatOkAtMs: number | undefined;

  constructor(private readonly options: MembershipOptions) {
    this.staleAfterMs = options.staleAfterMs ?? 15 * options.ttlMs;
    this.forgetAfterMs = options.forgetAfterMs ?? 20 * options.ttlMs;
  }

  get memberId(): string {
    return this.options.memberId;
  }

  /** Our clock when our last heartbeat was stored (undefined before the first). */
  get lastHeartbeatAtMs(): number | undefined {
    return this.lastBeatOkAtMs;
  }

  /** Writes this member's doc with the next beat and what it owns now. */
  async heartbeat(owned: readonly number[]): Promise<void> {
    const { metadata, memberId, clock, info } = this.options;
    const now = clock.now();
    const doc: MemberDoc = {
      id: memberId,
      beat: ++this.beat,
      owned: [...owned].sort((a, b) => a - b),
      startedAtMs: info.startedAtMs,
      updatedAtMs: now,
      host: info.host,
      pid: info.pid,
      ...(info.url !== undefined ? { url: info.url } : {}),
    };
    await metadata.put(MEMBERS_COLLECTION, memberId, doc);
    this.lastBeatOkAtMs = now;
  }

  /** Reads every member doc and classifies it, by this observer's clock. */
  async view(): Promise<MembershipView> {
    const { metadata, memberId, clock, ttlMs } = this.options;
    const docs: MemberDoc[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await metadata.list<MemberDoc>(MEMBERS_COLLECTION, {
        limit: 500,
        ...(after !== undefined ? { after } : {}),
      });
      for (const item of page.items) docs.push(item.doc);
      if (page.next === undefined) break;
      after = page.next;
    }
    const now = clock.now();
    const live: MemberDoc[] = [];
    const dead: MemberDoc[] = [];
    const present = new Set<string>();
    for (const doc of docs) {
      present.add(doc.id);
      if (doc.id === memberId) {
        live.push(doc);
        continue;
      }
      let seen = this.observed.get(doc.id);
      if (!seen) {
        // First sight: alive for a ttl unless its own timestamp says it stopped long ago.
        const ancient = now - doc.updatedAtMs > this.staleAfterMs;
        seen = { beat: doc.beat, changedAtMs: ancient ? now - ttlMs - 1 : now };
        this.observed.set(doc.id, seen);
      } else if (seen.beat !== doc.beat) {
        seen.beat = doc.beat;
        seen.changedAtMs = now;
      }
      const silentMs = now - seen.changedAtMs;
      if (silentMs <= ttlMs) live.push(doc);
      else {
        dead.push(doc);
        if (silentMs > this.forgetAfterMs) await this.forget(doc);
      }
    }
    for (const id of this.observed.keys()) if (!present.has(id)) this.observed.delete(id);
    if (!present.has(memberId)) {
      // Not registered yet (or removed by an observer's housekeeping while we were paused): we are alive.
      live.push({
        id: memberId,
        beat: this.beat,
        owned: [],
        startedAtMs: this.options.info.startedAtMs,
        updatedAtMs: now,
        host: this.options.info.host,
        pid: this.options.info.pid,
      });
    }
    live.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { live, dead };
  }

  /** Removes this member's doc (graceful stop: the others rebalance at once, without waiting a ttl). */
  async leave(): Promise<void> {
    await this.options.metadata.delete(MEMBERS_COLLECTION, this.options.memberId);
  }

  private async forget(doc: MemberDoc): Promise<void> {
    // Housekeeping only: a member that comes back rewrites its doc at its next heartbeat.
    await this.options.metadata.delete(MEMBERS_COLLECTION, doc.id).catch(() => false);
    this.observed.delete(doc.id);
  }
}
