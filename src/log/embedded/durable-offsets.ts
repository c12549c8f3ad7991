import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

/*
 * How readers learn which records are durable without touching the segment files:
 * - the writer keeps, per partition, the oldest retained offset and the durable end offset in a
 *   SharedArrayBuffer, stores them after each fsync and `Atomics.notify`s; reader instances in worker
 *   threads wait on it with `Atomics.waitAsync`;
 * - it also pwrites the same numbers to the `DURABLE` file (no fsync: it is a hint for readers in other
 *   processes, rebuilt by the writer at open), which such readers poll every few ms.
 * A reader never reads at or past the durable end, so it never returns a record that is not on disk.
 */

export const DURABLE_FILE = 'DURABLE';
const DURABLE_MAGIC = 0x52554b4b; // "KKUR"
const DURABLE_HEADER_BYTES = 8;
const DURABLE_SLOT_BYTES = 24;

/** Durable offsets as a reader sees them. */
export interface OffsetsView {
  start(partition: number): number;
  end(partition: number): number;
  /** Resolves when `end(partition)` may differ from `knownEnd`, on close, or after `timeoutMs`. */
  wait(partition: number, knownEnd: number, timeoutMs: number): Promise<void>;
  /** Wakes every waiter (closing). */
  wakeAll(): void;
}

interface WaitAsyncResult {
  readonly async: boolean;
  readonly value: Promise<'ok' | 'timed-out'> | 'not-equal' | 'timed-out';
}
type WaitAsync = (array: BigInt64Array, index: number, value: bigint, timeoutMs: number) => WaitAsyncResult;
// Atomics.waitAsync is in Node 20 but only in TypeScript's ES2024 lib.
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;

/** Layout: BigInt64 [end_0 … end_{n-1}, start_0 … start_{n-1}]. */
export class SharedOffsets implements OffsetsView {
  private readonly array: BigInt64Array;

  constructor(
    readonly buffer: SharedArrayBuffer,
    readonly partitionCount: number,
  ) {
    this.array = new BigInt64Array(buffer);
  }

  static bytesFor(partitionCount: number): number {
    return 16 * partitionCount;
  }

  static create(partitionCount: number): SharedOffsets {
    return new SharedOffsets(new SharedArrayBuffer(SharedOffsets.bytesFor(partitionCount)), partitionCount);
  }

  end(partition: number): number {
    return Number(Atomics.load(this.array, partition));
  }

  start(partition: number): number {
    return Number(Atomics.load(this.array, this.partitionCount + partition));
  }

  /** Writer side: after an fsync or a retention pass. */
  publish(partition: number, start: number, end: number): void {
    Atomics.store(this.array, this.partitionCount + partition, BigInt(start));
    if (Atomics.load(this.array, partition) !== BigInt(end)) {
      Atomics.store(this.array, partition, BigInt(end));
      Atomics.notify(this.array, partition);
    }
  }

  wait(partition: number, knownEnd: number, timeoutMs: number): Promise<void> {
    const result = waitAsync(this.array, partition, BigInt(knownEnd), timeoutMs);
    if (!result.async) return Promise.resolve();
    // A pending waitAsync does not keep the event loop (or a worker thread) alive; this timer does.
    const keepAlive = setTimeout(() => undefined, timeoutMs + 1_000);
    return (result.value as Promise<unknown>).then(() => clearTimeout(keepAlive));
  }

  wakeAll(): void {
    for (let p = 0; p < this.partitionCount; p++) Atomics.notify(this.array, p);
  }
}

/** The `DURABLE` file: magic u32 | partitionCount u32 | per partition: start f64 | end f64 | crc32 u32 | pad u32. */
export function encodeDurable(starts: readonly number[], ends: readonly number[]): Buffer {
  const buf = Buffer.alloc(DURABLE_HEADER_BYTES + DURABLE_SLOT_BYTES * ends.length);
  buf.writeUInt32LE(DURABLE_MAGIC, 0);
  buf.writeUInt32LE(ends.length, 4);
  for (let p = 0; p < ends.length; p++) {
    const at = DURABLE_HEADER_BYTES + DURABLE_SLOT_BYTES * p;
    buf.writeDoubleLE(starts[p]!, at);
    buf.writeDoubleLE(ends[p]!, at + 8);
    buf.writeUInt32LE(crc32(buf.subarray(at, at + 16)), at + 16);
  }
  return buf;
}

/** Writer side: keeps the DURABLE file open and overwrites it in place. */
export class DurableFileWriter {
  private readonly fd: number;

  constructor(dir: string) {
    this.fd = openSync(join(dir, DURABLE_FILE), 'w');
  }

  write(view: SharedOffsets): void {
    const starts: number[] = [];
    const ends: number[] = [];
    for (let p = 0; p < view.partitionCount; p++) {
      starts.push(view.start(p));
      ends.push(view.end(p));
    }
    const buf = encodeDurable(starts, ends);
    writeSync(this.fd, buf, 0, buf.length, 0);
  }

  close(): void {
    closeSync(this.fd);
  }
}

/**
 * Reader side without shared memory (another process): re-reads the DURABLE file at most once per
 * millisecond when asked, and every `pollIntervalMs` while waiting. A slot whose CRC does not match (read
 * while being overwritten) keeps its previous value: values only grow, so a stale one is merely late.
 */
export class PolledOffsets implements OffsetsView {
  private readonly starts: number[];
  private readonly ends: number[];
  private readonly path: string;
  private readonly buf: Buffer;
  private lastReadMs = -Infinity;
  private readonly wakers = new Set<() => void>();

  constructor(
    dir: string,
    readonly partitionCount: number,
    private readonly pollIntervalMs: number,
  ) {
    this.path = join(dir, DURABLE_FILE);
    this.starts = new Array<number>(partitionCount).fill(0);
    this.ends = new Array<number>(partitionCount).fill(0);
    this.buf = Buffer.alloc(DURABLE_HEADER_BYTES + DURABLE_SLOT_BYTES * partitionCount);
    this.refresh(true);
  }

  start(partition: number): number {
    this.refresh(false);
    return this.starts[partition]!;
  }

  end(partition: number): number {
    this.refresh(false);
    return this.ends[partition]!;
  }

  async wait(partition: number, knownEnd: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let woken = false;
    const wake = () => {
      woken = true;
    };
    this.wakers.add(wake);
    try {
      while (!woken && this.end(partition) === knownEnd) {
        const left = deadline - performance.now();
        if (left <= 0) return;
        await new Promise((resolve) => setTimeout(resolve, Math.min(this.pollIntervalMs, left)));
        this.refresh(true);
      }
    } finally {
      this.wakers.delete(wake);
    }
  }

  wakeAll(): void {
    for (const wake of this.wakers) wake();
  }

  private refresh(force: boolean): void {
    const now = performance.now();
    if (!force && now - this.lastReadMs < 1) return;
    this.lastReadMs = now;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return;
    }
    try {
      const bytes = readSync(fd, this.buf, 0, this.buf.length, 0);
      if (bytes < DURABLE_HEADER_BYTES || this.buf.readUInt32LE(0) !== DURABLE_MAGIC) return;
      for (let p = 0; p < this.partitionCount; p++) {
        const at = DURABLE_HEADER_BYTES + DURABLE_SLOT_BYTES * p;
        if (at + DURABLE_SLOT_BYTES > bytes) break;
        if (this.buf.readUInt32LE(at + 16) !== crc32(this.buf.subarray(at, at + 16))) continue;
        this.starts[p] = Math.max(this.starts[p]!, this.buf.readDoubleLE(at));
        this.ends[p] = Math.max(this.ends[p]!, this.buf.readDoubleLE(at + 8));
      }
    } finally {
      closeSync(fd);
    }
  }
}
