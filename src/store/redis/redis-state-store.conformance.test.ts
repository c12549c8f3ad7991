import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { runStateStoreConformance } from '../state-conformance.js';
import { createRedisStateStore } from './redis-state-store.js';
import { ensureRedis, TEST_REDIS_URL, uniqueNamespace } from './testing.js';

const namespaces: string[] = [];

beforeAll(() => ensureRedis());
afterAll(async () => {
  // Every test got its own namespace: remove them all.
  for (const namespace of namespaces) {
    const store = await createRedisStateStore({ url: TEST_REDIS_URL, namespace });
    await store.drop();
    await store.close();
  }
});

runStateStoreConformance({
  name: 'redis',
  create: async () => {
    const namespace = uniqueNamespace('conformance');
    namespaces.push(namespace);
    const options = { url: TEST_REDIS_URL, namespace };
    return {
      store: await createRedisStateStore(options),
      another: () => createRedisStateStore(options),
      crash: { module: fileURLToPath(new URL('./redis-state-store.factory.ts', import.meta.url)), options },
    };
  },
});
