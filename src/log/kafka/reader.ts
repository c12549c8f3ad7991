import { randomUUID } from 'node:crypto';
import type { Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import { LogErrors } from '../errors.js';
import type { LogReader, LogRecord, ReadOptions } from '../port.js';
import type { ResolvedKafkaEventLogOptions } from './options.js';

/** Header carrying the exact `timestampMs` (Kafka timestamps are whole, non-negative milliseconds). */
export const TIMESTAMP_HEADER = 'kairos-ts';

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return headerText(value[0]);
  return undefined;
}

/**
 * Reads one Kafka partition. kafkajs only consumes through consumer groups, so each reader is a consumer
 * in a group of its own (never committing), subscribed to the topic with every other partition paused,
 * and seeked to its position. Fetched records are buffered (up to `readerBufferRecords`, then fetching
 * waits); a reader not read for `readerIdleMs` drops its buffer and fetches again from its position. A
 * position below the log start (retention) makes the consumer restart at the earliest offset.
 */
export class KafkaLogReader implements LogReader {
  private consumer: Consumer | undefined;
  private readonly groupId: string;
  private buffer: LogRecord[] = [];
  private head = 0;
  private accepted: number;
  private wake: (() => void) | undefined;
  private drained: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private reading = false;
  private closed = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: ResolvedKafkaEventLogOptions,
    readonly partition: number,
    private pos: number,
    private readonly onClose: (reader: KafkaLogReader) => void,
  ) {
    this.accepted = pos;
    this.groupId = `${opts.clientId}-reader-${randomUUID()}`;
  }

  get position(): number {
    return this.pos;
  }

  async open(): Promise<void> {
    const consumer = this.kafka.consumer({
      groupId: this.groupId,
      maxWaitTimeInMs: this.opts.readerMaxWaitMs,
      allowAutoTopicCreation: false,
    });
    this.consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topics: [this.opts.topic], fromBeginning: true });
    // Offsets are resolved in memory after each batch (that is what moves the fetch position); with
    // autoCommit off nothing is ever committed to the group.
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: true,
      eachBatch: (payload) => this.onBatch(payload),
    });
    const others = Array.from({ length: this.opts.partitionCount }, (_, p) => p).filter((p) => p !== this.partition);
    if (others.length > 0) consumer.pause([{ topic: this.opts.topic, partitions: others }]);
    consumer.seek({ topic: this.opts.topic, partition: this.partition, offset: String(this.pos) });
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    if (batch.partition !== this.partition || this.closed) return;
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      if (offset < this.accepted) continue;
      const exact = Number(headerText(message.headers?.[TIMESTAMP_HEADER]));
      this.buffer.push({
        partition: this.partition,
        offset,
        key: message.key?.toString('utf8') ?? '',
        value: message.value ?? new Uint8Array(0),
        timestampMs: Number.isNaN(exact) ? Number(message.timestamp) : exact,
      });
      this.accepted = offset + 1;
    }
    this.wake?.();
    // Backpressure: do not fetch more while the buffer is full (heartbeats keep the group alive).
    while (
      this.buffer.length - this.head >= this.opts.readerBufferRecords &&
      payload.isRunning() &&
      !payload.isStale() &&
      !this.closed
    ) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1_000);
        this.drained = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.drained = undefined;
      await payload.heartbeat();
    }
  }

  async read({ maxRecords, waitMs }: ReadOptions): Promise<LogRecord[]> {
    if (this.closed) throw LogErrors.create('LOG_CLOSED', 'The reader is closed');
    if (maxRecords <= 0) return [];
    this.reading = true;
    clearTimeout(this.idleTimer);
    try {
      if (this.head >= this.buffer.length && waitMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
        if (this.head < this.buffer.length) await new Promise((resolve) => setImmediate(resolve));
      }
      const end = Math.min(this.buffer.length, this.head + maxRecords);
      const taken = this.buffer.slice(this.head, end);
      this.head = end;
      if (this.head === this.buffer.length) {
        this.buffer = [];
        this.head = 0;
      }
      if (taken.length > 0) this.pos = taken.at(-1)!.offset + 1;
      this.drained?.();
      return taken;
    } finally {
      this.reading = false;
      if (!this.closed) {
        this.idleTimer = setTimeout(() => {
          if (!this.reading) this.refetch();
        }, this.opts.readerIdleMs);
        this.idleTimer.unref();
      }
    }
  }

  /** Drops the buffer and fetches again from the position (a reader left idle notices retention). */
  private refetch(): void {
    if (this.closed || !this.consumer) return;
    this.buffer = [];
    this.head = 0;
    this.accepted = this.pos;
    this.drained?.();
    this.consumer.seek({ topic: this.opts.topic, partition: this.partition, offset: String(this.pos) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.onClose(this);
    this.wake?.();
    this.drained?.();
    const consumer = this.consumer;
    if (!consumer) return;
    await consumer.disconnect().catch(() => undefined);
    // The group was this reader's alone and never committed anything: remove it.
    const admin = this.kafka.admin();
    try {
      await admin.connect();
      await admin.deleteGroups([this.groupId]);
    } catch {
      // Best effort: an empty group expires on the broker anyway.
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }
}
