import { createProfileOperator } from '../profiles/index.js';
import type { Pipeline } from '../stream/index.js';

/**
 * Everything a stream worker needs to build the operator pipeline, as plain JSON (it crosses the
 * worker-thread boundary and is rebuilt when definitions change).
 */
export interface PipelineConfig {
  /** Bumped whenever the definitions below change. */
  readonly version: number;
}

/** The operators, in order: the profile first (later operators read it), then segments. */
export function createPipeline(_config: PipelineConfig): Pipeline {
  return [createProfileOperator()];
}
