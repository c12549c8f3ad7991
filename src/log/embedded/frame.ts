import { crc32 } from 'node:zlib';

/*
 * On-disk framing of the embedded log (docs/log.md has the diagram).
 *
 * Segment file = 16-byte header, then frames back to back:
 *   header: magic "KLOG" | version u16 | reserved u16 | base offset u48 | reserved u16
 *   frame:  crc32 u32 | length u32 | offset u48 | attributes u16 | timestampMs f64 | keyBytes u32 | key | value
 * All integers little-endian. `length` counts the whole frame; the CRC covers everything after itself
 * (length included, one zlib.crc32 call), so a torn or zero-filled tail, a wrong length or a frame from
 * another position never passes as a record.
 */

export const SEGMENT_HEADER_BYTES = 16;
export const FRAME_HEADER_BYTES = 28;
const SEGMENT_MAGIC = 0x474f4c4b; // "KLOG" read as a little-endian u32
const FORMAT_VERSION = 1;
/** Largest key + value a frame may carry (lengths are u32; this keeps reads of a damaged length sane). */
export const MAX_RECORD_BYTES_LIMIT = 256 * 1024 * 1024;
export const MAX_FRAME_BYTES = FRAME_HEADER_BYTES + MAX_RECORD_BYTES_LIMIT;

export function frameLength(keyBytes: number, valueBytes: number): number {
  return FRAME_HEADER_BYTES + keyBytes + valueBytes;
}

/**
 * Encodes one record at `pos` of `buf` (which must have `frameLength(keyBytes, value.byteLength)` bytes
 * free there) and returns the frame length.
 */
export function writeFrame(
  buf: Buffer,
  pos: number,
  offset: number,
  timestampMs: number,
  key: string,
  keyBytes: number,
  value: Uint8Array,
): number {
  const length = FRAME_HEADER_BYTES + keyBytes + value.byteLength;
  buf.writeUInt32LE(length, pos + 4);
  buf.writeUIntLE(offset, pos + 8, 6);
  buf.writeUInt16LE(0, pos + 14);
  buf.writeDoubleLE(timestampMs, pos + 16);
  buf.writeUInt32LE(keyBytes, pos + 24);
  if (keyBytes === key.length) {
    // ASCII (the usual profile key): a loop is cheaper than Buffer#write's checks and native call.
    const at = pos + FRAME_HEADER_BYTES;
    for (let i = 0; i < keyBytes; i++) buf[at + i] = key.charCodeAt(i);
  } else buf.write(key, pos + FRAME_HEADER_BYTES, keyBytes, 'utf8');
  buf.set(value, pos + FRAME_HEADER_BYTES + keyBytes);
  buf.writeUInt32LE(frameChecksum(buf, pos, length), pos);
  return length;
}

/** CRC32 of everything after the CRC field, the length field included. */
export function frameChecksum(buf: Buffer, pos: number, length: number): number {
  // A plain Uint8Array view: Buffer#subarray's species construction costs more than the CRC of a small frame.
  return crc32(new Uint8Array(buf.buffer, buf.byteOffset + pos + 4, length - 4));
}

/** The length field of the frame at `pos` (FRAME_HEADER_BYTES must be readable there). */
export function readFrameLength(buf: Buffer, pos: number): number {
  return buf.readUInt32LE(pos + 4);
}

export interface FrameHeader {
  readonly length: number;
  readonly checksum: number;
  readonly offset: number;
  readonly timestampMs: number;
  readonly keyBytes: number;
}

/** Reads the fixed header at `pos` (the caller ensures FRAME_HEADER_BYTES are there); no validation. */
export function readFrameHeader(buf: Buffer, pos: number): FrameHeader {
  return {
    length: buf.readUInt32LE(pos + 4),
    checksum: buf.readUInt32LE(pos),
    offset: buf.readUIntLE(pos + 8, 6),
    timestampMs: buf.readDoubleLE(pos + 16),
    keyBytes: buf.readUInt32LE(pos + 24),
  };
}

/** Why a frame is not a valid record ('ok' when it is). */
export type FrameCheck = 'ok' | 'short' | 'bad-length' | 'bad-checksum' | 'bad-offset';

/**
 * Validates the frame at `pos` given `available` bytes from `pos` on: complete, sane lengths, the
 * expected offset and a matching CRC.
 */
export function checkFrame(buf: Buffer, pos: number, available: number, expectedOffset: number): FrameCheck {
  if (available < FRAME_HEADER_BYTES) return 'short';
  const length = buf.readUInt32LE(pos + 4);
  if (length < FRAME_HEADER_BYTES || buf.readUInt32LE(pos + 24) > length - FRAME_HEADER_BYTES) return 'bad-length';
  if (available < length) return 'short';
  if (buf.readUInt32LE(pos) !== frameChecksum(buf, pos, length)) return 'bad-checksum';
  if (buf.readUIntLE(pos + 8, 6) !== expectedOffset) return 'bad-offset';
  return 'ok';
}

export interface DecodedFrame {
  readonly offset: number;
  readonly timestampMs: number;
  readonly key: string;
  /** A copy: callers may keep it after the read buffer is reused. */
  readonly value: Uint8Array;
}

/** Decodes a frame that `checkFrame` accepted. */
export function decodeFrame(buf: Buffer, pos: number): DecodedFrame {
  const length = buf.readUInt32LE(pos + 4);
  const keyBytes = buf.readUInt32LE(pos + 24);
  const keyStart = pos + FRAME_HEADER_BYTES;
  const value = new Uint8Array(length - FRAME_HEADER_BYTES - keyBytes);
  value.set(buf.subarray(keyStart + keyBytes, pos + length));
  return {
    offset: buf.readUIntLE(pos + 8, 6),
    timestampMs: buf.readDoubleLE(pos + 16),
    key: buf.toString('utf8', keyStart, keyStart + keyBytes),
    value,
  };
}

export function encodeSegmentHeader(baseOffset: number): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  buf.writeUInt32LE(SEGMENT_MAGIC, 0);
  buf.writeUInt16LE(FORMAT_VERSION, 4);
  buf.writeUIntLE(baseOffset, 8, 6);
  return buf;
}

/** What the first bytes of a segment file say: a valid header, a torn/zeroed one, or something else. */
export type SegmentHeaderCheck = 'ok' | 'torn' | 'foreign';

export function checkSegmentHeader(buf: Buffer, available: number, baseOffset: number): SegmentHeaderCheck {
  if (available < SEGMENT_HEADER_BYTES) return 'torn';
  const head = buf.subarray(0, SEGMENT_HEADER_BYTES);
  if (head.every((b) => b === 0)) return 'torn';
  if (head.readUInt32LE(0) !== SEGMENT_MAGIC || head.readUInt16LE(4) !== FORMAT_VERSION) return 'foreign';
  if (head.readUIntLE(8, 6) !== baseOffset) return 'foreign';
  return 'ok';
}
