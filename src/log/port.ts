/**
 * EventLog — the durable, partitioned, replayable log between collection and the stream.
 *
 * Contract every adapter honours (checked by `conformance.ts`):
 * - A key always maps to the same partition: `partitionOf(key) === partitionFor(key, partitionCount)`.
 * - `append` resolves only when every entry is durable (embedded: fsync'd; broker: confirmed), with one
 *   position per entry in input order. Entries of the same key keep their call order in the partition.
 *   Offsets are dense and strictly increasing per partition, starting at 0.
 * - A rejected `append` (backpressure, outage) is a KairosError with `retryable: true`; the caller may
 *   retry, and none of the entries was acknowledged. Some may still have been written (at-least-once);
 *   consumers deduplicate by message id.
 * - Records are immutable and read back byte-for-byte in offset order from any retained offset, after a
 *   reopen and after a crash (`kill -9`) of the appending process: every acknowledged record survives and
 *   no partial record is ever returned.
 * - Retention removes whole old ranges only from the front: `offsets().start` only grows.
 *
 * The port exposes no connection or file type: an adapter owns its resources.
 */
export interface LogEntry {
  /** Partition key (the profile key). */
  readonly key: string;
  readonly value: Uint8Array;
  /** Event time or append time in epoch ms; informational (retention by time uses it). */
  readonly timestampMs: number;
}

export interface LogPosition {
  readonly partition: number;
  readonly offset: number;
}

export interface LogRecord extends LogPosition {
  readonly key: string;
  readonly value: Uint8Array;
  readonly timestampMs: number;
}

export interface PartitionOffsets {
  /** Oldest retained offset. */
  readonly start: number;
  /** Next offset to be written (everything below it is durable). */
  readonly end: number;
}

export interface ReadOptions {
  /** Upper bound on records returned. */
  readonly maxRecords: number;
  /** How long to wait for at least one record when none is available; 0 = do not wait. */
  readonly waitMs: number;
}

export interface LogReader {
  readonly partition: number;
  /** The next offset `read` will return. */
  readonly position: number;
  /**
   * Up to `maxRecords` records in offset order; `[]` when none arrived within `waitMs`. Rejects with
   * `LOG_CLOSED` once the reader (or its log) is closed.
   */
  read(options: ReadOptions): Promise<LogRecord[]>;
  close(): Promise<void>;
}

export interface EventLog {
  /** Adapter name for logs and metrics ("embedded", "rabbitmq", "memory", "kafka"). */
  readonly kind: string;
  readonly partitionCount: number;
  partitionOf(key: string): number;
  append(entries: readonly LogEntry[]): Promise<LogPosition[]>;
  offsets(partition: number): Promise<PartitionOffsets>;
  /** A reader positioned at `fromOffset` (clamped to the oldest retained offset). */
  openReader(partition: number, fromOffset: number): Promise<LogReader>;
  close(): Promise<void>;
}
