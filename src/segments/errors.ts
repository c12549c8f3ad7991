import { defineErrors } from '../core/index.js';

export const SegmentsErrors = defineErrors('segments', {
  SEGMENTS_RULE_INVALID: { status: 400, message: 'The segment definition is invalid' },
  SEGMENTS_CYCLE: { status: 400, message: 'inSegment references form a cycle' },
  SEGMENTS_REFERENCE_UNKNOWN: { status: 400, message: 'inSegment names a segment that has no active version' },
  SEGMENTS_ID_MISMATCH: { status: 400, message: 'The id in the body differs from the id in the path' },
  SEGMENTS_NOT_FOUND: { status: 404, message: 'No segment with this id' },
  SEGMENTS_VERSION_NOT_FOUND: { status: 404, message: 'The segment has no such version' },
  SEGMENTS_IN_USE: { status: 409, message: 'Other segments reference this segment (inSegment)' },
  SEGMENTS_INVALID_TRANSITION: { status: 409, message: 'This version cannot move to the requested state' },
  SEGMENTS_BACKFILL_RUNNING: { status: 409, message: 'A backfill of this segment is already running' },
  SEGMENTS_BACKFILL_UNAVAILABLE: { status: 503, message: 'This process cannot run backfills' },
  SEGMENTS_DISPATCHER_UNAVAILABLE: { status: 503, message: 'This process runs no webhook dispatcher' },
  SEGMENTS_INVALID_CURSOR: { status: 400, message: 'The paging cursor is invalid' },
  SEGMENTS_DESTINATION_INVALID: { status: 400, message: 'The destination is invalid' },
  SEGMENTS_DESTINATION_NOT_FOUND: { status: 404, message: 'No destination with this id' },
  SEGMENTS_INVALID_OPTIONS: { status: 500, message: 'Invalid segments options' },
});
export type SegmentsErrorCode = keyof typeof SegmentsErrors.specs;
