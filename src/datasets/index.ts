export {
  DATASET_FORMATS,
  detectFormat,
  ml100kToMessage,
  ratingsCsvToMessage,
  readDataset,
  readPasses,
  syntheticPrice,
  taobaoToMessage,
} from './formats.js';
export type { DatasetFormat, SegmentMessage } from './formats.js';
export { DatasetErrors } from './errors.js';
export type { DatasetErrorCode } from './errors.js';
export { replayToServer } from './replay.js';
export type { ReplayOptions, ReplaySummary } from './replay.js';
