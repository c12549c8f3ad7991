import { fileURLToPath } from 'node:url';
import { Kafka } from 'kafkajs';
import { afterAll } from 'vitest';
import { EVENT_LOG_CONFORMANCE_TESTS as T, runEventLogConformance, type EventLogTestContext } from '../conformance.js';
import type { EventLog } from '../port.js';
import { createKafkaEventLog } from './kafka-event-log.js';
import type { KafkaEventLog } from './types.js';

// The only environment read in the tests of this adapter: where a Kafka cluster is (none on these machines).
// eslint-disable-next-line no-restricted-properties -- test files may read KAIROS_TEST_KAFKA_BROKERS (brief)
const brokers = (process.env.KAIROS_TEST_KAFKA_BROKERS ?? '')
  .split(',')
  .map((b) => b.trim())
  .filter((b) => b.length > 0);
const NO_BROKER = 'no Kafka broker: set KAIROS_TEST_KAFKA_BROKERS';

const topics = new Set<string>();
afterAll(async () => {
  if (brokers.length === 0 || topics.size === 0) return;
  const admin = new Kafka({ clientId: 'kairos-test-cleanup', brokers }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: [...topics] });
  } finally {
    await admin.disconnect();
  }
}, 120_000);

const options = (ctx: EventLogTestContext) => {
  const namespace = `kairos-test-${ctx.namespace}`;
  topics.add(`${namespace}.log`);
  return { brokers, namespace, partitionCount: ctx.partitionCount, replicationFactor: 1 };
};
const open = (ctx: EventLogTestContext) => createKafkaEventLog({ ...options(ctx), logger: ctx.logger });

/**
 * Kafka deletes old segments on the broker's schedule (log.retention.check.interval.ms, 5 min by
 * default), which a test cannot trigger: move each partition's log start forward the way retention does,
 * with DeleteRecords, keeping the newest 20 records.
 */
async function deleteOldRecords(log: EventLog): Promise<void> {
  const admin = new Kafka({ clientId: 'kairos-test-retention', brokers }).admin();
  await admin.connect();
  try {
    const topic = (log as KafkaEventLog).topic;
    const partitions = [];
    for (let p = 0; p < log.partitionCount; p++) {
      const { start, end } = await log.offsets(p);
      if (end - start > 20) partitions.push({ partition: p, offset: String(end - 20) });
    }
    if (partitions.length > 0) await admin.deleteTopicRecords({ topic, partitions });
  } finally {
    await admin.disconnect();
  }
}

runEventLogConformance({
  name: 'kafka',
  create: open,
  reopen: open,
  crash: {
    module: fileURLToPath(new URL('./kafka-event-log.ts', import.meta.url)),
    exportName: 'createKafkaEventLog',
    options,
    trials: 10,
  },
  retention: {
    create: (ctx) => createKafkaEventLog({ ...options(ctx), readerIdleMs: 200, logger: ctx.logger }),
    enforce: deleteOldRecords,
  },
  skip:
    brokers.length === 0
      ? [{ reason: NO_BROKER, tests: Object.values(T) }]
      : [
          {
            reason: 'the adapter owns no file that a crash could tear: the broker writes the log segments',
            tests: [T.torn],
          },
        ],
});
