import { resolvePopularityOptions } from './options.js';
import type { PopularityOptions, ResolvedPopularityOptions } from './options.js';
import type { FoldIn, InteractionMatrix, ModelArtifact, Recommender, Trainer } from './types.js';

/** Item popularity in the training data: the cold-start fallback and the baseline to beat. */
export class PopularityModel implements Recommender {
  readonly name = 'popularity' as const;
  readonly additive = false;

  constructor(
    readonly options: ResolvedPopularityOptions,
    readonly scores: Float64Array,
    readonly userIds: readonly string[],
    readonly itemIds: readonly string[],
  ) {}

  get userCount(): number {
    return this.userIds.length;
  }

  get itemCount(): number {
    return this.itemIds.length;
  }

  scoreUser(_user: number, out: Float64Array): boolean {
    out.set(this.scores);
    return true;
  }

  scoreItems(_items: ArrayLike<number>, _weights: ArrayLike<number>, out: Float64Array): boolean {
    out.set(this.scores);
    return true;
  }

  createFoldIn(): FoldIn {
    const scores = this.scores;
    let size = 0;
    return {
      add: () => void size++,
      score: (out) => {
        out.set(scores);
        return true;
      },
      get size() {
        return size;
      },
      reset: () => void (size = 0),
    };
  }

  valueOf(weight: number): number {
    return this.options.useWeights ? weight : 1;
  }

  toArtifact(): ModelArtifact {
    return {
      model: this.name,
      options: this.options,
      userIds: this.userIds,
      itemIds: this.itemIds,
      meta: {},
      arrays: { scores: this.scores },
    };
  }

  static fromArtifact(a: ModelArtifact): PopularityModel {
    return new PopularityModel(
      resolvePopularityOptions(a.options),
      a.arrays.scores as Float64Array,
      a.userIds,
      a.itemIds,
    );
  }
}

/** Popularity scores of a matrix: interactions (or weights) per item; items without any score 0. */
export function popularityScores(m: InteractionMatrix, useWeights = false): Float64Array {
  const scores = new Float64Array(m.itemCount);
  for (let i = 0; i < m.itemCount; i++) {
    if (!useWeights) {
      scores[i] = m.itemPtr[i + 1]! - m.itemPtr[i]!;
      continue;
    }
    let s = 0;
    for (let k = m.itemPtr[i]!; k < m.itemPtr[i + 1]!; k++) s += m.itemWeights[k]!;
    scores[i] = s;
  }
  return scores;
}

export function createPopularityTrainer(partial: PopularityOptions = {}): Trainer {
  const options = resolvePopularityOptions(partial);
  return {
    name: 'popularity',
    fit: (m) => new PopularityModel(options, popularityScores(m, options.useWeights), m.userIds, m.itemIds),
  };
}
