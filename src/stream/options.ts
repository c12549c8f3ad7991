import { parseDuration, systemClock, silentLogger, type Clock, type Duration, type Logger } from '../core/index.js';
import { StreamErrors } from './errors.js';

export interface StreamOptions {
  /** Bounded out-of-orderness: watermark = max event time seen − this. @default "5s" */
  outOfOrderness?: Duration;
  /**
   * A partition with no new record for this long is idle: its watermark then advances with the wall
   * clock (by the time elapsed since the last record), so timers fire with no further events. @default "1s"
   */
  idleTimeout?: Duration;
  /** Most records processed (and committed) per step. @default 2000 */
  maxBatchRecords?: number;
  /** How long a read waits for records before the task checks timers and idleness. @default 50 */
  pollMs?: number;
  /** Message ids remembered per partition to drop duplicates the log may hold. @default 200000 */
  dedupeCapacity?: number;
  /** Profile states cached per task group (they are re-read from the store when evicted). @default 100000 */
  cacheEntries?: number;
  /** Late side-output records kept per partition (older ones are dropped; the metric counts all). @default 10000 */
  lateRecordsKept?: number;
  /** How long a merge waits for the sealed profile's partition before merging what it has. @default "60s" */
  sealWaitTimeout?: Duration;
  clock?: Clock;
  logger?: Logger;
}

export interface ResolvedStreamOptions {
  readonly outOfOrdernessMs: number;
  readonly idleTimeoutMs: number;
  readonly maxBatchRecords: number;
  readonly pollMs: number;
  readonly dedupeCapacity: number;
  readonly cacheEntries: number;
  readonly lateRecordsKept: number;
  readonly sealWaitTimeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

export function resolveStreamOptions(options: StreamOptions = {}): ResolvedStreamOptions {
  const resolved: ResolvedStreamOptions = {
    outOfOrdernessMs: parseDuration(options.outOfOrderness ?? '5s', 'outOfOrderness'),
    idleTimeoutMs: parseDuration(options.idleTimeout ?? '1s', 'idleTimeout'),
    maxBatchRecords: options.maxBatchRecords ?? 2000,
    pollMs: options.pollMs ?? 50,
    dedupeCapacity: options.dedupeCapacity ?? 200_000,
    cacheEntries: options.cacheEntries ?? 100_000,
    lateRecordsKept: options.lateRecordsKept ?? 10_000,
    sealWaitTimeoutMs: parseDuration(options.sealWaitTimeout ?? '60s', 'sealWaitTimeout'),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger(),
  };
  for (const field of ['maxBatchRecords', 'pollMs', 'dedupeCapacity', 'cacheEntries', 'lateRecordsKept'] as const) {
    const value = resolved[field];
    if (!Number.isInteger(value) || value < 1) {
      throw StreamErrors.create('STREAM_INVALID_OPTIONS', `${field} must be a positive integer`, {
        details: { field, value },
      });
    }
  }
  return Object.freeze(resolved);
}

/** The JSON-safe subset of the options, to hand to worker threads. */
export function serializableStreamOptions(
  options: ResolvedStreamOptions,
): Omit<ResolvedStreamOptions, 'clock' | 'logger'> {
  const { clock: _clock, logger: _logger, ...rest } = options;
  return rest;
}
