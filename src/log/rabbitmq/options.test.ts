import { describe, expect, it } from 'vitest';
import { isKairosError } from '../../core/index.js';
import {
  RABBITMQ_LOG_DEFAULTS,
  fenceQueueName,
  resolveRabbitMqEventLogOptions,
  streamQueueArguments,
  streamQueueName,
  type RabbitMqEventLogOptions,
} from './options.js';

const base = { url: 'amqp://guest:guest@127.0.0.1:5672', namespace: 'kairos' };

function invalidField(options: RabbitMqEventLogOptions): unknown {
  try {
    resolveRabbitMqEventLogOptions(options);
  } catch (err) {
    expect(isKairosError(err, 'LOG_INVALID_OPTIONS')).toBe(true);
    return (err as { details?: { field?: unknown } }).details?.field;
  }
  throw new Error('expected LOG_INVALID_OPTIONS');
}

describe('resolveRabbitMqEventLogOptions', () => {
  it('fills the documented defaults and freezes', () => {
    const resolved = resolveRabbitMqEventLogOptions(base);
    expect(resolved).toMatchObject({
      mode: 'writer',
      partitionCount: RABBITMQ_LOG_DEFAULTS.partitionCount,
      retentionMs: Infinity,
      retentionBytes: Infinity,
      segmentBytes: undefined,
      maxRecordBytes: 1024 * 1024,
      publishTimeoutMs: 15_000,
      readerPrefetch: 1_000,
      connectionName: 'kairos-log kairos',
      allowUntestedBroker: false,
    });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('accepts durations as strings', () => {
    const resolved = resolveRabbitMqEventLogOptions({
      ...base,
      retentionMs: '7d',
      publishTimeoutMs: '2s',
      readerIdleMs: 250,
    });
    expect(resolved.retentionMs).toBe(7 * 86_400_000);
    expect(resolved.publishTimeoutMs).toBe(2_000);
    expect(resolved.readerIdleMs).toBe(250);
  });

  it('names the invalid field', () => {
    expect(invalidField({ ...base, url: 'http://x' })).toBe('url');
    expect(invalidField({ ...base, namespace: '' })).toBe('namespace');
    expect(invalidField({ ...base, namespace: 'has space' })).toBe('namespace');
    expect(invalidField({ ...base, namespace: 'amq.x' })).toBe('namespace');
    expect(invalidField({ ...base, namespace: 'x'.repeat(201) })).toBe('namespace');
    expect(invalidField({ ...base, partitionCount: 0 })).toBe('partitionCount');
    expect(invalidField({ ...base, partitionCount: 1.5 })).toBe('partitionCount');
    expect(invalidField({ ...base, retentionMs: '500ms' })).toBe('retentionMs');
    expect(invalidField({ ...base, retentionMs: 'soon' })).toBe('retentionMs');
    expect(invalidField({ ...base, retentionBytes: -1 })).toBe('retentionBytes');
    expect(invalidField({ ...base, segmentBytes: 4_000_000_000 })).toBe('segmentBytes');
    expect(invalidField({ ...base, readerPrefetch: 70_000 })).toBe('readerPrefetch');
    expect(invalidField({ ...base, mode: 'both' as 'writer' })).toBe('mode');
  });
});

describe('queue names and arguments', () => {
  it('derives one stream queue and one fence per partition', () => {
    expect(streamQueueName('kairos', 3)).toBe('kairos.log.p3');
    expect(fenceQueueName('kairos', 3)).toBe('kairos.log.p3.writer');
  });

  it('maps retention to stream arguments, whole seconds for x-max-age', () => {
    expect(streamQueueArguments(resolveRabbitMqEventLogOptions(base))).toEqual({ 'x-queue-type': 'stream' });
    expect(
      streamQueueArguments(
        resolveRabbitMqEventLogOptions({ ...base, retentionMs: 1_500, retentionBytes: 1_000_000, segmentBytes: 4_096 }),
      ),
    ).toEqual({
      'x-queue-type': 'stream',
      'x-max-age': '2s',
      'x-max-length-bytes': 1_000_000,
      'x-stream-max-segment-size-bytes': 4_096,
    });
  });
});
