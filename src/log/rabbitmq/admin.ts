import { LogErrors } from '../errors.js';
import { resolveRabbitMqEventLogOptions, streamQueueName } from './options.js';
import { AmqpSession, brokerCode, loadAmqplib } from './session.js';

/**
 * Deletes every stream queue of a namespace (`<namespace>.log.p0`, `p1`, … up to the first missing one):
 * all its records are gone. Writer fences are not touched — they vanish with their writer's connection;
 * deleting the streams under a live writer makes its appends fail (LOG_UNAVAILABLE).
 * Resolves the number of queues deleted.
 */
export async function deleteRabbitMqEventLog(options: {
  readonly url: string;
  readonly namespace: string;
}): Promise<number> {
  const resolved = resolveRabbitMqEventLogOptions({
    ...options,
    mode: 'reader',
    connectionName: `kairos-log-admin ${options.namespace}`,
  });
  const session = new AmqpSession(await loadAmqplib(), resolved);
  try {
    const link = await session.connect();
    let deleted = 0;
    for (let partition = 0; ; partition++) {
      const channel = await session.channel(link);
      const queue = streamQueueName(resolved.namespace, partition);
      try {
        await channel.checkQueue(queue);
      } catch (err) {
        if (brokerCode(err) === 404) return deleted;
        throw LogErrors.create('LOG_UNAVAILABLE', `Cannot inspect ${queue}`, { cause: err });
      }
      await channel.deleteQueue(queue);
      await channel.close().catch(() => undefined);
      deleted++;
    }
  } finally {
    await session.close();
  }
}
