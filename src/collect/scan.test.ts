import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { EventType } from '../core/index.js';
import { resolveCollectorOptions } from './options.js';
import { checkScannedMessage, RecordWriter, scannedEnvelope } from './raw-message.js';
import { scanRequestBody, type ScannedBody } from './scan.js';
import {
  checkMessage,
  parseEnvelopeSentAt,
  type BatchEnvelope,
  type CompiledSchema,
  type SchemaLookup,
  type ValidMessage,
} from './validate.js';

/*
 * The fast path must be invisible: for every body it accepts, the stored events are byte for byte what
 * the general path (JSON.parse + checkMessage) stores, and it accepts no body the general path would
 * treat differently (invalid JSON, invalid messages). Checked here on hand-picked bodies and on random
 * ones.
 */

const options = resolveCollectorOptions();
const receivedAtMs = Date.UTC(2026, 10, 28, 12, 0, 0, 123);
const scanOptions = (single: boolean) => ({
  single,
  maxDepth: options.maxDepth,
  maxBatchMessages: options.maxBatchMessages,
});

type Outcome =
  | { readonly kind: 'invalid-json' }
  | { readonly kind: 'request-error' }
  | { readonly kind: 'rejected' }
  | { readonly kind: 'accepted'; readonly messages: readonly ValidMessage[] };

/** The general path, as the route and `prepare` run it. */
function generalPath(text: string, impliedType: EventType | undefined, schemas?: SchemaLookup): Outcome {
  let body: unknown;
  try {
    body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch {
    return { kind: 'invalid-json' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { kind: 'request-error' };
  const record = body as Record<string, unknown>;
  let messages: unknown[];
  let env: BatchEnvelope;
  try {
    const base = {
      receivedAtMs,
      receivedAt: new Date(receivedAtMs).toISOString(),
      checkForbiddenKeys: true,
    };
    if (impliedType !== undefined) {
      messages = [body];
      env = { ...base, impliedType };
    } else {
      if (!Array.isArray(record.batch) || record.batch.length === 0) return { kind: 'request-error' };
      if (record.context !== undefined && record.context !== null) return { kind: 'request-error' };
      messages = record.batch as unknown[];
      env = { ...base, ...parseEnvelopeSentAt(record.sentAt) };
    }
  } catch {
    return { kind: 'request-error' };
  }
  const valid: ValidMessage[] = [];
  for (let i = 0; i < messages.length; i++) {
    const checked = checkMessage(messages[i], i, env, options, schemas);
    if (!checked.ok) return { kind: 'rejected' };
    valid.push(checked);
  }
  return { kind: 'accepted', messages: valid };
}

function fastPath(
  bytes: Buffer,
  impliedType: EventType | undefined,
  schemas?: SchemaLookup,
): ValidMessage<Uint8Array>[] | undefined {
  const scanned: ScannedBody | undefined = scanRequestBody(bytes, scanOptions(impliedType !== undefined));
  if (scanned === undefined) return undefined;
  const env = scannedEnvelope(scanned, {
    receivedAtMs,
    ...(impliedType !== undefined ? { impliedType } : {}),
  });
  if (env === undefined) return undefined;
  const out = new RecordWriter(scanned.view, 16);
  const valid: ValidMessage<Uint8Array>[] = [];
  for (let i = 0; i < scanned.messages; i++) {
    const checked = checkScannedMessage(scanned, i, env, options, schemas, out);
    if (checked === undefined) return undefined;
    valid.push(checked);
  }
  return valid;
}

/** Generated messageIds differ between the two runs: compare them as a placeholder. */
function withoutGeneratedIds(json: string, messageId: string): string {
  return messageId.startsWith('kairos-') ? json.replace(JSON.stringify(messageId), '"<generated>"') : json;
}

/** Runs both paths; returns whether the fast path took the body. */
function compare(text: string | Buffer, impliedType?: EventType, schemas?: SchemaLookup): boolean {
  const bytes = typeof text === 'string' ? Buffer.from(text) : text;
  const general = generalPath(bytes.toString('utf8'), impliedType, schemas);
  const fast = fastPath(bytes, impliedType, schemas);
  if (fast === undefined) return false;
  expect(general.kind, bytes.toString('utf8').slice(0, 300)).toBe('accepted');
  if (general.kind !== 'accepted') return true;
  expect(fast.length).toBe(general.messages.length);
  fast.forEach((m, i) => {
    const g = general.messages[i]!;
    const { json: fastJson, messageId: fastId, ...fastRest } = m;
    const { json: generalJson, messageId: generalId, ...generalRest } = g;
    expect(fastRest).toEqual(generalRest);
    expect(fastId.startsWith('kairos-')).toBe(generalId.startsWith('kairos-'));
    if (!fastId.startsWith('kairos-')) expect(fastId).toBe(generalId);
    const fastText = Buffer.from(fastJson).toString('utf8');
    // Valid UTF-8 (invalid bytes must never be copied through), and the same text.
    expect(Buffer.from(fastText).equals(fastJson)).toBe(true);
    expect(withoutGeneratedIds(fastText, fastId)).toBe(withoutGeneratedIds(generalJson as string, generalId));
  });
  return true;
}

const sentAt = '2026-11-28T11:59:59.000Z';
const base = {
  type: 'track',
  event: 'Product Viewed',
  messageId: 'm-1',
  anonymousId: 'anon-1',
  timestamp: '2026-11-28T11:59:58.500Z',
  properties: { product_id: 'p-1', price: 19.99, quantity: 2, tags: ['a', 'b'], nested: { ok: true, none: null } },
  context: { library: { name: 'analytics.js', version: '1.0' }, page: { path: '/p/1', referrer: '' } },
};

function batch(messages: unknown[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ batch: messages, sentAt, writeKey: 'WK', ...extra });
}

describe('scanRequestBody + checkScannedMessage: same stored events as the general path', () => {
  it('takes ordinary batches and single messages', () => {
    expect(compare(batch([base, { ...base, messageId: 'm-2', userId: 'u-1' }]))).toBe(true);
    expect(compare(JSON.stringify({ ...base, writeKey: 'WK' }), 'track')).toBe(true);
    expect(compare(JSON.stringify({ ...base, type: undefined }), 'track')).toBe(true);
    expect(compare(batch([{ type: 'page', name: 'Home', anonymousId: 'a', properties: {} }]))).toBe(true);
    expect(compare(batch([{ type: 'screen', anonymousId: 'a' }]))).toBe(true);
    expect(compare(batch([{ type: 'identify', userId: 'u', traits: { email: 'x@y.z', age: 30 } }]))).toBe(true);
    expect(compare(batch([{ type: 'alias', userId: 'u', previousId: 'anon-1' }]))).toBe(true);
    expect(compare(batch([{ type: 'group', userId: 'u', groupId: 'g', traits: { plan: 'pro' } }]))).toBe(true);
  });

  it('writes the fields the general path writes, in its order', () => {
    const messages = [
      { ...base, messageId: undefined },
      { ...base, messageId: '', userId: '', anonymousId: 'a' },
      { ...base, timestamp: null, originalTimestamp: '2026-11-28T11:59:58.500Z' },
      { ...base, timestamp: undefined },
      { ...base, sentAt: '2026-11-28T11:59:59.500Z' },
      { ...base, sentAt: null },
      { ...base, properties: null, context: null, traits: null },
      { ...base, type: 'page', name: 'Home', event: 123, groupId: 7, previousId: [] },
      { ...base, integrations: { All: true, 'Segment.io': { x: 1.5, y: 1e3 } }, _metadata: { bundled: [] } },
      { ...base, channel: 'server', writeKey: 'x', extra: '\\/' },
      { ...base, timestamp: '2026-11-28' },
      { ...base, timestamp: '2026-11-28T13:59:58+02:00' },
    ];
    for (const m of messages) expect(compare(batch([m]))).toBe(true);
    expect(compare(JSON.stringify({ batch: messages }))).toBe(true);
    expect(compare(JSON.stringify({ batch: messages, sentAt: null }))).toBe(true);
    expect(compare(JSON.stringify({ batch: messages, context: null }))).toBe(true);
  });

  it('copies strings and numbers that JSON.stringify writes back unchanged', () => {
    const properties = {
      text: 'quote " backslash \\ newline \n tab \t cr \r bs \b ff \f',
      unicode: 'é 中文 😀 \u2028 \u007f',
      numbers: [0, -1, 1.5, -0.25, 0.000001, 123456789012345, 12345.6789, 9007199254740991, 1e21, 0.1, 3.14],
      empty: {},
      emptyList: [],
      deep: [[[{ a: [1, { b: 'c' }] }]]],
      flags: [true, false, null],
    };
    expect(compare(batch([{ ...base, properties, userId: 'üser-é', event: 'Événement' }]))).toBe(true);
  });

  it('drops whitespace between tokens as JSON.stringify does', () => {
    expect(compare(JSON.stringify({ batch: [base, { ...base, messageId: 'm-2' }], sentAt }, null, 2))).toBe(true);
    expect(compare(' \n' + JSON.stringify({ batch: [base] }, null, '\t') + '\r\n ')).toBe(true);
    const spaced = JSON.stringify({ ...base, properties: { s: 'a  b', t: ' { } ' } }, null, 1);
    expect(compare(spaced, 'track')).toBe(true);
  });

  it('skips a UTF-8 BOM like parseJsonBody', () => {
    expect(compare(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(batch([base]))]))).toBe(true);
  });

  it('leaves to the general path what it would write differently or reject', () => {
    const declined: [string, EventType?][] = [
      // Rewritten by JSON.parse + JSON.stringify:
      [batch([base]).replace('"price":19.99', '"price":19.990')],
      [batch([base]).replace('"price":19.99', '"price":1.999e1')],
      [batch([base]).replace('"price":19.99', '"price":-0')],
      [batch([base]).replace('"price":19.99', '"price":12345678901234567890')],
      [batch([base]).replace('"p-1"', '"p\\/1"')],
      [batch([base]).replace('"p-1"', '"p\\u00e91"')],
      [batch([base]).replace('"product_id":"p-1"', '"product_id":"p-1","product_id":"p-2"')],
      [batch([base]).replace('"product_id":"p-1"', '"product_id":"p-1","2":"two"')],
      [batch([base]).replace('"anonymousId":"anon-1"', '"anonymousId":"anon-1","anonymousId":"anon-2"')],
      [batch([{ ...base, userId: 42 }])],
      [batch([{ ...base, messageId: 42 }])],
      // Invalid or rejected:
      [batch([{ ...base, type: 'nope' }])],
      [batch([{ ...base, anonymousId: undefined }])],
      [batch([{ ...base, event: '' }])],
      [batch([{ ...base, properties: [1] }])],
      [batch([{ ...base, timestamp: 'yesterday' }])],
      [batch([{ ...base, messageId: 'x'.repeat(300) }])],
      [batch([{ ...base, event: 'x'.repeat(300) }])],
      [batch([{ ...base, properties: { big: 'x'.repeat(40_000) } }])],
      [batch([{ ...base, properties: { constructor: 1 } }])],
      [batch([{ ...base, properties: { a: { b: 1 } } }]).replace('"a"', '"__proto__"')],
      [batch([1, base])],
      [batch([])],
      [batch([base], { context: { ip: '1.2.3.4' } })],
      [batch([base], { sentAt: 'nope' })],
      [JSON.stringify({ batch: [base], batch2: 1 }).replace('batch2', 'batch')],
      [JSON.stringify({ ...base, type: 'page' }), 'track'],
      ['{"batch":[' + JSON.stringify(base) + '],}'],
      ['{"batch":[' + JSON.stringify(base) + ']'],
      ['{"batch":[' + JSON.stringify(base) + ']} x'],
      [batch([base]).replace('19.99', '019.99')],
      [batch([base]).replace('19.99', '19.')],
      [batch([base]).replace('"p-1"', '"p\u0001"')],
      [''],
      ['[]'],
      ['null'],
    ];
    declined.forEach(([text, implied], i) => {
      expect(fastPath(Buffer.from(text), implied), `case ${i}`).toBeUndefined();
      compare(text, implied);
    });
    // Invalid UTF-8: JSON.parse sees a replacement character, the bytes must not be copied through.
    const bytes = Buffer.from(batch([base]).replace('p-1', 'p-\u00ff'));
    bytes[bytes.indexOf(0xc3)] = 0xff;
    expect(fastPath(bytes, undefined)).toBeUndefined();
  });

  it('holds nesting to maxDepth like checkMessage', () => {
    const nest = (levels: number): unknown => (levels === 0 ? 1 : { a: nest(levels - 1) });
    // The message is level 1, properties level 2: maxDepth - 1 nested objects fit.
    expect(compare(batch([{ ...base, properties: nest(options.maxDepth - 1) }]))).toBe(true);
    expect(generalPath(batch([{ ...base, properties: nest(options.maxDepth) }]), undefined).kind).toBe('rejected');
    expect(fastPath(Buffer.from(batch([{ ...base, properties: nest(options.maxDepth) }])), undefined)).toBeUndefined();
    expect(
      fastPath(Buffer.from(batch([{ ...base, integrations: nest(options.maxDepth) }])), undefined),
    ).toBeUndefined();
  });

  it('validates against registered schemas and stores the defaults filled in', () => {
    const ajv = new Ajv({ useDefaults: true });
    const validate = ajv.compile({
      type: 'object',
      properties: { price: { type: 'number' }, currency: { type: 'string', default: 'USD' } },
      required: ['price'],
    });
    const schema: CompiledSchema = { version: 1, validate: (d) => validate(d), firstError: () => undefined };
    const schemas: SchemaLookup = { lookup: (event) => (event === 'Product Viewed' ? schema : undefined) };
    expect(compare(batch([base, { ...base, event: 'Other', properties: undefined }]), undefined, schemas)).toBe(true);
    expect(fastPath(Buffer.from(batch([{ ...base, properties: { price: 'x' } }])), undefined, schemas)).toBeUndefined();
    expect(fastPath(Buffer.from(batch([{ ...base, properties: undefined }])), undefined, schemas)).toBeUndefined();
  });

  it('agrees with the general path on random messages and random corruptions of them', () => {
    let seed = 7;
    const random = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const strings = [
      '',
      'a',
      'é',
      '😀',
      'x y',
      'q"q',
      'b\\s',
      'n\nl',
      '\u0000',
      '2026-11-28T11:59:58.500Z',
      '1',
      'proto',
    ];
    const numbers = [0, 1, -1, 0.5, 1e-7, 1e21, 123.456, -0, 2 ** 53, 1 / 3];
    const scalar = (): unknown => {
      const r = random();
      if (r < 0.4) return pick(strings);
      if (r < 0.7) return pick(numbers);
      if (r < 0.8) return pick([true, false, null]);
      return undefined;
    };
    const value = (depth: number): unknown => {
      const r = random();
      if (depth > 3 || r < 0.5) return scalar();
      if (r < 0.75) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      const o: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 4); i > 0; i--)
        o[pick(['k', 'key', 'é', 'a b', '1', 'n\n'])] = value(depth + 1);
      return o;
    };
    const fields = [
      'type',
      'event',
      'name',
      'userId',
      'anonymousId',
      'previousId',
      'groupId',
      'messageId',
      'timestamp',
      'originalTimestamp',
      'sentAt',
      'properties',
      'traits',
      'context',
      'integrations',
    ];
    const types = ['track', 'page', 'screen', 'identify', 'alias', 'group', 'other'];
    let taken = 0;
    for (let n = 0; n < 3000; n++) {
      const m: Record<string, unknown> = { ...base, type: pick(types), userId: pick(['u', undefined, '']) };
      for (let k = Math.floor(random() * 4); k > 0; k--) {
        const field = pick(fields);
        m[field] = field === 'properties' || field === 'traits' || field === 'context' ? value(0) : scalar();
      }
      if (random() < 0.3) m.previousId = 'p';
      if (random() < 0.3) m.groupId = 'g';
      const single = random() < 0.3;
      const implied: EventType | undefined = single
        ? ((types.slice(0, 6).includes(m.type as string) ? m.type : 'track') as EventType)
        : undefined;
      let text = single ? JSON.stringify(m) : batch([m]);
      if (random() < 0.2) text = JSON.stringify(JSON.parse(text), null, pick([1, 2, '\t']));
      if (random() < 0.3) {
        // Corrupt one byte: the fast path must never accept what JSON.parse refuses.
        const bytes = Buffer.from(text);
        bytes[Math.floor(random() * bytes.length)] = pick([0x22, 0x2c, 0x7d, 0x5d, 0x20, 0x30, 0x5c, 0x3a, 0x80]);
        if (compare(bytes, implied)) taken++;
      } else if (compare(text, implied)) taken++;
    }
    // The comparison means something only if the fast path took a good share of them.
    expect(taken).toBeGreaterThan(300);
  });
});
