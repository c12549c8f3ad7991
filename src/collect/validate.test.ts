import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../core/index.js';
import { resolveCollectorOptions } from './options.js';
import {
  checkMessage,
  parseEnvelopeContext,
  parseEnvelopeSentAt,
  type BatchEnvelope,
  type CheckedMessage,
  type CompiledSchema,
  type InvalidMessage,
  type SchemaLookup,
  type ValidMessage,
} from './validate.js';

const options = resolveCollectorOptions();
const receivedAtMs = Date.UTC(2026, 10, 28, 12, 0, 0);

function env(extra: Partial<BatchEnvelope> = {}): BatchEnvelope {
  return { receivedAtMs, receivedAt: new Date(receivedAtMs).toISOString(), checkForbiddenKeys: true, ...extra };
}

function ok(result: CheckedMessage): ValidMessage & { event: JsonObject } {
  if (!result.ok) throw new Error(`expected a valid message, got ${result.code}: ${result.message}`);
  return { ...result, event: JSON.parse(result.json) as JsonObject };
}

function bad(result: CheckedMessage): InvalidMessage {
  if (result.ok) throw new Error('expected an invalid message');
  return result;
}

const track = { type: 'track', event: 'Product Viewed', userId: 'u1', messageId: 'm1', properties: { price: 9.99 } };

describe('checkMessage: normalisation', () => {
  it('keeps the Segment fields, adds event and receive times, drops what the engine does not store', () => {
    const { event } = ok(
      checkMessage(
        {
          ...track,
          integrations: { All: true },
          _metadata: { x: 1 },
          writeKey: 'WK',
          timestamp: '2026-11-28T11:59:00.000Z',
        },
        0,
        env(),
        options,
        undefined,
      ),
    );
    expect(event).toEqual({
      messageId: 'm1',
      type: 'track',
      event: 'Product Viewed',
      userId: 'u1',
      properties: { price: 9.99 },
      timestamp: '2026-11-28T11:59:00.000Z',
      eventTimeMs: Date.UTC(2026, 10, 28, 11, 59),
      receivedAt: '2026-11-28T12:00:00.000Z',
      receivedAtMs,
    });
  });

  it('coerces numeric ids to strings, as Segment does', () => {
    const { event, userId } = ok(
      checkMessage({ type: 'group', userId: 42, groupId: 7, messageId: 99 }, 0, env(), options, undefined),
    );
    expect(userId).toBe('42');
    expect(event).toMatchObject({ userId: '42', groupId: '7', messageId: '99' });
  });

  it('generates a messageId when there is none, or uses the given fallback', () => {
    const generated = ok(checkMessage({ type: 'page', anonymousId: 'a1' }, 0, env(), options, undefined));
    expect(generated.messageId).toMatch(/^kairos-[0-9a-f-]{36}$/);
    const replayed = ok(checkMessage({ type: 'page', anonymousId: 'a1' }, 0, env(), options, undefined, 'kept-id'));
    expect(replayed.messageId).toBe('kept-id');
  });

  it('merges the batch context under the message context', () => {
    const { event } = ok(
      checkMessage(
        { ...track, context: { ip: '1.2.3.4', library: { name: 'own' } } },
        0,
        env({ context: { library: { name: 'batch' }, locale: 'fr-FR' } }),
        options,
        undefined,
      ),
    );
    expect(event.context).toEqual({ ip: '1.2.3.4', library: { name: 'own' }, locale: 'fr-FR' });
  });

  it('takes the route-implied type when the message has none', () => {
    expect(
      ok(checkMessage({ event: 'E', userId: 'u' }, 0, env({ impliedType: 'track' }), options, undefined)).type,
    ).toBe('track');
  });

  it('corrects client clock skew with sentAt and keeps the client timestamp', () => {
    // The client clock is 1 h fast; the event happened 10 s before sending.
    const { event } = ok(
      checkMessage(
        { ...track, timestamp: '2026-11-28T12:59:50.000Z', sentAt: '2026-11-28T13:00:00.000Z' },
        0,
        env(),
        options,
        undefined,
      ),
    );
    expect(event.eventTimeMs).toBe(receivedAtMs - 10_000);
    expect(event.timestamp).toBe('2026-11-28T11:59:50.000Z');
    expect(event.originalTimestamp).toBe('2026-11-28T12:59:50.000Z');
    expect(event.sentAt).toBe('2026-11-28T13:00:00.000Z');
  });

  it('uses the batch sentAt when the message has none, and accepts originalTimestamp as timestamp', () => {
    const batch = parseEnvelopeSentAt('2026-11-28T12:00:05.000Z');
    const { event } = ok(
      checkMessage({ ...track, originalTimestamp: '2026-11-28T12:00:00.000Z' }, 0, env(batch), options, undefined),
    );
    expect(event.eventTimeMs).toBe(receivedAtMs - 5000);
    expect(event.originalTimestamp).toBe('2026-11-28T12:00:00.000Z');
  });

  it('uses the receive time when there is no timestamp', () => {
    const { event } = ok(checkMessage({ type: 'identify', userId: 'u' }, 0, env(), options, undefined));
    expect(event.eventTimeMs).toBe(receivedAtMs);
    expect(event.originalTimestamp).toBeUndefined();
  });
});

describe('checkMessage: rejections carry a stable code and a JSON pointer', () => {
  const cases: [string, unknown, string, string?][] = [
    ['not an object', 'hello', 'COLLECT_INVALID_MESSAGE', ''],
    ['an array', [track], 'COLLECT_INVALID_MESSAGE', ''],
    ['no type', { event: 'E', userId: 'u' }, 'COLLECT_INVALID_TYPE', '/type'],
    ['unknown type', { ...track, type: 'purchase' }, 'COLLECT_INVALID_TYPE', '/type'],
    ['type not a string', { ...track, type: 1 }, 'COLLECT_INVALID_TYPE', '/type'],
    ['no ids', { type: 'track', event: 'E' }, 'COLLECT_MISSING_IDENTITY', '/userId'],
    ['empty ids', { type: 'track', event: 'E', userId: '', anonymousId: null }, 'COLLECT_MISSING_IDENTITY', '/userId'],
    ['userId an object', { ...track, userId: { id: 1 } }, 'COLLECT_INVALID_FIELD', '/userId'],
    ['anonymousId a boolean', { type: 'page', anonymousId: true }, 'COLLECT_INVALID_FIELD', '/anonymousId'],
    ['userId too long', { ...track, userId: 'u'.repeat(257) }, 'COLLECT_INVALID_FIELD', '/userId'],
    ['userId NaN', { ...track, userId: Number.NaN }, 'COLLECT_INVALID_FIELD', '/userId'],
    ['messageId an object', { ...track, messageId: { a: 1 } }, 'COLLECT_INVALID_FIELD', '/messageId'],
    ['track without event', { type: 'track', userId: 'u' }, 'COLLECT_MISSING_FIELD', '/event'],
    ['track with empty event', { ...track, event: '' }, 'COLLECT_MISSING_FIELD', '/event'],
    ['event a number', { ...track, event: 5 }, 'COLLECT_INVALID_FIELD', '/event'],
    ['event too long', { ...track, event: 'e'.repeat(257) }, 'COLLECT_INVALID_FIELD', '/event'],
    ['page name an array', { type: 'page', userId: 'u', name: ['x'] }, 'COLLECT_INVALID_FIELD', '/name'],
    ['alias without previousId', { type: 'alias', userId: 'u' }, 'COLLECT_MISSING_FIELD', '/previousId'],
    ['alias without userId', { type: 'alias', anonymousId: 'a', previousId: 'p' }, 'COLLECT_MISSING_FIELD', '/userId'],
    ['group without groupId', { type: 'group', userId: 'u' }, 'COLLECT_MISSING_FIELD', '/groupId'],
    ['properties an array', { ...track, properties: [1] }, 'COLLECT_INVALID_FIELD', '/properties'],
    ['traits a string', { type: 'identify', userId: 'u', traits: 'x' }, 'COLLECT_INVALID_FIELD', '/traits'],
    ['context a number', { ...track, context: 3 }, 'COLLECT_INVALID_FIELD', '/context'],
    ['timestamp not ISO', { ...track, timestamp: 'yesterday' }, 'COLLECT_INVALID_TIMESTAMP', '/timestamp'],
    ['timestamp a number', { ...track, timestamp: 1795852110415 }, 'COLLECT_INVALID_TIMESTAMP', '/timestamp'],
    ['impossible date', { ...track, timestamp: '2026-02-30T00:00:00.000Z' }, 'COLLECT_INVALID_TIMESTAMP', '/timestamp'],
    ['bad originalTimestamp', { ...track, originalTimestamp: 'x' }, 'COLLECT_INVALID_TIMESTAMP', '/originalTimestamp'],
    ['bad sentAt', { ...track, sentAt: '2026-11-28T25:00:00Z' }, 'COLLECT_INVALID_TIMESTAMP', '/sentAt'],
    [
      '__proto__ key',
      JSON.parse('{"type":"track","event":"E","userId":"u","properties":{"__proto__":{"x":1}}}'),
      'COLLECT_FORBIDDEN_KEY',
      '/properties/__proto__',
    ],
    [
      'constructor key',
      { ...track, context: { a: [{ constructor: { prototype: 1 } }] } },
      'COLLECT_FORBIDDEN_KEY',
      '/context/a/0/constructor',
    ],
    ['prototype key at the top', { ...track, prototype: 1 }, 'COLLECT_FORBIDDEN_KEY', '/prototype'],
  ];
  for (const [name, message, code, pointer] of cases) {
    it(name, () => {
      const result = bad(checkMessage(message, 3, env(), options, undefined));
      expect(result.code).toBe(code);
      expect(result.index).toBe(3);
      if (pointer !== undefined) expect(result.details.pointer).toBe(pointer);
      expect(typeof result.messageId).toBe('string');
    });
  }

  it('rejects a type that contradicts the route', () => {
    expect(bad(checkMessage(track, 0, env({ impliedType: 'page' }), options, undefined)).code).toBe(
      'COLLECT_INVALID_TYPE',
    );
  });

  it('reports the client messageId on a rejection when it has one', () => {
    const result = bad(
      checkMessage({ type: 'track', userId: 'u', messageId: 'client-1' }, 0, env(), options, undefined),
    );
    expect(result.messageId).toBe('client-1');
    expect(result.clientMessageId).toBe(true);
  });

  it('skips the key scan only when the transport says the text cannot hold such a key', () => {
    const message = { ...track, properties: { constructor: 'x' } };
    expect(bad(checkMessage(message, 0, env(), options, undefined)).code).toBe('COLLECT_FORBIDDEN_KEY');
    expect(checkMessage(message, 0, env({ checkForbiddenKeys: false }), options, undefined).ok).toBe(true);
  });

  it('bounds nesting: 32 levels pass, 33 do not, 10,000 do not overflow the stack', () => {
    const nest = (levels: number): unknown => {
      let value: unknown = 1;
      for (let i = 0; i < levels; i++) value = { a: value };
      return value;
    };
    // The message is level 1 and properties level 2: 30 more objects inside make 32.
    expect(checkMessage({ ...track, properties: nest(31) }, 0, env(), options, undefined).ok).toBe(true);
    const tooDeep = bad(checkMessage({ ...track, properties: nest(32) }, 0, env(), options, undefined));
    expect(tooDeep.code).toBe('COLLECT_TOO_DEEP');
    expect(tooDeep.details.maxDepth).toBe(32);
    const deep = JSON.parse(
      `{"type":"track","event":"E","userId":"u","properties":${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
    ) as unknown;
    expect(bad(checkMessage(deep, 0, env(), options, undefined)).code).toBe('COLLECT_TOO_DEEP');
  });

  it('bounds the stored size of one message', () => {
    const big = { ...track, properties: { blob: 'x'.repeat(33 * 1024) } };
    expect(bad(checkMessage(big, 0, env(), options, undefined)).code).toBe('COLLECT_MESSAGE_TOO_LARGE');
    // Multi-byte characters count as bytes: 12,000 × 3 bytes is over 32 KiB although only 12,000 characters.
    const wide = { ...track, properties: { blob: '€'.repeat(12_000) } };
    expect(bad(checkMessage(wide, 0, env(), options, undefined)).code).toBe('COLLECT_MESSAGE_TOO_LARGE');
    expect(
      checkMessage({ ...track, properties: { blob: 'x'.repeat(30 * 1024) } }, 0, env(), options, undefined).ok,
    ).toBe(true);
  });
});

describe('checkMessage: registered schemas', () => {
  const ajv = new Ajv({ useDefaults: true, strict: false });
  const validate = ajv.compile({
    type: 'object',
    properties: { price: { type: 'number', minimum: 0 }, currency: { type: 'string', default: 'USD' } },
    required: ['price'],
  });
  const compiled: CompiledSchema = {
    version: 3,
    validate: (d) => validate(d),
    firstError: () => validate.errors?.[0] ?? undefined,
  };
  const schemas: SchemaLookup = { lookup: (event) => (event === 'Product Viewed' ? compiled : undefined) };

  it('validates the properties of track events of that name and fills declared defaults', () => {
    const { event } = ok(checkMessage(track, 0, env(), options, schemas));
    expect(event.properties).toEqual({ price: 9.99, currency: 'USD' });
    expect(
      checkMessage({ ...track, event: 'Other', properties: { price: 'free' } }, 0, env(), options, schemas).ok,
    ).toBe(true);
  });

  it('rejects violations with COLLECT_SCHEMA_VIOLATION, the schema version and both paths', () => {
    const result = bad(checkMessage({ ...track, properties: { price: -1 } }, 0, env(), options, schemas));
    expect(result.code).toBe('COLLECT_SCHEMA_VIOLATION');
    expect(result.details).toMatchObject({
      event: 'Product Viewed',
      version: 3,
      schemaPath: '#/properties/price/minimum',
      instancePath: '/properties/price',
    });
    const missing = bad(checkMessage({ ...track, properties: undefined }, 0, env(), options, schemas));
    expect(missing.details).toMatchObject({ schemaPath: '#/required', instancePath: '/properties' });
  });
});

describe('batch envelope', () => {
  it('refuses a malformed batch sentAt or context as a whole request', () => {
    expect(() => parseEnvelopeSentAt('soon')).toThrow(expect.objectContaining({ code: 'COLLECT_INVALID_BATCH' }));
    expect(() => parseEnvelopeContext([1], 32, true)).toThrow(
      expect.objectContaining({ code: 'COLLECT_INVALID_BATCH' }),
    );
    expect(() => parseEnvelopeContext(JSON.parse('{"a":{"__proto__":1}}'), 32, true)).toThrow(
      expect.objectContaining({ code: 'COLLECT_INVALID_BATCH' }),
    );
    expect(parseEnvelopeContext({ ip: '1.1.1.1' }, 32, true)).toEqual({ ip: '1.1.1.1' });
    expect(parseEnvelopeSentAt(undefined)).toEqual({});
  });
});
