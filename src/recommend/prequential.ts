import { RecommendErrors } from './errors.js';
import { buildInteractionMatrix, selectRows } from './interactions.js';
import { popularityScores } from './model-popularity.js';
import { createTrainer } from './registry.js';
import { ItemExclusion, topN } from './scoring.js';
import { timeOrder } from './split.js';
import type { ProgressListener } from './evaluate.js';
import type { FoldIn, InteractionLog, ModelName, Recommender } from './types.js';

export interface PrequentialOptions {
  /** Models to replay. @default ['popularity', 'sar', 'ials', 'ease'] */
  readonly models?: readonly ModelName[];
  readonly modelOptions?: Partial<Record<ModelName, Readonly<Record<string, unknown>>>>;
  /** Hit if the revealed item is in the top k. @default 10 */
  readonly k?: number;
  /** Events between two retrainings; the first model is trained on the first this-many events. @default 10000 */
  readonly retrainEvery?: number;
  /**
   * Multiplier on the weight of a session item (an interaction since the last retrain) in the
   * fold-in; 1 treats it exactly like a trained interaction. @default 1
   */
  readonly sessionWeight?: number;
  readonly onProgress?: ProgressListener;
}

export const DEFAULT_PREQUENTIAL_MODELS: readonly ModelName[] = Object.freeze(['popularity', 'sar', 'ials', 'ease']);

export interface PrequentialResult {
  readonly model: ModelName;
  /** Events predicted (every event after the first training window). */
  readonly events: number;
  /** (a) periodic retraining only: the user's history as of the last retrain. */
  readonly hitRatePeriodic: number;
  /** (b) the same periodic model plus the user's interactions since the retrain folded in. */
  readonly hitRateSession: number;
  readonly retrains: number;
  /** Total training time over all retrains. */
  readonly trainMs: number;
  /** Total replay time (scoring both variants), training excluded. */
  readonly replayMs: number;
}

export interface PrequentialReport {
  readonly k: number;
  readonly retrainEvery: number;
  readonly sessionWeight: number;
  readonly events: number;
  readonly results: readonly PrequentialResult[];
}

/**
 * Prequential replay ("test then train"): events in (timestamp, source) order; before each event
 * is revealed, both variants rank the top k for its user, and a hit counts when the revealed item
 * is in it (HR@k). Both variants exclude every item the user interacted with before the event
 * (a live seen-filter is a business rule, not the model), so the only difference is the score:
 * (a) the last periodic model's score of the user (popularity when the user was unknown at the
 * retrain); (b) the same score plus the fold-in of every interaction since the retrain (additive
 * item-item models), or the fold-in of the history at the retrain plus those interactions (iALS).
 */
export function runPrequential(log: InteractionLog, options: PrequentialOptions = {}): PrequentialReport {
  const k = options.k ?? 10;
  const every = options.retrainEvery ?? 10_000;
  const sessionWeight = options.sessionWeight ?? 1;
  if (!Number.isInteger(every) || every < 1 || every >= log.length) {
    throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', 'retrainEvery must be in [1, events)', {
      details: { retrainEvery: every, events: log.length },
    });
  }
  const models = options.models ?? DEFAULT_PREQUENTIAL_MODELS;
  const order = timeOrder(log);
  const results = models.map((name, index) =>
    replayModel(log, order, name, { ...options, k, retrainEvery: every, sessionWeight }, (done, total) =>
      options.onProgress?.({ phase: `prequential ${name} (${index + 1}/${models.length})`, done, total }),
    ),
  );
  return { k, retrainEvery: every, sessionWeight, events: log.length, results };
}

interface UserState {
  /** Items interacted with so far (the live seen filter). */
  seen: number[];
  /** Interactions since the last retrain, as (item, raw weight). */
  sessionItems: number[];
  sessionWeights: number[];
  /** Epoch of the cached (a) scores and the fold-in. */
  epoch: number;
  periodic: Float64Array | undefined;
  periodicKnown: boolean;
  fold: FoldIn | undefined;
}

function replayModel(
  log: InteractionLog,
  order: Int32Array,
  name: ModelName,
  o: Required<Pick<PrequentialOptions, 'k' | 'retrainEvery' | 'sessionWeight'>> & PrequentialOptions,
  progress: (done: number, total: number) => void,
): PrequentialResult {
  const itemCount = log.itemIds.length;
  const trainer = createTrainer(name, o.modelOptions?.[name] ?? {});
  const states = new Map<number, UserState>();
  const exclude = new ItemExclusion(itemCount);
  const scores = new Float64Array(itemCount);
  let model: Recommender | undefined;
  let popularity: Float64Array = new Float64Array(itemCount);
  let history = buildInteractionMatrix(selectRows(log, order.subarray(0, 1)));
  let epoch = 0;
  let trainMs = 0;
  let retrains = 0;
  let hitsA = 0;
  let hitsB = 0;
  let events = 0;
  const started = performance.now();
  const total = order.length;

  const stateOf = (u: number): UserState => {
    let s = states.get(u);
    if (!s) {
      s = {
        seen: [],
        sessionItems: [],
        sessionWeights: [],
        epoch: -1,
        periodic: undefined,
        periodicKnown: false,
        fold: undefined,
      };
      states.set(u, s);
    }
    return s;
  };

  for (let pos = 0; pos < total; pos++) {
    if (pos > 0 && pos % o.retrainEvery === 0) {
      const t = performance.now();
      const rows = order.subarray(0, pos);
      history = buildInteractionMatrix(selectRows(log, rows));
      model = trainer.fit(history);
      popularity = popularityScores(history);
      trainMs += performance.now() - t;
      retrains++;
      epoch++;
      for (const s of states.values()) {
        s.sessionItems.length = 0;
        s.sessionWeights.length = 0;
      }
      progress(pos, total);
    }
    const r = order[pos]!;
    const u = log.users[r]!;
    const item = log.items[r]!;
    const state = stateOf(u);
    if (model !== undefined) {
      if (state.epoch !== epoch) {
        state.epoch = epoch;
        state.periodic ??= new Float64Array(itemCount);
        state.periodicKnown = u < history.userCount && model.scoreUser(u, state.periodic);
        // A fold-in belongs to one model; a new epoch means a new model. Additive models fold in
        // only the session (added to the periodic score); the others fold in history + session.
        state.fold = model.createFoldIn();
        if (!model.additive) {
          for (let q = history.userPtr[u]!; q < history.userPtr[u + 1]!; q++) {
            state.fold.add(history.userItems[q]!, model.valueOf(history.userWeights[q]!));
          }
        }
        for (let q = 0; q < state.sessionItems.length; q++) {
          state.fold.add(state.sessionItems[q]!, sessionWeightOf(model, state.sessionWeights[q]!, o.sessionWeight));
        }
      }
      exclude.clear();
      exclude.addAll(state.seen);
      // (a) periodic only.
      const a = state.periodicKnown ? state.periodic! : popularity;
      if (contains(topN(a, o.k, { exclude }).items, item)) hitsA++;
      // (b) periodic + session fold-in.
      const folded = state.fold!.score(scores);
      let b: Float64Array = popularity;
      if (model.additive) {
        if (folded && state.periodicKnown) {
          const p = state.periodic!;
          for (let i = 0; i < itemCount; i++) scores[i]! += p[i]!;
          b = scores;
        } else if (folded) {
          b = scores;
        } else if (state.periodicKnown) {
          b = state.periodic!;
        }
      } else if (folded) {
        b = scores;
      }
      if (contains(topN(b, o.k, { exclude }).items, item)) hitsB++;
      if (events % 2000 === 0) progress(pos, total);
      events++;
    }
    // Reveal the event.
    state.seen.push(item);
    state.sessionItems.push(item);
    state.sessionWeights.push(log.weights[r]!);
    if (model !== undefined && state.fold !== undefined && state.epoch === epoch) {
      state.fold.add(item, sessionWeightOf(model, log.weights[r]!, o.sessionWeight));
    }
  }
  progress(total, total);
  return {
    model: name,
    events,
    hitRatePeriodic: events > 0 ? hitsA / events : 0,
    hitRateSession: events > 0 ? hitsB / events : 0,
    retrains,
    trainMs,
    replayMs: performance.now() - started - trainMs,
  };
}

function sessionWeightOf(model: Recommender, weight: number, multiplier: number): number {
  return model.valueOf(weight) * multiplier;
}

function contains(items: Int32Array, item: number): boolean {
  for (let k = 0; k < items.length; k++) if (items[k] === item) return true;
  return false;
}
