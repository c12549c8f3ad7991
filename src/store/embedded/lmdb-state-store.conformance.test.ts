import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStateStoreConformance } from '../state-conformance.js';
import { LmdbStateStore } from './lmdb-state-store.js';

// Both flush modes: deferred (the default; commits reach the disk by a timer) and every commit flushed.
for (const flushIntervalMs of [undefined, 0]) {
  runStateStoreConformance({
    name: `embedded (lmdb${flushIntervalMs === 0 ? ', flush every commit' : ', deferred flush'})`,
    create: () => {
      const dir = mkdtempSync(join(tmpdir(), 'kairos-state-'));
      const options = { dir, ...(flushIntervalMs === undefined ? {} : { flushIntervalMs }) };
      return Promise.resolve({
        store: new LmdbStateStore(options),
        // A second opener in the same process, as a worker thread opens it.
        another: () => Promise.resolve(new LmdbStateStore({ ...options, primary: false })),
        crash: { module: fileURLToPath(new URL('./lmdb-state-store.factory.ts', import.meta.url)), options },
      });
    },
  });
}
