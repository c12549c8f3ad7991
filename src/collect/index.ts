export { createCollector, IDENTITY_COLLECTION } from './collector.js';
export { checkCompatibility, diffSchemas, COMPATIBLE_LENIENT, COMPATIBLE_STRICT } from './compatibility.js';
export type { SchemaDifference } from './compatibility.js';
export { DEAD_LETTER_COLLECTION, DEAD_LETTER_INDEX_COLLECTION } from './dead-letters.js';
export { decompressBody, mayContainForbiddenKeys, parseContentEncoding, parseJsonBody } from './decode.js';
export type { ContentEncoding } from './decode.js';
export { CollectErrors, MESSAGE_ERROR_CODES } from './errors.js';
export type { CollectErrorCode, MessageErrorCode } from './errors.js';
export { resolveCollectorOptions } from './options.js';
export type { CollectorOptions, ResolvedCollectorOptions } from './options.js';
export { scanRequestBody } from './scan.js';
export type { ScannedBody } from './scan.js';
export { SCHEMA_COLLECTION } from './schema-registry.js';
export { computeEventTimeMs, parseIsoTimestamp } from './timestamp.js';
export { COMPATIBILITY_MODES, COMPATIBILITY_POLICIES } from './types.js';
export type {
  Collector,
  CollectorDeps,
  CollectorStats,
  CompatibilityMode,
  CompatibilityPolicy,
  CompatibilityViolation,
  DeadLetter,
  DeadLetterApi,
  DeadLetterPage,
  DeadLetterQuery,
  IngestContext,
  IngestResult,
  PreparedBatch,
  RegisterSchemaResult,
  Rejection,
  ReplayRequest,
  ReplayResult,
  SchemaRegistryApi,
  SchemaSubject,
  SchemaVersionInfo,
} from './types.js';
