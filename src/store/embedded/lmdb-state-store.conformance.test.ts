import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runStateStoreConformance } from '../state-conformance.js';
import { LmdbStateStore } from './lmdb-state-store.js';

runStateStoreConformance({
  name: 'embedded (lmdb)',
  create: () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-state-'));
    return Promise.resolve({
      store: new LmdbStateStore({ dir }),
      another: () => Promise.resolve(new LmdbStateStore({ dir })),
      crash: { module: fileURLToPath(new URL('./lmdb-state-store.factory.ts', import.meta.url)), options: { dir } },
    });
  },
});
