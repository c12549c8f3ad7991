import type { ConsumeMessage, Options } from 'amqplib';
import type { LogEntry } from '../port.js';

/**
 * How log records travel as AMQP messages. One append's records for one partition go out as one
 * message (split past `MAX_BATCH_BYTES`): per-message costs dominate RabbitMQ's AMQP path (≈ 6k
 * confirmed messages/s here, ≈ 200k records/s in 100-record messages). A message carries the log
 * offset of its first record and the record count in headers:
 *
 * - a single record: body = the value, unchanged; key and timestamp in headers (any AMQP consumer can
 *   read it as one event);
 * - a batch (`x-kairos-count` > 1 or present): body = version byte 1, then per record
 *   `keyBytes u32 │ key UTF-8 │ timestampMs f64 │ valueBytes u32 │ value` (big-endian).
 *
 * Log offsets are the adapter's own (dense, assigned by the partition's single writer), not stream
 * offsets: RabbitMQ stream offsets skip a number at every segment roll (osiris writes a tracking
 * snapshot chunk there), and count messages, not records.
 */
export const HEADERS = {
  key: 'x-kairos-key',
  timestamp: 'x-kairos-ts',
  /** Log offset of the (first) record. */
  offset: 'x-kairos-offset',
  /** Records in a batch message. */
  count: 'x-kairos-count',
  /** Control messages (fence markers, probes) carry this instead of an offset; readers skip them. */
  control: 'x-kairos-control',
  /** On a fence marker: the partition's next log offset at this point of the stream. */
  next: 'x-kairos-next',
  /** Set by the broker on every stream delivery. */
  streamOffset: 'x-stream-offset',
} as const;

const BATCH_VERSION = 1;
/** Batches are split so one message stays around this size (a single larger record goes alone). */
export const MAX_BATCH_BYTES = 1024 * 1024;
/**
 * …and holds at most this many records. Then every record of a message at stream offset s has a log
 * offset below (s + 1) × MAX_BATCH_RECORDS (by induction: each message adds at most this many offsets
 * and takes at least one stream offset), which bounds the offsets an emptied stream may once have held.
 */
export const MAX_BATCH_RECORDS = 8_192;
/** Per record in a batch body: key length, timestamp, value length. */
const RECORD_OVERHEAD = 16;

export function batchBytes(keyBytes: number, valueBytes: number): number {
  return RECORD_OVERHEAD + keyBytes + valueBytes;
}

// mandatory: a message published to a queue that does not exist (deleted) comes back as a `return`
// instead of being confirmed and silently dropped.

export function singlePublishOptions(partition: number, offset: number, entry: LogEntry): Options.Publish {
  return {
    mandatory: true,
    messageId: `${partition}:${offset}`,
    headers: {
      [HEADERS.key]: entry.key,
      // Typed explicitly: amqplib would encode integral numbers as integers of varying width and others as
      // doubles; a double always round-trips a JS number, an int64 always an offset.
      [HEADERS.timestamp]: { '!': 'double', value: entry.timestampMs },
      [HEADERS.offset]: { '!': 'long', value: offset },
    },
  };
}

export function batchPublishOptions(partition: number, base: number, count: number): Options.Publish {
  return {
    mandatory: true,
    messageId: `${partition}:${base}+${count}`,
    headers: {
      [HEADERS.offset]: { '!': 'long', value: base },
      [HEADERS.count]: { '!': 'long', value: count },
    },
  };
}

export function fencePublishOptions(partition: number, next: number, id: string): Options.Publish {
  return {
    mandatory: true,
    messageId: `fence:${partition}:${id}`,
    headers: { [HEADERS.control]: 'fence', [HEADERS.next]: { '!': 'long', value: next } },
  };
}

/** The batch body of `entries` (keys already measured in UTF-8 bytes by the caller). */
export function encodeBatch(entries: readonly LogEntry[], keyBytes: readonly number[]): Buffer {
  let size = 1;
  for (let i = 0; i < entries.length; i++) size += batchBytes(keyBytes[i]!, entries[i]!.value.byteLength);
  const body = Buffer.allocUnsafe(size);
  body[0] = BATCH_VERSION;
  let pos = 1;
  for (let i = 0; i < entries.length; i++) {
    const { key, value, timestampMs } = entries[i]!;
    body.writeUInt32BE(keyBytes[i]!, pos);
    pos += 4;
    pos += body.write(key, pos, 'utf8');
    body.writeDoubleBE(timestampMs, pos);
    pos += 8;
    body.writeUInt32BE(value.byteLength, pos);
    pos += 4;
    body.set(value, pos);
    pos += value.byteLength;
  }
  return body;
}

export interface DecodedRecord {
  readonly offset: number;
  readonly key: string;
  readonly timestampMs: number;
  readonly value: Uint8Array;
}

export type Decoded =
  /** Log records: `count` of them from `base`, decoded. */
  | {
      readonly kind: 'records';
      readonly streamOffset: number;
      readonly base: number;
      readonly count: number;
      readonly records: readonly DecodedRecord[];
    }
  /** A fence marker: `next` is the partition's next log offset at this point of the stream. */
  | { readonly kind: 'fence'; readonly streamOffset: number; readonly next: number }
  /** A probe (scan.ts) or anything not written by this adapter: skipped. */
  | { readonly kind: 'other'; readonly streamOffset: number; readonly probe: boolean };

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function asSafeOffset(value: unknown): number | undefined {
  const n = asNumber(value);
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

function decodeBatch(body: Buffer, base: number, count: number): DecodedRecord[] | undefined {
  if (body.length < 1 || body[0] !== BATCH_VERSION) return undefined;
  const records = new Array<DecodedRecord>(count);
  let pos = 1;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > body.length) return undefined;
    const keyBytes = body.readUInt32BE(pos);
    pos += 4;
    if (pos + keyBytes + 12 > body.length) return undefined;
    const key = body.toString('utf8', pos, pos + keyBytes);
    pos += keyBytes;
    const timestampMs = body.readDoubleBE(pos);
    pos += 8;
    const valueBytes = body.readUInt32BE(pos);
    pos += 4;
    if (pos + valueBytes > body.length) return undefined;
    records[i] = { offset: base + i, key, timestampMs, value: body.subarray(pos, pos + valueBytes) };
    pos += valueBytes;
  }
  return pos === body.length ? records : undefined;
}

export function decodeDelivery(message: ConsumeMessage): Decoded {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const streamOffset = asSafeOffset(headers[HEADERS.streamOffset]) ?? -1;
  const control = headers[HEADERS.control];
  if (control !== undefined) {
    const next = asSafeOffset(headers[HEADERS.next]);
    return control === 'fence' && next !== undefined
      ? { kind: 'fence', streamOffset, next }
      : { kind: 'other', streamOffset, probe: control === 'probe' };
  }
  const base = asSafeOffset(headers[HEADERS.offset]);
  if (base === undefined) return { kind: 'other', streamOffset, probe: false };
  const count = asSafeOffset(headers[HEADERS.count]);
  if (count !== undefined) {
    const records = count > 0 ? decodeBatch(message.content, base, count) : undefined;
    return records
      ? { kind: 'records', streamOffset, base, count, records }
      : { kind: 'other', streamOffset, probe: false };
  }
  const key = headers[HEADERS.key];
  const timestampMs = asNumber(headers[HEADERS.timestamp]);
  if (typeof key !== 'string' || timestampMs === undefined) return { kind: 'other', streamOffset, probe: false };
  return {
    kind: 'records',
    streamOffset,
    base,
    count: 1,
    records: [{ offset: base, key, timestampMs, value: message.content }],
  };
}
