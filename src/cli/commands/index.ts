export { registerEvalCommand } from './eval.js';
export { registerRecommendBatchCommand } from './recommend-batch.js';
