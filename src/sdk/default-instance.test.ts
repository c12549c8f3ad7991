import { afterEach, describe, expect, it, vi } from 'vitest';
import { isKairosSdkError } from './errors.js';
import { close, flush, load, track, user } from './default-instance.js';
import { createTestBrowser } from './testing.js';

afterEach(() => {
  try {
    close();
  } catch {
    // not loaded
  }
  vi.useRealTimers();
});

describe('the default instance behind the `kairos` global', () => {
  it('refuses calls before load with SDK_NOT_LOADED', () => {
    let code: string | undefined;
    try {
      track('too early');
    } catch (err) {
      code = isKairosSdkError(err) ? err.code : 'other';
    }
    expect(code).toBe('SDK_NOT_LOADED');
  });

  it('forwards to the loaded instance; a second load replaces (and closes) the first', async () => {
    vi.useFakeTimers();
    const first = createTestBrowser();
    const analytics = load({ writeKey: 'wk1', env: first.env });
    expect(user().anonymousId).toBe(analytics.user().anonymousId);
    track('a');
    await flush();
    expect(first.delivered().map((m) => m.event)).toEqual(['a']);
    expect(first.requests[0]!.url).toBe('/v1/batch'); // no host: same origin

    const second = createTestBrowser();
    load({ writeKey: 'wk2', env: second.env });
    track('b');
    await flush();
    expect(second.delivered().map((m) => m.event)).toEqual(['b']);
    analytics.track('c'); // the closed instance queues but no longer sends on its own
    await vi.advanceTimersByTimeAsync(60_000);
    expect(first.requests).toHaveLength(1);
  });
});
