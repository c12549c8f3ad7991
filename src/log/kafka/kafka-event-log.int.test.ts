import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isKairosError } from '../../core/index.js';
import { createKafkaEventLog } from './kafka-event-log.js';

/** A local port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('Kafka event log without a broker', () => {
  it('loads kafkajs lazily and fails to open with LOG_UNAVAILABLE (retryable) when no broker answers', async () => {
    const port = await closedPort();
    let caught: unknown;
    try {
      await createKafkaEventLog({
        brokers: [`127.0.0.1:${port}`],
        namespace: 'kairos-test-nobroker',
        connectTimeoutMs: 300,
      });
    } catch (err) {
      caught = err;
    }
    expect(isKairosError(caught, 'LOG_UNAVAILABLE')).toBe(true);
    expect((caught as { retryable: boolean }).retryable).toBe(true);
  }, 120_000);
});
