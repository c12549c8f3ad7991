import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync, gzipSync } from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSealRecord, type KairosEvent } from '../../src/core/index.js';
import {
  basicAuth,
  postJson,
  rawRequest,
  removeDir,
  startCollectServer,
  type CollectServer,
} from './collect-harness.js';

/** Captures of real client traffic (FACTS.md); override with KAIROS_CLIENT_FIXTURES. */
const fixtures =
  process.env.KAIROS_CLIENT_FIXTURES ??
  resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/fixtures/clients');

interface Capture {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

/** Hop-by-hop and computed headers are the transport's business; everything else is replayed verbatim. */
function replayHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!['host', 'connection', 'content-length'].includes(name)) out[name] = value;
  }
  return out;
}

async function events(server: CollectServer): Promise<KairosEvent[]> {
  return (await server.readAll()).map((r) => r.payload).filter((p): p is KairosEvent => !isSealRecord(p));
}

function countIds(list: readonly KairosEvent[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of list) counts.set(e.messageId, (counts.get(e.messageId) ?? 0) + 1);
  return counts;
}

describe('collector: real Segment clients', () => {
  let server: CollectServer;
  beforeAll(async () => {
    server = await startCollectServer();
  });
  afterAll(async () => {
    await server.stop();
    removeDir(server.dir);
  });

  it('@segment/analytics-node: every call is accepted exactly once; a retried batch adds nothing', async () => {
    const analytics = new Analytics({
      writeKey: 'WK_segment_test',
      host: server.url,
      flushAt: 50,
      flushInterval: 100,
      maxRetries: 0,
    });
    const sent: { headers: Record<string, string>; body: string }[] = [];
    const answers: number[] = [];
    analytics.on('http_request', (request) => sent.push({ headers: request.headers, body: request.body }));
    // (The client reports the status only; its `body` is the request's.)
    analytics.on('http_response', (response) => answers.push(response.status));
    const errors: unknown[] = [];
    analytics.on('error', (error) => errors.push(error));

    analytics.identify({ userId: 'node-user-1', traits: { email: 'a@example.test', plan: 'pro' } });
    analytics.track({
      userId: 'node-user-1',
      event: 'Product Viewed',
      properties: { product_id: 'p-42', price: 9.99 },
    });
    analytics.track({
      anonymousId: 'node-anon-7',
      event: 'Product Added',
      properties: { product_id: 'p-42' },
      timestamp: new Date('2025-01-02T03:04:05Z'),
    });
    analytics.page({
      userId: 'node-user-1',
      name: 'Intro',
      category: 'Docs',
      properties: { url: 'http://example.test/docs' },
    });
    analytics.screen({ userId: 'node-user-1', name: 'Home' });
    analytics.group({ userId: 'node-user-1', groupId: 'g-1', traits: { name: 'Acme' } });
    analytics.alias({ userId: 'node-user-1', previousId: 'node-anon-7' });
    for (let i = 0; i < 30; i++)
      analytics.track({
        userId: `node-user-${i % 3}`,
        event: 'Order Completed',
        properties: { order_id: `o-${i}`, revenue: i },
      });
    await analytics.closeAndFlush({ timeout: 20_000 });

    expect(errors).toEqual([]);
    expect(answers.length).toBe(sent.length);
    expect(answers.every((status) => status === 200)).toBe(true);
    const sentIds = sent.flatMap((s) =>
      (JSON.parse(s.body) as { batch: { messageId: string }[] }).batch.map((m) => m.messageId),
    );
    expect(sentIds.length).toBe(37);
    expect(new Set(sentIds).size).toBe(37);

    const before = countIds(await events(server));
    for (const id of sentIds) expect(before.get(id), id).toBe(1);
    const recordsBefore = (await server.readAll()).length;

    // The client's retry: the very same request again (same messageIds; sentAt would differ, it does not matter).
    for (const request of sent) {
      const again = await rawRequest(server.url, 'POST', '/v1/batch', request.headers, request.body);
      expect(again.status).toBe(200);
      const count = (JSON.parse(request.body) as { batch: unknown[] }).batch.length;
      expect(again.json).toEqual({ success: true, accepted: count, rejected: [] });
    }
    expect((await server.readAll()).length).toBe(recordsBefore);
    const after = countIds(await events(server));
    for (const id of sentIds) expect(after.get(id), id).toBe(1);
  });

  it('replays the analytics-node capture byte for byte (Basic auth, application/json)', async () => {
    const capture = JSON.parse(readFileSync(join(fixtures, 'segment-analytics-node-3.1.0.json'), 'utf8')) as {
      requests: (Capture & { rawBodyBytes: number })[];
    };
    for (const request of capture.requests) {
      const body = JSON.stringify(request.body);
      expect(Buffer.byteLength(body)).toBe(request.rawBodyBytes);
      const answer = await rawRequest(server.url, request.method, request.url, replayHeaders(request.headers), body);
      expect(answer.status).toBe(200);
      const batch = request.body.batch as { messageId: string }[];
      expect(answer.json).toEqual({ success: true, accepted: batch.length, rejected: [] });
    }
    const ids = countIds(await events(server));
    for (const request of capture.requests)
      for (const m of request.body.batch as { messageId: string }[]) expect(ids.get(m.messageId)).toBe(1);
  });

  it('replays the analytics-next browser capture (text/plain, short paths, /v1/m metrics without auth)', async () => {
    const capture = JSON.parse(
      readFileSync(join(fixtures, 'segment-analytics-next-1.84.3-browser.json'), 'utf8'),
    ) as Capture[];
    const expected: string[] = [];
    for (const request of capture) {
      const body = JSON.stringify(request.body);
      expect(Buffer.byteLength(body)).toBe(Number(request.headers['content-length']));
      const answer = await rawRequest(server.url, request.method, request.url, replayHeaders(request.headers), body);
      expect(answer.status, `${request.url}: ${answer.text}`).toBe(200);
      if (request.url === '/v1/m') continue;
      expect(answer.json).toEqual({ success: true, accepted: 1, rejected: [] });
      expect(request.body.writeKey).toBe('WK_browser_test');
      expect(request.headers['content-type']).toBe('text/plain');
      expected.push(request.body.messageId as string);
    }
    expect(expected.length).toBe(3);
    const stored = await events(server);
    for (const id of expected) {
      const event = stored.find((e) => e.messageId === id);
      expect(event, id).toBeDefined();
      // The browser sends both ids once logged in: routed to the user's profile.
      expect(event?.profileKey).toBe('u:user-1');
    }
  });
});

describe('collector: body encodings and content types', () => {
  let server: CollectServer;
  beforeAll(async () => {
    server = await startCollectServer();
  });
  afterAll(async () => {
    await server.stop();
    removeDir(server.dir);
  });

  const batch = (id: string) => ({ batch: [{ type: 'track', event: 'Encoded', userId: 'enc', messageId: id }] });
  const auth = { authorization: basicAuth('WK_test') };

  const variants: [string, Record<string, string>, (text: string) => Buffer][] = [
    ['gzip', { 'content-encoding': 'gzip', 'content-type': 'application/json' }, (t) => gzipSync(t)],
    ['deflate', { 'content-encoding': 'deflate', 'content-type': 'application/json' }, (t) => deflateSync(t)],
    ['gzip labelled text/plain', { 'content-encoding': 'gzip', 'content-type': 'text/plain' }, (t) => gzipSync(t)],
    ['text/plain', { 'content-type': 'text/plain;charset=UTF-8' }, (t) => Buffer.from(t)],
    ['no content type', {}, (t) => Buffer.from(t)],
    ['form content type', { 'content-type': 'application/x-www-form-urlencoded' }, (t) => Buffer.from(t)],
    ['malformed content type', { 'content-type': 'not a media type;;' }, (t) => Buffer.from(t)],
    ['identity encoding', { 'content-encoding': 'identity' }, (t) => Buffer.from(t)],
  ];
  for (const [name, headers, encode] of variants) {
    it(`accepts ${name}`, async () => {
      const id = `enc-${name}`;
      const answer = await rawRequest(
        server.url,
        'POST',
        '/v1/batch',
        { ...auth, ...headers },
        encode(JSON.stringify(batch(id))),
      );
      expect(answer.status, answer.text).toBe(200);
      expect(answer.json).toEqual({ success: true, accepted: 1, rejected: [] });
      expect((await events(server)).some((e) => e.messageId === id)).toBe(true);
    });
  }

  it('takes the write key from the body when there is no Authorization header', async () => {
    const answer = await postJson(server.url, '/v1/track', {
      writeKey: 'WK_test',
      event: 'Body key',
      userId: 'u',
      messageId: 'body-key',
    });
    expect(answer.status).toBe(200);
    expect(answer.json.accepted).toBe(1);
  });
});
