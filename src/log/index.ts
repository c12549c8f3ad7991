export type {
  EventLog,
  LogEntry,
  LogPosition,
  LogReader,
  LogRecord,
  PartitionOffsets,
  ReadOptions,
} from './port.js';
export { LogErrors } from './errors.js';
export type { LogErrorCode } from './errors.js';
export { MemoryEventLog, createMemoryEventLog } from './memory/memory-event-log.js';
