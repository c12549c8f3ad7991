import { defineErrors } from '../core/index.js';

export const StoreErrors = defineErrors('store', {
  STORE_UNAVAILABLE: { status: 503, retryable: true, message: 'The store is unavailable; retry later' },
  STORE_FENCED: { status: 409, message: 'A newer owner holds this partition; this writer is fenced off' },
  STORE_CLOSED: { status: 503, retryable: true, message: 'The store is closed' },
  STORE_INVALID_OPTIONS: { status: 500, message: 'Invalid store options' },
});
export type StoreErrorCode = keyof typeof StoreErrors.specs;
