import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import {
  HEADERS,
  batchPublishOptions,
  decodeDelivery,
  encodeBatch,
  fencePublishOptions,
  singlePublishOptions,
} from './codec.js';

/** What the broker hands a stream consumer: our headers (with amqplib's typed values unwrapped) + x-stream-offset. */
function delivered(
  headers: Record<string, unknown>,
  content: Buffer = Buffer.from('value'),
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
  it('sends a lone record as the value with key, timestamp and log offset in typed headers, and a message id', () => {
    const options = singlePublishOptions(2, 41, { key: 'user:ü', value: Buffer.from('v'), timestampMs: 1.5 });
    expect(options.mandatory).toBe(true);
    expect(options.messageId).toBe('2:41');
    expect(options.headers).toEqual({
      [HEADERS.key]: 'user:ü',
      [HEADERS.timestamp]: { '!': 'double', value: 1.5 },
      [HEADERS.offset]: { '!': 'long', value: 41 },
    });
    const decoded = decodeDelivery(delivered(options.headers as Record<string, unknown>));
    expect(decoded).toEqual({
      kind: 'records',
      streamOffset: 17,
      base: 41,
      count: 1,
      records: [{ offset: 41, key: 'user:ü', timestampMs: 1.5, value: Buffer.from('value') }],
    });
  });

  it('packs several records into one batch message and unpacks them byte for byte', () => {
    const entries = [
      { key: 'a', value: Buffer.from('first'), timestampMs: -5 },
      { key: 'ключ-😀', value: new Uint8Array(0), timestampMs: 1_700_000_000_000.5 },
      { key: '', value: Buffer.alloc(70_000, 7), timestampMs: 0 },
    ];
    const body = encodeBatch(
      entries,
      entries.map((e) => Buffer.byteLength(e.key)),
    );
    const options = batchPublishOptions(1, 100, 3);
    expect(options.messageId).toBe('1:100+3');
    const decoded = decodeDelivery(delivered(options.headers as Record<string, unknown>, body));
    expect(decoded.kind).toBe('records');
    if (decoded.kind !== 'records') return;
    expect(decoded.base).toBe(100);
    expect(decoded.records.map((r) => r.offset)).toEqual([100, 101, 102]);
    decoded.records.forEach((record, i) => {
      expect(record.key).toBe(entries[i]!.key);
      expect(record.timestampMs).toBe(entries[i]!.timestampMs);
      expect(Buffer.from(record.value).equals(Buffer.from(entries[i]!.value))).toBe(true);
    });
  });

  it('treats a damaged batch as a foreign message, never as partial records', () => {
    const entries = [
      { key: 'a', value: Buffer.from('one'), timestampMs: 1 },
      { key: 'b', value: Buffer.from('two'), timestampMs: 2 },
    ];
    const body = encodeBatch(entries, [1, 1]);
    const headers = batchPublishOptions(0, 0, 2).headers as Record<string, unknown>;
    for (const damaged of [
      body.subarray(0, body.length - 1),
      Buffer.concat([body, Buffer.from([0])]),
      Buffer.from([2, ...body.subarray(1)]),
    ])
      expect(decodeDelivery(delivered(headers, damaged)).kind).toBe('other');
    expect(decodeDelivery(delivered({ ...headers, [HEADERS.count]: 3 }, body)).kind).toBe('other');
  });

  it('decodes fence markers and skips anything else', () => {
    expect(decodeDelivery(delivered(fencePublishOptions(1, 99, 'id').headers as Record<string, unknown>))).toEqual({
      kind: 'fence',
      streamOffset: 17,
      next: 99,
    });
    expect(decodeDelivery(delivered({ [HEADERS.control]: 'probe' }))).toEqual({
      kind: 'other',
      streamOffset: 17,
      probe: true,
    });
    expect(decodeDelivery(delivered({}))).toEqual({ kind: 'other', streamOffset: 17, probe: false });
    expect(decodeDelivery(delivered({ [HEADERS.offset]: 3, [HEADERS.timestamp]: 1 })).kind).toBe('other');
    expect(decodeDelivery(delivered({ [HEADERS.offset]: -1, [HEADERS.key]: 'k', [HEADERS.timestamp]: 1 })).kind).toBe(
      'other',
    );
  });

  it('accepts 64-bit offsets decoded as bigint', () => {
    const decoded = decodeDelivery(
      delivered({ [HEADERS.offset]: 2n ** 40n, [HEADERS.key]: 'k', [HEADERS.timestamp]: 0 }),
    );
    expect(decoded).toMatchObject({ kind: 'records', base: 2 ** 40 });
  });
});
