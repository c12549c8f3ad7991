import { readdirSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { LogErrors } from '../errors.js';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, checkFrame, readFrameLength, type FrameCheck } from './frame.js';

/** One sparse-index entry per this many bytes of a segment: a read seeks, then scans at most this far. */
export const INDEX_INTERVAL_BYTES = 64 * 1024;
const SCAN_CHUNK_BYTES = 256 * 1024;
const SEGMENT_NAME_RE = /^(\d{20})\.seg$/;

export function partitionDirName(partition: number): string {
  return `p${String(partition).padStart(4, '0')}`;
}

export function segmentFileName(baseOffset: number): string {
  return `${String(baseOffset).padStart(20, '0')}.seg`;
}

/** Base offsets of the segment files in a partition directory, ascending. */
export function listSegmentBases(partitionDir: string): number[] {
  const bases: number[] = [];
  for (const name of readdirSync(partitionDir)) {
    const match = SEGMENT_NAME_RE.exec(name);
    if (match) bases.push(Number(match[1]));
  }
  return bases.sort((a, b) => a - b);
}

export interface ScanOptions {
  /** File position of the frame `fromOffset`. */
  readonly fromPos: number;
  readonly fromOffset: number;
  /** Stop when this offset is reached (its frame is not read). */
  readonly untilOffset?: number;
  /** Bytes of the file that may hold frames (its size). */
  readonly limitPos: number;
  /** Check every CRC (recovery) or only lengths and offsets (index building, retention). */
  readonly verify: boolean;
  readonly onFrame?: (offset: number, pos: number, length: number, timestampMs: number) => void;
}

export interface ScanResult {
  /** Position and offset of the first frame not consumed. */
  readonly pos: number;
  readonly offset: number;
  /** `until`: reached `untilOffset`; `end`: exactly at `limitPos`; otherwise why the frame at `pos` is invalid. */
  readonly stop: 'until' | 'end' | Exclude<FrameCheck, 'ok'>;
}

/** Walks frames sequentially, reading the file in large chunks. */
export async function scanFrames(fh: FileHandle, options: ScanOptions): Promise<ScanResult> {
  let buf = Buffer.allocUnsafe(SCAN_CHUNK_BYTES);
  let bufPos = 0;
  let bufLen = 0;
  let pos = options.fromPos;
  let offset = options.fromOffset;
  const fill = async (at: number, minBytes: number) => {
    if (buf.length < minBytes) buf = Buffer.allocUnsafe(minBytes);
    const want = Math.max(0, Math.min(buf.length, options.limitPos - at));
    const { bytesRead } = await fh.read(buf, 0, want, at);
    bufPos = at;
    bufLen = bytesRead;
  };
  for (;;) {
    if (options.untilOffset !== undefined && offset >= options.untilOffset) return { pos, offset, stop: 'until' };
    if (pos >= options.limitPos) return { pos, offset, stop: 'end' };
    if (pos < bufPos || pos + FRAME_HEADER_BYTES > bufPos + bufLen) await fill(pos, FRAME_HEADER_BYTES);
    let rel = pos - bufPos;
    let available = bufLen - rel;
    if (available < FRAME_HEADER_BYTES) return { pos, offset, stop: 'short' };
    const length = readFrameLength(buf, rel);
    if (options.verify) {
      if (length >= FRAME_HEADER_BYTES && length <= options.limitPos - pos && available < length) {
        await fill(pos, length);
        rel = 0;
        available = bufLen;
      }
      const check = checkFrame(buf, rel, available, offset);
      if (check !== 'ok') return { pos, offset, stop: check };
    } else {
      if (length < FRAME_HEADER_BYTES || buf.readUInt32LE(rel + 24) > length - FRAME_HEADER_BYTES) {
        return { pos, offset, stop: 'bad-length' };
      }
      if (length > options.limitPos - pos) return { pos, offset, stop: 'short' };
      if (buf.readUIntLE(rel + 8, 6) !== offset) return { pos, offset, stop: 'bad-offset' };
    }
    options.onFrame?.(offset, pos, length, buf.readDoubleLE(rel + 16));
    pos += length;
    offset++;
  }
}

/**
 * What the log knows about one segment file: its base offset, size, newest timestamp and a sparse index
 * (offset → file position, one entry per INDEX_INTERVAL_BYTES), grown as frames are written or scanned.
 */
export class Segment {
  /** Known size in bytes (writer: durable bytes; sealed segments: file size at open). */
  bytes: number;
  /** Newest record timestamp; undefined until the segment was written or scanned in this process. */
  maxTimestampMs: number | undefined;
  private readonly indexOffsets: number[];
  private readonly indexPositions: number[];
  /** A known frame boundary: the frame `scannedOffset` starts at `scannedPos`. */
  private scannedOffset: number;
  private scannedPos: number;

  constructor(
    readonly base: number,
    readonly path: string,
    bytes: number,
  ) {
    this.bytes = bytes;
    this.indexOffsets = [base];
    this.indexPositions = [SEGMENT_HEADER_BYTES];
    this.scannedOffset = base;
    this.scannedPos = SEGMENT_HEADER_BYTES;
  }

  static at(partitionDir: string, base: number, bytes: number): Segment {
    return new Segment(base, join(partitionDir, segmentFileName(base)), bytes);
  }

  /** Records that frame `offset` starts at `pos` (frames must be noted in ascending order). */
  noteFrame(offset: number, pos: number): void {
    const last = this.indexOffsets.length - 1;
    if (offset > this.indexOffsets[last]! && pos - this.indexPositions[last]! >= INDEX_INTERVAL_BYTES) {
      this.indexOffsets.push(offset);
      this.indexPositions.push(pos);
    }
  }

  /** Records a frame boundary reached by writing or scanning (the frame `offset` starts at `pos`). */
  noteBoundary(offset: number, pos: number): void {
    if (offset > this.scannedOffset) {
      this.scannedOffset = offset;
      this.scannedPos = pos;
    }
  }

  noteTimestamp(timestampMs: number): void {
    if (this.maxTimestampMs === undefined || timestampMs > this.maxTimestampMs) this.maxTimestampMs = timestampMs;
  }

  /**
   * File position of the frame `target`, which must be durable and in this segment (or equal its end).
   * Seeks with the sparse index, then scans headers forward, indexing as it goes.
   */
  async locate(fh: FileHandle, target: number): Promise<number> {
    let lo = 0;
    let hi = this.indexOffsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.indexOffsets[mid]! <= target) lo = mid;
      else hi = mid - 1;
    }
    let offset = this.indexOffsets[lo]!;
    let pos = this.indexPositions[lo]!;
    if (this.scannedOffset <= target && this.scannedOffset > offset) {
      offset = this.scannedOffset;
      pos = this.scannedPos;
    }
    if (offset === target) return pos;
    const result = await scanFrames(fh, {
      fromPos: pos,
      fromOffset: offset,
      untilOffset: target,
      limitPos: Number.MAX_SAFE_INTEGER,
      verify: false,
      onFrame: (o, p) => this.noteFrame(o, p),
    });
    if (result.stop !== 'until') {
      throw LogErrors.create('LOG_CORRUPT', `Cannot find offset ${target} in ${this.path} (${result.stop})`, {
        details: { segment: this.path, offset: target, position: result.pos, reason: result.stop },
      });
    }
    this.noteBoundary(result.offset, result.pos);
    return result.pos;
  }

  /** Reads the whole (sealed) segment's headers once to learn its newest timestamp. */
  async learnMaxTimestamp(fh: FileHandle): Promise<number | undefined> {
    if (this.maxTimestampMs !== undefined) return this.maxTimestampMs;
    const { size } = await fh.stat();
    let newest: number | undefined;
    const result = await scanFrames(fh, {
      fromPos: SEGMENT_HEADER_BYTES,
      fromOffset: this.base,
      limitPos: size,
      verify: false,
      onFrame: (o, p, _len, ts) => {
        this.noteFrame(o, p);
        if (newest === undefined || ts > newest) newest = ts;
      },
    });
    this.noteBoundary(result.offset, result.pos);
    if (newest !== undefined) this.noteTimestamp(newest);
    return this.maxTimestampMs;
  }
}

/** The segment holding `offset` in an ascending list (the last one whose base ≤ offset). */
export function findSegment(segments: readonly Segment[], offset: number): Segment | undefined {
  let lo = 0;
  let hi = segments.length - 1;
  let found: Segment | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const segment = segments[mid]!;
    if (segment.base <= offset) {
      found = segment;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}
