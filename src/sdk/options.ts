import { KairosSdkError } from './errors.js';
import type { SdkDropCode } from './errors.js';
import type { Consent, KairosMessage, Properties, SdkEnvironment } from './types.js';

/** Options of `load()` / `createAnalytics()`. Sizes are UTF-8 bytes of the JSON message. */
export interface SdkOptions {
  /** The source's write key (public; sent in the body and as the Basic-auth user name). */
  writeKey: string;
  /** Origin of the Kairos engine, e.g. `https://kairos.example.com`. @default '' (same origin) */
  host?: string;
  /** Flush as soon as this many sendable messages are queued. @default 20 */
  flushAt?: number;
  /** Longest a sendable message waits before a flush. @default 500 */
  flushIntervalMs?: number;
  /** Messages per request. @default 100 */
  maxBatchCount?: number;
  /** Bytes per request (the server refuses requests above 500 KB). @default 450000 */
  maxBatchBytes?: number;
  /** Bytes per message; bigger messages are dropped (the server's limit is 32 KB). @default 32000 */
  maxMessageBytes?: number;
  /** Bytes per request sent while the page goes away (browsers cap keepalive bodies at 64 KB). @default 60000 */
  unloadBatchBytes?: number;
  /** Queue bound by count; beyond it the lowest-priority, oldest messages are dropped. @default 1000 */
  maxQueueCount?: number;
  /** Queue bound by bytes (it lives in localStorage). @default 1000000 */
  maxQueueBytes?: number;
  /** First retry delay ceiling; the n-th retry waits uniform(0, min(max, base·2ⁿ)) ("full jitter"). @default 1000 */
  backoffBaseMs?: number;
  /** Ceiling of the retry delay (a `Retry-After` answer may ask for up to 10 minutes). @default 60000 */
  backoffMaxMs?: number;
  /** A request that has not answered by then counts as a network error. @default 10000 */
  requestTimeoutMs?: number;
  /**
   * How long a message sent but not yet acknowledged is left alone by other tabs (and by the next
   * page after a page exit, which cannot know whether the exit request arrived). @default 30000
   */
  leaseMs?: number;
  /** How often a tab says it is alive and adopts the queues of closed tabs. @default 20000 */
  heartbeatMs?: number;
  /** A tab silent for this long is taken for closed and its queue is adopted. @default 300000 */
  tabTimeoutMs?: number;
  /** Consent before the visitor decides; a stored `setConsent` overrides it. @default {analytics: true} */
  consent?: Consent;
  /** Messages of a category without consent are held in the queue or discarded. @default 'hold' */
  consentMode?: 'hold' | 'discard';
  /** The consent category of a message. @default () => 'analytics' */
  categoryOf?: (message: KairosMessage) => string;
  /** Higher is kept longer when the queue is full. @default defaultPriority */
  priorityOf?: (message: KairosMessage) => number;
  /** Domain of the anonymous-id cookie, to share it across subdomains. @default the page's host */
  cookieDomain?: string;
  /** Called with messages the SDK gives up on and why. @default none */
  onDrop?: (messages: KairosMessage[], code: SdkDropCode) => void;
  /** Replaces parts of the browser environment (tests, non-browser hosts). @default the browser's */
  env?: Partial<SdkEnvironment>;
}

export type ResolvedSdkOptions = Readonly<
  Required<Omit<SdkOptions, 'cookieDomain' | 'onDrop' | 'env'>> & Pick<SdkOptions, 'cookieDomain' | 'onDrop' | 'env'>
>;

/** Events worth keeping longest when the queue is full. */
export const HIGH_VALUE_EVENTS: readonly string[] = ['Order Completed', 'Checkout Started', 'Product Added'];

/** Page views go first, then ordinary track events, then high-value track events; identity last. */
export function defaultPriority(message: KairosMessage): number {
  if (message.type === 'page') return 0;
  if (message.type !== 'track') return 3;
  return HIGH_VALUE_EVENTS.includes(message.event ?? '') ? 2 : 1;
}

const NUMERIC_DEFAULTS = {
  flushAt: 20,
  flushIntervalMs: 500,
  maxBatchCount: 100,
  maxBatchBytes: 450_000,
  maxMessageBytes: 32_000,
  unloadBatchBytes: 60_000,
  maxQueueCount: 1000,
  maxQueueBytes: 1_000_000,
  backoffBaseMs: 1000,
  backoffMaxMs: 60_000,
  requestTimeoutMs: 10_000,
  leaseMs: 30_000,
  heartbeatMs: 20_000,
  tabTimeoutMs: 300_000,
};

/** Bytes a message costs in a request beyond its own JSON (`sentAt`, comma). */
export const PER_MESSAGE_OVERHEAD = 48;

function invalid(message: string): KairosSdkError {
  return new KairosSdkError('SDK_INVALID_OPTIONS', message);
}

export function resolveSdkOptions(options: SdkOptions): ResolvedSdkOptions {
  if (typeof options?.writeKey !== 'string' || !options.writeKey) throw invalid('writeKey is required');
  const resolved = {
    ...NUMERIC_DEFAULTS,
    host: '',
    consent: { analytics: true },
    consentMode: 'hold',
    categoryOf: () => 'analytics',
    priorityOf: defaultPriority,
  } as unknown as Required<SdkOptions>;
  // An explicit `undefined` means "the default", as it does for every other option in the engine.
  for (const [key, value] of Object.entries(options)) if (value !== undefined) (resolved as Properties)[key] = value;
  for (const key of Object.keys(NUMERIC_DEFAULTS) as (keyof typeof NUMERIC_DEFAULTS)[]) {
    const value = resolved[key];
    if (typeof value !== 'number' || !(value > 0)) throw invalid(`${key} must be a positive number`);
  }
  if (resolved.maxMessageBytes + PER_MESSAGE_OVERHEAD > Math.min(resolved.unloadBatchBytes, resolved.maxBatchBytes))
    throw invalid('maxMessageBytes must fit in unloadBatchBytes and maxBatchBytes');
  if (resolved.consentMode !== 'hold' && resolved.consentMode !== 'discard')
    throw invalid("consentMode must be 'hold' or 'discard'");
  resolved.host = String(resolved.host).replace(/\/+$/, '');
  return Object.freeze(resolved);
}
