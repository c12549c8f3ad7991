import { defineErrors } from '../core/index.js';

export const LogErrors = defineErrors('log', {
  LOG_BACKPRESSURE: { status: 503, retryable: true, message: 'The event log is full; retry later' },
  LOG_UNAVAILABLE: { status: 503, retryable: true, message: 'The event log is unavailable; retry later' },
  LOG_CLOSED: { status: 503, retryable: true, message: 'The event log is closed' },
  LOG_RECORD_TOO_LARGE: { status: 413, message: 'Log record exceeds the maximum record size' },
  LOG_INVALID_PARTITION: { status: 400, message: 'No such partition' },
  LOG_CORRUPT: { status: 500, message: 'The event log is corrupt beyond automatic repair' },
  LOG_INVALID_OPTIONS: { status: 500, message: 'Invalid event log options' },
  LOG_LOCKED: { status: 500, message: 'Another live writer holds the event log directory' },
  LOG_READ_ONLY: { status: 500, message: 'This event log instance is a reader and cannot append' },
});
export type LogErrorCode = keyof typeof LogErrors.specs;
