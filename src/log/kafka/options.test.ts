import { describe, expect, it } from 'vitest';
import { isKairosError } from '../../core/index.js';
import {
  KAFKA_LOG_DEFAULTS,
  resolveKafkaEventLogOptions,
  topicConfigEntries,
  type KafkaEventLogOptions,
} from './options.js';

const base = { brokers: ['127.0.0.1:9092'], namespace: 'kairos' };

function invalidField(options: KafkaEventLogOptions): unknown {
  try {
    resolveKafkaEventLogOptions(options);
  } catch (err) {
    expect(isKairosError(err, 'LOG_INVALID_OPTIONS')).toBe(true);
    return (err as { details?: { field?: unknown } }).details?.field;
  }
  throw new Error('expected LOG_INVALID_OPTIONS');
}

describe('resolveKafkaEventLogOptions', () => {
  it('fills the documented defaults, names the topic and freezes', () => {
    const resolved = resolveKafkaEventLogOptions(base);
    expect(resolved).toMatchObject({
      topic: 'kairos.log',
      mode: 'writer',
      partitionCount: KAFKA_LOG_DEFAULTS.partitionCount,
      replicationFactor: -1,
      retentionMs: Infinity,
      maxBatchBytes: 900 * 1024,
      clientId: 'kairos-log',
    });
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(topicConfigEntries(resolved)).toEqual([]);
  });

  it('maps retention to topic configuration', () => {
    expect(
      topicConfigEntries(
        resolveKafkaEventLogOptions({ ...base, retentionMs: '7d', retentionBytes: 1_000, segmentBytes: 4_096 }),
      ),
    ).toEqual([
      { name: 'retention.ms', value: String(7 * 86_400_000) },
      { name: 'retention.bytes', value: '1000' },
      { name: 'segment.bytes', value: '4096' },
    ]);
  });

  it('names the invalid field', () => {
    expect(invalidField({ ...base, brokers: [] })).toBe('brokers');
    expect(invalidField({ ...base, brokers: ['no-port'] })).toBe('brokers');
    expect(invalidField({ ...base, namespace: 'has:colon' })).toBe('namespace');
    expect(invalidField({ ...base, partitionCount: 0 })).toBe('partitionCount');
    expect(invalidField({ ...base, replicationFactor: 0 })).toBe('replicationFactor');
    expect(invalidField({ ...base, segmentBytes: 10 })).toBe('segmentBytes');
    expect(invalidField({ ...base, mode: 'x' as 'writer' })).toBe('mode');
  });
});
