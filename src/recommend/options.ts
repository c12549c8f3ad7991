import { RecommendErrors } from './errors.js';
import type { ModelName } from './types.js';

/**
 * Options of each model: partial in, resolved and frozen out. Defaults were chosen on a validation
 * split carved out of the ML-100k msr training data (docs/recommend.md, "Tuning"); never on test.
 */

export const SIMILARITIES = ['jaccard', 'cosine', 'lift', 'cooccurrence'] as const;
export type Similarity = (typeof SIMILARITIES)[number];

export interface ItemKnnOptions {
  /** Item-item similarity from co-occurrence counts C: jaccard C_ij/(C_ii+C_jj−C_ij), cosine C_ij/√(C_ii·C_jj), lift C_ij/(C_ii·C_jj). @default 'jaccard' (sar) / 'cosine' (itemknn) */
  readonly similarity?: Similarity;
  /** Half-life of the user affinity time decay in days; 0 disables decay. @default 30 (sar) / 0 (itemknn) */
  readonly timeDecayHalfLifeDays?: number;
  /** Use interaction weights (ratings, event weights) as affinity; false = every interaction is 1. @default true (sar) / false (itemknn) */
  readonly useWeights?: boolean;
  /** Neighbours kept per item (largest similarity); 0 keeps all. @default 0 (sar) / 200 (itemknn) */
  readonly neighbors?: number;
  /** Co-occurrence counts below this are ignored. @default 1 */
  readonly threshold?: number;
}
export type ResolvedItemKnnOptions = Readonly<Required<ItemKnnOptions>>;

export interface EaseOptions {
  /** L2 regularisation λ added to the Gram diagonal. @default 800 */
  readonly lambda?: number;
  /**
   * Extra, popularity-proportional regularisation p/(1−p)·G_ii (the dropout emphasis of EDLAE,
   * Steck 2020); 0 gives plain EASE. @default 0
   */
  readonly dropout?: number;
  /** Train on 1 per interaction instead of its weight. @default true */
  readonly binarize?: boolean;
  /**
   * At most this many items (the most interacted) enter the n×n model; the inverse costs n³/2,
   * so this caps training time on large catalogues (2500 items ≈ 8 G multiply-adds). Items without interactions never enter. @default 2500
   */
  readonly maxItems?: number;
}
export type ResolvedEaseOptions = Readonly<Required<EaseOptions>>;

export interface IalsOptions {
  /** Latent factors. @default 48 */
  readonly factors?: number;
  /** L2 regularisation on user and item factors. @default 50 */
  readonly regularization?: number;
  /** Confidence c = 1 + alpha·value (Hu, Koren, Volinsky 2008). @default 5 */
  readonly alpha?: number;
  /** Alternating sweeps (users then items). @default 12 */
  readonly iterations?: number;
  /** Conjugate-gradient steps per factor solve, warm-started (Takács et al. 2011). @default 3 */
  readonly cgSteps?: number;
  /** Train on 1 per interaction instead of its weight. @default true */
  readonly binarize?: boolean;
  /** Standard deviation of the initial factors. @default 0.01 */
  readonly initScale?: number;
  /** Seed of the factor initialisation. @default 42 */
  readonly seed?: number;
}
export type ResolvedIalsOptions = Readonly<Required<IalsOptions>>;

export interface PopularityOptions {
  /** Count interaction weights instead of interactions. @default false */
  readonly useWeights?: boolean;
}
export type ResolvedPopularityOptions = Readonly<Required<PopularityOptions>>;

export interface ModelOptionsByName {
  popularity: PopularityOptions;
  itemknn: ItemKnnOptions;
  sar: ItemKnnOptions;
  ease: EaseOptions;
  ials: IalsOptions;
}

/** Unknown keys are typos: fail loudly instead of training with a default. */
function checkKeys(partial: object, allowed: readonly string[]): void {
  for (const key of Object.keys(partial)) {
    if (!allowed.includes(key))
      invalid(key, (partial as Record<string, unknown>)[key], `is not an option (known: ${allowed.join(', ')})`);
  }
}

function invalid(field: string, value: unknown, rule: string): never {
  throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', `${field} ${rule} (got ${JSON.stringify(value)})`, {
    details: { field, value },
  });
}

function num(field: string, value: unknown, min: number, max = Infinity, integer = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    invalid(field, value, `must be a number in [${min}, ${max}]`);
  }
  if (integer && !Number.isInteger(value)) invalid(field, value, 'must be an integer');
  return value;
}

function bool(field: string, value: unknown): boolean {
  if (typeof value !== 'boolean') invalid(field, value, 'must be a boolean');
  return value;
}

export function resolveItemKnnOptions(
  partial: ItemKnnOptions = {},
  flavour: 'sar' | 'itemknn' = 'sar',
): ResolvedItemKnnOptions {
  checkKeys(partial, ['similarity', 'timeDecayHalfLifeDays', 'useWeights', 'neighbors', 'threshold']);
  const sar = flavour === 'sar';
  const similarity = partial.similarity ?? (sar ? 'jaccard' : 'cosine');
  if (!(SIMILARITIES as readonly string[]).includes(similarity)) {
    invalid('similarity', similarity, `must be one of ${SIMILARITIES.join(', ')}`);
  }
  return Object.freeze({
    similarity,
    timeDecayHalfLifeDays: num('timeDecayHalfLifeDays', partial.timeDecayHalfLifeDays ?? (sar ? 30 : 0), 0),
    useWeights: bool('useWeights', partial.useWeights ?? sar),
    neighbors: num('neighbors', partial.neighbors ?? (sar ? 0 : 200), 0, Infinity, true),
    threshold: num('threshold', partial.threshold ?? 1, 1, Infinity, true),
  });
}

export function resolveEaseOptions(partial: EaseOptions = {}): ResolvedEaseOptions {
  checkKeys(partial, ['lambda', 'dropout', 'binarize', 'maxItems']);
  return Object.freeze({
    lambda: num('lambda', partial.lambda ?? 800, 0),
    dropout: num('dropout', partial.dropout ?? 0, 0, 0.95),
    binarize: bool('binarize', partial.binarize ?? true),
    maxItems: num('maxItems', partial.maxItems ?? 2500, 1, Infinity, true),
  });
}

export function resolveIalsOptions(partial: IalsOptions = {}): ResolvedIalsOptions {
  checkKeys(partial, ['factors', 'regularization', 'alpha', 'iterations', 'cgSteps', 'binarize', 'initScale', 'seed']);
  return Object.freeze({
    factors: num('factors', partial.factors ?? 48, 1, 1024, true),
    regularization: num('regularization', partial.regularization ?? 50, 0),
    alpha: num('alpha', partial.alpha ?? 5, 0),
    iterations: num('iterations', partial.iterations ?? 12, 1, 1000, true),
    cgSteps: num('cgSteps', partial.cgSteps ?? 3, 1, 1024, true),
    binarize: bool('binarize', partial.binarize ?? true),
    initScale: num('initScale', partial.initScale ?? 0.01, 0),
    seed: num('seed', partial.seed ?? 42, 0, 0xffffffff, true),
  });
}

export function resolvePopularityOptions(partial: PopularityOptions = {}): ResolvedPopularityOptions {
  checkKeys(partial, ['useWeights']);
  return Object.freeze({ useWeights: bool('useWeights', partial.useWeights ?? false) });
}

/** Resolves the options of any model by name. */
export function resolveModelOptions(
  name: ModelName,
  partial: Readonly<Record<string, unknown>> = {},
): Readonly<Record<string, unknown>> {
  switch (name) {
    case 'popularity':
      return resolvePopularityOptions(partial);
    case 'itemknn':
      return resolveItemKnnOptions(partial, 'itemknn');
    case 'sar':
      return resolveItemKnnOptions(partial, 'sar');
    case 'ease':
      return resolveEaseOptions(partial);
    case 'ials':
      return resolveIalsOptions(partial);
  }
}
