import type { ConsumeMessage, Options } from 'amqplib';

/**
 * How a log record travels as an AMQP message: the value is the body, unchanged; key, timestamp and the
 * log offset are headers. The log offset is the adapter's own (dense, assigned by the partition's
 * writer), not the stream offset: RabbitMQ stream offsets skip a number at every segment roll (see
 * docs/log-rabbitmq.md), so they cannot be the port's dense offsets.
 */
export const HEADERS = {
  key: 'x-kairos-key',
  timestamp: 'x-kairos-ts',
  offset: 'x-kairos-offset',
  /** Control messages (fence markers) carry this instead of an offset; readers skip them. */
  control: 'x-kairos-control',
  /** On a fence marker: the next log offset of the partition at that point of the stream. */
  next: 'x-kairos-next',
  /** Set by the broker on every stream delivery. */
  streamOffset: 'x-stream-offset',
} as const;

export function recordPublishOptions(
  partition: number,
  offset: number,
  key: string,
  timestampMs: number,
): Options.Publish {
  return {
    // mandatory: a record published to a queue that does not exist (deleted) comes back as a `return`
    // instead of being confirmed and silently dropped.
    mandatory: true,
    messageId: `${partition}:${offset}`,
    headers: {
      [HEADERS.key]: key,
      // Typed explicitly: amqplib would encode integral numbers as integers of varying width and others
      // as doubles; a double always round-trips a JS number, an int64 always an offset.
      [HEADERS.timestamp]: { '!': 'double', value: timestampMs },
      [HEADERS.offset]: { '!': 'long', value: offset },
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

export type Decoded =
  | {
      readonly kind: 'record';
      readonly streamOffset: number;
      readonly offset: number;
      readonly key: string;
      readonly timestampMs: number;
      readonly value: Uint8Array;
    }
  /** A fence marker: `next` is the partition's next log offset at this point of the stream. */
  | { readonly kind: 'fence'; readonly streamOffset: number; readonly next: number }
  /** Anything else in the stream (a message not written by this adapter): skipped by readers. */
  | { readonly kind: 'other'; readonly streamOffset: number };

function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

function asSafeOffset(value: unknown): number | undefined {
  const n = asNumber(value);
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

export function decodeDelivery(message: ConsumeMessage): Decoded {
  const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
  const streamOffset = asSafeOffset(headers[HEADERS.streamOffset]) ?? -1;
  const control = headers[HEADERS.control];
  if (control !== undefined) {
    const next = asSafeOffset(headers[HEADERS.next]);
    return control === 'fence' && next !== undefined
      ? { kind: 'fence', streamOffset, next }
      : { kind: 'other', streamOffset };
  }
  const offset = asSafeOffset(headers[HEADERS.offset]);
  const key = headers[HEADERS.key];
  const timestampMs = asNumber(headers[HEADERS.timestamp]);
  if (offset === undefined || typeof key !== 'string' || timestampMs === undefined)
    return { kind: 'other', streamOffset };
  return { kind: 'record', streamOffset, offset, key, timestampMs, value: message.content };
}
