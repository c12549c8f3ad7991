import { parseDuration, silentLogger, systemClock } from '../../core/index.js';
import type { Clock, Duration, Logger } from '../../core/index.js';
import { LogErrors } from '../errors.js';
import { MAX_RECORD_BYTES_LIMIT } from './frame.js';

export const EMBEDDED_LOG_MODES = ['writer', 'reader'] as const;
export type EmbeddedLogMode = (typeof EMBEDDED_LOG_MODES)[number];

const MiB = 1024 * 1024;

/** Options of the embedded (file-based) EventLog. Every field but `dir` has a default. */
export interface EmbeddedEventLogOptions {
  /** Directory of the log: `META`, `LOCK`, `DURABLE` and one `pNNNN/` directory per partition. Created when missing. */
  readonly dir: string;
  /**
   * `writer` owns the directory (exclusive lock, recovery, appends); `reader` only reads it, from
   * another thread or process, and never repairs or deletes anything.
   * @default 'writer'
   */
  readonly mode?: EmbeddedLogMode;
  /**
   * Number of partitions; fixed when the directory is created (a writer reopening it with another count
   * fails with LOG_INVALID_OPTIONS, since keys would move). A reader takes the count from the directory.
   * @default 4
   */
  readonly partitionCount?: number;
  /** A segment file is closed and a new one started once it holds this many bytes. @default 64 MiB */
  readonly segmentBytes?: number;
  /**
   * Whole segments whose newest record timestamp is older than this are deleted from the front of a
   * partition ("7d" or ms). The active segment is never deleted. @default Infinity (keep forever)
   */
  readonly retentionMs?: Duration;
  /** Oldest segments are deleted while a partition holds more bytes than this. @default Infinity */
  readonly retentionBytes?: number;
  /** How often time-based retention is checked (it also runs after every segment roll). @default '1m' */
  readonly retentionCheckIntervalMs?: Duration;
  /**
   * Bytes appended but not yet durable (queued, being flushed, or kept for a retry after a disk error).
   * An append that would push the backlog past this is rejected with LOG_BACKPRESSURE (retryable; the
   * HTTP layer answers 503 + Retry-After). An append into an empty backlog is always taken.
   * @default 64 MiB
   */
  readonly maxPendingBytes?: number;
  /** Largest record accepted (UTF-8 key bytes + value bytes); larger ones reject with LOG_RECORD_TOO_LARGE. @default 1 MiB */
  readonly maxRecordBytes?: number;
  /**
   * Reader mode: the writer's `shared` buffer (durable start/end offsets per partition). With it, readers
   * in worker threads wake on `Atomics.notify` the moment a flush is durable; without it they poll the
   * `DURABLE` file every `pollIntervalMs` (readers in another process).
   */
  readonly shared?: SharedArrayBuffer;
  /** Reader mode without `shared`: how often a waiting reader re-reads the durable offsets. @default 5 */
  readonly pollIntervalMs?: number;
  /** Wall clock for time-based retention. @default systemClock */
  readonly clock?: Clock;
  /** Recovery warnings, disk errors, stale-lock takeovers. @default silentLogger() */
  readonly logger?: Logger;
}

export interface ResolvedEmbeddedEventLogOptions {
  readonly dir: string;
  readonly mode: EmbeddedLogMode;
  readonly partitionCount: number;
  readonly segmentBytes: number;
  readonly retentionMs: number;
  readonly retentionBytes: number;
  readonly retentionCheckIntervalMs: number;
  readonly maxPendingBytes: number;
  readonly maxRecordBytes: number;
  readonly shared: SharedArrayBuffer | undefined;
  readonly pollIntervalMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

const DEFAULT_MODE: EmbeddedLogMode = 'writer';

export const EMBEDDED_LOG_DEFAULTS = Object.freeze({
  mode: DEFAULT_MODE,
  partitionCount: 4,
  segmentBytes: 64 * MiB,
  retentionMs: Number.POSITIVE_INFINITY,
  retentionBytes: Number.POSITIVE_INFINITY,
  retentionCheckIntervalMs: 60_000,
  maxPendingBytes: 64 * MiB,
  maxRecordBytes: MiB,
  pollIntervalMs: 5,
});

function invalid(field: string, value: unknown, why: string): never {
  throw LogErrors.create('LOG_INVALID_OPTIONS', `Invalid embedded log option ${field}: ${why}`, {
    details: { field, value: typeof value === 'number' || typeof value === 'string' ? value : typeof value },
  });
}

function positiveInteger(
  field: string,
  value: number | undefined,
  fallback: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1 || value > max) invalid(field, value, `must be an integer in 1..${max}`);
  return value;
}

/** A byte limit: a positive integer, or Infinity for "no limit". */
function byteLimit(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (value === Number.POSITIVE_INFINITY) return value;
  return positiveInteger(field, value, fallback);
}

function duration(field: string, value: Duration | undefined, fallback: number, allowInfinite: boolean): number {
  if (value === undefined) return fallback;
  if (allowInfinite && value === Number.POSITIVE_INFINITY) return value;
  let ms: number;
  try {
    ms = parseDuration(value, field);
  } catch (err) {
    throw LogErrors.create('LOG_INVALID_OPTIONS', `Invalid embedded log option ${field}: not a duration`, {
      cause: err,
      details: { field },
    });
  }
  if (ms <= 0) invalid(field, value, 'must be longer than 0');
  return ms;
}

/** Fills defaults, validates, freezes. Throws LOG_INVALID_OPTIONS naming the field. */
export function resolveEmbeddedEventLogOptions(options: EmbeddedEventLogOptions): ResolvedEmbeddedEventLogOptions {
  if (typeof options.dir !== 'string' || options.dir.length === 0)
    invalid('dir', options.dir, 'a directory path is required');
  const mode = options.mode ?? EMBEDDED_LOG_DEFAULTS.mode;
  if (!EMBEDDED_LOG_MODES.includes(mode)) invalid('mode', mode, `must be one of ${EMBEDDED_LOG_MODES.join(', ')}`);
  if (options.shared !== undefined) {
    if (mode !== 'reader') invalid('shared', options.shared, 'is only for mode "reader"');
    if (!(options.shared instanceof SharedArrayBuffer))
      invalid('shared', options.shared, 'must be a SharedArrayBuffer');
  }
  return Object.freeze({
    dir: options.dir,
    mode,
    partitionCount: positiveInteger(
      'partitionCount',
      options.partitionCount,
      EMBEDDED_LOG_DEFAULTS.partitionCount,
      10_000,
    ),
    segmentBytes: positiveInteger('segmentBytes', options.segmentBytes, EMBEDDED_LOG_DEFAULTS.segmentBytes, 2 ** 40),
    retentionMs: duration('retentionMs', options.retentionMs, EMBEDDED_LOG_DEFAULTS.retentionMs, true),
    retentionBytes: byteLimit('retentionBytes', options.retentionBytes, EMBEDDED_LOG_DEFAULTS.retentionBytes),
    retentionCheckIntervalMs: duration(
      'retentionCheckIntervalMs',
      options.retentionCheckIntervalMs,
      EMBEDDED_LOG_DEFAULTS.retentionCheckIntervalMs,
      false,
    ),
    maxPendingBytes: positiveInteger('maxPendingBytes', options.maxPendingBytes, EMBEDDED_LOG_DEFAULTS.maxPendingBytes),
    maxRecordBytes: positiveInteger(
      'maxRecordBytes',
      options.maxRecordBytes,
      EMBEDDED_LOG_DEFAULTS.maxRecordBytes,
      MAX_RECORD_BYTES_LIMIT,
    ),
    shared: options.shared,
    pollIntervalMs: positiveInteger(
      'pollIntervalMs',
      options.pollIntervalMs,
      EMBEDDED_LOG_DEFAULTS.pollIntervalMs,
      60_000,
    ),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger(),
  });
}
