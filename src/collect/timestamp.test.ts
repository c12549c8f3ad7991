import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { computeEventTimeMs, formatIsoTimestamp, parseIsoTimestamp } from './timestamp.js';

describe('parseIsoTimestamp', () => {
  it('reads the ISO-8601 forms SDKs send', () => {
    expect(parseIsoTimestamp('2026-11-28T07:48:30.415Z')).toBe(Date.UTC(2026, 10, 28, 7, 48, 30, 415));
    expect(parseIsoTimestamp('2026-11-28T07:48:30Z')).toBe(Date.UTC(2026, 10, 28, 7, 48, 30));
    expect(parseIsoTimestamp('2026-11-28T07:48:30.415123Z')).toBe(Date.UTC(2026, 10, 28, 7, 48, 30, 415));
    expect(parseIsoTimestamp('2026-11-28T09:48:30+02:00')).toBe(Date.UTC(2026, 10, 28, 7, 48, 30));
    expect(parseIsoTimestamp('2026-11-28T02:48:30-0500')).toBe(Date.UTC(2026, 10, 28, 7, 48, 30));
    expect(parseIsoTimestamp('2026-11-28 07:48:30Z')).toBe(Date.UTC(2026, 10, 28, 7, 48, 30));
    expect(parseIsoTimestamp('2026-11-28')).toBe(Date.UTC(2026, 10, 28));
    expect(parseIsoTimestamp('2024-02-29T00:00:00.000Z')).toBe(Date.UTC(2024, 1, 29));
  });

  it('reads a date-time without an offset as UTC, whatever the server time zone', () => {
    expect(parseIsoTimestamp('2026-11-28T07:48:30')).toBe(Date.UTC(2026, 10, 28, 7, 48, 30));
  });

  it('refuses what Date.parse would guess at', () => {
    for (const text of [
      'March 7, 2020',
      '2026-02-30T00:00:00.000Z',
      '2023-02-29T00:00:00Z',
      '2026-13-01T00:00:00Z',
      '2026-11-28T24:00:00Z',
      '2026-11-28T07:60:00Z',
      '2026-11-28T07:48:30.415+25:00',
      '1795852110415',
      '2026/11/28',
      '',
      'x'.repeat(24),
      '2026-11-28T07:48:30.41xZ',
    ]) {
      expect(parseIsoTimestamp(text), text).toBeNaN();
    }
  });

  it('agrees with Date for every canonical timestamp', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1000, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }), (ms) => {
        expect(parseIsoTimestamp(new Date(ms).toISOString())).toBe(ms);
      }),
    );
  });
});

describe('formatIsoTimestamp', () => {
  it('equals Date#toISOString', () => {
    fc.assert(
      fc.property(fc.integer({ min: -62_000_000_000_000, max: 300_000_000_000_000 }), (ms) => {
        expect(formatIsoTimestamp(ms)).toBe(new Date(ms).toISOString());
      }),
      { numRuns: 2000 },
    );
    expect(formatIsoTimestamp(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(formatIsoTimestamp(-1)).toBe('1969-12-31T23:59:59.999Z');
  });
});

describe('computeEventTimeMs (Segment rule)', () => {
  const receivedAt = Date.UTC(2026, 10, 28, 12, 0, 0);

  it('removes the client clock offset when sentAt is known', () => {
    // Client clock 1 h ahead: it says sent at 13:00:00, event at 12:59:50 → 10 s before receipt.
    const sentAt = Date.UTC(2026, 10, 28, 13, 0, 0);
    const timestamp = Date.UTC(2026, 10, 28, 12, 59, 50);
    expect(computeEventTimeMs(timestamp, sentAt, receivedAt)).toBe(receivedAt - 10_000);
  });

  it('trusts the timestamp without sentAt, and uses the receive time without a timestamp', () => {
    expect(computeEventTimeMs(Date.UTC(2020, 0, 1), undefined, receivedAt)).toBe(Date.UTC(2020, 0, 1));
    expect(computeEventTimeMs(undefined, Date.UTC(2020, 0, 1), receivedAt)).toBe(receivedAt);
    expect(computeEventTimeMs(undefined, undefined, receivedAt)).toBe(receivedAt);
  });

  it('keeps a long offline delay (mobile queues) intact', () => {
    const sentAt = receivedAt - 50; // clocks agree; 50 ms in transit
    const timestamp = receivedAt - 2 * 86_400_000; // queued for two days
    expect(computeEventTimeMs(timestamp, sentAt, receivedAt)).toBe(timestamp + 50);
  });

  it('is NaN when the correction leaves the date range', () => {
    expect(computeEventTimeMs(-8.64e15, 8.64e15, receivedAt)).toBeNaN();
  });
});
