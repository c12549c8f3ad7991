import { createBrowserEnvironment } from './environment.js';
import { KairosSdkError } from './errors.js';
import type { SdkDropCode } from './errors.js';
import { PER_MESSAGE_OVERHEAD, resolveSdkOptions } from './options.js';
import type { SdkOptions } from './options.js';
import { createPersistentQueue } from './queue.js';
import type { QueueEntry } from './queue.js';
import { backoffDelayMs, parseRetryAfterMs } from './retry.js';
import type {
  Analytics,
  CallOptions,
  Consent,
  EventSourceLike,
  KairosMessage,
  MessageType,
  Properties,
  Recommendations,
  RequestInitLike,
  SdkEnvironment,
} from './types.js';

declare const __KAIROS_SDK_VERSION__: string | undefined;

/** Replaced by the package version at build time (scripts/build-sdk.js). */
export const SDK_VERSION = typeof __KAIROS_SDK_VERSION__ === 'string' ? __KAIROS_SDK_VERSION__ : '0.0.0-dev';
export const SDK_NAME = 'kairos-sdk';
export const ANONYMOUS_ID_COOKIE = 'kairos_anonymous_id';
const YEAR_SECONDS = 31_536_000;
/** Bytes of `{"batch":[…],"sentAt":"…","writeKey":"…"}` around the messages, write key aside. */
const ENVELOPE_BYTES = 64;
/** Recommended items remembered for click attribution. */
const REMEMBERED_ITEMS = 500;

interface StoredUser {
  userId?: string;
  traits?: Properties;
}

interface Answer {
  status: number;
  retryAfterMs: number | undefined;
  text: string;
}

const encoder = new TextEncoder();
const byteLength = (text: string): number => encoder.encode(text).length;
const enc = encodeURIComponent;
const STORAGE_WRITE_FAILED = 'localStorage write failed';

/**
 * Creates one analytics instance. Several may coexist (different write keys); `load()` keeps one as
 * the page's default.
 */
export function createAnalytics(options: SdkOptions): Analytics {
  const o = resolveSdkOptions(options);
  const env: SdkEnvironment = { ...createBrowserEnvironment(o.cookieDomain), ...o.env };
  const { storage, cookies } = env;
  const prefix = `kairos.${o.writeKey}.`;
  const batchUrl = `${o.host}/v1/batch`;
  const auth = { Authorization: `Basic ${btoa(`${o.writeKey}:`)}` };
  const uuid = (): string => env.uuid();
  const iso = (time: Date | string | number): string => new Date(time).toISOString();

  const load = <T>(key: string): T | undefined => {
    try {
      const raw = storage.getItem(prefix + key);
      return raw ? (JSON.parse(raw) as T) : undefined;
    } catch {
      return undefined;
    }
  };
  const save = (key: string, value: unknown): void => {
    try {
      if (value === undefined) storage.removeItem(prefix + key);
      else storage.setItem(prefix + key, JSON.stringify(value));
    } catch (err) {
      env.warn(STORAGE_WRITE_FAILED, err);
    }
  };

  const queue = createPersistentQueue({
    storage,
    prefix,
    tabId: uuid(),
    now: () => env.now(),
    maxCount: o.maxQueueCount,
    maxBytes: o.maxQueueBytes,
    tabTimeoutMs: o.tabTimeoutMs,
    onWriteError: (err) => env.warn(STORAGE_WRITE_FAILED, err),
  });

  // ---- identity, consent -------------------------------------------------------------------------

  // Read on every call rather than cached: another tab may have identified or reset meanwhile.
  const anonymousId = (): string => {
    const fromCookie = cookies.get(ANONYMOUS_ID_COOKIE);
    const stored = load<string>('anonymousId');
    const id = fromCookie || stored || uuid();
    if (id !== fromCookie) cookies.set(ANONYMOUS_ID_COOKIE, id, YEAR_SECONDS);
    if (id !== stored) save('anonymousId', id);
    return id;
  };
  const storedUser = (): StoredUser => load<StoredUser>('user') ?? {};
  const consent = (): Consent => ({ ...o.consent, ...load<Consent>('consent') });

  // ---- messages ----------------------------------------------------------------------------------

  const drop = (messages: KairosMessage[], code: SdkDropCode): undefined => {
    if (messages.length) {
      env.warn(`dropped ${messages.length} message(s): ${code}`);
      o.onDrop?.(messages, code);
    }
    return undefined;
  };

  const enqueue = (
    type: MessageType,
    fields: Partial<KairosMessage>,
    call: CallOptions = {},
  ): KairosMessage | undefined => {
    const now = env.now();
    const message: KairosMessage = {
      type,
      messageId: `ksdk-${now}-${uuid()}`,
      anonymousId: anonymousId(),
      userId: storedUser().userId,
      timestamp: iso(call.timestamp ?? now),
      context: { ...env.context(), ...call.context, library: { name: SDK_NAME, version: SDK_VERSION } },
      ...fields,
    };
    const category = o.categoryOf(message);
    if (o.consentMode === 'discard' && !consent()[category]) return drop([message], 'SDK_CONSENT_DENIED');
    const size = byteLength(JSON.stringify(message));
    if (size > o.maxMessageBytes) return drop([message], 'SDK_MESSAGE_TOO_LARGE');
    const dropped = queue.push({ m: message, c: category, p: o.priorityOf(message), s: size });
    drop(
      dropped.map((e) => e.m),
      'SDK_QUEUE_FULL',
    );
    schedule();
    return dropped.some((e) => e.m === message) ? undefined : message;
  };

  // ---- delivery ----------------------------------------------------------------------------------

  /** Messages this page has in a request right now (other tabs see the lease instead). */
  const inflight = new Set<string>();
  let closed = false;
  let attempt = 0;
  let retryAt = 0;
  let retryTimer: unknown;
  let flushTimer: unknown;
  let flushDue = Infinity;
  let chain = Promise.resolve();
  /** A drain is waiting in the chain; another automatic one would find nothing more to do. */
  let drainQueued = false;

  const sendable = (e: QueueEntry, granted: Consent, now: number): boolean =>
    !!granted[e.c] && !inflight.has(e.m.messageId) && !((e.l ?? 0) > now);

  const select = (maxBytes: number): QueueEntry[] => {
    const now = env.now();
    const granted = consent();
    const batch: QueueEntry[] = [];
    let bytes = ENVELOPE_BYTES + o.writeKey.length;
    for (const e of queue.entries()) {
      if (!sendable(e, granted, now)) continue;
      if (batch.length >= o.maxBatchCount || (batch.length && bytes + e.s + PER_MESSAGE_OVERHEAD > maxBytes)) break;
      batch.push(e);
      bytes += e.s + PER_MESSAGE_OVERHEAD;
    }
    return batch;
  };

  const arm = (dueMs: number): void => {
    if (flushDue <= dueMs) return;
    env.clearTimeout(flushTimer);
    flushDue = dueMs;
    flushTimer = env.setTimeout(() => {
      flushDue = Infinity;
      void drain(false);
    }, dueMs - env.now());
  };

  /** Sends now when a batch is full, else makes sure a timer will. */
  function schedule(): void {
    if (closed) return;
    const now = env.now();
    const granted = consent();
    let count = 0;
    let bytes = 0;
    let leaseEnd = Infinity;
    for (const e of queue.entries()) {
      if (sendable(e, granted, now)) {
        count++;
        bytes += e.s;
      } else if (granted[e.c] && !inflight.has(e.m.messageId)) leaseEnd = Math.min(leaseEnd, e.l ?? 0);
    }
    if (count >= o.flushAt || bytes >= o.maxBatchBytes) void drain(false);
    else if (count) arm(now + o.flushIntervalMs);
    else if (leaseEnd < Infinity) arm(leaseEnd);
  }

  const request = async (url: string, init: RequestInitLike): Promise<Answer> => {
    const abort = typeof AbortController === 'function' ? new AbortController() : undefined;
    const timer = env.setTimeout(() => abort?.abort(), o.requestTimeoutMs);
    try {
      const res = await env.fetch(url, { ...init, signal: abort?.signal });
      return {
        status: res.status,
        retryAfterMs: parseRetryAfterMs(res.headers.get('Retry-After'), env.now()),
        text: await res.text(),
      };
    } finally {
      env.clearTimeout(timer);
    }
  };

  /** Leases the batch and renders the request body (with a fresh `sentAt`). */
  const prepare = (batch: QueueEntry[], ids: Set<string>): string => {
    const now = env.now();
    const sentAt = iso(now);
    queue.lease(ids, now + o.leaseMs);
    return JSON.stringify({ batch: batch.map((e) => ({ ...e.m, sentAt })), sentAt, writeKey: o.writeKey });
  };

  /** One request; resolves true when the batch is settled (accepted or dropped), false when a retry is scheduled. */
  const send = async (batch: QueueEntry[], keepalive: boolean): Promise<boolean> => {
    const ids = new Set(batch.map((e) => e.m.messageId));
    for (const id of ids) inflight.add(id);
    const body = prepare(batch, ids);
    let answer: Answer | undefined;
    try {
      answer = await request(batchUrl, {
        method: 'POST',
        // Authorization would make a cross-origin keepalive request need a preflight; the body has the key.
        headers: { 'Content-Type': 'text/plain', ...(keepalive ? {} : auth) },
        body,
        keepalive,
      });
    } catch {
      // Network error or timeout: retried below. A refused keepalive request (the browser's 64 KB
      // in-flight quota) falls back to a beacon; its messages stay leased, like any beacon's.
      if (keepalive && env.sendBeacon?.(batchUrl, body)) {
        for (const id of ids) inflight.delete(id);
        return true;
      }
    }
    for (const id of ids) inflight.delete(id);
    const status = answer?.status ?? 0;
    if (answer && status < 300) {
      let rejected: { index?: number; messageId?: string }[] = [];
      try {
        rejected = (JSON.parse(answer.text) as { rejected?: typeof rejected }).rejected ?? [];
      } catch {
        // A 2xx without a JSON body still means accepted.
      }
      drop(
        batch.filter((e, i) => rejected.some((r) => r.messageId === e.m.messageId || r.index === i)).map((e) => e.m),
        'SDK_MESSAGE_REJECTED',
      );
    } else if (answer && status !== 429 && status < 500) {
      // The server will not take this batch however often it is sent (bad key, too large, bad JSON).
      drop(
        batch.map((e) => e.m),
        'SDK_BATCH_REJECTED',
      );
    } else {
      queue.lease(ids, 0);
      const delay = answer?.retryAfterMs ?? backoffDelayMs(attempt++, o.backoffBaseMs, o.backoffMaxMs, env.random);
      retryAt = env.now() + delay;
      env.clearTimeout(retryTimer);
      retryTimer = env.setTimeout(() => {
        retryAt = 0;
        void drain(false);
      }, delay);
      return false;
    }
    queue.remove(ids);
    attempt = 0;
    retryAt = 0;
    return true;
  };

  /** Sends batch after batch, one request at a time per page, until nothing is sendable or a retry waits. */
  function drain(force: boolean): Promise<void> {
    if (drainQueued && !force) return chain;
    drainQueued = true;
    chain = chain
      .then(async () => {
        drainQueued = false;
        if (closed || (!force && retryAt > env.now())) return;
        for (let batch = select(o.maxBatchBytes); batch.length; batch = select(o.maxBatchBytes)) {
          if (!(await send(batch, false))) return;
        }
        schedule();
      })
      .catch((err: unknown) => env.warn('flush failed', err));
    return chain;
  }

  /**
   * The page is being hidden or left: hand what is sendable to the browser now. The first request
   * uses fetch keepalive (its answer is still handled if the page lives on); the rest go by
   * sendBeacon (no answer at all). Everything stays in the queue under a lease, so a message whose
   * request did not arrive is sent again later — by this page if it lives on, else by the next one.
   */
  const onHide = (final: boolean): void => {
    for (let first = true, batch = select(o.unloadBatchBytes); batch.length; batch = select(o.unloadBatchBytes)) {
      if ((first && env.keepalive) || !env.sendBeacon) void send(batch, true);
      else {
        const ids = new Set(batch.map((e) => e.m.messageId));
        if (!env.sendBeacon(batchUrl, prepare(batch, ids))) {
          queue.lease(ids, 0);
          break;
        }
      }
      first = false;
    }
    if (final) queue.retire();
  };

  let heartbeatTimer: unknown;
  const tick = (): void => {
    env.clearTimeout(heartbeatTimer);
    queue.heartbeat();
    drop(
      queue.adopt().map((e) => e.m),
      'SDK_QUEUE_FULL',
    );
    schedule();
    heartbeatTimer = env.setTimeout(tick, o.heartbeatMs);
  };

  // ---- recommendations and live segments ---------------------------------------------------------

  const recommendedBy = new Map<string, string>();
  let lastRecommendation: string | undefined;
  /** Open segment streams: reconnect function → unsubscribe function. */
  const streams = new Map<() => void, () => void>();
  const reconnectStreams = (): void => streams.forEach((_, connect) => connect());

  const getRecommendations: Analytics['getRecommendations'] = async ({ placement, itemId, n = 10 }) => {
    const userId = storedUser().userId;
    const query = [
      userId ? `userId=${enc(userId)}` : `anonymousId=${enc(anonymousId())}`,
      `placement=${enc(placement)}`,
      itemId === undefined ? '' : `itemId=${enc(itemId)}`,
      `n=${n}`,
    ];
    let answer: Answer;
    try {
      answer = await request(`${o.host}/v1/recommendations?${query.filter(Boolean).join('&')}`, {
        method: 'GET',
        headers: auth,
      });
    } catch (err) {
      throw new KairosSdkError('SDK_NETWORK_ERROR', 'recommendations request failed', undefined, true, err);
    }
    const { status, text } = answer;
    let result: Recommendations | undefined;
    try {
      result = JSON.parse(text) as Recommendations;
    } catch {
      // reported below
    }
    if (status >= 300 || !Array.isArray(result?.items))
      throw new KairosSdkError(
        'SDK_RECOMMENDATIONS_FAILED',
        `recommendations failed (HTTP ${status})`,
        status,
        status === 429 || status >= 500,
      );
    lastRecommendation = result.recommendationId;
    for (const item of result.items) {
      recommendedBy.delete(item.itemId);
      recommendedBy.set(item.itemId, result.recommendationId);
    }
    for (const oldest of recommendedBy.keys()) {
      if (recommendedBy.size <= REMEMBERED_ITEMS) break;
      recommendedBy.delete(oldest);
    }
    return result;
  };

  const onSegmentChange: Analytics['onSegmentChange'] = (callback) => {
    let source: EventSourceLike | undefined;
    let timer: unknown;
    let failures = 0;
    const connect = (): void => {
      source?.close();
      env.clearTimeout(timer);
      if (!env.eventSource) return env.warn('EventSource is not available');
      const anonymous = anonymousId();
      const id = storedUser().userId ?? anonymous;
      const es = (source = env.eventSource(
        `${o.host}/v1/profiles/${enc(id)}/stream?writeKey=${enc(o.writeKey)}&anonymousId=${enc(anonymous)}`,
      ));
      const deliver = (event: MessageEvent<string>): void => {
        failures = 0;
        try {
          const data = JSON.parse(event.data) as Partial<{
            type: string;
            segmentId: string;
            version: number;
            at: string;
          }>;
          const type = data.type ?? event.type;
          if (type === 'enter' || type === 'exit')
            callback({ type, segmentId: String(data.segmentId), version: Number(data.version), at: String(data.at) });
        } catch {
          // Not a segment change (comment, keep-alive): ignore.
        }
      };
      for (const type of ['message', 'enter', 'exit']) es.addEventListener(type, deliver);
      // EventSource reconnects by itself after network errors; after an HTTP error it gives up (CLOSED).
      es.onerror = () => {
        if (es.readyState === 2)
          timer = env.setTimeout(
            connect,
            o.backoffBaseMs + backoffDelayMs(failures++, o.backoffBaseMs, o.backoffMaxMs, env.random),
          );
      };
    };
    const unsubscribe = (): void => {
      streams.delete(connect);
      env.clearTimeout(timer);
      source?.close();
    };
    connect();
    streams.set(connect, unsubscribe);
    return unsubscribe;
  };

  // ---- wiring ------------------------------------------------------------------------------------

  const unsubscribe = [
    env.on('hide', onHide),
    env.on('show', tick),
    env.on('online', () => {
      attempt = 0;
      void drain(true);
    }),
  ];
  // Refresh the cookie's year on every page load (a sliding expiry, like analytics.js).
  cookies.set(ANONYMOUS_ID_COOKIE, anonymousId(), YEAR_SECONDS);
  tick();

  return {
    track(event, properties = {}, call) {
      if (event === 'Product Clicked' && properties.recommendation_id === undefined) {
        // A click on an item some recommendation showed is attributed to that recommendation; a
        // click on anything else to none; a click without a product id to the last one shown.
        const productId = properties.product_id as string | number | undefined;
        const recommendationId = productId === undefined ? lastRecommendation : recommendedBy.get(String(productId));
        if (recommendationId) properties = { ...properties, recommendation_id: recommendationId };
      }
      return enqueue('track', { event, properties }, call);
    },
    page(name, properties, call) {
      return enqueue(
        'page',
        { name, properties: { ...env.context().page, ...(name ? { name } : {}), ...properties } },
        call,
      );
    },
    identify(userId, traits, call) {
      const previous = storedUser();
      const id = userId ?? previous.userId;
      // A different user inherits nothing from the previous one.
      const user = { userId: id, traits: { ...(id === previous.userId ? previous.traits : {}), ...traits } };
      save('user', user);
      if (id !== previous.userId) reconnectStreams();
      return enqueue('identify', user, call);
    },
    alias(userId, previousId, call) {
      return enqueue('alias', { userId, previousId: previousId ?? storedUser().userId ?? anonymousId() }, call);
    },
    group(groupId, traits, call) {
      return enqueue('group', { groupId, traits }, call);
    },
    reset() {
      const id = uuid();
      save('user', undefined);
      save('anonymousId', id);
      cookies.set(ANONYMOUS_ID_COOKIE, id, YEAR_SECONDS);
      recommendedBy.clear();
      lastRecommendation = undefined;
      reconnectStreams();
    },
    flush: () => drain(true),
    setConsent(changes) {
      save('consent', { ...load<Consent>('consent'), ...changes });
      if (o.consentMode === 'discard') {
        const granted = consent();
        drop(
          queue.removeWhere((e) => !granted[e.c] && !inflight.has(e.m.messageId)).map((e) => e.m),
          'SDK_CONSENT_DENIED',
        );
      }
      schedule();
    },
    getConsent: consent,
    user: () => ({ anonymousId: anonymousId(), userId: storedUser().userId, traits: storedUser().traits ?? {} }),
    getRecommendations,
    lastRecommendationId: () => lastRecommendation,
    onSegmentChange,
    close() {
      closed = true;
      for (const timer of [flushTimer, retryTimer, heartbeatTimer]) env.clearTimeout(timer);
      unsubscribe.forEach((off) => off());
      streams.forEach((stop) => stop());
      queue.retire();
    },
  };
}
