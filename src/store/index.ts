export type { ListOptions, MetadataDoc, MetadataPage, MetadataStore } from './metadata-port.js';
export { StoreErrors } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export { LmdbMetadataStore, createLmdbMetadataStore } from './embedded/lmdb-metadata-store.js';
export type {
  Checkpoint,
  KeyValue,
  OutboxRecord,
  PartitionState,
  ScanOptions,
  StateCommit,
  StateStore,
} from './state-port.js';
export { LmdbStateStore, createLmdbStateStore } from './embedded/lmdb-state-store.js';
export { MemoryStateStore, createMemoryStateStore } from './memory/memory-state-store.js';
