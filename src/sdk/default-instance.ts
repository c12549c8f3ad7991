import { createAnalytics } from './analytics.js';
import { KairosSdkError } from './errors.js';
import type { SdkOptions } from './options.js';
import type { Analytics } from './types.js';

/**
 * The page's default instance, behind the functions of the `kairos` global (IIFE build) and the
 * ESM module: `kairos.load({...})` once, then `kairos.track(...)` anywhere.
 */
let current: Analytics | undefined;

/** Creates the page's default instance (closing a previous one) and returns it. */
export function load(options: SdkOptions): Analytics {
  current?.close();
  return (current = createAnalytics(options));
}

function forward<K extends keyof Analytics>(name: K): Analytics[K] {
  return ((...args: unknown[]) => {
    if (!current) throw new KairosSdkError('SDK_NOT_LOADED', 'call kairos.load({writeKey, host}) first');
    return (current[name] as (...a: unknown[]) => unknown)(...args);
  }) as Analytics[K];
}

export const track = forward('track');
export const page = forward('page');
export const identify = forward('identify');
export const alias = forward('alias');
export const group = forward('group');
export const reset = forward('reset');
export const flush = forward('flush');
export const setConsent = forward('setConsent');
export const getConsent = forward('getConsent');
export const user = forward('user');
export const getRecommendations = forward('getRecommendations');
export const lastRecommendationId = forward('lastRecommendationId');
export const onSegmentChange = forward('onSegmentChange');
export const close = forward('close');
