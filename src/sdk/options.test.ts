import { describe, expect, it } from 'vitest';
import { isKairosSdkError } from './errors.js';
import { defaultPriority, resolveSdkOptions } from './options.js';
import type { SdkOptions } from './options.js';
import type { KairosMessage } from './types.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isKairosSdkError(err) ? err.code : 'not a KairosSdkError';
  }
  return undefined;
}

describe('resolveSdkOptions', () => {
  it('fills documented defaults, trims the host and freezes', () => {
    const o = resolveSdkOptions({ writeKey: 'wk', host: 'https://k.example/', flushAt: undefined });
    expect(o.host).toBe('https://k.example');
    expect(o.flushAt).toBe(20);
    expect(o.flushIntervalMs).toBe(500);
    expect(o.maxMessageBytes).toBe(32_000);
    expect(o.unloadBatchBytes).toBe(60_000);
    expect(o.consentMode).toBe('hold');
    expect(o.consent).toEqual({ analytics: true });
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('refuses a missing write key, non-positive numbers and contradictory limits', () => {
    expect(codeOf(() => resolveSdkOptions({} as SdkOptions))).toBe('SDK_INVALID_OPTIONS');
    expect(codeOf(() => resolveSdkOptions({ writeKey: '' }))).toBe('SDK_INVALID_OPTIONS');
    expect(codeOf(() => resolveSdkOptions({ writeKey: 'wk', flushAt: 0 }))).toBe('SDK_INVALID_OPTIONS');
    expect(codeOf(() => resolveSdkOptions({ writeKey: 'wk', backoffMaxMs: Number.NaN }))).toBe('SDK_INVALID_OPTIONS');
    expect(codeOf(() => resolveSdkOptions({ writeKey: 'wk', unloadBatchBytes: 10_000 }))).toBe('SDK_INVALID_OPTIONS');
    expect(codeOf(() => resolveSdkOptions({ writeKey: 'wk', consentMode: 'drop' as 'hold' }))).toBe(
      'SDK_INVALID_OPTIONS',
    );
    expect(codeOf(() => resolveSdkOptions({ writeKey: 'wk' }))).toBeUndefined();
  });
});

describe('defaultPriority', () => {
  const msg = (type: KairosMessage['type'], event?: string): KairosMessage => ({
    type,
    event,
    messageId: 'm',
    anonymousId: 'a',
    timestamp: '',
    context: { library: { name: '', version: '' } },
  });

  it('ranks page views < track < high-value track < identity', () => {
    const ranks = [msg('page'), msg('track', 'Product Viewed'), msg('track', 'Order Completed'), msg('identify')].map(
      defaultPriority,
    );
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(new Set(ranks).size).toBe(4);
    expect(defaultPriority(msg('alias'))).toBe(defaultPriority(msg('identify')));
    expect(defaultPriority(msg('track', 'Checkout Started'))).toBe(defaultPriority(msg('track', 'Product Added')));
  });
});
