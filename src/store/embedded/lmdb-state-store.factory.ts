// Factory used by conformance child processes (crash tests) to build this adapter from JSON options.
import { LmdbStateStore, type LmdbStateStoreOptions } from './lmdb-state-store.js';

export default function create(options: LmdbStateStoreOptions): Promise<LmdbStateStore> {
  return Promise.resolve(new LmdbStateStore(options));
}
