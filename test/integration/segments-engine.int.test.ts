/**
 * Segments in the running engine, over real HTTP: the DESIGN.md §6 examples installed on first start,
 * enter on the 4th view (profile API, members API, SSE, webhook), exit by event-time timer with no
 * new event (idle partition, driven by the engine's clock), a webhook receiver that fails on purpose
 * still gets each change exactly once with a valid signature, and a backfill that switches versions.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/core/index.js';
import { startEngine, type RunningEngine } from '../../src/engine/index.js';
import {
  EXAMPLE_SEGMENTS,
  IDEMPOTENCY_HEADER,
  SIGNATURE_HEADER,
  verifyWebhookSignature,
} from '../../src/segments/index.js';

const WRITE = 'wk_segments_engine';
const SECRET = 'sk_segments_engine';
const HOOK_SECRET = 'whsec_segments_engine_0123456789';
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

interface Delivery {
  key: string;
  valid: boolean;
  body: { type: string; segmentId: string; profileId?: string; profileKey?: string };
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    request.on('data', (c: Buffer) => chunks.push(c));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

describe('segments in the engine', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'kairos-seg-engine-'));
  const clock = new ManualClock(T0);
  let engine: RunningEngine;
  let receiver: Server;
  let receiverUrl = '';
  const deliveries: Delivery[] = [];
  let failuresLeft = 3;
  const sse: { event: string; data: { type?: string; segmentId?: string } }[] = [];
  const sseAbort = new AbortController();

  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${engine.url}${path}`, {
      ...init,
      headers: { authorization: `Bearer ${SECRET}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
    });
  const profile = async () =>
    (await (await admin('/v1/profiles/u1')).json()) as { segments: { id: string; version: number }[] };
  const track = async (events: { event: string; properties: Record<string, unknown>; at: number }[], userId = 'u1') => {
    const response = await fetch(`${engine.url}/v1/batch`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from(`${WRITE}:`).toString('base64')}`,
      },
      body: JSON.stringify({
        batch: events.map((e, i) => ({
          type: 'track',
          userId,
          event: e.event,
          properties: e.properties,
          timestamp: new Date(e.at).toISOString(),
          messageId: `${userId}-${e.at}-${i}-${e.event}`,
        })),
      }),
    });
    expect(response.status).toBe(200);
  };

  beforeAll(async () => {
    receiver = createServer((request, response) => {
      void readBody(request).then((body) => {
        if (failuresLeft > 0) {
          failuresLeft--;
          response.writeHead(503).end();
          return;
        }
        deliveries.push({
          key: String(request.headers[IDEMPOTENCY_HEADER]),
          valid: verifyWebhookSignature({
            secret: HOOK_SECRET,
            header: String(request.headers[SIGNATURE_HEADER] ?? ''),
            body,
            nowSeconds: Math.floor(clock.now() / 1000),
          }),
          body: JSON.parse(body) as Delivery['body'],
        });
        response.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const address = receiver.address();
    receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
    engine = await startEngine({
      port: 0,
      dataDir,
      streamWorkers: 0,
      partitions: 2,
      clock,
      writeKey: WRITE,
      secretKey: SECRET,
      logLevel: 'silent',
      stream: { pollMs: 5 },
      segments: {
        seed: EXAMPLE_SEGMENTS,
        webhooks: { backoffBase: '20ms', maxBackoff: '100ms', pollInterval: '20ms' },
      },
    });
  });

  afterAll(async () => {
    sseAbort.abort();
    await engine?.stop();
    await new Promise((r) => receiver.close(r));
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('installs the three DESIGN.md examples on the first start', async () => {
    const list = (await (await admin('/v1/segments')).json()) as {
      items: { id: string; activeVersion: number | null }[];
    };
    expect(list.items.map((s) => s.id).sort()).toEqual(['big-spender', 'cart-abandoner', 'high-intent']);
    expect(list.items.every((s) => s.activeVersion === 1)).toBe(true);
  });

  it('enters high-intent on the 4th view (API, members, SSE, webhook) and exits 10 minutes later with no new event', async () => {
    const put = await admin('/v1/destinations/hooks', {
      method: 'PUT',
      body: JSON.stringify({ url: receiverUrl, secret: HOOK_SECRET, segments: ['high-intent'] }),
    });
    expect(put.status).toBeLessThan(300);

    const stream = await fetch(`${engine.url}/v1/profiles/u1/stream`, {
      headers: { authorization: `Bearer ${SECRET}` },
      signal: sseAbort.signal,
    });
    expect(stream.status).toBe(200);
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        const reader = stream.body!.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true });
          let end;
          while ((end = buffer.indexOf('\n\n')) !== -1) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (data) sse.push({ event, data: JSON.parse(data) as { type?: string; segmentId?: string } });
          }
        }
      } catch {
        // aborted at the end of the suite
      }
    })();

    const view = (i: number) => ({
      event: 'Product Viewed',
      properties: { product_id: 'p1', category: 'shoes' },
      at: T0 + i * 1_000,
    });
    await track([view(0), view(1), view(2)]);
    // Three views: not yet (the rule is "more than 3").
    await until(
      async () => ((await profile()) as { features?: { eventCount: number } }).features?.eventCount === 3 || undefined,
    );
    expect((await profile()).segments).toEqual([]);

    await track([view(3)]);
    await until(async () => ((await profile()).segments.some((s) => s.id === 'high-intent') ? true : undefined));
    const members = (await (await admin('/v1/segments/high-intent/members')).json()) as {
      count: number;
      members: { profileId: string }[];
    };
    expect(members.count).toBe(1);
    expect(members.members.map((m) => m.profileId)).toEqual(['u:u1']);
    await until(() =>
      Promise.resolve(sse.some((e) => e.event === 'enter' && e.data.segmentId === 'high-intent') ? true : undefined),
    );

    // No new event: the partition is idle, its watermark follows the clock; the first view leaves the window.
    clock.advance(11 * 60_000);
    await until(async () => ((await profile()).segments.some((s) => s.id === 'high-intent') ? undefined : true));
    await until(() =>
      Promise.resolve(sse.some((e) => e.event === 'exit' && e.data.segmentId === 'high-intent') ? true : undefined),
    );
    const after = (await (await admin('/v1/segments/high-intent/members')).json()) as { count: number };
    expect(after.count).toBe(0);

    // The receiver failed its first 3 requests; every change still arrives, exactly once, signed.
    await until(() => Promise.resolve(deliveries.length >= 2 ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(deliveries.map((d) => d.body.type)).toEqual(['enter', 'exit']);
    expect(new Set(deliveries.map((d) => d.key)).size).toBe(2);
    expect(deliveries.every((d) => d.valid)).toBe(true);
  });

  it('backfills a new version from the retained log and switches to it', async () => {
    const draft = await admin('/v1/segments/high-intent', {
      method: 'PUT',
      body: JSON.stringify({
        name: 'High intent (3 views)',
        state: 'draft',
        condition: { count: { event: 'Product Viewed', by: 'properties.product_id', within: '1h' }, gt: 2 },
      }),
    });
    expect(draft.status).toBeLessThan(300);
    // Another visitor with 3 views now: a member of the new version only.
    await track(
      [0, 1, 2].map((i) => ({
        event: 'Product Viewed',
        properties: { product_id: 'p9' },
        at: clock.now() + i * 1_000,
      })),
      'u2',
    );
    await until(async () => {
      const r = await admin('/v1/profiles/u2');
      return r.status === 200 && ((await r.json()) as { features: { eventCount: number } }).features.eventCount === 3
        ? true
        : undefined;
    });
    const started = await admin('/v1/segments/high-intent/backfill', { method: 'POST', body: '{}' });
    expect(started.status).toBe(202);
    const status = await until(async () => {
      const s = (await (await admin('/v1/segments/high-intent/backfill')).json()) as {
        state: string;
        fraction: number;
        error?: string;
      };
      return s.state === 'done' || s.state === 'failed' ? s : undefined;
    }, 30_000);
    expect(status).toMatchObject({ state: 'done', fraction: 1 });
    const segment = (await (await admin('/v1/segments/high-intent')).json()) as { activeVersion: number };
    expect(segment.activeVersion).toBe(2);
    await until(async () => {
      const r = (await (await admin('/v1/profiles/u2')).json()) as { segments: { id: string; version: number }[] };
      return r.segments.some((s) => s.id === 'high-intent' && s.version === 2) ? true : undefined;
    });
    // The stream runs again after the switch.
    await track([{ event: 'Product Viewed', properties: { product_id: 'p9' }, at: clock.now() + 5_000 }], 'u2');
    await until(async () => {
      const r = (await (await admin('/v1/profiles/u2')).json()) as { features: { eventCount: number } };
      return r.features.eventCount === 4 ? true : undefined;
    });
  });
});
