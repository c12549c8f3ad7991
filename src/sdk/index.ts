// The browser SDK's public surface. Built as dist/sdk/kairos.esm.js and as the IIFE global `kairos`
// (dist/sdk/kairos.min.js), both from this file.
export { ANONYMOUS_ID_COOKIE, SDK_NAME, SDK_VERSION, createAnalytics } from './analytics.js';
export {
  alias,
  close,
  flush,
  getConsent,
  getRecommendations,
  group,
  identify,
  lastRecommendationId,
  load,
  onSegmentChange,
  page,
  reset,
  setConsent,
  track,
  user,
} from './default-instance.js';
export { createBrowserEnvironment, createMemoryCookies, createMemoryStorage, randomUuid } from './environment.js';
export { KairosSdkError, isKairosSdkError } from './errors.js';
export type { SdkDropCode, SdkErrorCode } from './errors.js';
export { HIGH_VALUE_EVENTS, defaultPriority, resolveSdkOptions } from './options.js';
export type { ResolvedSdkOptions, SdkOptions } from './options.js';
export { backoffDelayMs, parseRetryAfterMs } from './retry.js';
export type {
  Analytics,
  BrowserContext,
  CallOptions,
  Consent,
  CookiePort,
  EventSourceFactory,
  EventSourceLike,
  FetchPort,
  Identity,
  KairosMessage,
  LifecycleListener,
  MessageContext,
  MessageType,
  PageContext,
  Properties,
  Recommendations,
  RecommendationRequest,
  RequestInitLike,
  ResponseLike,
  SdkEnvironment,
  SegmentChange,
  StoragePort,
} from './types.js';
