/**
 * A scripted browser for the SDK's unit tests (Node has no window, localStorage or EventSource).
 * The storage and cookie jar are the SDK's own memory implementations; `fetch` answers with real
 * `Response` objects produced by a handler that plays the collector's HTTP contract; timers and the
 * clock are the global ones, which the tests replace with Vitest's fake timers. Not part of the
 * bundle (index.ts does not export it).
 */
import { createMemoryCookies, createMemoryStorage } from './environment.js';
import type { EventSourceLike, KairosMessage, LifecycleListener, SdkEnvironment, StoragePort } from './types.js';

export interface CapturedRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  keepalive: boolean;
  /** Parsed JSON body (POST). */
  body: { batch: KairosMessage[]; sentAt: string; writeKey: string } | undefined;
}

export type Handler = (request: CapturedRequest) => Response | Promise<Response>;

/** The collector's happy answer for a batch. */
export function accepted(request: CapturedRequest): Response {
  return Response.json({ success: true, accepted: request.body?.batch.length ?? 0, rejected: [] });
}

export class FakeEventSource implements EventSourceLike {
  readyState = 1;
  onerror: ((event: Event) => void) | null = null;
  closed = false;
  private readonly listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();

  constructor(readonly url: string) {}

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.closed = true;
    this.readyState = 2;
  }

  /** Delivers an SSE event (`message` for unnamed events). */
  emit(type: string, data: unknown): void {
    const event = new MessageEvent<string>(type, { data: typeof data === 'string' ? data : JSON.stringify(data) });
    for (const listener of this.listeners.get(type) ?? []) listener(event);
  }

  /** An error; `fatal` is what EventSource does after an HTTP error: it closes and does not retry. */
  fail(fatal: boolean): void {
    this.readyState = fatal ? 2 : 0;
    this.onerror?.(new Event('error'));
  }
}

export interface TestBrowser {
  env: Partial<SdkEnvironment>;
  storage: StoragePort;
  requests: CapturedRequest[];
  beacons: { url: string; body: CapturedRequest['body'] }[];
  sources: FakeEventSource[];
  warnings: string[];
  /** Every message the fake server accepted, in order (duplicates included). */
  delivered(): KairosMessage[];
  setHandler(handler: Handler): void;
  /** How many more sendBeacon calls the browser accepts (it refuses beyond its quota). @default Infinity */
  setBeaconQuota(calls: number): void;
  hide(final: boolean): void;
  show(): void;
  online(): void;
}

/** A page of a browser; pass the `storage`/`cookies` of another to simulate a reload or a second tab. */
export function createTestBrowser(
  shared: { storage?: StoragePort; cookies?: SdkEnvironment['cookies']; random?: () => number } = {},
): TestBrowser {
  const storage = shared.storage ?? createMemoryStorage();
  const cookies = shared.cookies ?? createMemoryCookies();
  let handler: Handler = accepted;
  let beaconQuota = Infinity;
  const requests: CapturedRequest[] = [];
  const beacons: TestBrowser['beacons'] = [];
  const sources: FakeEventSource[] = [];
  const warnings: string[] = [];
  const listeners: { [K in keyof LifecycleListener]: LifecycleListener[K][] } = { hide: [], show: [], online: [] };
  const deliveredBatches: KairosMessage[][] = [];

  const env: Partial<SdkEnvironment> = {
    storage,
    cookies,
    async fetch(url, init) {
      const request: CapturedRequest = {
        url,
        method: init.method,
        headers: { ...init.headers },
        keepalive: init.keepalive === true,
        body: init.body === undefined ? undefined : (JSON.parse(init.body) as CapturedRequest['body']),
      };
      requests.push(request);
      const response = await handler(request);
      if (response.status < 300 && request.body) deliveredBatches.push(request.body.batch);
      return response;
    },
    setTimeout: (callback, ms) => setTimeout(callback, ms),
    clearTimeout: (handle) => clearTimeout(handle as Parameters<typeof clearTimeout>[0]),
    now: () => Date.now(),
    random: shared.random ?? (() => 0.5),
    uuid: () => crypto.randomUUID(),
    keepalive: true,
    sendBeacon(url, body) {
      if (beaconQuota <= 0) return false;
      beaconQuota--;
      beacons.push({ url, body: JSON.parse(body) as CapturedRequest['body'] });
      return true;
    },
    eventSource(url) {
      const source = new FakeEventSource(url);
      sources.push(source);
      return source;
    },
    context: () => ({
      page: {
        url: 'https://shop.example/p/42?q=1',
        path: '/p/42',
        referrer: 'https://search.example/',
        title: 'Shoe',
        search: '?q=1',
      },
      userAgent: 'TestBrowser/1.0',
      locale: 'en-GB',
      timezone: 'Europe/Paris',
    }),
    on(event, listener) {
      const list = listeners[event] as unknown[];
      list.push(listener);
      return () => void list.splice(list.indexOf(listener), 1);
    },
    warn: (message) => void warnings.push(message),
  };

  return {
    env,
    storage,
    requests,
    beacons,
    sources,
    warnings,
    delivered: () => deliveredBatches.flat(),
    setHandler: (next) => void (handler = next),
    setBeaconQuota: (calls) => void (beaconQuota = calls),
    hide: (final) => listeners.hide.forEach((l) => l(final)),
    show: () => listeners.show.forEach((l) => l()),
    online: () => listeners.online.forEach((l) => l()),
  };
}
