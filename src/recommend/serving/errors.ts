import { defineErrors } from '../../core/index.js';

/**
 * Error codes of live serving (the recommendation extension: trainer, registry, scorer, API).
 * A registry of its own next to RecommendErrors (same capability prefix), mirrored in docs/errors.md.
 */
export const RecommendServingErrors = defineErrors('recommend', {
  RECOMMEND_INVALID_REQUEST: { status: 400, message: 'Invalid recommendation request' },
  RECOMMEND_UNKNOWN_PLACEMENT: { status: 400, message: 'Unknown placement' },
  RECOMMEND_ITEM_REQUIRED: { status: 400, message: 'This placement needs itemId' },
  RECOMMEND_UNKNOWN_VERSION: { status: 404, message: 'No model with this version' },
  RECOMMEND_TRAINING_FAILED: { status: 500, message: 'Model training failed' },
  RECOMMEND_TRAINER_UNAVAILABLE: {
    status: 503,
    retryable: true,
    message: 'The trainer is starting, restarting or stopping',
  },
  RECOMMEND_INVALID_SNAPSHOT: { status: 500, message: 'Not a valid interaction snapshot' },
});
export type RecommendServingErrorCode = keyof typeof RecommendServingErrors.specs;
