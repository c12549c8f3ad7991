export type { EventLog, LogEntry, LogPosition, LogReader, LogRecord, PartitionOffsets, ReadOptions } from './port.js';
export { LogErrors } from './errors.js';
export type { LogErrorCode } from './errors.js';
export { MemoryEventLog, createMemoryEventLog } from './memory/memory-event-log.js';
export { createEmbeddedEventLog } from './embedded/embedded-event-log.js';
export { EMBEDDED_LOG_DEFAULTS, resolveEmbeddedEventLogOptions } from './embedded/options.js';
export type { EmbeddedEventLogOptions, EmbeddedLogMode, ResolvedEmbeddedEventLogOptions } from './embedded/options.js';
export type { EmbeddedEventLog, EmbeddedLogStats, EmbeddedPartitionStats, LatencyHistogram } from './embedded/types.js';
