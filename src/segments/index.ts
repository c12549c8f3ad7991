export { createSegmentsOperator, SEGMENTS_OPERATOR } from './operator.js';
export { createBackfillRunner, runBackfill } from './backfill.js';
export type { BackfillDeps, PartitionPauser } from './backfill.js';
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
export {
  MembershipReader,
  changeId,
  isMembershipChange,
  memberIndexKey,
  memberIndexPrefix,
  segmentsOf,
} from './membership.js';
export type { MembershipReaderDeps } from './membership.js';
export {
  SegmentService,
  createSegmentService,
  definitionOf,
  SEGMENTS_COLLECTION,
  SEGMENTS_META_COLLECTION,
  BACKFILL_COLLECTION,
} from './service.js';
export type { DefinitionsListener, SegmentServiceDeps } from './service.js';
export {
  DestinationService,
  createDestinationService,
  DESTINATIONS_COLLECTION,
  DEAD_LETTERS_COLLECTION,
  WEBHOOK_CURSORS_COLLECTION,
} from './destinations.js';
export type { DestinationServiceDeps, DestinationView } from './destinations.js';
export { createWebhookDispatcher, toPayload } from './webhook-dispatcher.js';
export type {
  FetchFunction,
  WebhookDispatcher,
  WebhookDispatcherDeps,
  WebhookDispatcherStats,
  WebhookPayload,
} from './webhook-dispatcher.js';
export {
  ATTEMPT_HEADER,
  IDEMPOTENCY_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  verifyWebhookSignature,
} from './webhook-signature.js';
export type { VerifyOptions } from './webhook-signature.js';
export { COMPARISON_OPERATORS, FILTER_EVENT_TYPES, VERSION_STATES, BACKFILL_STATES } from './types.js';
export type {
  ActiveSegmentVersion,
  BackfillLauncher,
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
export { EXAMPLE_SEGMENTS } from './examples.js';
