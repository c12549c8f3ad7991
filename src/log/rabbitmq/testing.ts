// Test support (used by the RabbitMQ adapter's conformance and integration tests and its benchmark,
// not by the engine).
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';

export const TEST_RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';
const servicesScript = fileURLToPath(new URL('../../../scripts/services.sh', import.meta.url));

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 2_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Makes sure the shared test RabbitMQ runs (starting the local services when it does not); throws loudly otherwise. */
export async function ensureRabbitMq(): Promise<void> {
  if (await portAnswers(5672)) return;
  try {
    execFileSync('bash', [servicesScript], { stdio: ['ignore', 'inherit', 'inherit'], timeout: 300_000 });
  } catch (error) {
    throw new Error('RabbitMQ at 127.0.0.1:5672 is down and scripts/services.sh could not start it', { cause: error });
  }
  if (!(await portAnswers(5672)))
    throw new Error('RabbitMQ at 127.0.0.1:5672 still does not answer after scripts/services.sh');
}

/** A namespace no other test run uses. */
export function uniqueNamespace(label: string): string {
  return `kairos-test-${label}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
