import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEngine, type RunningEngine } from '../../src/engine/index.js';
import { createRecommendationExtension, type RecommendationOptions } from '../../src/recommend/index.js';
import type { SegmentDefinition } from '../../src/segments/index.js';

export const WRITE_KEY = 'wk_recommend_test';
export const SECRET_KEY = 'sk_recommend_test';

export interface HttpAnswer<T = unknown> {
  readonly status: number;
  readonly text: string;
  readonly body: T;
}

export interface RecommendationBody {
  items: { itemId: string; score: number }[];
  recommendationId: string;
  model: { name: string; version: number };
  generatedAt: string;
}

export interface RecommendHarness {
  readonly engine: RunningEngine;
  readonly url: string;
  readonly dir: string;
  send(batch: readonly Record<string, unknown>[]): Promise<void>;
  get<T = unknown>(path: string, key?: 'write' | 'secret' | 'none'): Promise<HttpAnswer<T>>;
  post<T = unknown>(path: string, key?: 'write' | 'secret' | 'none'): Promise<HttpAnswer<T>>;
  recommend(query: Record<string, string | number>): Promise<HttpAnswer<RecommendationBody>>;
  /** Polls the profile until `check` accepts it. */
  waitForProfile(
    lookup: { userId: string } | { anonymousId: string },
    check: (profile: ProfileBody) => boolean,
    timeoutMs?: number,
  ): Promise<ProfileBody>;
  /** Polls /readyz until the stream has processed everything in the log. */
  waitForStream(timeoutMs?: number): Promise<void>;
  train(): Promise<{ version: number; [key: string]: unknown }>;
  stop(removeDir?: boolean): Promise<void>;
}

export interface ProfileBody {
  profileId: string;
  features: { eventCount: number; recentItems: string[]; purchasedItems: string[] };
  traits: Record<string, unknown>;
}

export interface HarnessOptions {
  readonly recommend?: RecommendationOptions;
  readonly streamWorkers?: number;
  readonly dir?: string;
  readonly partitions?: number;
  /** Segments defined when the data dir is new (the engine's `segments.seed`). */
  readonly segments?: readonly SegmentDefinition[];
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'kairos-recommend-'));
}

const basic = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;

function headers(key: 'write' | 'secret' | 'none'): Record<string, string> {
  if (key === 'write') return { authorization: basic };
  if (key === 'secret') return { authorization: `Bearer ${SECRET_KEY}` };
  return {};
}

async function answer<T>(response: Response): Promise<HttpAnswer<T>> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: response.status, text, body: body as T };
}

/** Starts the engine with the recommendation extension on 127.0.0.1, port 0, in a temp data dir. */
export async function startRecommendEngine(options: HarnessOptions = {}): Promise<RecommendHarness> {
  const dir = options.dir ?? tempDir();
  const base = {
    host: '127.0.0.1',
    port: 0,
    dataDir: dir,
    writeKey: WRITE_KEY,
    secretKey: SECRET_KEY,
    partitions: options.partitions ?? 2,
    streamWorkers: options.streamWorkers ?? 0,
    logLevel: 'warn',
    ...(options.segments ? { segments: { seed: options.segments } } : {}),
  };
  const engine = await startEngine({ ...base, extensions: [createRecommendationExtension(options.recommend)] });
  const url = engine.url;
  const get = async <T>(path: string, key: 'write' | 'secret' | 'none' = 'secret') =>
    answer<T>(await fetch(`${url}${path}`, { headers: headers(key) }));
  const post = async <T>(path: string, key: 'write' | 'secret' | 'none' = 'secret') =>
    answer<T>(await fetch(`${url}${path}`, { method: 'POST', headers: headers(key) }));
  const harness: RecommendHarness = {
    engine,
    url,
    dir,
    async send(batch) {
      for (let start = 0; start < batch.length; start += 100) {
        const chunk = batch.slice(start, start + 100);
        const response = await fetch(`${url}/v1/batch`, {
          method: 'POST',
          headers: { authorization: basic, 'content-type': 'application/json' },
          body: JSON.stringify({ batch: chunk }),
        });
        const body = (await response.json()) as { accepted?: number; rejected?: unknown[] };
        if (response.status !== 200 || body.accepted !== chunk.length) {
          throw new Error(`batch not accepted: ${response.status} ${JSON.stringify(body)}`);
        }
      }
    },
    get,
    post,
    recommend(query) {
      const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
      return get<RecommendationBody>(`/v1/recommendations?${qs}`, 'write');
    },
    async waitForProfile(lookup, check, timeoutMs = 30_000) {
      const path =
        'userId' in lookup
          ? `/v1/profiles/${encodeURIComponent(lookup.userId)}`
          : `/v1/profiles/-?anonymousId=${encodeURIComponent(lookup.anonymousId)}`;
      const deadline = Date.now() + timeoutMs;
      let last: HttpAnswer<ProfileBody> | undefined;
      while (Date.now() < deadline) {
        last = await get<ProfileBody>(path);
        if (last.status === 200 && check(last.body)) return last.body;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`profile ${JSON.stringify(lookup)} not as expected: ${last?.text}`);
    },
    async waitForStream(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const ready = await get<{ partitions?: { lag: number | null }[] }>('/readyz', 'none');
        if (ready.status === 200 && ready.body.partitions?.every((p) => p.lag === 0)) return;
        if (Date.now() > deadline) throw new Error(`stream did not catch up: ${ready.text}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async train() {
      const result = await post<{ version: number }>('/v1/models/train?wait=true');
      if (result.status !== 200) throw new Error(`training failed: ${result.status} ${result.text}`);
      return result.body;
    },
    async stop(removeDir = true) {
      await engine.stop();
      if (removeDir) rmSync(dir, { recursive: true, force: true });
    },
  };
  return harness;
}

let messageCounter = 0;

/** A Segment `track` message at `atMs`. */
export function track(
  who: { userId: string } | { anonymousId: string },
  event: string,
  properties: Record<string, unknown>,
  atMs: number,
): Record<string, unknown> {
  return {
    type: 'track',
    messageId: `rt-${process.pid}-${++messageCounter}`,
    ...who,
    event,
    properties,
    timestamp: new Date(atMs).toISOString(),
  };
}

/** A Segment `identify` message at `atMs`. */
export function identify(
  who: { userId: string; anonymousId?: string } | { anonymousId: string },
  traits: Record<string, unknown>,
  atMs: number,
): Record<string, unknown> {
  return {
    type: 'identify',
    messageId: `ri-${process.pid}-${++messageCounter}`,
    ...who,
    traits,
    timestamp: new Date(atMs).toISOString(),
  };
}
