import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, backoffDelayMs, parseRetryAfterMs } from './retry.js';

describe('backoffDelayMs (full jitter)', () => {
  it('stays in [0, min(max, base·2^attempt)) whatever the random draw', () => {
    for (const attempt of [0, 1, 2, 5, 6, 20]) {
      const ceiling = Math.min(60_000, 1000 * 2 ** attempt);
      expect(backoffDelayMs(attempt, 1000, 60_000, () => 0)).toBe(0);
      const top = backoffDelayMs(attempt, 1000, 60_000, () => 0.999999);
      expect(top).toBeLessThan(ceiling);
      expect(top).toBeGreaterThanOrEqual(ceiling - 1);
      expect(backoffDelayMs(attempt, 1000, 60_000, () => 0.5)).toBe(Math.floor(ceiling / 2));
    }
  });

  it('spreads draws over the whole interval', () => {
    let seed = 42;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const delays = Array.from({ length: 2000 }, () => backoffDelayMs(3, 1000, 60_000, random));
    expect(Math.min(...delays)).toBeLessThan(400);
    expect(Math.max(...delays)).toBeGreaterThan(7600);
    expect(Math.max(...delays)).toBeLessThan(8000);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-11-28T10:00:00Z');

  it('reads delta-seconds', () => {
    expect(parseRetryAfterMs('120', now)).toBe(120_000);
    expect(parseRetryAfterMs(' 0 ', now)).toBe(0);
  });

  it('reads an HTTP date relative to now, a past date meaning now', () => {
    expect(parseRetryAfterMs('Sat, 28 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfterMs('Sat, 28 Nov 2026 09:00:00 GMT', now)).toBe(0);
  });

  it('ignores absent or unreadable values and caps absurd ones', () => {
    expect(parseRetryAfterMs(null, now)).toBeUndefined();
    expect(parseRetryAfterMs('', now)).toBeUndefined();
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(parseRetryAfterMs('-5', now)).toBeUndefined();
    expect(parseRetryAfterMs('86400', now)).toBe(MAX_RETRY_AFTER_MS);
  });
});
