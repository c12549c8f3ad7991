import { isModelName, type ModelArtifact } from '../types.js';
import type { ServingArrays } from './build-serving.js';
import { RecommendErrors } from '../errors.js';
import type { TrainingResult } from './train-job.js';
import type { HoldoutMetrics } from './types.js';

const ARRAY_NAMES: readonly (keyof ServingArrays)[] = [
  'nbrPtr',
  'nbrItems',
  'nbrScores',
  'topPtr',
  'topItems',
  'topScores',
  'histPtr',
  'histItems',
  'compPtr',
  'compItems',
  'compScores',
  'catPtr',
  'catItems',
  'catScores',
  'popItems',
  'popScores',
  'segPtr',
  'segItems',
  'segScores',
];

/**
 * One servable model version: the sparse serving form over the shared item/user index (items
 * [0, itemCount), users [0, userCount) of the dictionaries when it was trained). Immutable; the
 * service swaps the reference, and requests in flight keep the version they started with.
 */
export class ServingModel {
  /** `{"name":…,"version":…}`, spliced into every response. */
  readonly json: string;
  readonly segmentIndex: ReadonlyMap<string, number>;
  /** Requests currently scoring with this version. */
  inFlight = 0;
  /** Set when a newer version replaced it. */
  retired = false;

  constructor(
    readonly name: string,
    readonly version: number,
    readonly itemCount: number,
    readonly userCount: number,
    readonly categoryCount: number,
    readonly arrays: ServingArrays,
    readonly segments: readonly string[],
    readonly metrics: HoldoutMetrics | null,
    readonly trainedAtMs: number,
  ) {
    this.json = JSON.stringify({ name, version });
    this.segmentIndex = new Map(segments.map((id, index) => [id, index]));
  }

  /** Nothing trained yet: every list is empty. */
  static empty(): ServingModel {
    const none = new Int32Array(1);
    const arrays: ServingArrays = {
      nbrPtr: none,
      nbrItems: new Int32Array(0),
      nbrScores: new Float32Array(0),
      topPtr: none,
      topItems: new Int32Array(0),
      topScores: new Float32Array(0),
      histPtr: none,
      histItems: new Int32Array(0),
      compPtr: none,
      compItems: new Int32Array(0),
      compScores: new Float32Array(0),
      catPtr: none,
      catItems: new Int32Array(0),
      catScores: new Float32Array(0),
      popItems: new Int32Array(0),
      popScores: new Float32Array(0),
      segPtr: none,
      segItems: new Int32Array(0),
      segScores: new Float32Array(0),
    };
    return new ServingModel('none', 0, 0, 0, 0, arrays, [], null, 0);
  }

  static fromResult(result: TrainingResult): ServingModel {
    return new ServingModel(
      result.model,
      result.version,
      result.itemCount,
      result.userCount,
      result.categoryCount,
      result.arrays,
      result.segments,
      result.metrics,
      result.trainedAtMs,
    );
  }

  /** A registry artifact written by the trainer (toServingArtifact). */
  static fromArtifact(artifact: ModelArtifact): ServingModel {
    const meta = artifact.meta as {
      kind?: string;
      version?: number;
      segments?: string[];
      categoryCount?: number;
      metrics?: HoldoutMetrics | null;
      trainedAtMs?: number;
    };
    if (meta.kind !== 'serving' || typeof meta.version !== 'number' || !isModelName(artifact.model)) {
      throw RecommendErrors.create('RECOMMEND_INVALID_ARTIFACT', 'not a serving artifact');
    }
    const arrays: Record<string, unknown> = {};
    for (const name of ARRAY_NAMES) {
      const array = artifact.arrays[name];
      if (array === undefined)
        throw RecommendErrors.create('RECOMMEND_INVALID_ARTIFACT', `serving artifact without ${name}`);
      arrays[name] = array;
    }
    return new ServingModel(
      artifact.model,
      meta.version,
      artifact.itemIds.length,
      artifact.userIds.length,
      meta.categoryCount ?? 0,
      arrays as unknown as ServingArrays,
      meta.segments ?? [],
      meta.metrics ?? null,
      meta.trainedAtMs ?? 0,
    );
  }
}
