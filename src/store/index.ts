export type { ListOptions, MetadataDoc, MetadataPage, MetadataStore } from './metadata-port.js';
export { deleteAll } from './metadata-port.js';
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
export { RedisStateStore, createRedisStateStore } from './redis/redis-state-store.js';
export { REDIS_STATE_STORE_DEFAULTS, resolveRedisStateStoreOptions } from './redis/options.js';
export type { RedisStateStoreOptions, ResolvedRedisStateStoreOptions } from './redis/options.js';
export { PostgresMetadataStore, createPostgresMetadataStore } from './postgres/postgres-metadata-store.js';
export { POSTGRES_METADATA_STORE_DEFAULTS, resolvePostgresMetadataStoreOptions } from './postgres/options.js';
export type { PostgresMetadataStoreOptions, ResolvedPostgresMetadataStoreOptions } from './postgres/options.js';
