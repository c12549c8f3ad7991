export { KairosError, CoreErrors, defineErrors, isKairosError } from './errors.js';
export type { CoreErrorCode, ErrorRegistry, ErrorSpec, KairosErrorOptions } from './errors.js';
export { ManualClock, systemClock } from './clock.js';
export type { Clock } from './clock.js';
export { formatDuration, isDurationString, parseDuration } from './duration.js';
export type { Duration } from './duration.js';
export { hash32, partitionFor } from './hash.js';
export { createLogger, silentLogger } from './logger.js';
export type { Logger, LoggerSettings } from './logger.js';
export {
  EVENT_TYPES,
  anonymousKey,
  decodePayload,
  encodePayload,
  isEventType,
  isSealRecord,
  parseProfileKey,
  userKey,
} from './event.js';
export type { EventType, IdentityLink, JsonObject, KairosEvent, LogPayload, SealRecord } from './event.js';
export { fsyncPath } from './durable-fs.js';
