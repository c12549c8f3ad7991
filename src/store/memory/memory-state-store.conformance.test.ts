import { runStateStoreConformance } from '../state-conformance.js';
import { MemoryStateStore } from './memory-state-store.js';

runStateStoreConformance({
  name: 'memory',
  create: () => {
    const store = new MemoryStateStore();
    return Promise.resolve({ store, another: () => Promise.resolve(store.another()) });
  },
  skip: [
    {
      reason: 'not durable by design: state lives in process memory',
      tests: ['a kill -9 during commits leaves the last committed state, never a mix'],
    },
  ],
});
