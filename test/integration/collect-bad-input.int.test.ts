import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSealRecord, type KairosEvent } from '../../src/core/index.js';
import {
  SECRET_KEY,
  basicAuth,
  postJson,
  rawRequest,
  removeDir,
  startCollectServer,
  type CollectServer,
  type RawResponse,
} from './collect-harness.js';

const auth = { authorization: basicAuth('WK_test') };
const json = { 'content-type': 'application/json' };
const admin = { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/json' };
const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);
const track = (messageId: string, extra: Record<string, unknown> = {}) => ({
  type: 'track',
  event: 'Bad Input',
  userId: 'bad-user',
  messageId,
  ...extra,
});

interface RequestCase {
  readonly name: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body: Buffer | string;
  readonly status: number;
  readonly code: string;
}

/** Request-level failures: a 4xx with `{error:{code,message}}` and nothing stored. */
const requestCases: RequestCase[] = [
  {
    name: 'malformed JSON',
    headers: auth,
    body: '{"batch":[{"type":"track",}]}',
    status: 400,
    code: 'COLLECT_INVALID_JSON',
  },
  {
    name: 'truncated JSON',
    headers: auth,
    body: JSON.stringify({ batch: [track('t-1')] }).slice(0, 40),
    status: 400,
    code: 'COLLECT_INVALID_JSON',
  },
  { name: 'empty body', headers: { ...auth, ...json }, body: '', status: 400, code: 'COLLECT_INVALID_JSON' },
  { name: 'not JSON at all', headers: auth, body: 'type=track&event=x', status: 400, code: 'COLLECT_INVALID_JSON' },
  { name: 'body is null', headers: auth, body: 'null', status: 400, code: 'COLLECT_INVALID_BODY' },
  {
    name: 'body is an array',
    headers: auth,
    body: JSON.stringify([track('arr')]),
    status: 400,
    code: 'COLLECT_INVALID_BODY',
  },
  { name: 'body is a string', headers: auth, body: '"track"', status: 400, code: 'COLLECT_INVALID_BODY' },
  {
    name: 'body is an array (single route)',
    path: '/v1/track',
    headers: auth,
    body: '[]',
    status: 400,
    code: 'COLLECT_INVALID_BODY',
  },
  {
    name: 'no write key',
    body: JSON.stringify({ batch: [track('nk')] }),
    status: 401,
    code: 'COLLECT_MISSING_WRITE_KEY',
  },
  {
    name: 'empty Basic username, no body key',
    headers: { authorization: basicAuth('') },
    body: JSON.stringify({ batch: [track('ek')] }),
    status: 401,
    code: 'COLLECT_MISSING_WRITE_KEY',
  },
  {
    name: 'wrong Basic key',
    headers: { authorization: basicAuth('WK_wrong') },
    body: JSON.stringify({ batch: [track('wk')] }),
    status: 401,
    code: 'COLLECT_INVALID_WRITE_KEY',
  },
  {
    name: 'wrong body key',
    body: JSON.stringify({ writeKey: 'nope', batch: [track('bk')] }),
    status: 401,
    code: 'COLLECT_INVALID_WRITE_KEY',
  },
  {
    name: 'body key not a string',
    body: JSON.stringify({ writeKey: 42, batch: [track('nk2')] }),
    status: 401,
    code: 'COLLECT_INVALID_WRITE_KEY',
  },
  {
    name: 'wrong Bearer key',
    headers: { authorization: 'Bearer nope' },
    body: JSON.stringify({ batch: [track('bb')] }),
    status: 401,
    code: 'COLLECT_INVALID_WRITE_KEY',
  },
  {
    name: 'request over 500 KB',
    headers: auth,
    body: JSON.stringify({ batch: [track('big', { properties: { blob: 'x'.repeat(600_000) } })] }),
    status: 413,
    code: 'COLLECT_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'gzip body over 500 KB once inflated',
    headers: { ...auth, 'content-encoding': 'gzip' },
    body: gzipSync(JSON.stringify({ batch: [track('gz', { properties: { blob: 'x'.repeat(600_000) } })] })),
    status: 413,
    code: 'COLLECT_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'gzip bomb (100 MB of zeros)',
    headers: { ...auth, 'content-encoding': 'gzip' },
    body: gzipSync(Buffer.alloc(100 * 1024 * 1024)),
    status: 413,
    code: 'COLLECT_PAYLOAD_TOO_LARGE',
  },
  {
    name: 'unsupported Content-Encoding',
    headers: { ...auth, 'content-encoding': 'br' },
    body: JSON.stringify({ batch: [track('br')] }),
    status: 415,
    code: 'COLLECT_UNSUPPORTED_ENCODING',
  },
  {
    name: 'gzip header, plain body',
    headers: { ...auth, 'content-encoding': 'gzip' },
    body: JSON.stringify({ batch: [track('gp')] }),
    status: 400,
    code: 'COLLECT_INVALID_COMPRESSION',
  },
  {
    name: 'batch missing',
    headers: auth,
    body: JSON.stringify({ messages: [track('bm')] }),
    status: 400,
    code: 'COLLECT_INVALID_BATCH',
  },
  {
    name: 'batch is an object',
    headers: auth,
    body: JSON.stringify({ batch: track('bo') }),
    status: 400,
    code: 'COLLECT_INVALID_BATCH',
  },
  {
    name: 'empty batch',
    headers: auth,
    body: JSON.stringify({ batch: [] }),
    status: 400,
    code: 'COLLECT_INVALID_BATCH',
  },
  {
    name: 'batch sentAt not a timestamp',
    headers: auth,
    body: JSON.stringify({ batch: [track('bs')], sentAt: 'now' }),
    status: 400,
    code: 'COLLECT_INVALID_BATCH',
  },
  {
    name: 'batch context not an object',
    headers: auth,
    body: JSON.stringify({ batch: [track('bc')], context: ['x'] }),
    status: 400,
    code: 'COLLECT_INVALID_BATCH',
  },
  {
    name: 'batch context with __proto__',
    headers: auth,
    body: '{"batch":[{"type":"track","event":"E","userId":"u"}],"context":{"__proto__":{"admin":true}}}',
    status: 400,
    code: 'COLLECT_INVALID_BATCH',
  },
  {
    name: 'more than 5000 messages',
    headers: auth,
    body: JSON.stringify({ batch: Array.from({ length: 5001 }, () => ({})) }),
    status: 400,
    code: 'COLLECT_INVALID_BATCH',
  },
];

interface MessageCase {
  readonly name: string;
  /** A message (object) or raw JSON text of the message. */
  readonly message: unknown;
  readonly code: string;
  readonly path?: string;
}

/** Per-message failures: 200, the message in `rejected` with its code, and in the dead-letter store. */
const messageCases: MessageCase[] = [
  {
    name: '10,000 levels of nesting',
    message: `{"type":"track","event":"E","userId":"u","messageId":"m-deep","properties":{"a":${deep(10_000)}}}`,
    code: 'COLLECT_TOO_DEEP',
  },
  {
    name: '__proto__ key',
    message:
      '{"type":"track","event":"E","userId":"u","messageId":"m-proto","properties":{"__proto__":{"polluted":true}}}',
    code: 'COLLECT_FORBIDDEN_KEY',
  },
  {
    name: 'constructor key spelled with an escape',
    message:
      '{"type":"track","event":"E","userId":"u","messageId":"m-ctor","traits":{"\\u0063onstructor":{"prototype":1}}}',
    code: 'COLLECT_FORBIDDEN_KEY',
  },
  {
    name: 'message over 32 KB',
    message: track('m-big', { properties: { blob: 'x'.repeat(40_000) } }),
    code: 'COLLECT_MESSAGE_TOO_LARGE',
  },
  { name: 'message is a number', message: 42, code: 'COLLECT_INVALID_MESSAGE' },
  { name: 'message is null', message: null, code: 'COLLECT_INVALID_MESSAGE' },
  { name: 'userId is an object', message: track('m-uid', { userId: { id: 1 } }), code: 'COLLECT_INVALID_FIELD' },
  {
    name: 'anonymousId is a boolean',
    message: { type: 'page', anonymousId: true, messageId: 'm-aid' },
    code: 'COLLECT_INVALID_FIELD',
  },
  { name: 'event is a number', message: track('m-ev', { event: 12 }), code: 'COLLECT_INVALID_FIELD' },
  { name: 'properties is an array', message: track('m-props', { properties: [1, 2] }), code: 'COLLECT_INVALID_FIELD' },
  {
    name: 'traits is a string',
    message: { type: 'identify', userId: 'u', traits: 'vip', messageId: 'm-traits' },
    code: 'COLLECT_INVALID_FIELD',
  },
  { name: 'context is a number', message: track('m-ctx', { context: 7 }), code: 'COLLECT_INVALID_FIELD' },
  { name: 'messageId is an object', message: track('x', { messageId: { id: 1 } }), code: 'COLLECT_INVALID_FIELD' },
  { name: 'unknown type', message: track('m-type', { type: 'purchase' }), code: 'COLLECT_INVALID_TYPE' },
  { name: 'no type', message: { event: 'E', userId: 'u', messageId: 'm-notype' }, code: 'COLLECT_INVALID_TYPE' },
  { name: 'type contradicts the route', message: track('m-route'), code: 'COLLECT_INVALID_TYPE', path: '/v1/page' },
  {
    name: 'no userId nor anonymousId',
    message: { type: 'track', event: 'E', messageId: 'm-noid' },
    code: 'COLLECT_MISSING_IDENTITY',
  },
  {
    name: 'track without event',
    message: { type: 'track', userId: 'u', messageId: 'm-noevent' },
    code: 'COLLECT_MISSING_FIELD',
  },
  {
    name: 'alias without previousId',
    message: { type: 'alias', userId: 'u', messageId: 'm-alias' },
    code: 'COLLECT_MISSING_FIELD',
  },
  {
    name: 'group without groupId',
    message: { type: 'group', userId: 'u', messageId: 'm-group' },
    code: 'COLLECT_MISSING_FIELD',
  },
  {
    name: 'timestamp not ISO-8601',
    message: track('m-ts', { timestamp: 'yesterday at noon' }),
    code: 'COLLECT_INVALID_TIMESTAMP',
  },
  {
    name: 'timestamp as epoch number',
    message: track('m-ts2', { timestamp: 1795852110415 }),
    code: 'COLLECT_INVALID_TIMESTAMP',
  },
  {
    name: 'message sentAt invalid',
    message: track('m-sent', { sentAt: '2026-11-31T00:00:00Z' }),
    code: 'COLLECT_INVALID_TIMESTAMP',
  },
];

function errorOf(answer: RawResponse): { code: string; message: string } {
  return (answer.json as { error: { code: string; message: string } }).error;
}

describe('collector: bad input never gets a 5xx, and the server keeps serving', () => {
  let server: CollectServer;
  beforeAll(async () => {
    server = await startCollectServer();
  });
  afterAll(async () => {
    await server.stop();
    removeDir(server.dir);
  });

  it(`has at least 30 cases (${requestCases.length + messageCases.length})`, () => {
    expect(requestCases.length + messageCases.length).toBeGreaterThanOrEqual(30);
  });

  for (const c of requestCases) {
    it(`request: ${c.name} → ${c.status} ${c.code}, nothing stored`, async () => {
      const before = (await server.readAll()).length;
      const answer = await rawRequest(server.url, 'POST', c.path ?? '/v1/batch', c.headers ?? {}, c.body);
      expect(answer.status, answer.text).toBe(c.status);
      expect(errorOf(answer).code).toBe(c.code);
      expect(typeof errorOf(answer).message).toBe('string');
      expect((await server.readAll()).length).toBe(before);
    });
  }

  for (const c of messageCases) {
    it(`message: ${c.name} → 200 with rejected ${c.code}, kept as a dead letter`, async () => {
      const text = typeof c.message === 'string' ? c.message : JSON.stringify(c.message);
      const body = c.path ? text : `{"batch":[${text}]}`;
      const answer = await rawRequest(server.url, 'POST', c.path ?? '/v1/batch', auth, body);
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json.accepted).toBe(0);
      expect(answer.json.rejected).toHaveLength(1);
      const [rejection] = answer.json.rejected as { index: number; messageId: string; code: string; message: string }[];
      expect(rejection).toMatchObject({ index: 0, code: c.code });
      expect(Object.keys(rejection!).sort()).toEqual(['code', 'index', 'message', 'messageId']);
      const page = await rawRequest(server.url, 'GET', `/v1/dead-letters?code=${c.code}&limit=1000`, admin);
      expect(page.status).toBe(200);
      expect((page.json.items as { messageId: string }[]).some((d) => d.messageId === rejection!.messageId)).toBe(true);
    });
  }

  it('GET on a collection route is a 404 with the error shape, not a crash', async () => {
    const answer = await rawRequest(server.url, 'GET', '/v1/batch', auth);
    expect(answer.status).toBe(404);
    expect(errorOf(answer).code).toBe('SERVE_NOT_FOUND');
  });

  it('still accepts a valid request afterwards, and no prototype was polluted', async () => {
    const answer = await postJson(server.url, '/v1/batch', { batch: [track('after-all')] }, auth);
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ success: true, accepted: 1, rejected: [] });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });
});

describe('collector: a mixed batch keeps its valid messages; the rest is replayable after a schema fix', () => {
  let server: CollectServer;
  beforeAll(async () => {
    server = await startCollectServer();
  });
  afterAll(async () => {
    await server.stop();
    removeDir(server.dir);
  });

  async function logged(): Promise<Map<string, KairosEvent>> {
    const out = new Map<string, KairosEvent>();
    for (const { payload } of await server.readAll()) if (!isSealRecord(payload)) out.set(payload.messageId, payload);
    return out;
  }

  it('appends the valid ones, dead-letters the others, and replays them once the schema allows them', async () => {
    const v1 = {
      type: 'object',
      properties: { order_id: { type: 'string' }, revenue: { type: 'number', minimum: 0 } },
      required: ['order_id', 'revenue'],
    };
    const registered = await rawRequest(
      server.url,
      'PUT',
      '/v1/schemas/Order%20Completed',
      admin,
      JSON.stringify({ schema: v1 }),
    );
    expect(registered.status, registered.text).toBe(201);

    const batch = [
      {
        type: 'track',
        event: 'Product Viewed',
        userId: 'mix',
        messageId: 'mix-ok-1',
        properties: { product_id: 'p1' },
      },
      {
        type: 'track',
        event: 'Order Completed',
        userId: 'mix',
        messageId: 'mix-schema',
        properties: { order_id: 'o1', revenue: '12.50' },
      },
      { type: 'track', event: 'Order Completed', messageId: 'mix-noid', properties: { order_id: 'o2', revenue: 3 } },
      { type: 'page', userId: 'mix', messageId: 'mix-ok-2', name: 'Home' },
      {
        type: 'track',
        event: 'Order Completed',
        userId: 'mix',
        messageId: 'mix-ok-3',
        properties: { order_id: 'o3', revenue: 7 },
      },
    ];
    const answer = await postJson(server.url, '/v1/batch', { batch, sentAt: new Date().toISOString() }, auth);
    expect(answer.status).toBe(200);
    expect(answer.json.accepted).toBe(3);
    expect(answer.json.rejected).toEqual([
      { index: 1, messageId: 'mix-schema', code: 'COLLECT_SCHEMA_VIOLATION', message: expect.any(String) },
      { index: 2, messageId: 'mix-noid', code: 'COLLECT_MISSING_IDENTITY', message: expect.any(String) },
    ]);
    let log = await logged();
    expect([...log.keys()].filter((id) => id.startsWith('mix-')).sort()).toEqual(['mix-ok-1', 'mix-ok-2', 'mix-ok-3']);

    const dead = await rawRequest(server.url, 'GET', '/v1/dead-letters?code=COLLECT_SCHEMA_VIOLATION', admin);
    expect(dead.json.total).toBe(2);
    const [violation] = dead.json.items as { id: string; messageId: string; details: Record<string, unknown> }[];
    expect(violation).toMatchObject({
      messageId: 'mix-schema',
      event: 'Order Completed',
      details: {
        event: 'Order Completed',
        version: 1,
        schemaPath: '#/properties/revenue/type',
        instancePath: '/properties/revenue',
      },
    });

    // Replay before the fix: still invalid, kept, reason refreshed.
    const early = await rawRequest(
      server.url,
      'POST',
      '/v1/dead-letters/replay',
      admin,
      JSON.stringify({ ids: [violation!.id] }),
    );
    expect(early.json).toMatchObject({ replayed: 1, accepted: 0, stillInvalid: 1 });

    // The fix: revenue may be a number or a numeric string (a backward-compatible type extension).
    const v2 = { ...v1, properties: { ...v1.properties, revenue: { type: ['number', 'string'], minimum: 0 } } };
    const fixed = await rawRequest(
      server.url,
      'PUT',
      '/v1/schemas/Order%20Completed',
      admin,
      JSON.stringify({ schema: v2 }),
    );
    expect(fixed.status, fixed.text).toBe(201);
    expect(fixed.json.version).toBe(2);

    const replay = await rawRequest(
      server.url,
      'POST',
      '/v1/dead-letters/replay',
      admin,
      JSON.stringify({ filter: { code: 'COLLECT_SCHEMA_VIOLATION' } }),
    );
    expect(replay.status, replay.text).toBe(200);
    expect(replay.json).toMatchObject({ replayed: 1, accepted: 1, stillInvalid: 0 });
    log = await logged();
    const replayed = log.get('mix-schema');
    expect(replayed).toMatchObject({
      event: 'Order Completed',
      userId: 'mix',
      profileKey: 'u:mix',
      properties: { revenue: '12.50' },
    });

    // The message without ids stays invalid whatever the schema; replaying "all" reports it again.
    const all = await rawRequest(server.url, 'POST', '/v1/dead-letters/replay', admin, JSON.stringify({ all: true }));
    expect(all.json).toMatchObject({
      replayed: 1,
      accepted: 0,
      stillInvalid: 1,
      items: [{ outcome: 'rejected', code: 'COLLECT_MISSING_IDENTITY' }],
    });
    const left = await rawRequest(server.url, 'GET', '/v1/dead-letters', admin);
    expect(left.json.total).toBe(1);
    expect(left.json.items[0]).toMatchObject({ messageId: 'mix-noid', attempts: 2 });

    // Replaying the same id again: it is gone from the store; replaying twice never appends twice.
    const gone = await rawRequest(
      server.url,
      'POST',
      '/v1/dead-letters/replay',
      admin,
      JSON.stringify({ ids: [violation!.id] }),
    );
    expect(gone.json).toMatchObject({ replayed: 0, notFound: [violation!.id] });
    expect(
      [...(await server.readAll())].filter((r) => !isSealRecord(r.payload) && r.payload.messageId === 'mix-schema'),
    ).toHaveLength(1);
  });

  it('a client retry of an invalid message updates its dead letter instead of adding one', async () => {
    const message = { type: 'track', userId: 'retry', messageId: 'retry-invalid' };
    for (let i = 0; i < 3; i++) {
      const answer = await postJson(server.url, '/v1/batch', { batch: [message] }, auth);
      expect(answer.json.rejected[0].code).toBe('COLLECT_MISSING_FIELD');
    }
    const page = await rawRequest(server.url, 'GET', '/v1/dead-letters?code=COLLECT_MISSING_FIELD', admin);
    expect(page.json.items).toHaveLength(1);
    expect(page.json.items[0]).toMatchObject({ messageId: 'retry-invalid', attempts: 3 });
  });

  it('the admin routes need the secret key', async () => {
    expect((await rawRequest(server.url, 'GET', '/v1/dead-letters', auth)).status).toBe(403);
    expect((await rawRequest(server.url, 'GET', '/v1/dead-letters')).status).toBe(401);
    expect((await rawRequest(server.url, 'GET', '/v1/schemas', auth)).status).toBe(403);
    const bad = await rawRequest(server.url, 'POST', '/v1/dead-letters/replay', admin, JSON.stringify({}));
    expect(bad.status).toBe(400);
    expect(errorOf(bad).code).toBe('COLLECT_INVALID_REPLAY');
  });
});
