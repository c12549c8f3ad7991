import { isKairosError, type Logger } from '../../core/index.js';
import type { PartitionState, StateStore } from '../../store/index.js';

/**
 * The worker's StateStore, with its ownership changes logged: which token each acquire got, and for a
 * refused commit the token that holds the partition now. Fencing is silent by design (a fenced task
 * just stops); an operator reading a worker's log should still see who took a partition over and when.
 */
export function withOwnershipLog(store: StateStore, owner: string, logger: Logger): StateStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property !== 'acquire') return bound(target, property, receiver);
      return async (partition: number, who: string): Promise<PartitionState> => {
        const handle = await target.acquire(partition, who);
        logger.info({ partition, token: handle.token, owner }, 'partition acquired');
        return wrapHandle(handle, owner, logger);
      };
    },
  });
}

function wrapHandle(handle: PartitionState, owner: string, logger: Logger): PartitionState {
  return new Proxy(handle, {
    get(target, property, receiver) {
      if (property === 'commit') {
        return async (commit: Parameters<PartitionState['commit']>[0]) => {
          try {
            await target.commit(commit);
          } catch (error) {
            if (isKairosError(error, 'STORE_FENCED')) {
              logger.warn(
                { partition: target.partition, token: target.token, owner, ...error.details },
                'commit refused: the partition has a newer owner',
              );
            }
            throw error;
          }
        };
      }
      if (property === 'release') {
        return async () => {
          await target.release();
          logger.info({ partition: target.partition, token: target.token, owner }, 'partition released');
        };
      }
      return bound(target, property, receiver);
    },
  });
}

/** The target's own property, methods bound to it (so `this` inside them is never the proxy). */
function bound(target: object, property: string | symbol, receiver: unknown): unknown {
  const value = Reflect.get(target, property, receiver) as unknown;
  return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
}
