import type { Logger } from '../../core/index.js';
import type { LiveRecord } from '../../serve/index.js';
import type { StateStore } from '../../store/index.js';

/** The SSE shape of a segment change outbox record (the embedded engine and the api role publish it). */
export function liveRecordOf(value: unknown): LiveRecord | undefined {
  const record = value as {
    profileKey?: unknown;
    type?: unknown;
    segmentId?: unknown;
    version?: unknown;
    eventTimeMs?: unknown;
  } | null;
  if (!record || typeof record.profileKey !== 'string' || (record.type !== 'enter' && record.type !== 'exit'))
    return undefined;
  return {
    profileKey: record.profileKey,
    event: record.type,
    data: {
      type: record.type,
      segmentId: record.segmentId,
      version: record.version,
      at: typeof record.eventTimeMs === 'number' ? new Date(record.eventTimeMs).toISOString() : null,
      profileId: record.profileKey,
    },
  };
}

export interface OutboxFeedOptions {
  readonly state: StateStore;
  readonly partitionCount: number;
  /** Receives every segment change committed after the feed (re)started following. */
  readonly publish: (record: LiveRecord) => void;
  /** Only follow while someone listens (e.g. `() => hub.size > 0`); otherwise the cursors are dropped. */
  readonly active: () => boolean;
  readonly logger: Logger;
  /** @default 250 */
  readonly pollMs?: number;
}

/**
 * Live segment changes for a process that does not run the stream (the API role): it tails every
 * partition's outbox in the StateStore (Redis streams, XRANGE) from its current end. The outbox is
 * written in the same atomic commit as the state, so a change is never announced before the profile
 * shows it. Latency is one poll (250 ms); nothing is read while nobody listens.
 */
export class OutboxFeed {
  /** Last seq seen per partition; undefined = find the end first. */
  private readonly cursors: (number | undefined)[];
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  published = 0;

  constructor(private readonly options: OutboxFeedOptions) {
    this.cursors = Array.from({ length: options.partitionCount }, () => undefined);
  }

  start(): void {
    this.timer = setInterval(() => {
      if (this.running || this.stopped) return;
      this.running = this.pass()
        .catch((error: unknown) => this.options.logger.warn({ err: error }, 'outbox feed pass failed'))
        .finally(() => (this.running = undefined));
    }, this.options.pollMs ?? 250);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass over every partition (exposed for tests). */
  async pass(): Promise<void> {
    if (!this.options.active()) {
      this.cursors.fill(undefined);
      return;
    }
    for (let p = 0; p < this.options.partitionCount; p++) {
      let cursor = this.cursors[p] ?? (await lastOutboxSeq(this.options.state, p));
      for (;;) {
        const records = await this.options.state.readOutbox(p, cursor, 1000);
        for (const record of records) {
          const live = liveRecordOf(record.value);
          if (live) {
            this.options.publish(live);
            this.published++;
          }
        }
        if (records.length > 0) cursor = records.at(-1)!.seq;
        if (records.length < 1000) break;
      }
      this.cursors[p] = cursor;
    }
  }
}

/**
 * The last outbox seq of a partition through the port alone (no "last seq" read exists outside the
 * owner's handle): seqs are dense, so "is there a record after x" is monotone in x, and a galloping
 * then binary search finds the end in O(log n) reads of one record.
 */
export async function lastOutboxSeq(state: StateStore, partition: number): Promise<number> {
  const after = async (x: number) => (await state.readOutbox(partition, x, 1)).length > 0;
  if (!(await after(0))) return 0;
  let lo = 0;
  let hi = 1;
  while (await after(hi)) {
    lo = hi;
    hi *= 2;
  }
  // after(lo) is true, after(hi) is false: the last seq is the smallest x ≥ lo+1 with after(x) false.
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (await after(mid)) lo = mid;
    else hi = mid;
  }
  return hi;
}
