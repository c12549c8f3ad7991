import { decodePayload, type LogPayload } from '../core/index.js';
import type { EventLog, LogRecord } from '../log/index.js';

/**
 * First offset in [lo, hi) whose record time is ≥ sinceMs, by binary search. Record times are the
 * collector's receive times, non-decreasing per partition up to clock steps between collectors; a
 * small disorder only moves the start a little, and the caller scans forward from there anyway.
 */
async function firstOffsetSince(
  log: EventLog,
  partition: number,
  lo: number,
  hi: number,
  sinceMs: number,
): Promise<number> {
  let low = lo;
  let high = hi;
  while (low < high) {
    const mid = low + Math.floor((high - low) / 2);
    const reader = await log.openReader(partition, mid);
    let record: LogRecord | undefined;
    try {
      record = (await reader.read({ maxRecords: 1, waitMs: 0 }))[0];
    } finally {
      await reader.close();
    }
    if (record === undefined || record.timestampMs >= sinceMs) high = mid;
    else low = mid + 1;
  }
  return low;
}

export interface TailRecord {
  readonly payload: LogPayload;
  readonly record: LogRecord;
}

/**
 * Reads, per partition, the records appended since `sinceMs` (at most `maxPerPartition`, the newest),
 * and hands each decoded payload to `visit` in offset order. Records that do not decode are skipped
 * (they are not the collector's).
 */
export async function scanLogTail(
  log: EventLog,
  sinceMs: number,
  maxPerPartition: number,
  visit: (batch: readonly TailRecord[]) => void,
): Promise<number> {
  let total = 0;
  for (let partition = 0; partition < log.partitionCount; partition++) {
    const { start, end } = await log.offsets(partition);
    if (end <= start) continue;
    const from = Math.max(await firstOffsetSince(log, partition, start, end, sinceMs), end - maxPerPartition);
    const reader = await log.openReader(partition, from);
    try {
      while (reader.position < end) {
        const records = await reader.read({ maxRecords: 1000, waitMs: 0 });
        if (records.length === 0) break;
        const batch: TailRecord[] = [];
        for (const record of records) {
          if (record.offset >= end) break;
          try {
            batch.push({ payload: decodePayload(record.value), record });
          } catch {
            // Not JSON written by a collector: nothing to rebuild from it.
          }
        }
        total += batch.length;
        visit(batch);
      }
    } finally {
      await reader.close();
    }
  }
  return total;
}
