import { defineErrors } from '../core/index.js';

export const DatasetErrors = defineErrors('datasets', {
  DATASETS_UNKNOWN_FORMAT: { status: 400, message: 'Unknown dataset format' },
  DATASETS_NOT_FOUND: { status: 404, message: 'Dataset file not found' },
});
export type DatasetErrorCode = keyof typeof DatasetErrors.specs;
