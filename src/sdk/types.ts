/**
 * Public types of the browser SDK: Segment-spec messages, the API, and the environment ports that
 * tests replace (storage, cookies, fetch, timers, clock, randomness, page lifecycle).
 */

export type Properties = Record<string, unknown>;

export type MessageType = 'track' | 'page' | 'identify' | 'alias' | 'group';

export interface PageContext {
  url: string;
  path: string;
  referrer: string;
  title: string;
  search: string;
}

/** What the environment tells about the page and the browser. */
export interface BrowserContext {
  page?: PageContext;
  userAgent?: string;
  locale?: string;
  timezone?: string;
}

export interface MessageContext extends BrowserContext {
  library: { name: string; version: string };
  [key: string]: unknown;
}

/** One Segment-spec message as it is queued and sent (`sentAt` is added at send time). */
export interface KairosMessage {
  type: MessageType;
  /** `ksdk-<epoch ms>-<uuid v4>`; kept across retries so the server counts the message once. */
  messageId: string;
  anonymousId: string;
  userId?: string;
  /** ISO 8601, when the call was made (event time before the server's clock-skew correction). */
  timestamp: string;
  /** ISO 8601, when the request carrying this message left the browser (refreshed on each retry). */
  sentAt?: string;
  context: MessageContext;
  event?: string;
  name?: string;
  properties?: Properties;
  traits?: Properties;
  previousId?: string;
  groupId?: string;
}

/** Per-call overrides, as in analytics.js. */
export interface CallOptions {
  /** Event time, when the call reports something that happened earlier. @default now */
  timestamp?: Date | string | number;
  /** Merged over the automatically collected context. */
  context?: Properties;
}

export interface RecommendationRequest {
  placement: string;
  /** The item being viewed, for "similar items" placements. */
  itemId?: string;
  /** @default 10 */
  n?: number;
}

export interface Recommendations {
  items: { itemId: string; score: number }[];
  recommendationId: string;
  model: { name: string; version: string | number };
  generatedAt: string;
}

export interface SegmentChange {
  type: 'enter' | 'exit';
  segmentId: string;
  version: number;
  /** ISO 8601 event time of the change. */
  at: string;
}

export interface Identity {
  anonymousId: string;
  userId: string | undefined;
  traits: Properties;
}

export type Consent = Record<string, boolean>;

/** The analytics object returned by `load()` / `createAnalytics()`. */
export interface Analytics {
  track(event: string, properties?: Properties, options?: CallOptions): KairosMessage | undefined;
  page(name?: string, properties?: Properties, options?: CallOptions): KairosMessage | undefined;
  /** Sets (or keeps, when `userId` is null/undefined) the user id and merges `traits` into the stored ones. */
  identify(userId?: string | null, traits?: Properties, options?: CallOptions): KairosMessage | undefined;
  /** Links `previousId` (default: the current user id, else the anonymous id) to `userId`. */
  alias(userId: string, previousId?: string, options?: CallOptions): KairosMessage | undefined;
  group(groupId: string, traits?: Properties, options?: CallOptions): KairosMessage | undefined;
  /** Forgets the user: new anonymous id, no user id, no traits. Queued messages are kept as they are. */
  reset(): void;
  /** Sends every sendable queued message now; resolves when the queue is drained or a retry is scheduled. */
  flush(): Promise<void>;
  /** Merges `consent` into the stored consent and sends what it releases (or discards what it denies). */
  setConsent(consent: Consent): void;
  getConsent(): Consent;
  user(): Identity;
  getRecommendations(request: RecommendationRequest): Promise<Recommendations>;
  /** The last `recommendationId` received, attached to later `Product Clicked` events. */
  lastRecommendationId(): string | undefined;
  /** Live segment enter/exit for the current visitor over SSE; returns the unsubscribe function. */
  onSegmentChange(callback: (change: SegmentChange) => void): () => void;
  /** Stops timers and listeners and lets other tabs adopt this tab's queue. */
  close(): void;
}

// ---- Environment ports -------------------------------------------------------------------------

/** The part of the Web Storage interface the SDK uses (localStorage in browsers). */
export interface StoragePort {
  readonly length: number;
  key(index: number): string | null;
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface CookiePort {
  get(name: string): string | undefined;
  set(name: string, value: string, maxAgeSeconds: number): void;
}

export interface RequestInitLike {
  method: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
  keepalive?: boolean;
  signal?: AbortSignal;
}

export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export type FetchPort = (url: string, init: RequestInitLike) => Promise<ResponseLike>;

export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent<string>) => void): void;
  onerror: ((event: Event) => void) | null;
  close(): void;
}

export type EventSourceFactory = (url: string) => EventSourceLike;

/**
 * Page lifecycle signals: `hide` fires on `visibilitychange → hidden` (`final: false`) and on
 * `pagehide` (`final: true`, the document is going away); `show` on `pageshow` from the back/forward
 * cache; `online` when the network comes back.
 */
export type LifecycleListener = {
  hide: (final: boolean) => void;
  show: () => void;
  online: () => void;
};

/** Everything the SDK touches outside itself; browsers get real implementations by default. */
export interface SdkEnvironment {
  fetch: FetchPort;
  storage: StoragePort;
  cookies: CookiePort;
  setTimeout: (callback: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  /** Milliseconds since the Unix epoch. */
  now: () => number;
  /** Uniform in [0, 1); draws the retry jitter. */
  random: () => number;
  /** A random (version 4) UUID; names anonymous visitors, messages and tabs. */
  uuid: () => string;
  /** `navigator.sendBeacon`, when the browser has it. */
  sendBeacon: ((url: string, body: string) => boolean) | undefined;
  /** True when `fetch(..., {keepalive: true})` outlives the page. */
  keepalive: boolean;
  eventSource: EventSourceFactory | undefined;
  /** Page, user agent, locale and time zone for `context`. */
  context: () => BrowserContext;
  /** Subscribes to a lifecycle signal; returns the unsubscribe function. */
  on<K extends keyof LifecycleListener>(event: K, listener: LifecycleListener[K]): () => void;
  warn: (message: string, detail?: unknown) => void;
}
