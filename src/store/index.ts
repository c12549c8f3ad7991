export type { ListOptions, MetadataDoc, MetadataPage, MetadataStore } from './metadata-port.js';
export { StoreErrors } from './errors.js';
export type { StoreErrorCode } from './errors.js';
export { LmdbMetadataStore, createLmdbMetadataStore } from './embedded/lmdb-metadata-store.js';
