import { describe, expect, it } from 'vitest';
import {
  FRAME_HEADER_BYTES,
  SEGMENT_HEADER_BYTES,
  checkFrame,
  checkSegmentHeader,
  decodeFrame,
  encodeSegmentHeader,
  frameLength,
  readFrameLength,
  writeFrame,
} from './frame.js';
import { CHUNK_BYTES, ChunkPool, PendingFrames } from './pending.js';

function encode(offset: number, key: string, value: Uint8Array, timestampMs = 1_700_000_000_123): Buffer {
  const keyBytes = Buffer.byteLength(key);
  const buf = Buffer.alloc(frameLength(keyBytes, value.byteLength));
  writeFrame(buf, 0, offset, timestampMs, key, keyBytes, value);
  return buf;
}

describe('frame', () => {
  it('round-trips offset, timestamp, key and value', () => {
    const value = new Uint8Array([0, 1, 2, 250, 255]);
    const buf = encode(2 ** 40 + 3, 'ключ-😀', value, -12.5);
    expect(checkFrame(buf, 0, buf.length, 2 ** 40 + 3)).toBe('ok');
    const frame = decodeFrame(buf, 0);
    expect(frame).toEqual({ offset: 2 ** 40 + 3, timestampMs: -12.5, key: 'ключ-😀', value });
    // The decoded value is a copy, not a view of the read buffer.
    buf.fill(0);
    expect([...frame.value]).toEqual([0, 1, 2, 250, 255]);
  });

  it('handles empty keys and values', () => {
    const buf = encode(0, '', new Uint8Array(0));
    expect(buf.length).toBe(FRAME_HEADER_BYTES);
    expect(checkFrame(buf, 0, buf.length, 0)).toBe('ok');
    expect(decodeFrame(buf, 0)).toMatchObject({ key: '', value: new Uint8Array(0) });
  });

  it('rejects every single flipped bit', () => {
    const buf = encode(7, 'user:42', new TextEncoder().encode('{"event":"Product Viewed"}'));
    for (let byte = 0; byte < buf.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const damaged = Buffer.from(buf);
        damaged[byte]! ^= 1 << bit;
        expect(checkFrame(damaged, 0, damaged.length, 7), `byte ${byte} bit ${bit}`).not.toBe('ok');
      }
    }
  });

  it('reports short, zero-filled and misplaced frames', () => {
    const buf = encode(3, 'k', new Uint8Array(100));
    expect(checkFrame(buf, 0, buf.length - 1, 3)).toBe('short');
    expect(checkFrame(buf, 0, FRAME_HEADER_BYTES - 1, 3)).toBe('short');
    expect(checkFrame(Buffer.alloc(64), 0, 64, 0)).toBe('bad-length');
    expect(checkFrame(buf, 0, buf.length, 4)).toBe('bad-offset');
  });

  it('checks segment headers', () => {
    const header = encodeSegmentHeader(1234);
    expect(header.length).toBe(SEGMENT_HEADER_BYTES);
    expect(checkSegmentHeader(header, header.length, 1234)).toBe('ok');
    expect(checkSegmentHeader(header, 10, 1234)).toBe('torn');
    expect(checkSegmentHeader(Buffer.alloc(SEGMENT_HEADER_BYTES), SEGMENT_HEADER_BYTES, 1234)).toBe('torn');
    expect(checkSegmentHeader(header, header.length, 1235)).toBe('foreign');
    expect(checkSegmentHeader(Buffer.from('not a log file!!'), SEGMENT_HEADER_BYTES, 0)).toBe('foreign');
  });
});

describe('PendingFrames', () => {
  /** Parses concatenated frames back into [offset, key, value length]. */
  function parse(views: readonly Buffer[], firstOffset: number): [number, string, number][] {
    const all = Buffer.concat(views);
    const out: [number, string, number][] = [];
    for (let pos = 0, offset = firstOffset; pos < all.length; offset++) {
      expect(checkFrame(all, pos, all.length - pos, offset)).toBe('ok');
      const frame = decodeFrame(all, pos);
      out.push([frame.offset, frame.key, frame.value.byteLength]);
      pos += readFrameLength(all, pos);
    }
    return out;
  }

  function push(pending: PendingFrames, offset: number, key: string, size: number): void {
    const value = new Uint8Array(size).fill(offset % 256);
    pending.push(
      offset,
      { key, value, timestampMs: offset },
      Buffer.byteLength(key),
      frameLength(Buffer.byteLength(key), size),
    );
  }

  it('keeps offset order across chunks and frames larger than a chunk', () => {
    const pending = new PendingFrames(new ChunkPool());
    const sizes = [10, CHUNK_BYTES - 100, 50, CHUNK_BYTES + 5, 0, 70_000, 3 * CHUNK_BYTES, 1];
    sizes.forEach((size, i) => push(pending, 100 + i, `k${i}`, size));
    const batch = pending.take();
    expect(batch.firstOffset).toBe(100);
    expect(batch.frameLengths).toHaveLength(sizes.length);
    expect(batch.bytes).toBe(batch.views.reduce((sum, v) => sum + v.length, 0));
    expect(parse(batch.views, 100)).toEqual(sizes.map((size, i) => [100 + i, `k${i}`, size]));
    expect(pending.count).toBe(0);
  });

  it('puts a failed batch back in front of newer frames', () => {
    const pending = new PendingFrames(new ChunkPool());
    push(pending, 0, 'a', 5);
    push(pending, 1, 'b', 5);
    const failed = pending.take();
    push(pending, 2, 'c', 5);
    pending.restore(failed);
    const retry = pending.take();
    expect(retry.firstOffset).toBe(0);
    expect(parse(retry.views, 0).map(([offset, key]) => [offset, key])).toEqual([
      [0, 'a'],
      [1, 'b'],
      [2, 'c'],
    ]);
    expect(retry.maxTimestampMs).toBe(2);
  });
});
