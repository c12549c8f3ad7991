import type { EventLog } from '../port.js';
import type { EmbeddedLogMode } from './options.js';

/** A latency distribution in cumulative buckets (Prometheus-style `le`), in milliseconds. */
export interface LatencyHistogram {
  readonly count: number;
  readonly sumMs: number;
  readonly maxMs: number;
  /** Cumulative: `count` observations took ≤ `leMs`; the last bucket is `Infinity`. */
  readonly buckets: readonly { readonly leMs: number; readonly count: number }[];
}

export interface EmbeddedPartitionStats {
  readonly partition: number;
  readonly start: number;
  readonly end: number;
  readonly segments: number;
  readonly bytes: number;
}

/** Counters for the serve layer's Prometheus metrics; all cumulative since open except the gauges. */
export interface EmbeddedLogStats {
  readonly appends: number;
  readonly appendedRecords: number;
  readonly appendedBytes: number;
  readonly rejectedBackpressure: number;
  readonly rejectedUnavailable: number;
  /** Flushes (group commits) attempted, and those where at least one partition failed. */
  readonly flushes: number;
  readonly flushFailures: number;
  /** fdatasync calls (one per touched partition per flush) and their duration. */
  readonly fsyncs: number;
  readonly fsyncMs: LatencyHistogram;
  /** Whole flush: writes + fsyncs of all touched partitions. */
  readonly flushMs: LatencyHistogram;
  /** Records per flush (how much group commit batches). */
  readonly recordsPerFlush: { readonly count: number; readonly sum: number; readonly max: number };
  /** Gauge: bytes appended but not yet durable. */
  readonly pendingBytes: number;
  readonly segmentsDeleted: number;
  readonly partitions: readonly EmbeddedPartitionStats[];
}

/** The embedded adapter's EventLog, plus what only it has. */
export interface EmbeddedEventLog extends EventLog {
  readonly kind: 'embedded';
  readonly mode: EmbeddedLogMode;
  readonly dir: string;
  /**
   * Durable start/end offsets per partition, updated after every fsync. Pass it to
   * `createEmbeddedEventLog({ dir, mode: 'reader', shared })` in a worker thread so that thread's readers
   * wake the moment records are durable. Undefined for a reader that polls.
   */
  readonly shared: SharedArrayBuffer | undefined;
  stats(): EmbeddedLogStats;
  /** Deletes segments past retention now (it also runs on a timer and after segment rolls). Writer only. */
  enforceRetention(): Promise<void>;
}
