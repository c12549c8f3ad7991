import { defineErrors } from '../core/index.js';

export const StreamErrors = defineErrors('stream', {
  STREAM_INVALID_OPTIONS: { status: 500, message: 'Invalid stream options' },
  STREAM_TASK_FAILED: { status: 500, message: 'A stream task failed and is restarting' },
  STREAM_FENCED: { status: 409, message: 'The partition was taken over by another worker' },
  STREAM_STOPPED: { status: 503, retryable: true, message: 'The stream runtime is stopped' },
});
export type StreamErrorCode = keyof typeof StreamErrors.specs;
