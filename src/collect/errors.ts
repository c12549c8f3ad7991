import { defineErrors } from '../core/index.js';

/**
 * Error codes of the collect capability (mirrored in docs/errors.md).
 *
 * Two families: request-level codes end the request with their HTTP status and store nothing;
 * per-message codes (status 422 here, never sent as an HTTP status) appear in the `rejected` list of a
 * 200 answer and on the dead letter the message is kept as.
 */
export const CollectErrors = defineErrors('collect', {
  // Request level.
  COLLECT_INVALID_JSON: { status: 400, message: 'The request body is not valid JSON' },
  COLLECT_INVALID_COMPRESSION: { status: 400, message: 'The request body is not valid gzip/deflate data' },
  COLLECT_UNSUPPORTED_ENCODING: { status: 415, message: 'Unsupported Content-Encoding (use gzip, deflate or none)' },
  COLLECT_PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body exceeds the size limit' },
  COLLECT_MISSING_WRITE_KEY: { status: 401, message: 'No write key (HTTP Basic username or `writeKey` in the body)' },
  COLLECT_INVALID_WRITE_KEY: { status: 401, message: 'Unknown write key' },
  COLLECT_INVALID_BODY: { status: 400, message: 'The request body must be a JSON object' },
  COLLECT_INVALID_BATCH: { status: 400, message: '`batch` must be a non-empty array of messages' },
  COLLECT_OVERLOADED: { status: 503, retryable: true, message: 'The collector is overloaded; retry later' },
  COLLECT_UNAVAILABLE: { status: 503, retryable: true, message: 'Storage is temporarily unavailable; retry later' },
  COLLECT_CLOSED: { status: 503, retryable: true, message: 'The collector is shutting down' },
  // Per message (a `rejected` entry and a dead letter).
  COLLECT_INVALID_MESSAGE: { status: 422, message: 'The message is not a JSON object' },
  COLLECT_MESSAGE_TOO_LARGE: { status: 422, message: 'The message exceeds the per-message size limit' },
  COLLECT_MISSING_IDENTITY: { status: 422, message: 'The message needs a userId or an anonymousId' },
  COLLECT_INVALID_TYPE: { status: 422, message: 'Unknown or mismatched message type' },
  COLLECT_MISSING_FIELD: { status: 422, message: 'A field required by this message type is missing' },
  COLLECT_INVALID_FIELD: { status: 422, message: 'A field has the wrong type or length' },
  COLLECT_INVALID_TIMESTAMP: { status: 422, message: 'A timestamp is not an ISO-8601 date-time' },
  COLLECT_FORBIDDEN_KEY: { status: 422, message: 'Keys named __proto__, constructor or prototype are not allowed' },
  COLLECT_TOO_DEEP: { status: 422, message: 'The message nests objects/arrays too deeply' },
  COLLECT_SCHEMA_VIOLATION: { status: 422, message: 'The properties do not match the registered schema' },
  // Schema registry and dead letters (admin routes).
  COLLECT_SCHEMA_INVALID: { status: 400, message: 'Not a valid JSON Schema' },
  COLLECT_SCHEMA_INCOMPATIBLE: { status: 409, message: 'The schema is incompatible with earlier versions' },
  COLLECT_SCHEMA_NOT_FOUND: { status: 404, message: 'No schema is registered for this event' },
  COLLECT_SCHEMA_VERSION_NOT_FOUND: { status: 404, message: 'No such schema version' },
  COLLECT_INVALID_COMPATIBILITY: { status: 400, message: 'Unknown compatibility mode or policy' },
  COLLECT_INVALID_REPLAY: { status: 400, message: 'Say which dead letters to replay: ids, filter or all' },
  COLLECT_INVALID_OPTIONS: { status: 500, message: 'Invalid collector options' },
});
export type CollectErrorCode = keyof typeof CollectErrors.specs;

/** The per-message codes (they never end a request). */
export const MESSAGE_ERROR_CODES = [
  'COLLECT_INVALID_MESSAGE',
  'COLLECT_MESSAGE_TOO_LARGE',
  'COLLECT_MISSING_IDENTITY',
  'COLLECT_INVALID_TYPE',
  'COLLECT_MISSING_FIELD',
  'COLLECT_INVALID_FIELD',
  'COLLECT_INVALID_TIMESTAMP',
  'COLLECT_FORBIDDEN_KEY',
  'COLLECT_TOO_DEEP',
  'COLLECT_SCHEMA_VIOLATION',
] as const satisfies readonly CollectErrorCode[];
export type MessageErrorCode = (typeof MESSAGE_ERROR_CODES)[number];
