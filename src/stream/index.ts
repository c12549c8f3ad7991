export type {
  CommitReport,
  FiredTimer,
  ForwardRecord,
  KeyedContext,
  KeyedOperator,
  LateRecord,
  Pipeline,
  TimeDomain,
} from './types.js';
export { TIME_DOMAINS, isForwardRecord } from './types.js';
export { StreamErrors } from './errors.js';
export type { StreamErrorCode } from './errors.js';
export { resolveStreamOptions, serializableStreamOptions } from './options.js';
export type { ResolvedStreamOptions, StreamOptions } from './options.js';
export { PartitionTask } from './task.js';
export type { KeyState, PartitionTaskDeps } from './task.js';
export { TaskGroup } from './task-group.js';
export type { TaskGroupDeps } from './task-group.js';
export { counterKey, indexKey, indexPrefix, latePrefix, stateKey, timerKey } from './keys.js';
export {
  assignWindows,
  countAggregate,
  createWindowOperator,
  sessionWindows,
  slidingWindows,
  sumAggregate,
  tumblingWindows,
} from './windows.js';
export type { AggregateFunction, TimeWindow, WindowAssigner, WindowOperatorOptions, WindowResult } from './windows.js';
