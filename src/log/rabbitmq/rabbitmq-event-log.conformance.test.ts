import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { EVENT_LOG_CONFORMANCE_TESTS as T, runEventLogConformance, type EventLogTestContext } from '../conformance.js';
import type { EventLog } from '../port.js';
import { deleteRabbitMqEventLog } from './admin.js';
import { createRabbitMqEventLog } from './rabbitmq-event-log.js';
import { TEST_RABBITMQ_URL, ensureRabbitMq } from './testing.js';

beforeAll(ensureRabbitMq, 300_000);

// Every test gets its own namespace (the suite's is unique per test); all their queues go at the end.
const namespaces = new Set<string>();
afterAll(async () => {
  for (const namespace of namespaces) await deleteRabbitMqEventLog({ url: TEST_RABBITMQ_URL, namespace });
}, 120_000);

const options = (ctx: EventLogTestContext) => {
  const namespace = `kairos-test-${ctx.namespace}`;
  namespaces.add(namespace);
  return { url: TEST_RABBITMQ_URL, namespace, partitionCount: ctx.partitionCount };
};
const open = (ctx: EventLogTestContext) => createRabbitMqEventLog({ ...options(ctx), logger: ctx.logger });

/**
 * RabbitMQ applies retention by itself, asynchronously, when a stream rolls to a new segment: wait until
 * every partition's start has stopped moving.
 */
async function settleRetention(log: EventLog): Promise<void> {
  const snapshot = async () =>
    JSON.stringify(await Promise.all(Array.from({ length: log.partitionCount }, (_, p) => log.offsets(p))));
  let before = await snapshot();
  for (let i = 0; i < 50; i++) {
    await new Promise((resolve) => setTimeout(resolve, 150));
    const now = await snapshot();
    if (now === before) return;
    before = now;
  }
  throw new Error('retention did not settle within 7.5 s');
}

runEventLogConformance({
  name: 'rabbitmq',
  create: open,
  reopen: open,
  crash: {
    module: fileURLToPath(new URL('./rabbitmq-event-log.ts', import.meta.url)),
    exportName: 'createRabbitMqEventLog',
    options,
    trials: 12,
  },
  retention: {
    // Tiny segments and byte retention so a few rounds of appends roll segments and drop old ones; readers
    // that sit idle release their consumer quickly, so the early reader notices the new start.
    create: (ctx) =>
      createRabbitMqEventLog({
        ...options(ctx),
        segmentBytes: 4 * 1024,
        retentionBytes: 16 * 1024,
        readerIdleMs: 200,
        logger: ctx.logger,
      }),
    enforce: settleRetention,
  },
  skip: [
    {
      reason:
        'the adapter owns no file that a crash could tear: the broker writes the stream segments, and the crash test covers a killed writer process',
      tests: [T.torn],
    },
  ],
});
