// Factory used by conformance child processes (crash tests) to build this adapter from JSON options.
import { createRedisStateStore, type RedisStateStore } from './redis-state-store.js';
import type { RedisStateStoreOptions } from './options.js';

export default function create(options: RedisStateStoreOptions): Promise<RedisStateStore> {
  return createRedisStateStore(options);
}
