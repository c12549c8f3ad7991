import type * as KafkaJs from 'kafkajs';
import type { Admin, Kafka, Message, Producer } from 'kafkajs';
import { isKairosError, partitionFor } from '../../core/index.js';
import type { KairosError, Logger } from '../../core/index.js';
import { LogErrors } from '../errors.js';
import type { LogEntry, LogPosition, LogReader, PartitionOffsets } from '../port.js';
import { KafkaLogReader, TIMESTAMP_HEADER } from './reader.js';
import { resolveKafkaEventLogOptions, topicConfigEntries } from './options.js';
import type { KafkaEventLogOptions, KafkaLogMode, ResolvedKafkaEventLogOptions } from './options.js';
import type { KafkaEventLog } from './types.js';

type KafkaLib = typeof KafkaJs;

let loading: Promise<KafkaLib> | undefined;

/** kafkajs is an optional dependency: loaded on first use. */
function loadKafkajs(): Promise<KafkaLib> {
  loading ??= import('kafkajs').catch((err: unknown) => {
    loading = undefined;
    throw LogErrors.create('LOG_INVALID_OPTIONS', 'The Kafka event log needs the optional dependency kafkajs', {
      cause: err,
    });
  });
  return loading;
}

/** kafkajs logs (numeric levels: 1 error, 2 warn, 4 info, 5 debug) into our logger. */
function logCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } }) => {
      if (level <= 1) logger.error({ kafkajs: log }, `kafka log: ${log.message}`);
      else if (level === 2) logger.warn({ kafkajs: log }, `kafka log: ${log.message}`);
      else logger.debug({ kafkajs: log }, `kafka log: ${log.message}`);
    };
}

/**
 * Opens the Kafka EventLog (kafkajs, loaded on first use): one topic `<namespace>.log`, one Kafka partition
 * per log partition, records placed by `partitionFor` (not Kafka's partitioner). Kafka assigns the
 * offsets (dense: no transactions, no compaction), so positions come from the broker and several writers
 * may append at once. See docs/log-rabbitmq.md ("Kafka").
 */
export async function createKafkaEventLog(options: KafkaEventLogOptions): Promise<KafkaEventLog> {
  const resolved = resolveKafkaEventLogOptions(options);
  const lib = await loadKafkajs();
  const kafka = new lib.Kafka({
    clientId: resolved.clientId,
    brokers: [...resolved.brokers],
    connectionTimeout: resolved.connectTimeoutMs,
    requestTimeout: resolved.publishTimeoutMs,
    logLevel: 2,
    logCreator: logCreator(resolved.logger),
  });
  const log = new KafkaEventLogImpl(kafka, resolved);
  try {
    await log.open();
  } catch (err) {
    await log.close().catch(() => undefined);
    throw err;
  }
  return log;
}

function unavailable(err: unknown, message = 'The Kafka cluster did not acknowledge the append'): KairosError {
  if (isKairosError(err) && err.retryable) return err;
  return LogErrors.create('LOG_UNAVAILABLE', message, { cause: err });
}

interface QueuedAppend {
  readonly entries: readonly LogEntry[];
  readonly partitions: readonly number[];
  readonly bytes: number;
  readonly positions: LogPosition[];
  /** Produce requests holding some of its records, not yet acknowledged. */
  remaining: number;
  settled: boolean;
  failure: unknown;
  readonly resolve: (positions: LogPosition[]) => void;
  readonly reject: (err: KairosError) => void;
}

class KafkaEventLogImpl implements KafkaEventLog {
  readonly kind = 'kafka';
  readonly namespace: string;
  readonly topic: string;
  readonly mode: KafkaLogMode;
  readonly partitionCount: number;
  private admin: Admin | undefined;
  private producer: Producer | undefined;
  private queued: QueuedAppend[] = [];
  private flushing: Promise<void> | undefined;
  private readonly readers = new Set<KafkaLogReader>();
  private pendingBytes = 0;
  private closing = false;

  constructor(
    private readonly kafka: Kafka,
    private readonly opts: ResolvedKafkaEventLogOptions,
  ) {
    this.namespace = opts.namespace;
    this.topic = opts.topic;
    this.mode = opts.mode;
    this.partitionCount = opts.partitionCount;
  }

  async open(): Promise<void> {
    const admin = this.kafka.admin();
    this.admin = admin;
    try {
      await admin.connect();
      const topics = await admin.listTopics();
      if (topics.includes(this.topic)) {
        const { topics: described } = await admin.fetchTopicMetadata({ topics: [this.topic] });
        const partitions = described[0]?.partitions.length ?? 0;
        if (partitions !== this.partitionCount)
          throw LogErrors.create(
            'LOG_INVALID_OPTIONS',
            `Topic ${this.topic} has ${partitions} partitions, not ${this.partitionCount}: keys would move between partitions`,
            { details: { field: 'partitionCount', value: this.partitionCount } },
          );
      } else if (this.mode === 'reader') {
        throw LogErrors.create('LOG_INVALID_OPTIONS', `No topic ${this.topic}: open a writer first`, {
          details: { field: 'namespace', value: this.namespace },
        });
      } else {
        await admin.createTopics({
          waitForLeaders: true,
          timeout: this.opts.publishTimeoutMs,
          topics: [
            {
              topic: this.topic,
              numPartitions: this.partitionCount,
              replicationFactor: this.opts.replicationFactor,
              configEntries: topicConfigEntries(this.opts),
            },
          ],
        });
      }
      if (this.mode === 'writer') {
        // Idempotent with one request in flight: retries never duplicate or reorder a record.
        const producer = this.kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          allowAutoTopicCreation: false,
        });
        this.producer = producer;
        await producer.connect();
      }
    } catch (err) {
      if (isKairosError(err)) throw err;
      throw LogErrors.create('LOG_UNAVAILABLE', 'Cannot reach the Kafka cluster', { cause: err });
    }
  }

  partitionOf(key: string): number {
    return partitionFor(key, this.partitionCount);
  }

  private checkPartition(partition: number): void {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount)
      throw LogErrors.create('LOG_INVALID_PARTITION', `No partition ${partition}`, { details: { partition } });
  }

  append(entries: readonly LogEntry[]): Promise<LogPosition[]> {
    if (this.closing) return Promise.reject(LogErrors.create('LOG_CLOSED'));
    if (this.mode === 'reader')
      return Promise.reject(LogErrors.create('LOG_READ_ONLY', 'This Kafka event log instance is a reader'));
    let bytes = 0;
    const partitions = new Array<number>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const size = Buffer.byteLength(entry.key, 'utf8') + entry.value.byteLength;
      if (size > this.opts.maxRecordBytes)
        return Promise.reject(
          LogErrors.create('LOG_RECORD_TOO_LARGE', undefined, {
            details: { index: i, bytes: size, maxRecordBytes: this.opts.maxRecordBytes },
          }),
        );
      bytes += size;
      partitions[i] = partitionFor(entry.key, this.partitionCount);
    }
    if (entries.length === 0) return Promise.resolve([]);
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.opts.maxPendingBytes)
      return Promise.reject(
        LogErrors.create('LOG_BACKPRESSURE', undefined, {
          details: { pendingBytes: this.pendingBytes, maxPendingBytes: this.opts.maxPendingBytes },
        }),
      );
    this.pendingBytes += bytes;
    return new Promise<LogPosition[]>((resolve, reject) => {
      this.queued.push({
        entries,
        partitions,
        bytes,
        positions: new Array<LogPosition>(entries.length),
        remaining: 0,
        settled: false,
        failure: undefined,
        resolve,
        reject,
      });
      this.flushing ??= new Promise<void>((started) => setImmediate(() => started(this.flush())));
    });
  }

  /** Group commit: every append queued when a flush starts goes out together (see `produce`). */
  private async flush(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const appends = this.queued;
        this.queued = [];
        try {
          await this.produce(appends);
        } catch (err) {
          this.opts.logger.error({ err: (err as Error).message }, 'kafka log: flush failed');
          for (const a of appends) {
            a.failure ??= err;
            this.settle(a);
          }
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /**
   * Group commit: every queued append goes out in call order, in produce requests of at most
   * `maxBatchBytes` per partition, one request at a time (so a partition's order is the call order).
   */
  private async produce(appends: QueuedAppend[]): Promise<void> {
    // Cut into requests; each record remembers its append and index to receive its position.
    const requests: { messages: Message[]; records: [QueuedAppend, number][] }[] = [];
    let current: (typeof requests)[number] = { messages: [], records: [] };
    const bytesInRequest = new Map<number, number>();
    for (const a of appends) {
      for (let i = 0; i < a.entries.length; i++) {
        const entry = a.entries[i]!;
        const partition = a.partitions[i]!;
        const size = Buffer.byteLength(entry.key) + entry.value.byteLength + 64;
        const used = bytesInRequest.get(partition) ?? 0;
        if (current.messages.length > 0 && used > 0 && used + size > this.opts.maxBatchBytes) {
          requests.push(current);
          current = { messages: [], records: [] };
          bytesInRequest.clear();
        }
        bytesInRequest.set(partition, (bytesInRequest.get(partition) ?? 0) + size);
        const ts = entry.timestampMs;
        current.messages.push({
          partition,
          key: entry.key,
          value: Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.byteLength),
          timestamp: String(Number.isFinite(ts) && ts >= 0 ? Math.floor(ts) : Date.now()),
          headers: { [TIMESTAMP_HEADER]: String(ts) },
        });
        current.records.push([a, i]);
      }
    }
    if (current.messages.length > 0) requests.push(current);
    for (const request of requests) {
      const holders = new Set(request.records.map(([a]) => a));
      for (const a of holders) a.remaining++;
    }
    let failure: unknown;
    for (const request of requests) {
      const holders = new Set(request.records.map(([a]) => a));
      if (failure === undefined) {
        try {
          const metadata = await this.producer!.send({
            topic: this.topic,
            messages: request.messages,
            acks: -1,
            timeout: this.opts.publishTimeoutMs,
          });
          // A partition's messages of one request are one batch: consecutive offsets from its base.
          const next = new Map<number, number>();
          for (const m of metadata) {
            const base = Number(m.baseOffset ?? m.offset);
            if (m.errorCode !== 0 || !Number.isSafeInteger(base))
              throw new Error(`produce to partition ${m.partition} failed (error code ${m.errorCode})`);
            next.set(m.partition, base);
          }
          request.records.forEach(([a, i]) => {
            const partition = a.partitions[i]!;
            const offset = next.get(partition);
            if (offset === undefined) throw new Error(`no acknowledgement for partition ${partition}`);
            next.set(partition, offset + 1);
            a.positions[i] = { partition, offset };
          });
        } catch (err) {
          failure = err;
          this.opts.logger.warn({ err: (err as Error).message }, 'kafka log: produce failed');
        }
      }
      // After a failed request the rest of the flush is not sent: later records must not overtake it.
      for (const a of holders) {
        if (failure !== undefined) a.failure ??= failure;
        if (--a.remaining === 0) this.settle(a);
      }
    }
  }

  private settle(a: QueuedAppend): void {
    if (a.settled) return;
    a.settled = true;
    this.pendingBytes -= a.bytes;
    if (a.failure === undefined) a.resolve(a.positions);
    else a.reject(unavailable(a.failure));
  }

  async offsets(partition: number): Promise<PartitionOffsets> {
    this.checkPartition(partition);
    if (this.closing) throw LogErrors.create('LOG_CLOSED');
    let entries: Awaited<ReturnType<Admin['fetchTopicOffsets']>>;
    try {
      entries = await this.admin!.fetchTopicOffsets(this.topic);
    } catch (err) {
      throw unavailable(err, 'Cannot read the topic offsets');
    }
    const entry = entries.find((e) => e.partition === partition);
    if (!entry) throw LogErrors.create('LOG_UNAVAILABLE', `No offsets for partition ${partition}`);
    // The high watermark: everything below is replicated to every in-sync replica.
    return { start: Number(entry.low), end: Number(entry.high) };
  }

  async openReader(partition: number, fromOffset: number): Promise<LogReader> {
    this.checkPartition(partition);
    if (this.closing) throw LogErrors.create('LOG_CLOSED');
    const { start } = await this.offsets(partition);
    const from = Math.max(start, Number.isFinite(fromOffset) ? Math.max(0, Math.floor(fromOffset)) : 0);
    const reader = new KafkaLogReader(this.kafka, this.opts, partition, from, (r) => this.readers.delete(r));
    this.readers.add(reader);
    try {
      await reader.open();
    } catch (err) {
      await reader.close();
      throw unavailable(err, `Cannot read partition ${partition}`);
    }
    return reader;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    while (this.flushing) await this.flushing;
    await Promise.all([...this.readers].map((reader) => reader.close()));
    await this.producer?.disconnect().catch(() => undefined);
    await this.admin?.disconnect().catch(() => undefined);
  }
}
