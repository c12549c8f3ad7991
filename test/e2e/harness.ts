// Browser-test harness: a real engine in the test process (port 0, temp data dir) serving the store,
// and Debian's Chromium driven by playwright-core (never a downloaded browser).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startEngine, type RunningEngine } from '../../src/engine/index.js';
import { embeddedCapabilities } from '../../src/cli/commands/start.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The store needs the SDK bundle the engine serves at /sdk/. */
export function ensureSdkBuilt(): void {
  if (existsSync(join(ROOT, 'dist', 'sdk', 'kairos.min.js'))) return;
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-sdk.js')], { cwd: ROOT, stdio: 'inherit' });
}

export interface TestEngine {
  readonly engine: RunningEngine;
  readonly url: string;
  readonly writeKey: string;
  readonly secretKey: string;
  stop(): Promise<void>;
}

/** Starts an embedded engine with the capabilities `kairos start` runs (segments seeded, recommendations). */
export async function startTestEngine(): Promise<TestEngine> {
  ensureSdkBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'kairos-e2e-'));
  const engine: RunningEngine = await startEngine({
    port: 0,
    dataDir: dir,
    logLevel: 'warn',
    ...embeddedCapabilities(),
  });
  return {
    engine,
    url: engine.url,
    writeKey: engine.writeKey,
    secretKey: engine.secretKey,
    stop: async () => {
      await engine.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestBrowser {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** A fresh Chromium profile (its own --user-data-dir): no cookie, queue or cart from another test. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'kairos-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface ProfileView {
  profileId: string;
  userId: string | null;
  anonymousIds: string[];
  traits: Record<string, unknown>;
  segments: { id: string; version: number; since: string }[];
  features: {
    eventCount: number;
    eventCounts: Record<string, number>;
    recentItems: string[];
    purchasedItems: string[];
  };
}

/** `GET /v1/profiles/{id}` with the secret key; undefined while the engine has no such profile. */
export async function getProfile(
  engine: TestEngine,
  who: { userId: string } | { anonymousId: string },
): Promise<ProfileView | undefined> {
  const path =
    'userId' in who
      ? `/v1/profiles/${encodeURIComponent(who.userId)}`
      : `/v1/profiles/-?anonymousId=${encodeURIComponent(who.anonymousId)}`;
  const response = await fetch(engine.url + path, { headers: { authorization: `Bearer ${engine.secretKey}` } });
  if (response.status === 404) {
    const body = (await response.json()) as { error?: { code?: string } };
    if (body.error?.code === 'PROFILES_NOT_FOUND') return undefined;
    throw new Error(`GET ${path}: 404 ${body.error?.code}`);
  }
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
  return (await response.json()) as ProfileView;
}

/** Polls `read` until `done` holds for its value (conditions, not timings: the bound only stops a hung test). */
export async function waitFor<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  what: string,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last value: ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await read();
  }
  return last;
}

/**
 * Is a route served? Only a 404 with the router's own code (SERVE_NOT_FOUND) means "not served";
 * any other answer (a 4xx from the route's validation, a 5xx) means the capability is there.
 */
export async function isServed(url: string, init: RequestInit): Promise<boolean> {
  const response = await fetch(url, init);
  if (response.status !== 404) return true;
  const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
  return body.error?.code !== 'SERVE_NOT_FOUND';
}

export const basicAuth = (writeKey: string): string => `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;

/** A message as the SDK sends it (the fields the tests look at). */
export interface SentMessage {
  type: string;
  event?: string;
  messageId: string;
  anonymousId?: string;
  userId?: string;
  properties?: Record<string, unknown>;
}

/** The key a message is counted under in `features.eventCounts` (track: its name; others: `$type`). */
export const countKey = (m: SentMessage): string => (m.type === 'track' ? (m.event ?? '') : `$${m.type}`);

/** Every `/v1/batch` body the page sends (fetch, keepalive or beacon), parsed. */
export function recordBatches(page: Page): SentMessage[][] {
  const batches: SentMessage[][] = [];
  page.on('request', (request) => {
    if (!request.url().endsWith('/v1/batch') || request.method() !== 'POST') return;
    const body = request.postData();
    if (body) batches.push((JSON.parse(body) as { batch: SentMessage[] }).batch);
  });
  return batches;
}

/** Messages waiting in the SDK's persistent queues of this origin (every page's). */
export function queuedCount(page: Page): Promise<number> {
  return page.evaluate(() => {
    let n = 0;
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i) ?? '';
      if (key.startsWith('kairos.') && key.includes('.q.')) {
        const entries = JSON.parse(localStorage.getItem(key) ?? '[]') as unknown[];
        n += entries.length;
      }
    }
    return n;
  });
}

/** Waits for the store's first render (the SDK loaded, the view drawn). */
export async function storeReady(page: Page): Promise<void> {
  await page.waitForSelector('html[data-store-ready="true"]');
}

/** The visitor's ids as the SDK holds them. */
export function visitor(page: Page): Promise<{ anonymousId: string; userId?: string }> {
  return page.evaluate(() => {
    const user = window.kairos!.user();
    return { anonymousId: user.anonymousId, ...(user.userId ? { userId: user.userId } : {}) };
  });
}
