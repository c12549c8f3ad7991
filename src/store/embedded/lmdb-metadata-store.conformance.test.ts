import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runMetadataStoreConformance } from '../metadata-conformance.js';
import { LmdbMetadataStore } from './lmdb-metadata-store.js';

runMetadataStoreConformance({
  name: 'embedded (lmdb)',
  create: () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-meta-'));
    return Promise.resolve({
      store: new LmdbMetadataStore({ dir }),
      reopen: () => Promise.resolve(new LmdbMetadataStore({ dir })),
    });
  },
});
