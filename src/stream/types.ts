import type { KairosEvent } from '../core/index.js';

export const TIME_DOMAINS = ['event', 'processing'] as const;
export type TimeDomain = (typeof TIME_DOMAINS)[number];

/** A timer as an operator sees it when it fires. */
export interface FiredTimer {
  readonly timeMs: number;
  readonly domain: TimeDomain;
  /** Operator-chosen discriminator (e.g. a window id or a rule id). */
  readonly tag: string;
}

/**
 * What a keyed operator can see and do while it handles one element or timer of one key (a profile).
 * State is per key and per operator; timers are deduplicated per (key, operator, domain, time, tag).
 */
export interface KeyedContext {
  /** The profile key being processed. */
  readonly key: string;
  readonly partition: number;
  /** The partition's event-time watermark (ms); everything at or before it is considered complete. */
  readonly watermarkMs: number;
  /** Wall-clock time from the injected clock. */
  readonly processingTimeMs: number;
  /** This operator's state for the key (undefined when none). */
  getState<T>(): T | undefined;
  /** Replace this operator's state for the key (undefined clears it). Values must be JSON-compatible. */
  setState<T>(value: T | undefined): void;
  /** Read another operator's state for the same key (e.g. segments read the profile). */
  readState<T>(operator: string): T | undefined;
  registerTimer(timeMs: number, domain: TimeDomain, tag: string): void;
  deleteTimer(timeMs: number, domain: TimeDomain, tag: string): void;
  /** Append a record to the partition's outbox (committed atomically with the state). */
  emit(record: unknown): void;
  /** Record an event or result that arrived too late to count (the late side-output). */
  late(record: unknown): void;
  /**
   * Write (a value) or delete (`undefined`) an entry of this operator's secondary index, committed
   * atomically with the state: store key `x/<operator>/<key>`. For lookups the API serves across
   * profiles (e.g. the members of a segment), which a per-profile state blob cannot answer.
   */
  putIndex(key: string, value: unknown): void;
  /**
   * Add `delta` to this operator's counter `name` for the partition (store key
   * `c/<partition>/<operator>/<name>`), committed atomically with the state; readers sum the partitions.
   */
  addToCounter(name: string, delta: number): void;
}

/**
 * A keyed process function (Flink's KeyedProcessFunction, small): called for every element of a key
 * in log order and for its timers when they come due. Operators of a pipeline run in order for each
 * element, so a later operator sees the state an earlier one left for that element.
 */
export interface KeyedOperator {
  readonly name: string;
  processElement(event: KairosEvent, context: KeyedContext): void;
  onTimer?(timer: FiredTimer, context: KeyedContext): void;
  /**
   * Identity merge: fold the state a sealed profile left for this operator into this key's state.
   * Called on the surviving profile when it processes the linking message, before processElement.
   */
  merge?(from: unknown, context: KeyedContext): void;
  /** The key was sealed (merged into another profile): emit exits, drop timers. State stays for the merge. */
  onSeal?(context: KeyedContext): void;
}

/** The operators of one pipeline, in order. */
export type Pipeline = readonly KeyedOperator[];

/** A late record as stored in the late side-output. */
export interface LateRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly operator: string;
  readonly watermarkMs: number;
  readonly record: unknown;
}

/** What a task reports after each commit (for SSE, metrics, freshness). */
export interface CommitReport {
  readonly partition: number;
  /** Next offset to process. */
  readonly offset: number;
  readonly watermarkMs: number;
  /** Outbox records committed in this step, with their sequence numbers. */
  readonly outbox: readonly { seq: number; value: unknown }[];
  readonly processed: number;
  readonly late: number;
  readonly duplicates: number;
  /** Events forwarded to the profile their key was merged into (ForwardRecord in the outbox). */
  readonly forwarded: number;
  /** Profile keys whose state changed in this commit. */
  readonly changedKeys: readonly string[];
  /** How long the task waited for the store commit (state, outbox and checkpoint in one transaction), ms. */
  readonly commitMs: number;
}

/** Outbox record: an event that reached a sealed profile, to be re-appended under the survivor. */
export interface ForwardRecord {
  readonly kind: 'forward';
  readonly intoKey: string;
  readonly event: KairosEvent;
}

export function isForwardRecord(value: unknown): value is ForwardRecord {
  return typeof value === 'object' && value !== null && (value as ForwardRecord).kind === 'forward';
}
