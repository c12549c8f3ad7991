import { parseDuration, silentLogger, systemClock } from '../../core/index.js';
import type { Clock, Duration, Logger } from '../../core/index.js';
import { LogErrors } from '../errors.js';

const MiB = 1024 * 1024;

export const RABBITMQ_LOG_MODES = ['writer', 'reader'] as const;
export type RabbitMqLogMode = (typeof RABBITMQ_LOG_MODES)[number];

/**
 * Options of the RabbitMQ EventLog: one stream queue per partition, `<namespace>.log.p<N>`, written
 * with publisher confirms by one fenced writer per partition. Every field but `url` and `namespace`
 * has a default. See docs/log-rabbitmq.md.
 */
export interface RabbitMqEventLogOptions {
  /** AMQP 0.9.1 URL, e.g. `amqp://guest:guest@127.0.0.1:5672/` (a vhost path is allowed). */
  readonly url: string;
  /**
   * Prefix of every queue name (`<namespace>.log.p<N>`, `<namespace>.log.p<N>.writer`); letters, digits,
   * `.`, `_`, `-`, `:`, starting with a letter or digit. Two deployments sharing a broker need two namespaces.
   */
  readonly namespace: string;
  /**
   * `writer` declares the stream queues and takes every partition's writer fence at open (one live writer
   * per namespace, like the embedded log's directory lock; another live writer → LOG_LOCKED after
   * `connectTimeoutMs`); `reader` only reads and never declares, fences or writes (append → LOG_READ_ONLY).
   * @default 'writer'
   */
  readonly mode?: RabbitMqLogMode;
  /**
   * Number of partitions (stream queues). Fixed once the queues exist: opening an existing namespace
   * with another count fails with LOG_INVALID_OPTIONS, since keys would move between partitions.
   * @default 4
   */
  readonly partitionCount?: number;
  /**
   * Stream retention by age (`x-max-age`, whole seconds; "7d" or ms). Applied by the broker to whole
   * segments. Queue arguments are fixed at declaration: to change retention of existing queues use a
   * RabbitMQ policy (`max-age`); opening with different arguments fails with LOG_INVALID_OPTIONS.
   * @default Infinity (keep forever)
   */
  readonly retentionMs?: Duration;
  /** Stream retention by size per partition (`x-max-length-bytes`). @default Infinity */
  readonly retentionBytes?: number;
  /** Segment file size (`x-stream-max-segment-size-bytes`); retention deletes whole segments. @default the broker's (500 MB) */
  readonly segmentBytes?: number;
  /** Largest record accepted (UTF-8 key bytes + value bytes), else LOG_RECORD_TOO_LARGE. @default 1 MiB */
  readonly maxRecordBytes?: number;
  /**
   * Bytes published but not yet confirmed by the broker. An append that would push them past this is
   * rejected with LOG_BACKPRESSURE (an append into an empty backlog is always taken).
   * @default 64 MiB
   */
  readonly maxPendingBytes?: number;
  /** An append whose confirms have not all arrived after this long rejects with LOG_UNAVAILABLE. @default '15s' */
  readonly publishTimeoutMs?: Duration;
  /**
   * How long an append waits for the broker connection and for its partitions' writer fence (held by
   * another live log instance, or by a dead one the broker has not noticed yet) before rejecting with
   * LOG_UNAVAILABLE. Also bounds the first connection in `createRabbitMqEventLog`.
   * @default '15s'
   */
  readonly connectTimeoutMs?: Duration;
  /** First delay between reconnection attempts; doubles up to `reconnectMaxDelayMs`. @default 100 */
  readonly reconnectInitialDelayMs?: Duration;
  /** @default '5s' */
  readonly reconnectMaxDelayMs?: Duration;
  /** AMQP heartbeat: how fast a silently dead connection is noticed (about twice this). @default 10 */
  readonly heartbeatSeconds?: number;
  /** Unacknowledged deliveries a reader's consumer may hold (AMQP prefetch). @default 1000 */
  readonly readerPrefetch?: number;
  /**
   * A reader whose `read` has not been called for this long cancels its broker consumer and drops what
   * it had buffered; the next `read` consumes again from its position (so it also notices retention).
   * @default '5s'
   */
  readonly readerIdleMs?: Duration;
  /** A tail scan (finding a partition's end or start) that has not completed after this long fails. @default '15s' */
  readonly scanTimeoutMs?: Duration;
  /** Name shown in the broker's connection list (`rabbitmqctl list_connections client_properties`). @default 'kairos-log <namespace>' */
  readonly connectionName?: string;
  /**
   * Finding a stream's end relies on how RabbitMQ 3.10 orders consumer deliveries (see scan.ts); other
   * broker versions are refused with LOG_INVALID_OPTIONS unless this is set.
   * @default false
   */
  readonly allowUntestedBroker?: boolean;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Reconnections, fence waits, resynchronisations. @default silentLogger() */
  readonly logger?: Logger;
}

export interface ResolvedRabbitMqEventLogOptions {
  readonly url: string;
  readonly namespace: string;
  readonly mode: RabbitMqLogMode;
  readonly partitionCount: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly segmentBytes: number | undefined;
  readonly maxRecordBytes: number;
  readonly maxPendingBytes: number;
  readonly publishTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly reconnectInitialDelayMs: number;
  readonly reconnectMaxDelayMs: number;
  readonly heartbeatSeconds: number;
  readonly readerPrefetch: number;
  readonly readerIdleMs: number;
  readonly scanTimeoutMs: number;
  readonly connectionName: string;
  readonly allowUntestedBroker: boolean;
  readonly clock: Clock;
  readonly logger: Logger;
}

export const RABBITMQ_LOG_DEFAULTS = Object.freeze({
  partitionCount: 4,
  retentionMs: Number.POSITIVE_INFINITY,
  retentionBytes: Number.POSITIVE_INFINITY,
  maxRecordBytes: MiB,
  maxPendingBytes: 64 * MiB,
  publishTimeoutMs: 15_000,
  connectTimeoutMs: 15_000,
  reconnectInitialDelayMs: 100,
  reconnectMaxDelayMs: 5_000,
  heartbeatSeconds: 10,
  readerPrefetch: 1_000,
  readerIdleMs: 5_000,
  scanTimeoutMs: 15_000,
});

/** RabbitMQ caps queue names at 255 bytes; the longest name we derive adds `.log.p<N>.writer`. */
const NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$/;
/** RabbitMQ 3.10 refuses `x-stream-max-segment-size-bytes` above 3 GB. */
const MAX_SEGMENT_BYTES = 3_000_000_000;
/** The key travels in the AMQP content header, which must fit one frame (frameMax 128 KiB). */
export const MAX_KEY_BYTES = 32 * 1024;

function invalid(field: string, value: unknown, why: string): never {
  throw LogErrors.create('LOG_INVALID_OPTIONS', `Invalid RabbitMQ log option ${field}: ${why}`, {
    details: { field, value: typeof value === 'number' || typeof value === 'string' ? value : typeof value },
  });
}

function integer(field: string, value: number | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max)
    invalid(field, value, `must be an integer in ${min}..${max}`);
  return value;
}

function byteLimit(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined || value === Number.POSITIVE_INFINITY) return value ?? fallback;
  return integer(field, value, fallback, 1, Number.MAX_SAFE_INTEGER);
}

function duration(field: string, value: Duration | undefined, fallback: number, allowInfinite = false): number {
  if (value === undefined) return fallback;
  if (allowInfinite && value === Number.POSITIVE_INFINITY) return value;
  let ms: number;
  try {
    ms = parseDuration(value, field);
  } catch (err) {
    throw LogErrors.create('LOG_INVALID_OPTIONS', `Invalid RabbitMQ log option ${field}: not a duration`, {
      cause: err,
      details: { field },
    });
  }
  if (ms <= 0) invalid(field, value, 'must be longer than 0');
  return ms;
}

/** Fills defaults, validates, freezes. Throws LOG_INVALID_OPTIONS naming the field. */
export function resolveRabbitMqEventLogOptions(options: RabbitMqEventLogOptions): ResolvedRabbitMqEventLogOptions {
  if (typeof options.url !== 'string' || !/^amqps?:\/\//.test(options.url))
    invalid('url', options.url, 'an amqp:// or amqps:// URL is required');
  if (typeof options.namespace !== 'string' || !NAMESPACE_RE.test(options.namespace))
    invalid(
      'namespace',
      options.namespace,
      'letters, digits, ".", "_", "-", ":" (at most 200), starting with a letter or digit',
    );
  if (options.namespace.startsWith('amq.')) invalid('namespace', options.namespace, '"amq." is reserved by RabbitMQ');
  const mode = options.mode ?? 'writer';
  if (!RABBITMQ_LOG_MODES.includes(mode)) invalid('mode', mode, `must be one of ${RABBITMQ_LOG_MODES.join(', ')}`);
  const retentionMs = duration('retentionMs', options.retentionMs, RABBITMQ_LOG_DEFAULTS.retentionMs, true);
  if (retentionMs !== Number.POSITIVE_INFINITY && retentionMs < 1_000)
    invalid('retentionMs', options.retentionMs, 'the broker counts x-max-age in whole seconds: at least 1s');
  return Object.freeze({
    url: options.url,
    namespace: options.namespace,
    mode,
    partitionCount: integer('partitionCount', options.partitionCount, RABBITMQ_LOG_DEFAULTS.partitionCount, 1, 10_000),
    retentionMs,
    retentionBytes: byteLimit('retentionBytes', options.retentionBytes, RABBITMQ_LOG_DEFAULTS.retentionBytes),
    segmentBytes:
      options.segmentBytes === undefined
        ? undefined
        : integer('segmentBytes', options.segmentBytes, 0, 1, MAX_SEGMENT_BYTES),
    maxRecordBytes: integer(
      'maxRecordBytes',
      options.maxRecordBytes,
      RABBITMQ_LOG_DEFAULTS.maxRecordBytes,
      1,
      64 * MiB,
    ),
    maxPendingBytes: integer(
      'maxPendingBytes',
      options.maxPendingBytes,
      RABBITMQ_LOG_DEFAULTS.maxPendingBytes,
      1,
      Number.MAX_SAFE_INTEGER,
    ),
    publishTimeoutMs: duration('publishTimeoutMs', options.publishTimeoutMs, RABBITMQ_LOG_DEFAULTS.publishTimeoutMs),
    connectTimeoutMs: duration('connectTimeoutMs', options.connectTimeoutMs, RABBITMQ_LOG_DEFAULTS.connectTimeoutMs),
    reconnectInitialDelayMs: duration(
      'reconnectInitialDelayMs',
      options.reconnectInitialDelayMs,
      RABBITMQ_LOG_DEFAULTS.reconnectInitialDelayMs,
    ),
    reconnectMaxDelayMs: duration(
      'reconnectMaxDelayMs',
      options.reconnectMaxDelayMs,
      RABBITMQ_LOG_DEFAULTS.reconnectMaxDelayMs,
    ),
    heartbeatSeconds: integer(
      'heartbeatSeconds',
      options.heartbeatSeconds,
      RABBITMQ_LOG_DEFAULTS.heartbeatSeconds,
      0,
      3_600,
    ),
    readerPrefetch: integer('readerPrefetch', options.readerPrefetch, RABBITMQ_LOG_DEFAULTS.readerPrefetch, 1, 65_535),
    readerIdleMs: duration('readerIdleMs', options.readerIdleMs, RABBITMQ_LOG_DEFAULTS.readerIdleMs),
    scanTimeoutMs: duration('scanTimeoutMs', options.scanTimeoutMs, RABBITMQ_LOG_DEFAULTS.scanTimeoutMs),
    connectionName: options.connectionName ?? `kairos-log ${options.namespace}`,
    allowUntestedBroker: options.allowUntestedBroker === true,
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger(),
  });
}

/** Queue names and declaration arguments, derived once from the options. */
export function streamQueueName(namespace: string, partition: number): string {
  return `${namespace}.log.p${partition}`;
}

/** The writer fence of a partition: an exclusive (connection-owned) queue. */
export function fenceQueueName(namespace: string, partition: number): string {
  return `${namespace}.log.p${partition}.writer`;
}

export function streamQueueArguments(options: ResolvedRabbitMqEventLogOptions): Record<string, unknown> {
  const args: Record<string, unknown> = { 'x-queue-type': 'stream' };
  if (options.retentionMs !== Number.POSITIVE_INFINITY)
    args['x-max-age'] = `${Math.ceil(options.retentionMs / 1_000)}s`;
  if (options.retentionBytes !== Number.POSITIVE_INFINITY) args['x-max-length-bytes'] = options.retentionBytes;
  if (options.segmentBytes !== undefined) args['x-stream-max-segment-size-bytes'] = options.segmentBytes;
  return args;
}
