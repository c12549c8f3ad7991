import { mkdtempSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbMetadataStore } from '../store/index.js';
import { runCase, type SegmentCase } from './cases-harness.js';
import { DestinationService } from './destinations.js';
import type { MembershipChange } from './types.js';
import { createWebhookDispatcher, type WebhookDispatcher, type WebhookPayload } from './webhook-dispatcher.js';
import { IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verifyWebhookSignature } from './webhook-signature.js';

const SECRET = 'test-secret-0123456789abcdef';

/** 24 profiles on 4 partitions: each enters high-intent, then exits when the views expire. */
function churnCase(): SegmentCase {
  const events = [];
  for (let u = 0; u < 24; u++)
    for (let i = 0; i < 4; i++)
      events.push({ at: `+${i}m+${u}s`, userId: `w${u}`, event: 'Product Viewed', properties: { product_id: 'p1' } });
  return {
    name: 'churn',
    partitions: 4,
    rules: [
      {
        id: 'high-intent',
        condition: { count: { event: 'Product Viewed', by: 'properties.product_id', within: '10m' }, gt: 3 },
      },
    ],
    events,
    advance: ['1h'],
    expect: [],
  };
}

interface Received {
  key: string;
  attempt: number;
  validSignature: boolean;
  payload: WebhookPayload;
  answered: number | 'timeout' | 'dropped';
}

type Behaviour = (key: string, nth: number) => number | 'timeout' | 'dropped';

class Receiver {
  readonly received: Received[] = [];
  private server: Server | undefined;
  private readonly seen = new Map<string, number>();
  port = 0;
  private readonly hanging = new Set<ServerResponse>();

  constructor(public behaviour: Behaviour) {}

  async listen(port = 0): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    this.hanging.clear();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  /** Keys acknowledged with a 2xx, each once (what a deduplicating receiver keeps). */
  accepted(): Map<string, Received> {
    const out = new Map<string, Received>();
    for (const r of this.received)
      if (typeof r.answered === 'number' && r.answered < 300 && !out.has(r.key)) out.set(r.key, r);
    return out;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const key = String(req.headers[IDEMPOTENCY_HEADER]);
    const nth = (this.seen.get(key) ?? 0) + 1;
    this.seen.set(key, nth);
    const answered = this.behaviour(key, nth);
    this.received.push({
      key,
      attempt: Number(req.headers['kairos-delivery-attempt']),
      validSignature: verifyWebhookSignature({
        secret: SECRET,
        header: req.headers[SIGNATURE_HEADER] as string | undefined,
        body,
      }),
      payload: JSON.parse(body) as WebhookPayload,
      answered,
    });
    if (answered === 'dropped') {
      req.socket.destroy();
    } else if (answered === 'timeout') {
      // Processed, but never answered: the dispatcher times out and redelivers (same key).
      this.hanging.add(res);
      res.on('close', () => this.hanging.delete(res));
    } else {
      res.writeHead(answered, { 'content-type': 'text/plain' }).end('ok');
    }
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until(predicate: () => boolean | Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  while (!(await predicate())) {
    if (Date.now() - started > timeoutMs) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function dispatcherFor(
  store: Parameters<typeof createWebhookDispatcher>[0]['store'],
  metadata: LmdbMetadataStore,
  maxAttempts = 8,
): WebhookDispatcher {
  return createWebhookDispatcher({
    store,
    metadata,
    partitionCount: 4,
    options: {
      backoffBase: '5ms',
      maxBackoff: '40ms',
      requestTimeout: '2s',
      pollInterval: '20ms',
      batchSize: 8,
      maxAttempts,
      trimOutbox: true,
    },
  });
}

describe('webhook dispatcher (real HTTP receiver on 127.0.0.1)', () => {
  it('delivers every enter/exit once per idempotency key, signed, through 5xx, timeouts, dropped connections, refused connections and a restart', async () => {
    const metadata = new LmdbMetadataStore({ dir: mkdtempSync(join(tmpdir(), 'kairos-hooks-')) });
    cleanups.push(() => metadata.close());
    // Every change fails first (5xx, timeout, dropped connection in turn), then succeeds.
    const modes: ('fail500' | 'timeout' | 'dropped')[] = ['fail500', 'timeout', 'dropped'];
    let next = 0;
    const plan = new Map<string, (typeof modes)[number]>();
    const receiver = new Receiver((key, nth) => {
      if (!plan.has(key)) plan.set(key, modes[next++ % modes.length]!);
      if (nth > 1) return 200;
      const mode = plan.get(key)!;
      return mode === 'fail500' ? 503 : mode;
    });
    await receiver.listen();
    cleanups.push(() => receiver.close());
    const destinations = new DestinationService({ metadata });
    await destinations.put('crm', { url: receiver.url, secret: SECRET, segments: ['high-intent'] });

    // The changes are produced by the real pipeline into the outbox.
    const run = await runCase(churnCase());
    const changes: MembershipChange[] = run.changes;
    expect(changes.length).toBe(48);

    // A retry budget well above the induced outage (30 attempts, backoff capped at 40 ms).
    let dispatcher = dispatcherFor(run.store, metadata, 30);
    await dispatcher.start();
    await until(() => receiver.accepted().size >= 10);
    // Restart: a new instance over the same stores resumes from the persisted cursors.
    await dispatcher.stop();
    dispatcher = dispatcherFor(run.store, metadata, 30);
    // Connection refused for a while: the receiver is down when the new instance starts.
    const port = receiver.port;
    await receiver.close();
    const receivedBefore = receiver.received.length;
    await dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    await until(() => dispatcher.stats().failedAttempts >= 4);
    expect(receiver.received.length).toBe(receivedBefore);
    await receiver.listen(port);
    await until(() => receiver.accepted().size >= changes.length);
    // Every lane settled its last batch: the outbox is trimmed behind the cursors.
    await until(async () => {
      for (let p = 0; p < 4; p++) if ((await run.store.readOutbox(p, 0, 1)).length > 0) return false;
      return true;
    });
    await dispatcher.stop();

    const accepted = receiver.accepted();
    expect([...accepted.keys()].sort()).toEqual(changes.map((c) => c.id).sort());
    for (const change of changes) {
      const got = accepted.get(change.id)!;
      expect(got.payload).toMatchObject({
        id: change.id,
        type: change.type,
        segmentId: change.segmentId,
        profileKey: change.profileKey,
        eventTimeMs: change.eventTimeMs,
      });
    }
    // Every request was signed correctly; no request carried an unknown key; failures were retried.
    expect(receiver.received.every((r) => r.validSignature)).toBe(true);
    expect(receiver.received.every((r) => accepted.has(r.key))).toBe(true);
    expect(receiver.received.some((r) => r.answered === 'timeout')).toBe(true);
    expect(receiver.received.some((r) => r.answered === 'dropped')).toBe(true);
    expect(receiver.received.some((r) => r.attempt > 1)).toBe(true);
    // Nothing was dead-lettered, and the outbox was trimmed behind the delivery cursors.
    expect((await destinations.deadLetters('crm')).items).toEqual([]);
    for (let p = 0; p < 4; p++) expect(await run.store.readOutbox(p, 0, 10)).toEqual([]);
  });

  it('never trims the outbox past what its other consumers have read (trimFloor)', async () => {
    const metadata = new LmdbMetadataStore({ dir: mkdtempSync(join(tmpdir(), 'kairos-hooks-')) });
    cleanups.push(() => metadata.close());
    const receiver = new Receiver(() => 200);
    await receiver.listen();
    cleanups.push(() => receiver.close());
    await new DestinationService({ metadata }).put('all', { url: receiver.url, secret: SECRET });
    const run = await runCase(churnCase());
    const before = await Promise.all([0, 1, 2, 3].map((p) => run.store.readOutbox(p, 0, 1000)));
    const relayRead = 3;
    const dispatcher = createWebhookDispatcher({
      store: run.store,
      metadata,
      partitionCount: 4,
      options: { pollInterval: '20ms', trimOutbox: true },
      trimFloor: () => Promise.resolve(relayRead),
    });
    await dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    await until(() => receiver.accepted().size >= run.changes.length);
    const trimmed = async () => {
      for (let p = 0; p < 4; p++) {
        const left = await run.store.readOutbox(p, 0, 1000);
        if (left.length !== before[p]!.filter((r) => r.seq > relayRead).length) return false;
      }
      return true;
    };
    await until(trimmed);
    await dispatcher.stop();
    for (let p = 0; p < 4; p++) {
      const left = await run.store.readOutbox(p, 0, 1000);
      expect(left.map((r) => r.seq)).toEqual(before[p]!.filter((r) => r.seq > relayRead).map((r) => r.seq));
    }
  });

  it('dead-letters a change after the retry budget, keeps it inspectable, and replays it', async () => {
    const metadata = new LmdbMetadataStore({ dir: mkdtempSync(join(tmpdir(), 'kairos-hooks-')) });
    cleanups.push(() => metadata.close());
    let healthy = false;
    const receiver = new Receiver(() => (healthy ? 204 : 500));
    await receiver.listen();
    cleanups.push(() => receiver.close());
    const destinations = new DestinationService({ metadata });
    await destinations.put('flaky', { url: receiver.url, secret: SECRET, types: ['enter'] });
    const run = await runCase({ ...churnCase(), advance: [] });
    const enters = run.changes.filter((c) => c.type === 'enter');
    expect(enters.length).toBe(24);
    const dispatcher = dispatcherFor(run.store, metadata, 3);
    await dispatcher.start();
    cleanups.push(() => dispatcher.stop());
    await until(() => dispatcher.stats().deadLettered === enters.length);
    const letters = (await destinations.deadLetters('flaky', { limit: 500 })).items;
    expect(letters.map((l) => l.change.id).sort()).toEqual(enters.map((c) => c.id).sort());
    expect(letters.every((l) => l.attempts === 3 && l.lastStatus === 500)).toBe(true);
    expect(receiver.received.length).toBe(3 * enters.length);
    healthy = true;
    expect(await dispatcher.replayDeadLetters('flaky')).toEqual({ delivered: enters.length, failed: 0 });
    expect((await destinations.deadLetters('flaky')).items).toEqual([]);
    expect(receiver.accepted().size).toBe(enters.length);
  });
});
