import { existsSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { LogErrors } from '../errors.js';
import type { LogReader, LogRecord, ReadOptions } from '../port.js';
import type { OffsetsView } from './durable-offsets.js';
import { FRAME_HEADER_BYTES, MAX_FRAME_BYTES, checkFrame, decodeFrame, readFrameLength } from './frame.js';
import { findSegment, type Segment } from './segment.js';

const READ_CHUNK_BYTES = 256 * 1024;

/** What a reader needs from its log (writer or reader-mode instance) for one partition. */
export interface ReaderSource {
  readonly partition: number;
  readonly offsets: OffsetsView;
  /** Known segments, ascending by base offset. */
  segments(): readonly Segment[];
  /** Re-lists the segment files (reader mode: the writer may have rolled or deleted some). */
  refreshSegments(): void;
  isClosed(): boolean;
  readerClosed(reader: EmbeddedLogReader): void;
}

/**
 * Reads one partition's segment files through its own file handle and read buffer. It only ever parses
 * frames below the durable end it observed *before* reading the bytes, so it never returns (or caches) a
 * record that was not yet on disk, and every frame's CRC and offset are checked before it is returned.
 */
export class EmbeddedLogReader implements LogReader {
  readonly partition: number;
  private next: number;
  private segment: Segment | undefined;
  /** Base offset of the segment after `segment` (Infinity while it is the last known one). */
  private segmentEnd = Number.POSITIVE_INFINITY;
  private fh: FileHandle | undefined;
  /** File position of the frame `next` in `segment`. */
  private filePos = 0;
  private buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private bufFilePos = 0;
  private bufLen = 0;
  /** Frames in `buf` below this offset were durable when read; the rest must be read again. */
  private bufSafeEnd = 0;
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly source: ReaderSource,
    fromOffset: number,
  ) {
    this.partition = source.partition;
    this.next = fromOffset;
  }

  get position(): number {
    return this.next;
  }

  read(options: ReadOptions): Promise<LogRecord[]> {
    // Calls on one reader are served one after the other.
    const result = this.tail.then(() => this.readNow(options));
    this.tail = result.catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.source.readerClosed(this);
    await this.tail;
    await this.closeHandle();
  }

  private async readNow({ maxRecords, waitMs }: ReadOptions): Promise<LogRecord[]> {
    if (this.closed) throw LogErrors.create('LOG_CLOSED', 'The reader is closed');
    const { offsets, partition } = this.source;
    if (maxRecords < 1 || this.source.isClosed()) return [];
    this.clampToStart();
    let end = offsets.end(partition);
    if (this.next >= end && waitMs > 0) {
      const deadline = performance.now() + waitMs;
      while (this.next >= end && !this.closed && !this.source.isClosed()) {
        const left = deadline - performance.now();
        if (left <= 0) break;
        await offsets.wait(partition, end, left);
        end = offsets.end(partition);
      }
      this.clampToStart();
    }
    const records: LogRecord[] = [];
    while (records.length < maxRecords && this.next < end && !this.closed) {
      if (!this.parseBuffered(records, maxRecords, end)) await this.advance(end);
    }
    return records;
  }

  private clampToStart(): void {
    // The oldest known segment counts too: a reader-mode instance may list the directory after retention
    // deleted a segment but before the writer published the new start.
    const start = Math.max(this.source.offsets.start(this.partition), this.source.segments()[0]?.base ?? 0);
    if (this.next < start) {
      this.next = start;
      this.segment = undefined;
    }
  }

  /** Decodes frames already in the buffer; false when none could be. */
  private parseBuffered(records: LogRecord[], maxRecords: number, end: number): boolean {
    if (!this.segment) return false;
    const limit = Math.min(end, this.bufSafeEnd, this.segmentEnd);
    let parsed = false;
    while (records.length < maxRecords && this.next < limit) {
      const rel = this.filePos - this.bufFilePos;
      if (rel < 0 || rel + FRAME_HEADER_BYTES > this.bufLen) break;
      const length = readFrameLength(this.buf, rel);
      if (length >= FRAME_HEADER_BYTES && rel + length > this.bufLen) break;
      const check = checkFrame(this.buf, rel, this.bufLen - rel, this.next);
      if (check !== 'ok') throw this.corrupt(check);
      const frame = decodeFrame(this.buf, rel);
      records.push({
        partition: this.partition,
        offset: frame.offset,
        key: frame.key,
        value: frame.value,
        timestampMs: frame.timestampMs,
      });
      this.filePos += length;
      this.next++;
      parsed = true;
    }
    return parsed;
  }

  /** Makes the frame `next` (durable, below `end`) parseable: moves to its segment or refills the buffer. */
  private async advance(end: number): Promise<void> {
    if (!this.segment || this.next >= this.segmentEnd) {
      await this.seek();
      return;
    }
    const rel = this.filePos - this.bufFilePos;
    const known =
      rel >= 0 && rel + FRAME_HEADER_BYTES <= this.bufLen && this.next < this.bufSafeEnd
        ? readFrameLength(this.buf, rel)
        : 0;
    await this.fill(end, Math.min(MAX_FRAME_BYTES, Math.max(known, FRAME_HEADER_BYTES)));
    if (this.bufLen === 0) {
      // This segment holds nothing more: the next durable record starts the following segment.
      this.source.refreshSegments();
      this.updateSegmentEnd();
      if (this.next >= this.segmentEnd) await this.seek();
      else throw this.corrupt('missing');
      return;
    }
    if (this.bufLen < FRAME_HEADER_BYTES) throw this.corrupt('short');
    const length = readFrameLength(this.buf, 0);
    if (length < FRAME_HEADER_BYTES || length > MAX_FRAME_BYTES) throw this.corrupt('bad-length');
    if (length > this.bufLen) {
      // A frame larger than the chunk just read: read it whole. Less than that means the file ends
      // inside a record below the durable end.
      if (this.bufLen === this.buf.length) await this.fill(end, length);
      if (this.bufLen < length) throw this.corrupt('short');
    }
  }

  private async fill(end: number, minBytes: number): Promise<void> {
    if (this.buf.length < minBytes) this.buf = Buffer.allocUnsafe(minBytes);
    else if (this.buf.length > READ_CHUNK_BYTES && minBytes <= READ_CHUNK_BYTES)
      this.buf = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    // `end` was observed before this read: frames below it are complete on disk and safe to cache.
    this.bufSafeEnd = end;
    const { bytesRead } = await this.fh!.read(this.buf, 0, this.buf.length, this.filePos);
    this.bufFilePos = this.filePos;
    this.bufLen = bytesRead;
  }

  private async seek(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      this.source.refreshSegments();
      this.clampToStart();
      const segment = findSegment(this.source.segments(), this.next);
      if (!segment) throw this.corrupt('missing');
      await this.closeHandle();
      try {
        this.fh = await open(segment.path, 'r');
      } catch (err) {
        const segments = this.source.segments();
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && attempt <= segments.length + 2) {
          // Retention is deleting the oldest segments (files first, then the list): continue after them.
          const index = segments.indexOf(segment);
          const following = segments[index + 1];
          if (following && index >= 0 && segments.slice(0, index).every((s) => !existsSync(s.path))) {
            this.next = Math.max(this.next, following.base);
          }
          continue;
        }
        throw LogErrors.create('LOG_UNAVAILABLE', `Cannot open ${segment.path}`, { cause: err });
      }
      this.segment = segment;
      this.updateSegmentEnd();
      this.filePos = await segment.locate(this.fh, this.next);
      this.bufLen = 0;
      this.bufFilePos = this.filePos;
      return;
    }
  }

  private updateSegmentEnd(): void {
    const segments = this.source.segments();
    const following = this.segment ? segments.find((s) => s.base > this.segment!.base) : undefined;
    this.segmentEnd = following ? following.base : Number.POSITIVE_INFINITY;
  }

  private async closeHandle(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    this.segment = undefined;
    if (fh) await fh.close();
  }

  private corrupt(reason: string) {
    return LogErrors.create(
      'LOG_CORRUPT',
      `Invalid record at offset ${this.next} of partition ${this.partition} (${reason})`,
      { details: { partition: this.partition, offset: this.next, segment: this.segment?.path, reason } },
    );
  }
}
