import { parseDuration, systemClock, silentLogger, type Clock, type Duration, type Logger } from '../core/index.js';
import { SegmentsErrors } from './errors.js';

/** Limits of the rule language (validation rejects rules beyond them, with a pointer). */
export const RULE_LIMITS = Object.freeze({
  maxDepth: 12,
  maxNodes: 100,
  maxSequenceSteps: 8,
  maxInValues: 200,
  maxEventNames: 50,
  /** Longest `within` / `for`. */
  maxWindowMs: 400 * 86_400_000,
  /** Largest constant a `count` may be compared with (the state keeps min(count, constant + 1) per group). */
  maxCountThreshold: 1000,
  /** Largest constant a `distinct` may be compared with. */
  maxDistinctThreshold: 100,
  maxNameLength: 200,
  maxDescriptionLength: 2000,
});

/** Segment ids: no `/` or `@` (they separate ids in store keys and membership keys). */
export const SEGMENT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export interface SegmentsOperatorOptions {
  /**
   * Windows up to this length keep exact event times (the edge of a window is exact to the
   * millisecond); longer windows keep time buckets (`within / bucketsPerWindow` wide). @default "1h"
   */
  exactWindowMax?: Duration;
  /** Buckets per long window: an event counts for at least `within` and at most `within + within/bucketsPerWindow`. @default 60 */
  bucketsPerWindow?: number;
  /** Most `by` groups kept per count condition (the least recently active group is dropped first). @default 16 */
  maxGroups?: number;
  /** Most exact entries kept for a short-window `sum` (beyond, the two oldest merge at the later time). @default 64 */
  maxSumEntries?: number;
  /** Most matching events a `sequence` remembers (the oldest is dropped first). @default 32 */
  maxSequenceEntries?: number;
  /** Whether active versions emit enter/exit records (false in backfill runs). @default true */
  emit?: boolean;
}

export interface ResolvedSegmentsOperatorOptions {
  readonly exactWindowMaxMs: number;
  readonly bucketsPerWindow: number;
  readonly maxGroups: number;
  readonly maxSumEntries: number;
  readonly maxSequenceEntries: number;
  readonly emit: boolean;
}

export function resolveSegmentsOperatorOptions(options: SegmentsOperatorOptions = {}): ResolvedSegmentsOperatorOptions {
  const resolved: ResolvedSegmentsOperatorOptions = {
    exactWindowMaxMs: parseDuration(options.exactWindowMax ?? '1h', 'exactWindowMax'),
    bucketsPerWindow: options.bucketsPerWindow ?? 60,
    maxGroups: options.maxGroups ?? 16,
    maxSumEntries: options.maxSumEntries ?? 64,
    maxSequenceEntries: options.maxSequenceEntries ?? 32,
    emit: options.emit ?? true,
  };
  for (const field of ['bucketsPerWindow', 'maxGroups', 'maxSumEntries', 'maxSequenceEntries'] as const) {
    const value = resolved[field];
    if (!Number.isInteger(value) || value < 2) {
      throw SegmentsErrors.create('SEGMENTS_INVALID_OPTIONS', `${field} must be an integer ≥ 2`, {
        details: { field, value },
      });
    }
  }
  return Object.freeze(resolved);
}

export interface WebhookDispatcherOptions {
  /** Attempts per change and destination before it is dead-lettered. @default 8 */
  maxAttempts?: number;
  /** Backoff base: attempt n waits a random time in [0, min(maxBackoff, base·2^(n-1))] (full jitter). @default "1s" */
  backoffBase?: Duration;
  /** @default "5m" */
  maxBackoff?: Duration;
  /** Per-request timeout. @default "10s" */
  requestTimeout?: Duration;
  /** Outbox records read (and delivered concurrently) per destination and partition at a time. @default 32 */
  batchSize?: number;
  /** How often idle partitions are polled for new outbox records. @default "200ms" */
  pollInterval?: Duration;
  /**
   * Trim outbox records every destination has settled. Off by default because the outbox has other
   * consumers (the engine's relay, live feeds): turn it on with a `trimFloor` that returns how far they
   * have read, or trim elsewhere. @default false
   */
  trimOutbox?: boolean;
  /** How often destinations are re-read from the metadata store. @default "5s" */
  destinationsRefresh?: Duration;
  clock?: Clock;
  logger?: Logger;
  /** Uniform random in [0, 1) for the jitter. @default Math.random */
  random?: () => number;
}

export interface ResolvedWebhookDispatcherOptions {
  readonly maxAttempts: number;
  readonly backoffBaseMs: number;
  readonly maxBackoffMs: number;
  readonly requestTimeoutMs: number;
  readonly batchSize: number;
  readonly pollIntervalMs: number;
  readonly trimOutbox: boolean;
  readonly destinationsRefreshMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly random: () => number;
}

export function resolveWebhookDispatcherOptions(
  options: WebhookDispatcherOptions = {},
): ResolvedWebhookDispatcherOptions {
  const resolved: ResolvedWebhookDispatcherOptions = {
    maxAttempts: options.maxAttempts ?? 8,
    backoffBaseMs: parseDuration(options.backoffBase ?? '1s', 'backoffBase'),
    maxBackoffMs: parseDuration(options.maxBackoff ?? '5m', 'maxBackoff'),
    requestTimeoutMs: parseDuration(options.requestTimeout ?? '10s', 'requestTimeout'),
    batchSize: options.batchSize ?? 32,
    pollIntervalMs: parseDuration(options.pollInterval ?? '200ms', 'pollInterval'),
    trimOutbox: options.trimOutbox ?? false,
    destinationsRefreshMs: parseDuration(options.destinationsRefresh ?? '5s', 'destinationsRefresh'),
    clock: options.clock ?? systemClock,
    logger: options.logger ?? silentLogger(),
    random: options.random ?? Math.random,
  };
  for (const field of ['maxAttempts', 'batchSize'] as const) {
    const value = resolved[field];
    if (!Number.isInteger(value) || value < 1) {
      throw SegmentsErrors.create('SEGMENTS_INVALID_OPTIONS', `${field} must be a positive integer`, {
        details: { field, value },
      });
    }
  }
  return Object.freeze(resolved);
}
