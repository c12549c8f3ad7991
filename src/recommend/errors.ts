import { defineErrors } from '../core/index.js';

/** Error codes of the recommend capability (mirrored in docs/errors.md). */
export const RecommendErrors = defineErrors('recommend', {
  RECOMMEND_UNKNOWN_MODEL: { status: 400, message: 'Unknown recommendation model' },
  RECOMMEND_INVALID_OPTIONS: { status: 400, message: 'Invalid recommendation options' },
  RECOMMEND_EMPTY_TRAINING_SET: { status: 400, message: 'No interactions to train on' },
  RECOMMEND_NOT_POSITIVE_DEFINITE: {
    status: 500,
    message: 'Matrix is not positive definite (raise the regularisation)',
  },
  RECOMMEND_DATASET_NOT_FOUND: { status: 404, message: 'Dataset file not found' },
  RECOMMEND_DATASET_PARSE: { status: 400, message: 'Malformed interaction data' },
  RECOMMEND_UNKNOWN_DATASET: { status: 400, message: 'Unknown dataset name' },
  RECOMMEND_INVALID_ARTIFACT: { status: 400, message: 'Not a valid model artifact' },
});
export type RecommendErrorCode = keyof typeof RecommendErrors.specs;
