import { decodePayload, isSealRecord, type KairosEvent, type Logger } from '../../core/index.js';
import type { EventLog, LogReader, LogRecord } from '../../log/index.js';
import { itemIdsOf } from '../../profiles/index.js';
import type { Catalogue } from './catalogue.js';
import type { CartTracker } from './carts.js';
import type { Dictionary } from './dictionary.js';
import { interactionsOf, productFactsOf, recommendationIdOf } from './events.js';
import type { DeltaBuffer } from './interaction-table.js';

export interface InteractionTailDeps {
  readonly log: EventLog;
  readonly users: Dictionary;
  readonly items: Dictionary;
  readonly catalogue: Catalogue;
  readonly carts: CartTracker;
  readonly buffer: DeltaBuffer;
  /** Merged profile key → surviving profile key (identity links seen in the log). */
  readonly aliases: Map<string, string>;
  readonly logger: Logger;
  readonly readBatch: number;
  readonly pollIntervalMs: number;
  /** An event carrying `properties.recommendation_id` (Product Clicked, Order Completed). */
  readonly onAttribution: (event: KairosEvent, recommendationId: string) => void;
  /** The tail changed a profile's cart (its cached lists are stale). */
  readonly onCartChanged: (profileKey: string) => void;
}

/**
 * The trainer's own consumer of the event log: one reader per partition from its own cursors
 * (not the stream's), decoding on the main thread in small batches that yield to the event loop.
 * It turns events into interaction rows, catalogue facts, carts and attribution signals.
 */
export class InteractionTail {
  positions: number[] = [];
  private readers: (LogReader | undefined)[] = [];
  private loops: Promise<void>[] = [];
  private running = false;
  private waiters: (() => void)[] = [];

  constructor(private readonly deps: InteractionTailDeps) {}

  start(positions: readonly number[]): void {
    this.positions = [...positions];
    this.running = true;
    this.readers = Array.from({ length: positions.length }, () => undefined);
    this.loops = positions.map((_, p) => this.loop(p));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.readers.map((r) => (r ? r.close().catch(() => undefined) : Promise.resolve())));
    await Promise.all(this.loops);
    this.loops = [];
    this.wake();
  }

  /** Resolves once every partition was read up to the log's end as of this call (or after timeoutMs). */
  async catchUp(timeoutMs: number): Promise<boolean> {
    const { log } = this.deps;
    const ends = await Promise.all(this.positions.map((_, p) => log.offsets(p).then((o) => o.end)));
    const deadline = performance.now() + timeoutMs;
    const done = () => this.positions.every((position, p) => position >= ends[p]!);
    while (!done()) {
      const left = deadline - performance.now();
      if (left <= 0 || !this.running) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  private async loop(partition: number): Promise<void> {
    const { log, logger, readBatch, pollIntervalMs } = this.deps;
    let reader: LogReader;
    try {
      reader = await log.openReader(partition, this.positions[partition]!);
    } catch (error) {
      logger.error({ err: error, partition }, 'cannot open a log reader for the trainer tail');
      return;
    }
    this.readers[partition] = reader;
    if (!this.running) {
      await reader.close();
      return;
    }
    while (this.running) {
      let records: LogRecord[];
      try {
        records = await reader.read({ maxRecords: readBatch, waitMs: pollIntervalMs });
      } catch (error) {
        if (!this.running) break;
        logger.error({ err: error, partition }, 'trainer tail read failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      for (const record of records) {
        try {
          this.consume(record);
        } catch (error) {
          logger.warn({ err: error, partition, offset: record.offset }, 'trainer tail skipped an undecodable record');
        }
      }
      this.deps.buffer.records += records.length;
      this.positions[partition] = reader.position;
      this.wake();
      // Yield between batches so a backlog never stalls the HTTP thread.
      if (records.length > 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    await reader.close().catch(() => undefined);
  }

  consume(record: LogRecord): void {
    const payload = decodePayload(record.value);
    if (isSealRecord(payload)) return;
    this.consumeEvent(payload);
  }

  consumeEvent(event: KairosEvent): void {
    const { users, items, catalogue, carts, buffer, aliases } = this.deps;
    const key = event.profileKey;
    if (event.links) {
      for (const link of event.links) {
        if (link.fromKey === key) continue;
        aliases.set(link.fromKey, key);
        const from = users.get(link.fromKey);
        if (from >= 0) buffer.merge(from, users.intern(key));
        carts.merge(link.fromKey, key);
      }
    }
    if (event.type !== 'track') return;
    for (const facts of productFactsOf(event)) catalogue.apply(items.intern(facts.itemId), facts);
    const interactions = interactionsOf(event);
    if (interactions.length > 0) {
      const user = users.intern(key);
      const seconds = event.eventTimeMs / 1000;
      for (const { itemId, weight } of interactions) buffer.add(user, items.intern(itemId), weight, seconds);
    }
    switch (event.event) {
      case 'Product Added':
        for (const { itemId } of interactions) carts.add(key, itemId);
        this.deps.onCartChanged(key);
        break;
      case 'Product Removed':
        for (const itemId of itemIdsOf(event)) carts.remove(key, itemId);
        this.deps.onCartChanged(key);
        break;
      case 'Order Completed':
        carts.clear(key);
        this.deps.onCartChanged(key);
        break;
      default:
        break;
    }
    if (event.event === 'Product Clicked' || event.event === 'Order Completed') {
      const recommendationId = recommendationIdOf(event);
      if (recommendationId !== undefined) this.deps.onAttribution(event, recommendationId);
    }
  }
}
