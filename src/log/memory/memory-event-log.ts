import { partitionFor } from '../../core/index.js';
import { LogErrors } from '../errors.js';
import type { EventLog, LogEntry, LogPosition, LogReader, LogRecord, PartitionOffsets, ReadOptions } from '../port.js';

/**
 * An in-process, NON-durable EventLog: records live in arrays and vanish with the process.
 * For unit tests of consumers and for the conformance suite's reference behaviour; never a
 * production adapter (it skips the durability tests, saying why).
 */
export class MemoryEventLog implements EventLog {
  readonly kind = 'memory';
  private readonly partitions: LogRecord[][];
  private readonly waiters: Array<Set<() => void>>;
  private closed = false;

  constructor(readonly partitionCount: number) {
    if (!Number.isInteger(partitionCount) || partitionCount < 1) {
      throw LogErrors.create('LOG_INVALID_OPTIONS', 'partitionCount must be a positive integer');
    }
    this.partitions = Array.from({ length: partitionCount }, () => []);
    this.waiters = Array.from({ length: partitionCount }, () => new Set());
  }

  partitionOf(key: string): number {
    return partitionFor(key, this.partitionCount);
  }

  append(entries: readonly LogEntry[]): Promise<LogPosition[]> {
    if (this.closed) return Promise.reject(LogErrors.create('LOG_CLOSED'));
    const touched = new Set<number>();
    const positions = entries.map((entry) => {
      const partition = this.partitionOf(entry.key);
      const records = this.partition(partition);
      const offset = records.length;
      records.push({ partition, offset, key: entry.key, value: entry.value.slice(), timestampMs: entry.timestampMs });
      touched.add(partition);
      return { partition, offset };
    });
    for (const partition of touched) this.wake(partition);
    return Promise.resolve(positions);
  }

  offsets(partition: number): Promise<PartitionOffsets> {
    const records = this.partitions[partition];
    if (!records) return Promise.reject(LogErrors.create('LOG_INVALID_PARTITION', `No partition ${partition}`));
    return Promise.resolve({ start: 0, end: records.length });
  }

  openReader(partition: number, fromOffset: number): Promise<LogReader> {
    const records = this.partitions[partition];
    if (!records) return Promise.reject(LogErrors.create('LOG_INVALID_PARTITION', `No partition ${partition}`));
    let position = Math.max(0, fromOffset);
    const wait = (waitMs: number) =>
      new Promise<void>((resolve) => {
        const waiters = this.waiters[partition]!;
        const done = () => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, waitMs);
        waiters.add(done);
      });
    let readerClosed = false;
    const reader: LogReader = {
      partition,
      get position() {
        return position;
      },
      read: async ({ maxRecords, waitMs }: ReadOptions) => {
        if (readerClosed || this.closed) throw LogErrors.create('LOG_CLOSED', 'The reader is closed');
        if (position >= records.length && waitMs > 0 && !this.closed) await wait(waitMs);
        const batch = records.slice(position, position + maxRecords);
        position += batch.length;
        return batch;
      },
      close: () => {
        readerClosed = true;
        return Promise.resolve();
      },
    };
    return Promise.resolve(reader);
  }

  close(): Promise<void> {
    this.closed = true;
    for (let p = 0; p < this.partitionCount; p++) this.wake(p);
    return Promise.resolve();
  }

  private partition(partition: number): LogRecord[] {
    const records = this.partitions[partition];
    if (!records) throw LogErrors.create('LOG_INVALID_PARTITION', `No partition ${partition}`);
    return records;
  }

  private wake(partition: number): void {
    for (const waiter of [...this.waiters[partition]!]) waiter();
  }
}

export function createMemoryEventLog(options: { partitionCount: number }): EventLog {
  return new MemoryEventLog(options.partitionCount);
}
