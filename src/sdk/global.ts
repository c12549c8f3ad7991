// Entry of the IIFE build (dist/sdk/kairos.min.js): defines the `kairos` global for <script> tags.
// An object literal rather than esbuild's `globalName` over index.ts: the namespace wrapper costs
// bytes, and a page needs the API, not the test and building blocks index.ts also exports.
import { SDK_VERSION, createAnalytics } from './analytics.js';
import {
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
import { KairosSdkError, isKairosSdkError } from './errors.js';
import { HIGH_VALUE_EVENTS, defaultPriority } from './options.js';

(globalThis as { kairos?: unknown }).kairos = {
  load,
  track,
  page,
  identify,
  alias,
  group,
  reset,
  flush,
  setConsent,
  getConsent,
  user,
  getRecommendations,
  lastRecommendationId,
  onSegmentChange,
  close,
  createAnalytics,
  defaultPriority,
  HIGH_VALUE_EVENTS,
  KairosSdkError,
  isKairosSdkError,
  VERSION: SDK_VERSION,
};
