import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/index.js';
import { DestinationService, MembershipReader, SegmentService } from '../../segments/index.js';
import { runCase } from '../../segments/cases-harness.js';
import { LmdbMetadataStore, type MetadataStore } from '../../store/index.js';
import { createHttpServer } from '../app.js';
import { destinationRoutes } from './destinations.js';
import { segmentRoutes } from './segments.js';

const SECRET = 'sk_test';
const auth = { authorization: `Bearer ${SECRET}` };

/** DESIGN.md §6, verbatim. */
const EXAMPLES = [
  '{"id":"high-intent","name":"High intent","condition":{"count":{"event":"Product Viewed","by":"properties.product_id","within":"10m"},"gt":3}}',
  '{"id":"cart-abandoner","name":"Cart abandoner","condition":{"sequence":[{"event":"Product Added"},{"absent":{"event":"Order Completed"},"for":"30m"}]}}',
  '{"id":"big-spender","name":"Big spender","condition":{"all":[{"sum":{"event":"Order Completed","of":"properties.revenue","within":"30d"},"gte":500},{"trait":"plan","in":["pro","enterprise"]}]}}',
];

let app: FastifyInstance;
let metadata: MetadataStore;

beforeAll(async () => {
  metadata = new LmdbMetadataStore({ dir: mkdtempSync(join(tmpdir(), 'kairos-segment-routes-')) });
  // Members come from a real run of the pipeline: 3 profiles enter high-intent (version 1).
  const events = [];
  for (const user of ['ann', 'ben', 'cat'])
    for (let i = 0; i < 4; i++)
      events.push({ at: `+${i}m`, userId: user, event: 'Product Viewed', properties: { product_id: 'p1' } });
  const run = await runCase({ name: 'members', partitions: 2, rules: [JSON.parse(EXAMPLES[0]!)], events, expect: [] });
  const members = new MembershipReader({ store: run.store, partitionCount: 2 });
  const service = new SegmentService({ metadata, members });
  app = await createHttpServer({
    keys: { writeKeys: ['wk_test'], secretKeys: [SECRET] },
    logger: silentLogger(),
    metrics: new Registry(),
    docs: false,
    routes: [
      segmentRoutes({ service, members }),
      destinationRoutes({ destinations: new DestinationService({ metadata }) }),
    ],
  });
});

afterAll(async () => {
  await app.close();
  await metadata.close();
});

async function put(id: string, body: unknown) {
  return app.inject({ method: 'PUT', url: `/v1/segments/${id}`, headers: auth, payload: body as object });
}

describe('segment routes', () => {
  it('accept the three DESIGN.md examples verbatim', async () => {
    for (const text of EXAMPLES) {
      const id = (JSON.parse(text) as { id: string }).id;
      const res = await app.inject({
        method: 'PUT',
        url: `/v1/segments/${id}`,
        headers: { ...auth, 'content-type': 'application/json' },
        payload: text,
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({
        id,
        activeVersion: 1,
        createdVersion: 1,
        condition: JSON.parse(text).condition,
      });
    }
    const list = await app.inject({ method: 'GET', url: '/v1/segments', headers: auth });
    expect(list.json().items.map((s: { id: string }) => s.id)).toEqual([
      'big-spender',
      'cart-abandoner',
      'high-intent',
    ]);
  });

  it('require the secret key', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/segments' })).json().error.code).toBe('SERVE_UNAUTHORIZED');
    expect(
      (
        await app.inject({
          method: 'GET',
          url: '/v1/segments',
          headers: { authorization: 'Basic ' + Buffer.from('wk_test:').toString('base64') },
        })
      ).statusCode,
    ).toBe(403);
  });

  it('list members with a count and a cursor', async () => {
    const first = await app.inject({ method: 'GET', url: '/v1/segments/high-intent/members?limit=2', headers: auth });
    expect(first.statusCode).toBe(200);
    const page1 = first.json();
    expect(page1).toMatchObject({ segmentId: 'high-intent', version: 1, count: 3 });
    expect(page1.members).toHaveLength(2);
    const second = (
      await app.inject({
        method: 'GET',
        url: `/v1/segments/high-intent/members?limit=2&cursor=${page1.next}`,
        headers: auth,
      })
    ).json();
    expect(second.next).toBeUndefined();
    expect([...page1.members, ...second.members].map((m: { profileId: string }) => m.profileId)).toEqual([
      'u:ann',
      'u:ben',
      'u:cat',
    ]);
    const bad = await app.inject({
      method: 'GET',
      url: '/v1/segments/high-intent/members?cursor=%25%25',
      headers: auth,
    });
    expect(bad.json().error.code).toBe('SEGMENTS_INVALID_CURSOR');
    const shows = (await app.inject({ method: 'GET', url: '/v1/segments/high-intent', headers: auth })).json();
    expect(shows.versions[0]).toMatchObject({ version: 1, state: 'active', members: 3 });
  });

  it('reject bad rules with the JSON pointer of the fault', async () => {
    const cases: [unknown, string, string][] = [
      [
        { name: 'x', condition: { count: { event: 'A', within: '10m' }, gtt: 3 } },
        'SEGMENTS_RULE_INVALID',
        '/condition/gtt',
      ],
      [
        { name: 'x', condition: { count: { event: 'A', within: 'ten minutes' }, gt: 3 } },
        'SEGMENTS_RULE_INVALID',
        '/condition/count/within',
      ],
      [
        {
          name: 'x',
          condition: {
            all: [
              { trait: 'plan', eq: 'pro' },
              { count: { event: ['A', 7], within: '1h' }, gt: 1 },
            ],
          },
        },
        'SEGMENTS_RULE_INVALID',
        '/condition/all/1/count/event/1',
      ],
      [{ name: 'x', state: 'live', condition: { trait: 'plan', eq: 'pro' } }, 'SEGMENTS_RULE_INVALID', '/state'],
      [{ name: 'x', condition: { inSegment: 'nowhere' } }, 'SEGMENTS_REFERENCE_UNKNOWN', '/condition/inSegment'],
      [{ name: 'x', condition: { any: [{ inSegment: 'bad-one' }] } }, 'SEGMENTS_CYCLE', '/condition/any/0/inSegment'],
    ];
    for (const [body, code, pointer] of cases) {
      const res = await put('bad-one', body);
      expect(res.statusCode, JSON.stringify(body)).toBe(400);
      expect(res.json().error).toMatchObject({ code, details: { pointer } });
    }
    expect(
      (await put('other', { id: 'not-other', name: 'x', condition: { trait: 'a', exists: true } })).json().error.code,
    ).toBe('SEGMENTS_ID_MISMATCH');
  });

  it('reject a definition that would close a cycle through other segments', async () => {
    expect((await put('loop-a', { name: 'A', condition: { trait: 'plan', eq: 'pro' } })).statusCode).toBe(201);
    expect((await put('loop-b', { name: 'B', condition: { inSegment: 'loop-a' } })).statusCode).toBe(201);
    const res = await put('loop-a', {
      name: 'A',
      condition: { all: [{ trait: 'plan', eq: 'pro' }, { inSegment: 'loop-b' }] },
    });
    expect(res.json().error).toMatchObject({
      code: 'SEGMENTS_CYCLE',
      details: { pointer: '/condition/all/1/inSegment', cycle: ['loop-a', 'loop-b', 'loop-a'] },
    });
    // Deleting a segment another one references is refused; the referencing one first.
    expect((await app.inject({ method: 'DELETE', url: '/v1/segments/loop-a', headers: auth })).json().error.code).toBe(
      'SEGMENTS_IN_USE',
    );
    expect((await app.inject({ method: 'DELETE', url: '/v1/segments/loop-b', headers: auth })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/v1/segments/loop-b', headers: auth })).json().error.code).toBe(
      'SEGMENTS_NOT_FOUND',
    );
    expect((await app.inject({ method: 'DELETE', url: '/v1/segments/loop-a', headers: auth })).statusCode).toBe(204);
  });

  it('move versions through draft → shadow → active → retired', async () => {
    await put('life', { name: 'Life', condition: { trait: 'plan', eq: 'pro' } });
    const shadow = await put('life', {
      name: 'Life',
      state: 'shadow',
      condition: { trait: 'plan', in: ['pro', 'team'] },
    });
    expect(shadow.statusCode).toBe(200);
    expect(shadow.json()).toMatchObject({ activeVersion: 1, createdVersion: 2 });
    const draft = (
      await put('life', { name: 'Life', state: 'draft', condition: { trait: 'plan', eq: 'team' } })
    ).json();
    expect(draft.versions.map((v: { version: number; state: string }) => `${v.version}:${v.state}`)).toEqual([
      '3:draft',
      '2:shadow',
      '1:active',
    ]);
    const promoted = await app.inject({
      method: 'POST',
      url: '/v1/segments/life/versions/2',
      headers: auth,
      payload: { state: 'active' },
    });
    expect(promoted.json()).toMatchObject({ activeVersion: 2 });
    expect(promoted.json().versions.map((v: { state: string }) => v.state)).toEqual(['draft', 'active', 'retired']);
    const back = await app.inject({
      method: 'POST',
      url: '/v1/segments/life/versions/1',
      headers: auth,
      payload: { state: 'active' },
    });
    expect(back.statusCode).toBe(409);
    expect(back.json().error).toMatchObject({
      code: 'SEGMENTS_INVALID_TRANSITION',
      details: { from: 'retired', to: 'active' },
    });
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/segments/life/versions/9',
          headers: auth,
          payload: { state: 'active' },
        })
      ).json().error.code,
    ).toBe('SEGMENTS_VERSION_NOT_FOUND');
    expect(
      (await app.inject({ method: 'POST', url: '/v1/segments/life/backfill', headers: auth })).json().error.code,
    ).toBe('SEGMENTS_BACKFILL_UNAVAILABLE');
  });

  it('validate a definition without saving it', async () => {
    const ok = await app.inject({
      method: 'POST',
      url: '/v1/segments/validate',
      headers: auth,
      payload: JSON.parse(EXAMPLES[1]!),
    });
    expect(ok.json()).toMatchObject({ valid: true });
    const bad = await app.inject({
      method: 'POST',
      url: '/v1/segments/validate',
      headers: auth,
      payload: { id: 'v', name: 'v', condition: { sequence: [] } },
    });
    expect(bad.json().error).toMatchObject({
      code: 'SEGMENTS_RULE_INVALID',
      details: { pointer: '/condition/sequence' },
    });
  });
});

describe('destination routes', () => {
  it('create (with a generated secret shown once), read, validate and delete destinations', async () => {
    const created = await app.inject({
      method: 'PUT',
      url: '/v1/destinations/crm',
      headers: auth,
      payload: { url: 'https://example.com/hooks', segments: ['high-intent'] },
    });
    expect(created.statusCode).toBe(201);
    const body = created.json();
    expect(body.secret).toMatch(/^whsec_/);
    expect(body.secretHint).toBe(`…${(body.secret as string).slice(-4)}`);
    const read = (await app.inject({ method: 'GET', url: '/v1/destinations/crm', headers: auth })).json();
    expect(read.secret).toBeUndefined();
    expect(read).toMatchObject({
      id: 'crm',
      url: 'https://example.com/hooks',
      segments: ['high-intent'],
      enabled: true,
    });
    const bad = await app.inject({
      method: 'PUT',
      url: '/v1/destinations/crm',
      headers: auth,
      payload: { url: 'ftp://example.com' },
    });
    expect(bad.json().error).toMatchObject({ code: 'SEGMENTS_DESTINATION_INVALID', details: { pointer: '/url' } });
    const badType = await app.inject({
      method: 'PUT',
      url: '/v1/destinations/crm',
      headers: auth,
      payload: { url: 'https://example.com', types: ['joined'] },
    });
    expect(badType.json().error.details.pointer).toBe('/types/0');
    expect((await app.inject({ method: 'GET', url: '/v1/destinations', headers: auth })).json().items).toHaveLength(1);
    expect(
      (await app.inject({ method: 'GET', url: '/v1/destinations/crm/dead-letters', headers: auth })).json(),
    ).toEqual({ items: [] });
    expect((await app.inject({ method: 'DELETE', url: '/v1/destinations/crm', headers: auth })).statusCode).toBe(204);
    expect((await app.inject({ method: 'GET', url: '/v1/destinations/crm', headers: auth })).json().error.code).toBe(
      'SEGMENTS_DESTINATION_NOT_FOUND',
    );
  });
});
