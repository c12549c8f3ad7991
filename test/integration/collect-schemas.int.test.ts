import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSealRecord } from '../../src/core/index.js';
import {
  SECRET_KEY,
  basicAuth,
  postJson,
  rawRequest,
  removeDir,
  startCollectServer,
  tempDir,
  type CollectServer,
} from './collect-harness.js';

const admin = { authorization: `Bearer ${SECRET_KEY}`, 'content-type': 'application/json' };
const auth = { authorization: basicAuth('WK_test') };
const path = '/v1/schemas/Product%20Viewed';

const v1 = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { product_id: { type: 'string' }, price: { type: 'number', minimum: 0 } },
  required: ['product_id'],
};
const v2 = { ...v1, properties: { ...v1.properties, sku: { type: 'string' } } };
const v3 = {
  ...v2,
  properties: { ...v2.properties, currency: { type: 'string' } },
  required: ['product_id', 'currency'],
};

describe('schema registry over HTTP', () => {
  let server: CollectServer;
  beforeAll(async () => {
    server = await startCollectServer();
  });
  afterAll(async () => {
    await server.stop();
    removeDir(server.dir);
  });

  const put = (url: string, body: unknown) => rawRequest(server.url, 'PUT', url, admin, JSON.stringify(body));
  const get = (url: string) => rawRequest(server.url, 'GET', url, admin);

  it('registers versions, returns the existing version for an identical schema, refuses invalid schemas', async () => {
    const first = await put(path, { schema: v1 });
    expect(first.status, first.text).toBe(201);
    expect(first.json).toEqual({ event: 'Product Viewed', version: 1, created: true });
    const same = await put(path, v1); // the schema itself as the body works too
    expect(same.status).toBe(200);
    expect(same.json).toEqual({ event: 'Product Viewed', version: 1, created: false });
    for (const invalid of [
      { schema: { type: 'nope' } },
      { schema: 42 },
      { schema: '{not json' },
      { schema: { $schema: 'http://json-schema.org/draft-04/schema#' } },
    ]) {
      const answer = await put(path, invalid);
      expect(answer.status, JSON.stringify(invalid)).toBe(400);
      expect(answer.json.error.code).toBe('COLLECT_SCHEMA_INVALID');
    }
  });

  it('BACKWARD (lenient, the default): an optional property may be added; a required one without default may not', async () => {
    const second = await put(path, { schema: v2 });
    expect(second.status, second.text).toBe(201);
    expect(second.json.version).toBe(2);
    const third = await put(path, { schema: v3 });
    expect(third.status).toBe(409);
    expect(third.json.error).toMatchObject({
      code: 'COLLECT_SCHEMA_INCOMPATIBLE',
      details: {
        compatibility: 'BACKWARD',
        policy: 'lenient',
        violations: [
          { type: 'REQUIRED_ATTRIBUTE_ADDED', path: '#/required/currency', direction: 'BACKWARD', version: 2 },
        ],
      },
    });
    // With a default, old data stays readable: compatible.
    const withDefault = { ...v3, properties: { ...v3.properties, currency: { type: 'string', default: 'USD' } } };
    const fourth = await put(path, { schema: withDefault });
    expect(fourth.status, fourth.text).toBe(201);
    expect(fourth.json.version).toBe(3);
  });

  it('the compatibility mode and policy are set per event', async () => {
    const strict = await put(`${path}/compatibility`, { compatibility: 'BACKWARD', policy: 'strict' });
    expect(strict.status).toBe(200);
    expect(strict.json).toMatchObject({
      event: 'Product Viewed',
      compatibility: 'BACKWARD',
      policy: 'strict',
      versions: [1, 2, 3],
    });
    const latest = (await get(`${path}/versions/latest`)).json.schema as typeof v3;
    const optional = { ...latest, properties: { ...latest.properties, brand: { type: 'string' } } };
    const refused = await put(path, { schema: optional });
    expect(refused.status).toBe(409);
    expect(refused.json.error.details.violations.map((v: { type: string }) => v.type)).toEqual([
      'PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL',
    ]);
    const none = await put(`${path}/compatibility`, { compatibility: 'NONE' });
    expect(none.json).toMatchObject({ compatibility: 'NONE', policy: 'strict' });
    expect((await put(path, { schema: optional })).status).toBe(201);
    const bad = await put(`${path}/compatibility`, { compatibility: 'SIDEWAYS' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('SERVE_INVALID_REQUEST');
    // A setting may exist before any schema (Confluent allows it).
    const early = await put('/v1/schemas/Checkout%20Started/compatibility', { compatibility: 'FULL_TRANSITIVE' });
    expect(early.json).toEqual({
      event: 'Checkout Started',
      compatibility: 'FULL_TRANSITIVE',
      policy: 'lenient',
      versions: [],
    });
  });

  it('lists subjects and reads versions', async () => {
    const list = await get('/v1/schemas');
    expect(list.json.items).toEqual([
      {
        event: 'Checkout Started',
        compatibility: 'FULL_TRANSITIVE',
        policy: 'lenient',
        latestVersion: null,
        versions: [],
      },
      { event: 'Product Viewed', compatibility: 'NONE', policy: 'strict', latestVersion: 4, versions: [1, 2, 3, 4] },
    ]);
    const subject = await get(path);
    expect(subject.json).toMatchObject({ event: 'Product Viewed', latest: { version: 4 }, versions: [1, 2, 3, 4] });
    expect((await get(`${path}/versions/2`)).json).toMatchObject({ event: 'Product Viewed', version: 2, schema: v2 });
    expect((await get(`${path}/versions/9`)).json.error.code).toBe('COLLECT_SCHEMA_VERSION_NOT_FOUND');
    expect((await get('/v1/schemas/Nope')).json.error.code).toBe('COLLECT_SCHEMA_NOT_FOUND');
    expect((await get('/v1/schemas/Nope')).status).toBe(404);
  });

  it('validates track properties against the latest version, fills declared defaults, and reports the version', async () => {
    const answer = await postJson(
      server.url,
      '/v1/batch',
      {
        batch: [
          {
            type: 'track',
            event: 'Product Viewed',
            userId: 's',
            messageId: 'sv-ok',
            properties: { product_id: 'p1', price: 5 },
          },
          {
            type: 'track',
            event: 'Product Viewed',
            userId: 's',
            messageId: 'sv-bad',
            properties: { product_id: 'p1', price: -5 },
          },
          { type: 'page', userId: 's', messageId: 'sv-page', name: 'Product Viewed', properties: { price: -5 } },
        ],
      },
      auth,
    );
    expect(answer.json.accepted).toBe(2);
    expect(answer.json.rejected).toEqual([
      { index: 1, messageId: 'sv-bad', code: 'COLLECT_SCHEMA_VIOLATION', message: expect.any(String) },
    ]);
    const dead = await get('/v1/dead-letters?code=COLLECT_SCHEMA_VIOLATION');
    expect(dead.json.items[0].details).toMatchObject({
      event: 'Product Viewed',
      version: 4,
      schemaPath: '#/properties/price/minimum',
      instancePath: '/properties/price',
    });
    const stored = (await server.readAll())
      .map((r) => r.payload)
      .find((p) => !isSealRecord(p) && p.messageId === 'sv-ok');
    expect(stored).toMatchObject({ properties: { product_id: 'p1', price: 5, currency: 'USD' } });
  });

  it('deleting a subject stops validation for that event', async () => {
    const deleted = await rawRequest(server.url, 'DELETE', path, { authorization: `Bearer ${SECRET_KEY}` });
    expect(deleted.json).toEqual({ event: 'Product Viewed', versions: [1, 2, 3, 4] });
    expect((await get(path)).status).toBe(404);
    const answer = await postJson(
      server.url,
      '/v1/track',
      { event: 'Product Viewed', userId: 's', messageId: 'sv-free', properties: { price: -5 } },
      auth,
    );
    expect(answer.json).toEqual({ success: true, accepted: 1, rejected: [] });
    expect((await rawRequest(server.url, 'DELETE', path, { authorization: `Bearer ${SECRET_KEY}` })).status).toBe(404);
  });
});

describe('schema registry persistence', () => {
  it('schemas survive a restart and keep validating', async () => {
    const dir = tempDir();
    try {
      let server = await startCollectServer({ dir });
      const schema = { type: 'object', properties: { q: { type: 'string', minLength: 1 } }, required: ['q'] };
      expect(
        (await rawRequest(server.url, 'PUT', '/v1/schemas/Products%20Searched', admin, JSON.stringify({ schema })))
          .status,
      ).toBe(201);
      await server.stop();
      server = await startCollectServer({ dir });
      const answer = await postJson(
        server.url,
        '/v1/track',
        { event: 'Products Searched', userId: 'p', properties: { q: '' } },
        auth,
      );
      expect(answer.json.rejected[0].code).toBe('COLLECT_SCHEMA_VIOLATION');
      expect(server.collector.schemas.get('Products Searched').versions).toEqual([1]);
      await server.stop();
    } finally {
      removeDir(dir);
    }
  });
});
