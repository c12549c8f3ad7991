import type { LogEntry } from '../port.js';
import { writeFrame } from './frame.js';

/** Frames are encoded straight into chunks of this size (a larger frame gets a buffer of its own). */
export const CHUNK_BYTES = 256 * 1024;
const MAX_POOLED_CHUNKS = 64;

/** Reuses chunk buffers once their bytes are on disk, so a busy log does not allocate per flush. */
export class ChunkPool {
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
  }

  give(buffers: readonly Buffer[]): void {
    for (const buf of buffers) {
      if (buf.length === CHUNK_BYTES && this.free.length < MAX_POOLED_CHUNKS) this.free.push(buf);
    }
  }
}

/** Frames of one partition handed to one flush (or kept after a failed one, to be written again). */
export interface FrameBatch {
  /** Encoded frames, in offset order. */
  readonly views: readonly Buffer[];
  /** Backing buffers to give back to the pool once the views are on disk. */
  readonly owners: readonly Buffer[];
  readonly frameLengths: readonly number[];
  readonly firstOffset: number;
  readonly bytes: number;
  readonly maxTimestampMs: number;
}

/** The frames of one partition appended since the last flush took them. */
export class PendingFrames {
  private sealedViews: Buffer[] = [];
  private owners: Buffer[] = [];
  private current: Buffer | undefined;
  private used = 0;
  private frameLengths: number[] = [];
  private firstOffset = -1;
  private maxTimestampMs = Number.NEGATIVE_INFINITY;
  bytes = 0;

  constructor(private readonly pool: ChunkPool) {}

  get count(): number {
    return this.frameLengths.length;
  }

  push(offset: number, entry: LogEntry, keyBytes: number, length: number): void {
    let buf: Buffer;
    let pos: number;
    if (length > CHUNK_BYTES) {
      this.sealCurrent();
      buf = Buffer.allocUnsafe(length);
      pos = 0;
      this.sealedViews.push(buf);
    } else {
      if (!this.current || this.used + length > CHUNK_BYTES) this.startChunk();
      buf = this.current!;
      pos = this.used;
      this.used += length;
    }
    writeFrame(buf, pos, offset, entry.timestampMs, entry.key, keyBytes, entry.value);
    if (this.firstOffset < 0) this.firstOffset = offset;
    this.frameLengths.push(length);
    this.bytes += length;
    if (entry.timestampMs > this.maxTimestampMs) this.maxTimestampMs = entry.timestampMs;
  }

  /** Hands everything to a flush; appends after this start a new batch. */
  take(): FrameBatch {
    this.sealCurrent();
    const batch: FrameBatch = {
      views: this.sealedViews,
      owners: this.owners,
      frameLengths: this.frameLengths,
      firstOffset: this.firstOffset,
      bytes: this.bytes,
      maxTimestampMs: this.maxTimestampMs,
    };
    this.sealedViews = [];
    this.owners = [];
    this.frameLengths = [];
    this.firstOffset = -1;
    this.bytes = 0;
    this.maxTimestampMs = Number.NEGATIVE_INFINITY;
    return batch;
  }

  /** Puts a batch whose flush failed back in front: it keeps its offsets and is written again next time. */
  restore(batch: FrameBatch): void {
    this.sealedViews = [...batch.views, ...this.sealedViews];
    this.owners = [...batch.owners, ...this.owners];
    this.frameLengths = [...batch.frameLengths, ...this.frameLengths];
    this.firstOffset = batch.firstOffset;
    this.bytes += batch.bytes;
    this.maxTimestampMs = Math.max(this.maxTimestampMs, batch.maxTimestampMs);
  }

  private startChunk(): void {
    this.sealCurrent();
    this.current = this.pool.take();
    this.owners.push(this.current);
    this.used = 0;
  }

  private sealCurrent(): void {
    if (!this.current) return;
    if (this.used > 0) {
      this.sealedViews.push(this.current.subarray(0, this.used));
    } else {
      this.owners.splice(this.owners.indexOf(this.current), 1);
      this.pool.give([this.current]);
    }
    this.current = undefined;
    this.used = 0;
  }
}
