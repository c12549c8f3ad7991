import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { HEADERS, decodeDelivery, fencePublishOptions, recordPublishOptions } from './codec.js';

/** What the broker hands a stream consumer: our headers (with amqplib's typed values unwrapped) + x-stream-offset. */
function delivered(
  headers: Record<string, unknown>,
  content = Buffer.from('value'),
  streamOffset = 17,
): ConsumeMessage {
  const unwrapped = Object.fromEntries(
    Object.entries(headers).map(([k, v]) => [
      k,
      v && typeof v === 'object' && '!' in v ? (v as unknown as { value: unknown }).value : v,
    ]),
  );
  return {
    content,
    fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q', consumerTag: 'c' },
    properties: { headers: { ...unwrapped, [HEADERS.streamOffset]: streamOffset } },
  } as unknown as ConsumeMessage;
}

describe('record codec', () => {
  it('carries key, timestamp and log offset in typed headers, with a message id', () => {
    const options = recordPublishOptions(2, 41, 'user:ü', 1.5);
    expect(options.mandatory).toBe(true);
    expect(options.messageId).toBe('2:41');
    expect(options.headers).toEqual({
      [HEADERS.key]: 'user:ü',
      [HEADERS.timestamp]: { '!': 'double', value: 1.5 },
      [HEADERS.offset]: { '!': 'long', value: 41 },
    });
  });

  it('decodes a record with both offsets', () => {
    const decoded = decodeDelivery(delivered(recordPublishOptions(0, 5, 'k', -5).headers as Record<string, unknown>));
    expect(decoded).toEqual({
      kind: 'record',
      streamOffset: 17,
      offset: 5,
      key: 'k',
      timestampMs: -5,
      value: Buffer.from('value'),
    });
  });

  it('decodes fence markers and skips anything else', () => {
    expect(decodeDelivery(delivered(fencePublishOptions(1, 99, 'id').headers as Record<string, unknown>))).toEqual({
      kind: 'fence',
      streamOffset: 17,
      next: 99,
    });
    expect(decodeDelivery(delivered({ [HEADERS.control]: 'probe' }))).toEqual({ kind: 'other', streamOffset: 17 });
    expect(decodeDelivery(delivered({}))).toEqual({ kind: 'other', streamOffset: 17 });
    expect(decodeDelivery(delivered({ [HEADERS.offset]: 3, [HEADERS.timestamp]: 1 }))).toEqual({
      kind: 'other',
      streamOffset: 17,
    });
    expect(decodeDelivery(delivered({ [HEADERS.offset]: -1, [HEADERS.key]: 'k', [HEADERS.timestamp]: 1 })).kind).toBe(
      'other',
    );
  });

  it('accepts 64-bit offsets decoded as bigint', () => {
    const decoded = decodeDelivery(
      delivered({ [HEADERS.offset]: 2n ** 40n, [HEADERS.key]: 'k', [HEADERS.timestamp]: 0 }),
    );
    expect(decoded).toMatchObject({ kind: 'record', offset: 2 ** 40 });
  });
});
