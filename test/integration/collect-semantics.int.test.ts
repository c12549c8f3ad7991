import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IDENTITY_COLLECTION } from '../../src/collect/index.js';
import { ManualClock, isSealRecord, type KairosEvent, type LogPayload, type SealRecord } from '../../src/core/index.js';
import { createLmdbMetadataStore } from '../../src/store/index.js';
import { basicAuth, postJson, removeDir, startCollectServer, tempDir, type CollectServer } from './collect-harness.js';

const auth = { authorization: basicAuth('WK_test') };
const T0 = Date.UTC(2026, 10, 28, 12, 0, 0);

type Row = { partition: number; offset: number; key: string; payload: LogPayload };

function eventRows(rows: readonly Row[]): (Row & { payload: KairosEvent })[] {
  return rows.filter((r): r is Row & { payload: KairosEvent } => !isSealRecord(r.payload));
}
function sealRows(rows: readonly Row[]): (Row & { payload: SealRecord })[] {
  return rows.filter((r): r is Row & { payload: SealRecord } => isSealRecord(r.payload));
}

describe('collector: event time and deduplication', () => {
  const clock = new ManualClock(T0);
  let server: CollectServer;
  beforeAll(async () => {
    server = await startCollectServer({ clock });
  });
  afterAll(async () => {
    await server.stop();
    removeDir(server.dir);
  });

  it('corrects client clock skew: receivedAt − (sentAt − timestamp), keeping the client timestamp', async () => {
    // This client's clock runs 1 h fast; its event happened 10 s before it sent the batch.
    const fast = (ms: number) => new Date(ms + 3_600_000).toISOString();
    const answer = await postJson(
      server.url,
      '/v1/batch',
      {
        sentAt: fast(T0),
        batch: [
          { type: 'track', event: 'Skewed', userId: 'skew', messageId: 'skew-1', timestamp: fast(T0 - 10_000) },
          // A message-level sentAt wins over the batch's: this one was queued offline for two days.
          {
            type: 'track',
            event: 'Offline',
            userId: 'skew',
            messageId: 'skew-2',
            timestamp: '2026-11-26T11:59:00.000Z',
            sentAt: '2026-11-28T11:59:59.000Z',
          },
          { type: 'track', event: 'No timestamp', userId: 'skew', messageId: 'skew-3' },
        ],
      },
      auth,
    );
    expect(answer.json).toMatchObject({ accepted: 3, rejected: [] });
    const stored = new Map(eventRows(await server.readAll()).map((r) => [r.payload.messageId, r.payload]));
    expect(stored.get('skew-1')).toMatchObject({
      eventTimeMs: T0 - 10_000,
      timestamp: new Date(T0 - 10_000).toISOString(),
      originalTimestamp: fast(T0 - 10_000),
      receivedAt: new Date(T0).toISOString(),
    });
    // Sent 2 d 59 s after it happened, by a clock that agrees with ours: 2 d 59 s before receipt.
    expect(stored.get('skew-2')).toMatchObject({ eventTimeMs: Date.UTC(2026, 10, 26, 11, 59, 1) });
    expect(stored.get('skew-3')).toMatchObject({ eventTimeMs: T0, timestamp: new Date(T0).toISOString() });
    expect(stored.get('skew-3')?.originalTimestamp).toBeUndefined();
  });

  it('counts a messageId once across concurrent requests and within one batch', async () => {
    const shared = Array.from({ length: 50 }, (_, i) => ({
      type: 'track',
      event: 'Dup',
      anonymousId: `dup-${i % 7}`,
      messageId: `dup-${i}`,
    }));
    const requests = Array.from({ length: 20 }, (_, r) =>
      postJson(
        server.url,
        '/v1/batch',
        { batch: [...shared, { type: 'track', event: 'Own', userId: 'dup', messageId: `own-${r}` }, shared[0]] },
        auth,
      ),
    );
    const answers = await Promise.all(requests);
    for (const answer of answers) expect(answer.json).toEqual({ success: true, accepted: 52, rejected: [] });
    const counts = new Map<string, number>();
    for (const { payload } of eventRows(await server.readAll()))
      counts.set(payload.messageId, (counts.get(payload.messageId) ?? 0) + 1);
    for (let i = 0; i < 50; i++) expect(counts.get(`dup-${i}`), `dup-${i}`).toBe(1);
    for (let r = 0; r < 20; r++) expect(counts.get(`own-${r}`)).toBe(1);
    expect(server.collector.stats().messagesDuplicate).toBe(20 * 52 - 70);
  });
});

describe('collector: identity links and routing', () => {
  let server: CollectServer;
  beforeAll(async () => {
    server = await startCollectServer();
  });
  afterAll(async () => {
    await server.stop();
    removeDir(server.dir);
  });

  const send = async (batch: unknown[]) => {
    const answer = await postJson(server.url, '/v1/batch', { batch }, auth);
    expect(answer.json.rejected).toEqual([]);
    return answer;
  };

  it('links an anonymous visitor at login: seal first (keyed by the sealed key), then the message on the user', async () => {
    await send([
      { type: 'page', anonymousId: 'visitor-x', messageId: 'x-1', name: 'Home' },
      { type: 'track', anonymousId: 'visitor-x', event: 'Product Added', messageId: 'x-2' },
    ]);
    await send([
      { type: 'identify', anonymousId: 'visitor-x', userId: 'alice', messageId: 'x-login', traits: { plan: 'pro' } },
    ]);
    const rows = await server.readAll();
    const anonRows = rows.filter((r) => r.key === 'a:visitor-x');
    // Same partition, offset order: the two anonymous events, then the seal.
    expect(anonRows.map((r) => (isSealRecord(r.payload) ? 'seal' : r.payload.messageId))).toEqual([
      'x-1',
      'x-2',
      'seal',
    ]);
    const [seal] = sealRows(anonRows);
    expect(seal!.payload).toMatchObject({
      control: 'seal',
      messageId: 'x-login:seal:a:visitor-x',
      profileKey: 'a:visitor-x',
      intoKey: 'u:alice',
    });
    expect(seal!.offset).toBeGreaterThan(anonRows[1]!.offset);
    const login = eventRows(rows).find((r) => r.payload.messageId === 'x-login')!;
    expect(login.key).toBe('u:alice');
    expect(login.payload).toMatchObject({ profileKey: 'u:alice', links: [{ fromKey: 'a:visitor-x' }] });
    // Persisted before the answer.
    expect(await server.metadata.get(IDENTITY_COLLECTION, 'a:visitor-x')).toMatchObject({
      into: 'u:alice',
      kind: 'link',
      messageId: 'x-login',
    });
    // Later anonymous events of that visitor land on alice's profile, without a second seal.
    await send([
      { type: 'track', anonymousId: 'visitor-x', event: 'Product Viewed', messageId: 'x-3' },
      { type: 'track', anonymousId: 'visitor-x', userId: 'alice', event: 'Order Completed', messageId: 'x-4' },
    ]);
    const later = eventRows(await server.readAll());
    expect(later.find((r) => r.payload.messageId === 'x-3')).toMatchObject({
      key: 'u:alice',
      payload: { profileKey: 'u:alice' },
    });
    expect(later.find((r) => r.payload.messageId === 'x-4')?.payload.links).toBeUndefined();
    expect(sealRows(await server.readAll()).filter((r) => r.payload.profileKey === 'a:visitor-x')).toHaveLength(1);
    expect(server.collector.resolveProfileKey({ anonymousId: 'visitor-x' })).toBe('u:alice');
  });

  it('within one batch, the link applies to the messages after it', async () => {
    await send([
      { type: 'track', anonymousId: 'visitor-y', event: 'Before', messageId: 'y-1' },
      { type: 'identify', anonymousId: 'visitor-y', userId: 'bob', messageId: 'y-2' },
      { type: 'track', anonymousId: 'visitor-y', event: 'After', messageId: 'y-3' },
    ]);
    const rows = await server.readAll();
    const keyOf = (id: string) => eventRows(rows).find((r) => r.payload.messageId === id)!.key;
    expect([keyOf('y-1'), keyOf('y-2'), keyOf('y-3')]).toEqual(['a:visitor-y', 'u:bob', 'u:bob']);
  });

  it('alias merges a:previousId and u:previousId into the user; a cycle is ignored; a relink only reroutes', async () => {
    await send([{ type: 'track', userId: 'old-id', event: 'Legacy', messageId: 'al-0' }]);
    await send([{ type: 'alias', previousId: 'old-id', userId: 'carol', messageId: 'al-1' }]);
    let rows = await server.readAll();
    const alias = eventRows(rows).find((r) => r.payload.messageId === 'al-1')!;
    expect(alias.payload).toMatchObject({
      profileKey: 'u:carol',
      links: [{ fromKey: 'a:old-id' }, { fromKey: 'u:old-id' }],
    });
    expect(
      sealRows(rows)
        .filter((r) => r.payload.messageId.startsWith('al-1:seal:'))
        .map((r) => r.key)
        .sort(),
    ).toEqual(['a:old-id', 'u:old-id']);
    // Events of the old user id now route to carol.
    await send([{ type: 'track', userId: 'old-id', event: 'Still old', messageId: 'al-2' }]);
    rows = await server.readAll();
    expect(eventRows(rows).find((r) => r.payload.messageId === 'al-2')?.key).toBe('u:carol');

    // The reverse alias would make a cycle (u:carol → u:old-id → u:carol): ignored, no seal.
    const ignoredBefore = server.collector.stats().linksIgnored;
    await send([{ type: 'alias', previousId: 'carol', userId: 'old-id', messageId: 'al-3' }]);
    rows = await server.readAll();
    expect(sealRows(rows).filter((r) => r.payload.messageId.startsWith('al-3:seal:u:carol'))).toHaveLength(0);
    expect(server.collector.stats().linksIgnored).toBe(ignoredBefore + 1);
    expect(server.collector.resolveProfileKey({ userId: 'carol' })).toBe('u:carol');

    // visitor-x is linked to alice; aliasing it to dave re-points its routing, with no second seal of a:visitor-x.
    await send([{ type: 'alias', previousId: 'visitor-x', userId: 'dave', messageId: 'al-4' }]);
    rows = await server.readAll();
    expect(sealRows(rows).filter((r) => r.payload.profileKey === 'a:visitor-x')).toHaveLength(1);
    expect(eventRows(rows).find((r) => r.payload.messageId === 'al-4')?.payload.links).toEqual([
      { fromKey: 'u:visitor-x' },
    ]);
    expect(server.collector.resolveProfileKey({ anonymousId: 'visitor-x' })).toBe('u:dave');
    expect(await server.metadata.get(IDENTITY_COLLECTION, 'a:visitor-x')).toMatchObject({
      into: 'u:dave',
      kind: 'relink',
    });
  });
});

describe('collector: restart rebuilds dedupe and identity state from the log', () => {
  it('a new collector over the same log and metadata deduplicates and restores a link lost in the crash window', async () => {
    const dir = tempDir();
    const clock = new ManualClock(T0);
    try {
      const batch = [
        { type: 'track', anonymousId: 'rv', event: 'Viewed', messageId: 'r-1' },
        { type: 'identify', anonymousId: 'rv', userId: 'erin', messageId: 'r-2' },
        { type: 'track', userId: 'erin', event: 'Bought', messageId: 'r-3' },
      ];
      let server = await startCollectServer({ dir, clock });
      expect((await postJson(server.url, '/v1/batch', { batch }, auth)).json.accepted).toBe(3);
      const records = (await server.readAll()).length;
      await server.stop();

      // The crash window: the append was durable but the link write never happened.
      const metadata = createLmdbMetadataStore({ dir: join(dir, 'metadata') });
      expect(await metadata.delete(IDENTITY_COLLECTION, 'a:rv')).toBe(true);
      await metadata.close();

      clock.advance(60_000);
      server = await startCollectServer({ dir, clock });
      expect(server.collector.resolveProfileKey({ anonymousId: 'rv' })).toBe('u:erin');
      expect(await server.metadata.get(IDENTITY_COLLECTION, 'a:rv')).toMatchObject({ into: 'u:erin' });
      // The client retries the whole batch: accepted, nothing appended.
      expect((await postJson(server.url, '/v1/batch', { batch }, auth)).json).toEqual({
        success: true,
        accepted: 3,
        rejected: [],
      });
      expect((await server.readAll()).length).toBe(records);
      // An anonymous event after the restart routes to the user.
      await postJson(
        server.url,
        '/v1/batch',
        { batch: [{ type: 'track', anonymousId: 'rv', event: 'Back', messageId: 'r-4' }] },
        auth,
      );
      expect(eventRows(await server.readAll()).find((r) => r.payload.messageId === 'r-4')?.key).toBe('u:erin');
      await server.stop();

      // Past the dedupe window (24 h), the same messageIds are new again.
      clock.advance(25 * 3_600_000);
      server = await startCollectServer({ dir, clock });
      expect(server.collector.stats().dedupeEntries).toBe(0);
      expect((await postJson(server.url, '/v1/batch', { batch: [batch[2]] }, auth)).json.accepted).toBe(1);
      expect(eventRows(await server.readAll()).filter((r) => r.payload.messageId === 'r-3')).toHaveLength(2);
      await server.stop();
    } finally {
      removeDir(dir);
    }
  });
});
