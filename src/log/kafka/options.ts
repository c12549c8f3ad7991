import { parseDuration, silentLogger } from '../../core/index.js';
import type { Duration, Logger } from '../../core/index.js';
import { LogErrors } from '../errors.js';

const MiB = 1024 * 1024;

export const KAFKA_LOG_MODES = ['writer', 'reader'] as const;
export type KafkaLogMode = (typeof KAFKA_LOG_MODES)[number];

/** Options of the Kafka EventLog: one topic `<namespace>.log` with one Kafka partition per log partition. */
export interface KafkaEventLogOptions {
  /** Bootstrap brokers, `host:port`. */
  readonly brokers: readonly string[];
  /** The topic is `<namespace>.log`; letters, digits, `.`, `_`, `-` (Kafka's topic alphabet). */
  readonly namespace: string;
  /**
   * `writer` creates the topic when missing and appends; `reader` requires the topic and only reads
   * (append → LOG_READ_ONLY). Kafka assigns offsets itself, so several writers may append at once.
   * @default 'writer'
   */
  readonly mode?: KafkaLogMode;
  /** Partitions of the topic; an existing topic with another count → LOG_INVALID_OPTIONS. @default 4 */
  readonly partitionCount?: number;
  /** Replication factor for a topic this log creates; -1 = the broker's default. @default -1 */
  readonly replicationFactor?: number;
  /** Topic `retention.ms` for a topic this log creates. @default Infinity (keep forever) */
  readonly retentionMs?: Duration;
  /** Topic `retention.bytes` (per partition) for a topic this log creates. @default Infinity */
  readonly retentionBytes?: number;
  /** Topic `segment.bytes` for a topic this log creates. @default the broker's */
  readonly segmentBytes?: number;
  /** Largest record (UTF-8 key + value), else LOG_RECORD_TOO_LARGE. @default 1 MiB */
  readonly maxRecordBytes?: number;
  /** A produce request carries at most about this many bytes per partition (Kafka's max.message.bytes is 1 MB by default). @default 900 KiB */
  readonly maxBatchBytes?: number;
  /** Bytes appended and not yet acknowledged above which `append` rejects with LOG_BACKPRESSURE. @default 64 MiB */
  readonly maxPendingBytes?: number;
  /** Produce (and admin) request timeout; an append not acknowledged by then rejects with LOG_UNAVAILABLE. @default '15s' */
  readonly publishTimeoutMs?: Duration;
  /** Connection timeout to a broker. @default '10s' */
  readonly connectTimeoutMs?: Duration;
  /** How long a reader's fetch waits on the broker for new records. @default 100 */
  readonly readerMaxWaitMs?: Duration;
  /** Records a reader buffers before it stops fetching. @default 1000 */
  readonly readerBufferRecords?: number;
  /** A reader not read for this long drops its buffer and fetches again from its position. @default '5s' */
  readonly readerIdleMs?: Duration;
  /** @default 'kairos-log' */
  readonly clientId?: string;
  /** kafkajs warnings and errors, producer failures. @default silentLogger() */
  readonly logger?: Logger;
}

export interface ResolvedKafkaEventLogOptions {
  readonly brokers: readonly string[];
  readonly namespace: string;
  readonly topic: string;
  readonly mode: KafkaLogMode;
  readonly partitionCount: number;
  readonly replicationFactor: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly segmentBytes: number | undefined;
  readonly maxRecordBytes: number;
  readonly maxBatchBytes: number;
  readonly maxPendingBytes: number;
  readonly publishTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly readerMaxWaitMs: number;
  readonly readerBufferRecords: number;
  readonly readerIdleMs: number;
  readonly clientId: string;
  readonly logger: Logger;
}

export const KAFKA_LOG_DEFAULTS = Object.freeze({
  partitionCount: 4,
  replicationFactor: -1,
  maxRecordBytes: MiB,
  maxBatchBytes: 900 * 1024,
  maxPendingBytes: 64 * MiB,
  publishTimeoutMs: 15_000,
  connectTimeoutMs: 10_000,
  readerMaxWaitMs: 100,
  readerBufferRecords: 1_000,
  readerIdleMs: 5_000,
  clientId: 'kairos-log',
});

const NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const BROKER_RE = /^[^\s:]+:\d{1,5}$/;

function invalid(field: string, value: unknown, why: string): never {
  throw LogErrors.create('LOG_INVALID_OPTIONS', `Invalid Kafka log option ${field}: ${why}`, {
    details: { field, value: typeof value === 'number' || typeof value === 'string' ? value : typeof value },
  });
}

function integer(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max)
    invalid(field, value, `must be an integer in ${min}..${max}`);
  return value;
}

function duration(field: string, value: Duration | undefined, fallback: number, allowInfinite = false): number {
  if (value === undefined) return fallback;
  if (allowInfinite && value === Number.POSITIVE_INFINITY) return value;
  let ms: number;
  try {
    ms = parseDuration(value, field);
  } catch (err) {
    throw LogErrors.create('LOG_INVALID_OPTIONS', `Invalid Kafka log option ${field}: not a duration`, {
      cause: err,
      details: { field },
    });
  }
  if (ms <= 0) invalid(field, value, 'must be longer than 0');
  return ms;
}

/** Fills defaults, validates, freezes. Throws LOG_INVALID_OPTIONS naming the field. */
export function resolveKafkaEventLogOptions(options: KafkaEventLogOptions): ResolvedKafkaEventLogOptions {
  const brokers: readonly unknown[] = Array.isArray(options.brokers) ? (options.brokers as readonly unknown[]) : [];
  if (brokers.length === 0 || !brokers.every((b) => typeof b === 'string' && BROKER_RE.test(b)))
    invalid('brokers', brokers.join(','), 'a non-empty list of host:port');
  if (typeof options.namespace !== 'string' || !NAMESPACE_RE.test(options.namespace))
    invalid(
      'namespace',
      options.namespace,
      'letters, digits, ".", "_", "-" (at most 200), starting with a letter or digit',
    );
  const mode = options.mode ?? 'writer';
  if (!KAFKA_LOG_MODES.includes(mode)) invalid('mode', mode, `must be one of ${KAFKA_LOG_MODES.join(', ')}`);
  const retentionBytes =
    options.retentionBytes === undefined || options.retentionBytes === Number.POSITIVE_INFINITY
      ? Number.POSITIVE_INFINITY
      : integer('retentionBytes', options.retentionBytes, 0, 1, Number.MAX_SAFE_INTEGER);
  const replicationFactor = options.replicationFactor ?? KAFKA_LOG_DEFAULTS.replicationFactor;
  if (replicationFactor !== -1) integer('replicationFactor', replicationFactor, 0, 1, 100);
  return Object.freeze({
    brokers: Object.freeze(brokers as string[]),
    namespace: options.namespace,
    topic: `${options.namespace}.log`,
    mode,
    partitionCount: integer('partitionCount', options.partitionCount, KAFKA_LOG_DEFAULTS.partitionCount, 1, 10_000),
    replicationFactor,
    retentionMs: duration('retentionMs', options.retentionMs, Number.POSITIVE_INFINITY, true),
    retentionBytes,
    segmentBytes:
      options.segmentBytes === undefined
        ? undefined
        : integer('segmentBytes', options.segmentBytes, 0, 14, 2 ** 31 - 1),
    maxRecordBytes: integer('maxRecordBytes', options.maxRecordBytes, KAFKA_LOG_DEFAULTS.maxRecordBytes, 1, 64 * MiB),
    maxBatchBytes: integer('maxBatchBytes', options.maxBatchBytes, KAFKA_LOG_DEFAULTS.maxBatchBytes, 1, 64 * MiB),
    maxPendingBytes: integer(
      'maxPendingBytes',
      options.maxPendingBytes,
      KAFKA_LOG_DEFAULTS.maxPendingBytes,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    publishTimeoutMs: duration('publishTimeoutMs', options.publishTimeoutMs, KAFKA_LOG_DEFAULTS.publishTimeoutMs),
    connectTimeoutMs: duration('connectTimeoutMs', options.connectTimeoutMs, KAFKA_LOG_DEFAULTS.connectTimeoutMs),
    readerMaxWaitMs: duration('readerMaxWaitMs', options.readerMaxWaitMs, KAFKA_LOG_DEFAULTS.readerMaxWaitMs),
    readerBufferRecords: integer(
      'readerBufferRecords',
      options.readerBufferRecords,
      KAFKA_LOG_DEFAULTS.readerBufferRecords,
      1,
      1_000_000,
    ),
    readerIdleMs: duration('readerIdleMs', options.readerIdleMs, KAFKA_LOG_DEFAULTS.readerIdleMs),
    clientId: options.clientId ?? KAFKA_LOG_DEFAULTS.clientId,
    logger: options.logger ?? silentLogger(),
  });
}

/** Topic configuration for a topic this log creates. */
export function topicConfigEntries(options: ResolvedKafkaEventLogOptions): { name: string; value: string }[] {
  const entries: { name: string; value: string }[] = [];
  if (options.retentionMs !== Number.POSITIVE_INFINITY)
    entries.push({ name: 'retention.ms', value: String(options.retentionMs) });
  if (options.retentionBytes !== Number.POSITIVE_INFINITY)
    entries.push({ name: 'retention.bytes', value: String(options.retentionBytes) });
  if (options.segmentBytes !== undefined) entries.push({ name: 'segment.bytes', value: String(options.segmentBytes) });
  return entries;
}
