import { describe, expect, it } from 'vitest';
import { ManualClock, isKairosError } from '../../core/index.js';
import { EMBEDDED_LOG_DEFAULTS, resolveEmbeddedEventLogOptions } from './options.js';

function codeAndField(fn: () => unknown): [string | undefined, unknown] {
  try {
    fn();
  } catch (err) {
    if (isKairosError(err)) return [err.code, err.details?.field];
    throw err;
  }
  return [undefined, undefined];
}

describe('resolveEmbeddedEventLogOptions', () => {
  it('fills documented defaults and freezes', () => {
    const resolved = resolveEmbeddedEventLogOptions({ dir: '/tmp/x' });
    expect(resolved).toMatchObject({
      dir: '/tmp/x',
      mode: 'writer',
      partitionCount: 4,
      segmentBytes: 64 * 1024 * 1024,
      retentionMs: Number.POSITIVE_INFINITY,
      retentionBytes: Number.POSITIVE_INFINITY,
      retentionCheckIntervalMs: 60_000,
      maxPendingBytes: 64 * 1024 * 1024,
      maxRecordBytes: 1024 * 1024,
      pollIntervalMs: 5,
      shared: undefined,
    });
    expect(resolved).toMatchObject(EMBEDDED_LOG_DEFAULTS);
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(typeof resolved.clock.now()).toBe('number');
  });

  it('accepts durations and explicit values', () => {
    const clock = new ManualClock(5);
    const resolved = resolveEmbeddedEventLogOptions({
      dir: 'd',
      partitionCount: 16,
      retentionMs: '7d',
      retentionCheckIntervalMs: '30s',
      retentionBytes: 1_000_000,
      clock,
    });
    expect(resolved.retentionMs).toBe(7 * 86_400_000);
    expect(resolved.retentionCheckIntervalMs).toBe(30_000);
    expect(resolved.retentionBytes).toBe(1_000_000);
    expect(resolved.partitionCount).toBe(16);
    expect(resolved.clock).toBe(clock);
  });

  it('takes a shared buffer only in reader mode', () => {
    const shared = new SharedArrayBuffer(64);
    expect(resolveEmbeddedEventLogOptions({ dir: 'd', mode: 'reader', shared }).shared).toBe(shared);
    expect(codeAndField(() => resolveEmbeddedEventLogOptions({ dir: 'd', shared }))).toEqual([
      'LOG_INVALID_OPTIONS',
      'shared',
    ]);
  });

  it.each([
    [{ dir: '' }, 'dir'],
    [{ dir: 'd', partitionCount: 0 }, 'partitionCount'],
    [{ dir: 'd', partitionCount: 2.5 }, 'partitionCount'],
    [{ dir: 'd', segmentBytes: -1 }, 'segmentBytes'],
    [{ dir: 'd', retentionMs: 'soon' }, 'retentionMs'],
    [{ dir: 'd', retentionMs: 0 }, 'retentionMs'],
    [{ dir: 'd', retentionBytes: 0 }, 'retentionBytes'],
    [{ dir: 'd', maxPendingBytes: Number.NaN }, 'maxPendingBytes'],
    [{ dir: 'd', maxRecordBytes: 2 ** 30 }, 'maxRecordBytes'],
    [{ dir: 'd', mode: 'both' as 'writer' }, 'mode'],
  ])('rejects %j with LOG_INVALID_OPTIONS naming the field', (options, field) => {
    expect(codeAndField(() => resolveEmbeddedEventLogOptions(options))).toEqual(['LOG_INVALID_OPTIONS', field]);
  });
});
