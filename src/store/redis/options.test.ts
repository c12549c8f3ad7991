import { describe, expect, it } from 'vitest';
import { isKairosError } from '../../core/index.js';
import { lexRange, redisKeys } from './keys.js';
import { classifyRedisFailure, toStoreError } from './failures.js';
import { REDIS_STATE_STORE_DEFAULTS, resolveRedisStateStoreOptions, type RedisStateStoreOptions } from './options.js';

function codeAndField(fn: () => unknown): [string, unknown] | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isKairosError(error) ? [error.code, error.details?.field] : [String(error), undefined];
  }
}

describe('resolveRedisStateStoreOptions', () => {
  it('fills the defaults and freezes', () => {
    const resolved = resolveRedisStateStoreOptions({ url: 'redis://127.0.0.1:6379' });
    expect(resolved).toMatchObject({ ...REDIS_STATE_STORE_DEFAULTS, connectionName: 'kairos-state:kairos' });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(
      resolveRedisStateStoreOptions({ url: 'rediss://h:1/2', namespace: 'a.b:c-1', commandTimeoutMs: '2s' })
        .commandTimeoutMs,
    ).toBe(2000);
  });

  it.each([
    [{ url: 'http://x' }, 'url'],
    [{ url: 'redis://x', namespace: '' }, 'namespace'],
    [{ url: 'redis://x', namespace: 'a{b}' }, 'namespace'],
    [{ url: 'redis://x', namespace: 'x'.repeat(101) }, 'namespace'],
    [{ url: 'redis://x', commandTimeoutMs: 0 }, 'commandTimeoutMs'],
    [{ url: 'redis://x', connectTimeoutMs: 'soon' }, 'connectTimeoutMs'],
    [{ url: 'redis://x', getManyChunkSize: 0 }, 'getManyChunkSize'],
    [{ url: 'redis://x', autoPipelining: 'yes' as unknown as boolean }, 'autoPipelining'],
  ] as [RedisStateStoreOptions, string][])(
    'rejects %j with STORE_INVALID_OPTIONS naming the field',
    (options, field) => {
      expect(codeAndField(() => resolveRedisStateStoreOptions(options))).toEqual(['STORE_INVALID_OPTIONS', field]);
    },
  );
});

describe('Redis key layout', () => {
  it('puts every key of a namespace under one hash tag', () => {
    const k = redisKeys('ns');
    for (const key of [
      k.layout,
      k.index,
      k.epoch,
      k.value('s/u1'),
      k.fence(3),
      k.owner(3),
      k.checkpoint(3),
      k.outboxSeq(3),
      k.outbox(3),
    ]) {
      expect(key.startsWith('{ns}:')).toBe(true);
    }
    expect(k.value('é')).toBe('{ns}:v:é');
    expect(k.valuePrefixBytes).toBe(Buffer.byteLength('{ns}:v:'));
  });

  it('computes ZRANGEBYLEX bounds on bytes', () => {
    expect(lexRange('')).toEqual({ min: '-', max: '+' });
    expect(lexRange('', 'k')).toEqual({ min: Buffer.from('(k'), max: '+' });
    expect(lexRange('p/')).toEqual({
      min: Buffer.from('[p/'),
      max: Buffer.concat([Buffer.from('(p/'), Buffer.from([0xff])]),
    });
    // `after` below the prefix does not widen the range; above it, it starts the range.
    expect(lexRange('p/', 'a').min).toEqual(Buffer.from('[p/'));
    expect(lexRange('p/', 'p/x').min).toEqual(Buffer.from('(p/x'));
    // Byte order, not UTF-16 order: U+FFEE sorts below U+1F600 in UTF-8 but above it in UTF-16.
    expect(lexRange('p/', 'p/\uffee').min).toEqual(Buffer.from('(p/\uffee'));
  });
});

describe('Redis failures', () => {
  const replyError = (message: string) => Object.assign(new Error(message), { name: 'ReplyError' });

  it('classifies ioredis failures by what happened to the command', () => {
    expect(classifyRedisFailure(new Error("Stream isn't writeable and enableOfflineQueue options is false"))).toBe(
      'not-sent',
    );
    expect(classifyRedisFailure(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).toBe(
      'not-sent',
    );
    expect(classifyRedisFailure(new Error('Command timed out'))).toBe('no-reply');
    expect(classifyRedisFailure(new Error('Connection is closed.'))).toBe('no-reply');
    expect(classifyRedisFailure(replyError('LOADING Redis is loading the dataset in memory'))).toBe('refused');
    expect(classifyRedisFailure(replyError("OOM command not allowed when used memory > 'maxmemory'."))).toBe('refused');
    expect(
      classifyRedisFailure(replyError('WRONGTYPE Operation against a key holding the wrong kind of value')),
    ).toBeUndefined();
  });

  it('maps outages to a retryable STORE_UNAVAILABLE, ambiguous only for a write whose reply was lost', () => {
    const lost = toStoreError(new Error('Command timed out'), 'commit', true);
    expect(isKairosError(lost, 'STORE_UNAVAILABLE') && lost.retryable && lost.details?.ambiguous).toBe(true);
    const notSent = toStoreError(
      new Error("Stream isn't writeable and enableOfflineQueue options is false"),
      'commit',
      true,
    );
    expect(isKairosError(notSent, 'STORE_UNAVAILABLE') && notSent.details?.ambiguous).toBe(false);
    const bug = replyError('ERR wrong number of arguments');
    expect(toStoreError(bug, 'get', false)).toBe(bug);
  });
});
