export { createSegmentsOperator, SEGMENTS_OPERATOR } from './operator.js';
export type { MemberSlot, SegmentsState } from './operator.js';
export { compileDefinitions, membershipKey } from './compile.js';
export { validateCondition, validateDefinition, findCycle, references } from './validate.js';
export { SegmentsErrors } from './errors.js';
export type { SegmentsErrorCode } from './errors.js';
export {
  RULE_LIMITS,
  SEGMENT_ID_PATTERN,
  resolveSegmentsOperatorOptions,
  resolveWebhookDispatcherOptions,
} from './options.js';
export type {
  ResolvedSegmentsOperatorOptions,
  ResolvedWebhookDispatcherOptions,
  SegmentsOperatorOptions,
  WebhookDispatcherOptions,
} from './options.js';
export { MembershipReader, changeId, isMembershipChange, memberIndexKey, memberIndexPrefix, segmentsOf } from './membership.js';
export type { MembershipReaderDeps } from './membership.js';
export { COMPARISON_OPERATORS, FILTER_EVENT_TYPES, VERSION_STATES, BACKFILL_STATES } from './types.js';
export type {
  ActiveSegmentVersion,
  BackfillPartitionProgress,
  BackfillState,
  BackfillStatus,
  Comparison,
  ComparisonOperator,
  Condition,
  DeadLetter,
  Destination,
  Filter,
  MemberEntry,
  MembersPage,
  MembershipChange,
  Path,
  SegmentDefinition,
  SegmentMembership,
  SegmentVersionView,
  SegmentView,
  Step,
  VersionState,
} from './types.js';
