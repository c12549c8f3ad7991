import { createProfileOperator } from '../profiles/index.js';
import { createSegmentsOperator, type ActiveSegmentVersion, type SegmentsOperatorOptions } from '../segments/index.js';
import type { Pipeline } from '../stream/index.js';

/**
 * Everything a stream worker needs to build the operator pipeline, as plain JSON (it crosses the
 * worker-thread boundary and is rebuilt when definitions change).
 */
export interface PipelineConfig {
  /** Bumped whenever the definitions below change. */
  readonly version: number;
  /** The segment versions to compute (active and shadow). None: no segments operator. */
  readonly segments?: readonly ActiveSegmentVersion[];
  readonly segmentsOperator?: SegmentsOperatorOptions | undefined;
}

/** The operators, in order: the profile first (later operators read it), then segments. */
export function createPipeline(config: PipelineConfig): Pipeline {
  const segments = config.segments ?? [];
  if (segments.length === 0) return [createProfileOperator()];
  return [createProfileOperator(), createSegmentsOperator(segments, config.segmentsOperator ?? {})];
}
