import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ANONYMOUS_ID_COOKIE, SDK_NAME, createAnalytics } from './analytics.js';
import { createMemoryCookies } from './environment.js';
import type { SdkDropCode } from './errors.js';
import { isKairosSdkError } from './errors.js';
import type { SdkOptions } from './options.js';
import { accepted, createTestBrowser } from './testing.js';
import type { CapturedRequest, TestBrowser } from './testing.js';
import type { Analytics, KairosMessage } from './types.js';

const HOST = 'https://kairos.example';
const WRITE_KEY = 'wk_test';
const T0 = Date.parse('2026-11-28T10:00:00.000Z');
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const open: Analytics[] = [];

interface Started {
  sdk: Analytics;
  browser: TestBrowser;
  drops: { code: SdkDropCode; messages: KairosMessage[] }[];
}

function start(options: Partial<SdkOptions> = {}, browser: TestBrowser = createTestBrowser()): Started {
  const drops: Started['drops'] = [];
  const sdk = createAnalytics({
    writeKey: WRITE_KEY,
    host: HOST,
    onDrop: (messages, code) => drops.push({ code, messages }),
    ...options,
    env: { ...browser.env, ...options.env },
  });
  open.push(sdk);
  return { sdk, browser, drops };
}

/** A second page (reload or other tab) on the same storage and cookies. */
function samePlace(browser: TestBrowser): TestBrowser {
  return createTestBrowser({ storage: browser.storage, cookies: browser.env.cookies! });
}

const events = (browser: TestBrowser): string[] => browser.delivered().map((m) => m.event ?? m.name ?? m.type);
const batchRequests = (browser: TestBrowser): CapturedRequest[] => browser.requests.filter((r) => r.body);

const refuse =
  (status: number, headers: Record<string, string> = {}) =>
  () =>
    Response.json({ error: { code: 'X', message: 'no' } }, { status, headers });
const networkError = (): never => {
  throw new TypeError('Failed to fetch');
};

beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});

afterEach(() => {
  for (const sdk of open.splice(0)) sdk.close();
  vi.useRealTimers();
});

describe('messages follow the Segment spec', () => {
  it('sends track/page/identify/alias/group with ids, ISO timestamps, context and sentAt', async () => {
    const { sdk, browser } = start();
    sdk.track('Product Viewed', { product_id: 'p1', price: 9.5 });
    vi.advanceTimersByTime(250);
    sdk.page('Product', { section: 'shoes' });
    sdk.identify('user-1', { plan: 'pro' });
    sdk.alias('user-1', 'old-id');
    sdk.group('acme', { seats: 3 });
    await sdk.flush();

    const [request] = batchRequests(browser);
    expect(request).toBeDefined();
    expect(request!.url).toBe(`${HOST}/v1/batch`);
    expect(request!.method).toBe('POST');
    expect(request!.headers['Content-Type']).toBe('text/plain');
    expect(request!.headers.Authorization).toBe(`Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`);
    expect(request!.body!.writeKey).toBe(WRITE_KEY);
    expect(request!.body!.sentAt).toBe(new Date(T0 + 250).toISOString());

    const [track, page, identify, alias, group] = request!.body!.batch;
    const anonymousId = track!.anonymousId;
    expect(anonymousId).toMatch(UUID);
    for (const m of request!.body!.batch) {
      expect(m.messageId).toMatch(/^ksdk-\d{13}-[0-9a-f-]{36}$/);
      expect(m.messageId.slice(-36)).toMatch(UUID);
      expect(m.timestamp).toMatch(ISO);
      expect(m.sentAt).toBe(request!.body!.sentAt);
      expect(m.anonymousId).toBe(anonymousId);
      expect(m.context.library).toEqual({ name: SDK_NAME, version: expect.any(String) as string });
      expect(m.context).toMatchObject({ userAgent: 'TestBrowser/1.0', locale: 'en-GB', timezone: 'Europe/Paris' });
      expect(m.context.page).toMatchObject({ url: 'https://shop.example/p/42?q=1', path: '/p/42', title: 'Shoe' });
    }
    expect(new Set(request!.body!.batch.map((m) => m.messageId)).size).toBe(5);
    expect(track).toMatchObject({
      type: 'track',
      event: 'Product Viewed',
      properties: { product_id: 'p1', price: 9.5 },
    });
    expect(track!.timestamp).toBe(new Date(T0).toISOString());
    expect(track).not.toHaveProperty('userId');
    expect(page).toMatchObject({
      type: 'page',
      name: 'Product',
      properties: { section: 'shoes', name: 'Product', path: '/p/42' },
    });
    expect(page!.timestamp).toBe(new Date(T0 + 250).toISOString());
    expect(identify).toMatchObject({ type: 'identify', userId: 'user-1', traits: { plan: 'pro' } });
    expect(alias).toMatchObject({ type: 'alias', userId: 'user-1', previousId: 'old-id' });
    expect(group).toMatchObject({ type: 'group', groupId: 'acme', traits: { seats: 3 }, userId: 'user-1' });
  });

  it('takes an explicit timestamp and extra context per call', async () => {
    const { sdk, browser } = start();
    const at = new Date(T0 - 86_400_000);
    sdk.track('Order Completed', { order_id: 'o1' }, { timestamp: at, context: { campaign: { name: 'x' } } });
    await sdk.flush();
    const [m] = browser.delivered();
    expect(m!.timestamp).toBe(at.toISOString());
    expect(m!.context.campaign).toEqual({ name: 'x' });
  });
});

describe('batching', () => {
  it('sends as soon as flushAt messages are queued', async () => {
    const { sdk, browser } = start({ flushAt: 3, flushIntervalMs: 60_000 });
    sdk.track('a');
    sdk.track('b');
    await vi.advanceTimersByTimeAsync(0);
    expect(browser.requests).toHaveLength(0);
    sdk.track('c');
    await vi.advanceTimersByTimeAsync(0);
    expect(batchRequests(browser).map((r) => r.body!.batch.length)).toEqual([3]);
  });

  it('sends what waits after flushIntervalMs', async () => {
    const { sdk, browser } = start({ flushIntervalMs: 2000 });
    sdk.track('a');
    await vi.advanceTimersByTimeAsync(1999);
    expect(browser.requests).toHaveLength(0);
    sdk.track('b'); // does not postpone the first one's deadline
    await vi.advanceTimersByTimeAsync(1);
    expect(events(browser)).toEqual(['a', 'b']);
  });

  it('splits batches by bytes and by count, each message sent once', async () => {
    const { sdk, browser } = start({ flushAt: 1000, maxBatchBytes: 40_000, maxBatchCount: 7 });
    const blob = 'x'.repeat(9_000);
    for (let i = 0; i < 6; i++) sdk.track(`big-${i}`, { blob });
    for (let i = 0; i < 10; i++) sdk.track(`small-${i}`);
    await sdk.flush();
    const sizes = batchRequests(browser).map((r) => JSON.stringify(r.body).length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(40_000);
    // 4 big ones fill 40 KB; then 2 big + 5 small reach the count limit; then the last 5.
    expect(batchRequests(browser).map((r) => r.body!.batch.length)).toEqual([4, 7, 5]);
    expect(events(browser)).toEqual([
      ...Array.from({ length: 6 }, (_, i) => `big-${i}`),
      ...Array.from({ length: 10 }, (_, i) => `small-${i}`),
    ]);
  });

  it('flushes by bytes before the count threshold', async () => {
    const { sdk, browser } = start({ flushAt: 1000, flushIntervalMs: 60_000, maxBatchBytes: 40_000 });
    for (let i = 0; i < 5; i++) sdk.track(`big-${i}`, { blob: 'x'.repeat(9_000) });
    await vi.advanceTimersByTimeAsync(0);
    expect(browser.delivered().length).toBeGreaterThanOrEqual(4);
  });

  it('drops a message above maxMessageBytes', async () => {
    const { sdk, browser, drops } = start();
    expect(sdk.track('huge', { blob: 'é'.repeat(16_500) })).toBeUndefined(); // 33 000 UTF-8 bytes
    sdk.track('ok');
    await sdk.flush();
    expect(drops.map((d) => d.code)).toEqual(['SDK_MESSAGE_TOO_LARGE']);
    expect(events(browser)).toEqual(['ok']);
  });
});

describe('retries', () => {
  it('retries network errors with exponential backoff and full jitter, keeping messageIds and refreshing sentAt', async () => {
    const browser = createTestBrowser({ random: () => 0.5 });
    browser.setHandler(networkError);
    const { sdk } = start({ backoffBaseMs: 1000, backoffMaxMs: 60_000 }, browser);
    sdk.track('a');
    await sdk.flush();
    expect(browser.requests).toHaveLength(1);
    // random() = 0.5 → half of each ceiling: 500, 1000, 2000, 4000 ms.
    for (const delay of [500, 1000, 2000, 4000]) {
      const before = browser.requests.length;
      await vi.advanceTimersByTimeAsync(delay - 1);
      expect(browser.requests).toHaveLength(before);
      await vi.advanceTimersByTimeAsync(1);
      expect(browser.requests).toHaveLength(before + 1);
    }
    browser.setHandler(accepted);
    await vi.advanceTimersByTimeAsync(8000);
    const sent = batchRequests(browser);
    expect(new Set(sent.map((r) => r.body!.batch[0]!.messageId)).size).toBe(1);
    expect(new Set(sent.map((r) => r.body!.sentAt)).size).toBe(sent.length);
    expect(sent.at(-1)!.body!.sentAt).toBe(new Date(T0 + 500 + 1000 + 2000 + 4000 + 8000).toISOString());
    expect(sent.at(-1)!.body!.batch[0]!.timestamp).toBe(new Date(T0).toISOString());
    expect(events(browser)).toEqual(['a']);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(browser.requests).toHaveLength(sent.length);
  });

  it('caps the backoff at backoffMaxMs', async () => {
    const browser = createTestBrowser({ random: () => 0.999 });
    browser.setHandler(networkError);
    const { sdk } = start({ backoffBaseMs: 1000, backoffMaxMs: 5000 }, browser);
    sdk.track('a');
    await sdk.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    const count = browser.requests.length;
    // 999, 1998, 3996, then 4995 each: 1 + 3 + (60 000 − 6993) / 4995 ≈ 14 requests, never more.
    expect(count).toBe(1 + 3 + Math.floor((60_000 - 999 - 1998 - 3996) / 4995));
  });

  it('honours Retry-After in seconds and as an HTTP date', async () => {
    const browser = createTestBrowser({ random: () => 0 });
    browser.setHandler(refuse(503, { 'Retry-After': '7' }));
    const { sdk } = start({}, browser);
    sdk.track('a');
    await sdk.flush();
    await vi.advanceTimersByTimeAsync(6999);
    expect(browser.requests).toHaveLength(1);
    browser.setHandler(refuse(429, { 'Retry-After': new Date(Date.now() + 1 + 30_000).toUTCString() }));
    await vi.advanceTimersByTimeAsync(1);
    expect(browser.requests).toHaveLength(2);
    browser.setHandler(accepted);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(browser.requests).toHaveLength(2); // the date said 30 s (to the second)
    await vi.advanceTimersByTimeAsync(1000);
    expect(events(browser)).toEqual(['a']);
  });

  it.each([500, 502, 503, 429])('retries HTTP %i', async (status) => {
    const browser = createTestBrowser({ random: () => 0.5 });
    browser.setHandler(refuse(status));
    const { sdk, drops } = start({}, browser);
    sdk.track('a');
    await sdk.flush();
    browser.setHandler(accepted);
    await vi.advanceTimersByTimeAsync(500);
    expect(events(browser)).toEqual(['a']);
    expect(drops).toEqual([]);
  });

  it.each([400, 401, 403, 413])('drops the batch on HTTP %i with a warning, without retrying', async (status) => {
    const browser = createTestBrowser();
    browser.setHandler(refuse(status));
    const { sdk, drops } = start({}, browser);
    sdk.track('a');
    sdk.track('b');
    await sdk.flush();
    expect(drops).toHaveLength(1);
    expect(drops[0]!.code).toBe('SDK_BATCH_REJECTED');
    expect(drops[0]!.messages.map((m) => m.event)).toEqual(['a', 'b']);
    expect(browser.warnings.some((w) => w.includes('SDK_BATCH_REJECTED'))).toBe(true);
    browser.setHandler(accepted);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(browser.requests).toHaveLength(1);
    sdk.track('c');
    await sdk.flush();
    expect(events(browser)).toEqual(['c']);
  });

  it('does not retry messages the server rejected one by one (they are in its dead-letter store)', async () => {
    const browser = createTestBrowser();
    browser.setHandler((request) =>
      Response.json({
        success: true,
        accepted: 1,
        rejected: [{ index: 1, messageId: request.body!.batch[1]!.messageId, code: 'COLLECT_SCHEMA', message: 'bad' }],
      }),
    );
    const { sdk, drops } = start({}, browser);
    sdk.track('good');
    sdk.track('bad');
    await sdk.flush();
    expect(drops.map((d) => [d.code, d.messages.map((m) => m.event)])).toEqual([['SDK_MESSAGE_REJECTED', ['bad']]]);
    await vi.advanceTimersByTimeAsync(600_000);
    expect(browser.requests).toHaveLength(1);
  });

  it('counts a request that never answers as a network error', async () => {
    const browser = createTestBrowser({ random: () => 0 });
    browser.setHandler(() => new Promise<Response>(() => undefined));
    const env = {
      ...browser.env,
      // The fake fetch honours the abort signal like a real one.
      fetch: (url: string, init: Parameters<NonNullable<typeof browser.env.fetch>>[1]) =>
        new Promise<never>((_, reject) => {
          void browser.env.fetch!(url, init);
          init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')));
        }),
    };
    const { sdk } = start({ requestTimeoutMs: 5000, env }, browser);
    sdk.track('a');
    const flushed = sdk.flush();
    await vi.advanceTimersByTimeAsync(5000);
    await flushed;
    browser.setHandler(accepted);
    await vi.advanceTimersByTimeAsync(1);
    expect(browser.requests).toHaveLength(2);
  });

  it('retries at once when the browser comes back online', async () => {
    const browser = createTestBrowser({ random: () => 0.99 });
    browser.setHandler(networkError);
    const { sdk } = start({ backoffBaseMs: 30_000 }, browser);
    sdk.track('a');
    await sdk.flush();
    browser.setHandler(accepted);
    browser.online();
    await vi.advanceTimersByTimeAsync(0);
    expect(events(browser)).toEqual(['a']);
  });
});

describe('persistent queue across reloads and tabs', () => {
  it('delivers after a reload what an offline page queued, with the same messageIds', async () => {
    const first = createTestBrowser();
    first.setHandler(networkError);
    const { sdk } = start({}, first);
    const queued = [sdk.track('a')!, sdk.page('Home')!, sdk.track('b')!];
    await vi.advanceTimersByTimeAsync(600); // the flush fails: the messages stay queued
    sdk.close(); // the page goes away without a pagehide (bfcache eviction, crash of the tab's JS)

    const second = samePlace(first);
    start({}, second);
    await vi.advanceTimersByTimeAsync(600);
    expect(second.delivered().map((m) => m.messageId)).toEqual(queued.map((m) => m.messageId));
  });

  it('adopts the queue of a crashed tab once its alive mark lapses', async () => {
    const first = createTestBrowser();
    first.setHandler(networkError);
    let crashed = false;
    const timers = { setTimeout: (callback: () => void, ms: number) => setTimeout(() => crashed || callback(), ms) };
    start({ tabTimeoutMs: 60_000, heartbeatMs: 10_000, env: timers }, first).sdk.track('a');
    await vi.advanceTimersByTimeAsync(600);
    crashed = true; // no pagehide, no more timers: the tab is gone

    const second = samePlace(first);
    start({ tabTimeoutMs: 60_000, heartbeatMs: 10_000 }, second);
    await vi.advanceTimersByTimeAsync(1000);
    expect(second.delivered()).toEqual([]); // the first tab may still be alive
    await vi.advanceTimersByTimeAsync(70_000);
    expect(events(second)).toEqual(['a']);
  });

  it('two live tabs each send only their own messages: nothing is sent twice', async () => {
    const tab1 = createTestBrowser();
    const tab2 = samePlace(tab1);
    const a = start({}, tab1);
    const b = start({}, tab2);
    for (let i = 0; i < 30; i++) {
      a.sdk.track(`a${i}`);
      b.sdk.track(`b${i}`);
      await vi.advanceTimersByTimeAsync(37);
    }
    await vi.advanceTimersByTimeAsync(60_000);
    const all = [...tab1.delivered(), ...tab2.delivered()].map((m) => m.messageId);
    expect(all).toHaveLength(60);
    expect(new Set(all).size).toBe(60);
    expect(events(tab1).every((e) => e.startsWith('a'))).toBe(true);
  });
});

describe('page exit', () => {
  it('flushes with fetch keepalive on visibilitychange→hidden, without the Authorization header', async () => {
    const { sdk, browser } = start({ flushIntervalMs: 10_000 });
    sdk.track('a');
    sdk.track('b');
    browser.hide(false);
    await vi.advanceTimersByTimeAsync(0);
    expect(browser.requests).toHaveLength(1);
    expect(browser.requests[0]!.keepalive).toBe(true);
    expect(browser.requests[0]!.headers.Authorization).toBeUndefined();
    expect(browser.requests[0]!.body!.writeKey).toBe(WRITE_KEY);
    expect(events(browser)).toEqual(['a', 'b']);
    // The page lived on and saw the answer: nothing is sent again.
    await vi.advanceTimersByTimeAsync(120_000);
    expect(browser.requests).toHaveLength(1);
  });

  it('splits into keepalive-sized requests: the first by fetch keepalive, the rest by sendBeacon', () => {
    const { sdk, browser } = start({ flushAt: 1000, flushIntervalMs: 10_000 });
    for (let i = 0; i < 8; i++) sdk.track(`e${i}`, { blob: 'x'.repeat(20_000) });
    browser.hide(true);
    expect(browser.requests).toHaveLength(1);
    expect(browser.requests[0]!.keepalive).toBe(true);
    expect(browser.beacons.length).toBeGreaterThanOrEqual(2);
    for (const body of [browser.requests[0]!.body, ...browser.beacons.map((b) => b.body)])
      expect(new TextEncoder().encode(JSON.stringify(body)).length).toBeLessThanOrEqual(60_000);
    const sent = [browser.requests[0]!.body!, ...browser.beacons.map((b) => b.body!)].flatMap((b) =>
      b.batch.map((m) => m.event),
    );
    expect(sent).toEqual(Array.from({ length: 8 }, (_, i) => `e${i}`));
    expect(browser.beacons.every((b) => b.url === `${HOST}/v1/batch`)).toBe(true);
  });

  it('falls back to sendBeacon when the browser refuses the keepalive request', async () => {
    const browser = createTestBrowser();
    browser.setHandler(() => Promise.reject(new TypeError('Failed to fetch: keepalive quota exceeded')));
    const { sdk } = start({ flushIntervalMs: 10_000 }, browser);
    sdk.track('a');
    browser.hide(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(browser.requests.map((r) => r.keepalive)).toEqual([true]);
    expect(browser.beacons.map((b) => b.body!.batch.map((m) => m.event))).toEqual([['a']]);
  });

  it('uses sendBeacon when fetch keepalive is unsupported, and keeps what the browser refused', async () => {
    const browser = createTestBrowser();
    const { sdk } = start(
      { flushAt: 1000, flushIntervalMs: 10_000, leaseMs: 30_000, env: { keepalive: false } },
      browser,
    );
    for (let i = 0; i < 4; i++) sdk.track(`e${i}`, { blob: 'x'.repeat(25_000) });
    browser.setBeaconQuota(1);
    browser.hide(false);
    expect(browser.requests).toHaveLength(0);
    expect(browser.beacons.map((b) => b.body!.batch.map((m) => m.event))).toEqual([['e0', 'e1']]);
    // What the beacon refused is still queued and goes by the normal path once the page is back.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(events(browser)).toEqual(['e2', 'e3']);
    // A beacon has no answer: when its lease ends, the page that lived on sends it again (the
    // server counts it once). At-least-once, never silently lost.
    await vi.advanceTimersByTimeAsync(20_000);
    expect(events(browser)).toEqual(['e2', 'e3', 'e0', 'e1']);
  });

  it('after a page exit, the next page waits for the lease before sending again (at-least-once)', async () => {
    const first = createTestBrowser();
    first.setHandler(() => new Promise<Response>(() => undefined)); // the page dies before any answer
    const { sdk } = start({ leaseMs: 30_000, flushIntervalMs: 10_000 }, first);
    const message = sdk.track('Order Completed', { order_id: 'o1' })!;
    first.hide(false);
    first.hide(true); // pagehide after visibilitychange: nothing is sent twice by the same page
    expect(first.requests).toHaveLength(1);
    open.splice(open.indexOf(sdk), 1);

    const next = samePlace(first);
    start({ leaseMs: 30_000 }, next);
    await vi.advanceTimersByTimeAsync(29_000);
    expect(next.requests).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(next.delivered().map((m) => m.messageId)).toEqual([message.messageId]);
  });
});

describe('consent', () => {
  it('holds messages of a category without consent until it is granted', async () => {
    const { sdk, browser } = start({ consent: { analytics: false } });
    sdk.track('a');
    sdk.page('Home');
    await vi.advanceTimersByTimeAsync(60_000);
    browser.hide(false);
    expect(browser.requests).toHaveLength(0);
    sdk.setConsent({ analytics: true });
    await vi.advanceTimersByTimeAsync(500);
    expect(events(browser)).toEqual(['a', 'Home']);
  });

  it('maps events to categories with categoryOf', async () => {
    const { sdk, browser } = start({
      consent: { analytics: true, marketing: false },
      categoryOf: (m) => (m.event?.startsWith('Ad ') ? 'marketing' : 'analytics'),
    });
    sdk.track('Ad Clicked');
    sdk.track('Product Viewed');
    await vi.advanceTimersByTimeAsync(1000);
    expect(events(browser)).toEqual(['Product Viewed']);
    expect(sdk.getConsent()).toEqual({ analytics: true, marketing: false });
    sdk.setConsent({ marketing: true });
    await vi.advanceTimersByTimeAsync(1000);
    expect(events(browser)).toEqual(['Product Viewed', 'Ad Clicked']);
  });

  it('discards instead of holding in discard mode, also when consent is withdrawn', async () => {
    const { sdk, browser, drops } = start({
      consent: { analytics: false },
      consentMode: 'discard',
      flushIntervalMs: 5000,
    });
    expect(sdk.track('a')).toBeUndefined();
    sdk.setConsent({ analytics: true });
    sdk.track('b');
    sdk.setConsent({ analytics: false });
    sdk.setConsent({ analytics: true });
    sdk.track('c');
    await vi.advanceTimersByTimeAsync(5000);
    expect(events(browser)).toEqual(['c']);
    expect(drops.map((d) => [d.code, d.messages.map((m) => m.event)])).toEqual([
      ['SDK_CONSENT_DENIED', ['a']],
      ['SDK_CONSENT_DENIED', ['b']],
    ]);
  });

  it('remembers the visitor’s choice across reloads, over the load-time default', async () => {
    const first = createTestBrowser();
    const a = start({ consent: { analytics: false } }, first);
    a.sdk.setConsent({ analytics: true });
    a.sdk.close();
    const second = samePlace(first);
    const b = start({ consent: { analytics: false } }, second);
    b.sdk.track('x');
    await vi.advanceTimersByTimeAsync(500);
    expect(events(second)).toEqual(['x']);
  });
});

describe('identity', () => {
  it('keeps the anonymous id in a first-party cookie for a year and in localStorage', () => {
    const browser = createTestBrowser();
    const cookies = browser.env.cookies!;
    const set = vi.spyOn(cookies, 'set');
    const { sdk } = start({}, browser);
    const { anonymousId } = sdk.user();
    expect(set).toHaveBeenCalledWith(ANONYMOUS_ID_COOKIE, anonymousId, 31_536_000);
    // Each page load pushes the expiry a year ahead again.
    set.mockClear();
    start({}, samePlace(browser));
    expect(set).toHaveBeenCalledWith(ANONYMOUS_ID_COOKIE, anonymousId, 31_536_000);
    expect(browser.storage.getItem(`kairos.${WRITE_KEY}.anonymousId`)).toBe(JSON.stringify(anonymousId));

    // A cleared cookie comes back from localStorage; a cookie set elsewhere (server, other key) wins.
    const reload = createTestBrowser({ storage: browser.storage, cookies: createMemoryCookies() });
    expect(start({}, reload).sdk.user().anonymousId).toBe(anonymousId);
    expect(reload.env.cookies!.get(ANONYMOUS_ID_COOKIE)).toBe(anonymousId);
    reload.env.cookies!.set(ANONYMOUS_ID_COOKIE, 'from-server', 100);
    expect(start({}, samePlace(reload)).sdk.user().anonymousId).toBe('from-server');
  });

  it('identify keeps the queue: queued messages keep the ids they were created with', async () => {
    const browser = createTestBrowser();
    browser.setHandler(networkError);
    const { sdk } = start({ flushIntervalMs: 60_000 }, browser);
    sdk.track('before');
    const anonymousId = sdk.user().anonymousId;
    sdk.identify('u1', { plan: 'pro' });
    sdk.track('after');
    sdk.reset();
    sdk.track('after reset');
    browser.setHandler(accepted);
    await sdk.flush();
    const [before, identify, after, afterReset] = browser.delivered();
    expect(before).toMatchObject({ event: 'before', anonymousId });
    expect(before).not.toHaveProperty('userId');
    expect(identify).toMatchObject({ type: 'identify', userId: 'u1', anonymousId, traits: { plan: 'pro' } });
    expect(after).toMatchObject({ event: 'after', userId: 'u1', anonymousId });
    expect(afterReset!.anonymousId).not.toBe(anonymousId);
    expect(afterReset).not.toHaveProperty('userId');
  });

  it('persists user id and traits, merging traits of the same user and forgetting another user’s', () => {
    const browser = createTestBrowser();
    const { sdk } = start({}, browser);
    sdk.identify('u1', { plan: 'pro' });
    sdk.identify(null, { country: 'FR' });
    const reloaded = start({}, samePlace(browser)).sdk;
    expect(reloaded.user()).toMatchObject({ userId: 'u1', traits: { plan: 'pro', country: 'FR' } });
    reloaded.identify('u2', { plan: 'free' });
    expect(reloaded.user().traits).toEqual({ plan: 'free' });
    reloaded.reset();
    expect(reloaded.user()).toMatchObject({ userId: undefined, traits: {} });
  });
});

describe('queue bounds through the API', () => {
  it('drops page views first, then other track events, keeping identify and high-value events', async () => {
    const browser = createTestBrowser();
    browser.setHandler(networkError);
    const { sdk, drops } = start({ maxQueueCount: 4, flushIntervalMs: 60_000 }, browser);
    sdk.identify('u1');
    sdk.page('Home');
    sdk.track('Product Viewed');
    sdk.track('Order Completed', { order_id: 'o1' });
    sdk.page('Cart');
    sdk.track('Product Added');
    sdk.track('Products Searched');
    expect(drops.map((d) => d.messages.map((m) => m.name ?? m.event))).toEqual([
      ['Home'],
      ['Cart'],
      ['Product Viewed'],
    ]);
    expect(drops.every((d) => d.code === 'SDK_QUEUE_FULL')).toBe(true);
    browser.setHandler(accepted);
    await sdk.flush();
    expect(events(browser)).toEqual(['identify', 'Order Completed', 'Product Added', 'Products Searched']);
  });
});

describe('recommendations', () => {
  const answer = {
    items: [
      { itemId: 'p7', score: 0.9 },
      { itemId: 'p9', score: 0.5 },
    ],
    recommendationId: 'rec-1',
    model: { name: 'ease', version: 3 },
    generatedAt: '2026-11-28T10:00:00.000Z',
  };

  it('asks for the visitor with the write key and attributes later clicks', async () => {
    const browser = createTestBrowser();
    browser.setHandler((r) => (r.method === 'GET' ? Response.json(answer) : accepted(r)));
    const { sdk } = start({}, browser);
    const anonymousId = sdk.user().anonymousId;
    await expect(sdk.getRecommendations({ placement: 'pdp', itemId: 'p 1', n: 2 })).resolves.toEqual(answer);
    const get = browser.requests[0]!;
    expect(get.url).toBe(`${HOST}/v1/recommendations?anonymousId=${anonymousId}&placement=pdp&itemId=p%201&n=2`);
    expect(get.headers.Authorization).toBe(`Basic ${btoa(`${WRITE_KEY}:`)}`);
    expect(sdk.lastRecommendationId()).toBe('rec-1');

    sdk.track('Product Clicked', { product_id: 'p9' });
    sdk.track('Product Clicked', { product_id: 'p-other' });
    sdk.track('Product Clicked', {});
    sdk.track('Product Clicked', { product_id: 'p7', recommendation_id: 'mine' });
    sdk.track('Product Viewed', { product_id: 'p7' });
    await sdk.flush();
    expect(browser.delivered().map((m) => m.properties?.recommendation_id)).toEqual([
      'rec-1',
      undefined,
      'rec-1',
      'mine',
      undefined,
    ]);

    sdk.identify('u1');
    await sdk.getRecommendations({ placement: 'home' });
    expect(browser.requests.at(-1)!.url).toBe(`${HOST}/v1/recommendations?userId=u1&placement=home&n=10`);
  });

  it('fails with stable codes', async () => {
    const browser = createTestBrowser();
    const { sdk } = start({}, browser);
    const codeOf = async (): Promise<unknown> =>
      sdk.getRecommendations({ placement: 'home' }).then(
        () => 'resolved',
        (err: unknown) => (isKairosSdkError(err) ? [err.code, err.status, err.retryable] : err),
      );
    browser.setHandler(refuse(503));
    expect(await codeOf()).toEqual(['SDK_RECOMMENDATIONS_FAILED', 503, true]);
    browser.setHandler(refuse(404));
    expect(await codeOf()).toEqual(['SDK_RECOMMENDATIONS_FAILED', 404, false]);
    browser.setHandler(() => new Response('<html>', { status: 200 }));
    expect(await codeOf()).toEqual(['SDK_RECOMMENDATIONS_FAILED', 200, false]);
    browser.setHandler(networkError);
    expect(await codeOf()).toEqual(['SDK_NETWORK_ERROR', undefined, true]);
  });
});

describe('live segment changes (SSE)', () => {
  it('streams enter/exit for the visitor, reconnects after a fatal error and on identify, and unsubscribes', async () => {
    const browser = createTestBrowser({ random: () => 0 });
    const { sdk } = start({ backoffBaseMs: 1000 }, browser);
    const anonymousId = sdk.user().anonymousId;
    const changes: unknown[] = [];
    const stop = sdk.onSegmentChange((c) => changes.push(c));
    const [first] = browser.sources;
    expect(first!.url).toBe(
      `${HOST}/v1/profiles/${anonymousId}/stream?writeKey=${WRITE_KEY}&anonymousId=${anonymousId}`,
    );

    first!.emit('message', { type: 'enter', segmentId: 'high-intent', version: 2, at: '2026-11-28T10:00:01.000Z' });
    first!.emit('exit', { segmentId: 'cart-abandoner', version: 1, at: '2026-11-28T10:00:02.000Z' });
    first!.emit('message', { type: 'hello' });
    first!.emit('message', 'not json');
    expect(changes).toEqual([
      { type: 'enter', segmentId: 'high-intent', version: 2, at: '2026-11-28T10:00:01.000Z' },
      { type: 'exit', segmentId: 'cart-abandoner', version: 1, at: '2026-11-28T10:00:02.000Z' },
    ]);

    first!.fail(false); // EventSource retries by itself
    await vi.advanceTimersByTimeAsync(10_000);
    expect(browser.sources).toHaveLength(1);
    first!.fail(true); // closed after an HTTP error: the SDK reconnects
    await vi.advanceTimersByTimeAsync(999);
    expect(browser.sources).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(browser.sources).toHaveLength(2);

    sdk.identify('user 1');
    expect(browser.sources).toHaveLength(3);
    expect(browser.sources[1]!.closed).toBe(true);
    expect(browser.sources[2]!.url).toBe(
      `${HOST}/v1/profiles/user%201/stream?writeKey=${WRITE_KEY}&anonymousId=${anonymousId}`,
    );

    stop();
    expect(browser.sources[2]!.closed).toBe(true);
    sdk.reset();
    expect(browser.sources).toHaveLength(3);
  });
});
