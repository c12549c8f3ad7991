import { RecommendErrors } from './errors.js';
import { MersenneTwister } from './rng.js';
import type { InteractionLog } from './types.js';

/** Row indices of a log on each side of a split. */
export interface SplitRows {
  readonly train: Int32Array;
  readonly test: Int32Array;
}

export interface StratifiedSplitOptions {
  /** Share of each user's rows that goes to train. @default 0.75 */
  readonly ratio?: number;
  /** Seed of the NumPy-compatible generator. @default 42 */
  readonly seed?: number;
}

/**
 * Microsoft Recommenders' `python_stratified_split(data, ratio, min_rating=1, filter_by="user",
 * seed)`, reproduced row for row: `np.random.seed(seed)` then one `np.random.rand()` per row in the
 * log's order; rows sorted by (user, random); within each user, row of rank r (1-based) out of n
 * goes to train when r/n ≤ ratio, so train gets ⌊ratio·n⌋ rows of every user. Stratified per
 * *user* (their default), whatever the column names suggest.
 */
export function stratifiedSplit(log: InteractionLog, options: StratifiedSplitOptions = {}): SplitRows {
  const ratio = options.ratio ?? 0.75;
  const seed = options.seed ?? 42;
  if (!(ratio > 0 && ratio < 1)) {
    throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', 'ratio must be in (0, 1)', { details: { ratio } });
  }
  const rng = new MersenneTwister(seed);
  const n = log.length;
  const draws = new Float64Array(n);
  for (let r = 0; r < n; r++) draws[r] = rng.random();
  const userCount = log.userIds.length;
  const byUser: number[][] = Array.from({ length: userCount }, () => []);
  for (let r = 0; r < n; r++) byUser[log.users[r]!]!.push(r);
  const train: number[] = [];
  const test: number[] = [];
  for (const rows of byUser) {
    // Ties in 53-bit draws do not happen on real data; source order breaks them (stable sort).
    rows.sort((a, b) => draws[a]! - draws[b]!);
    const count = rows.length;
    for (let k = 0; k < count; k++) {
      if ((k + 1) / count <= ratio) train.push(rows[k]!);
      else test.push(rows[k]!);
    }
  }
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}

export interface TemporalSplitOptions {
  /** Share of all rows, latest by timestamp, that becomes test. @default 0.2 */
  readonly testFraction?: number;
}

/**
 * Global time split: rows ordered by (timestamp, source order); the last `testFraction` of them
 * are test candidates; a test row is kept only when its user has at least one train row (a
 * recommender cannot rank for a stranger) and its (user, item) pair is not already in train.
 */
export function temporalSplit(log: InteractionLog, options: TemporalSplitOptions = {}): SplitRows {
  const fraction = options.testFraction ?? 0.2;
  if (!(fraction > 0 && fraction < 1)) {
    throw RecommendErrors.create('RECOMMEND_INVALID_OPTIONS', 'testFraction must be in (0, 1)', {
      details: { testFraction: fraction },
    });
  }
  const order = timeOrder(log);
  const cut = log.length - Math.round(log.length * fraction);
  const train = order.slice(0, cut);
  const seenUser = new Uint8Array(log.userIds.length);
  const seenPair = new Set<number>();
  const itemCount = log.itemIds.length;
  for (let k = 0; k < train.length; k++) {
    const r = train[k]!;
    seenUser[log.users[r]!] = 1;
    seenPair.add(log.users[r]! * itemCount + log.items[r]!);
  }
  const test: number[] = [];
  for (let k = cut; k < order.length; k++) {
    const r = order[k]!;
    if (seenUser[log.users[r]!] === 1 && !seenPair.has(log.users[r]! * itemCount + log.items[r]!)) test.push(r);
  }
  return { train, test: Int32Array.from(test) };
}

/** Row indices sorted by (timestamp, source order). */
export function timeOrder(log: InteractionLog): Int32Array {
  const order = new Int32Array(log.length);
  for (let r = 0; r < log.length; r++) order[r] = r;
  const ts = log.timestamps;
  order.sort((a, b) => ts[a]! - ts[b]! || a - b);
  return order;
}

/**
 * The relevant items per user of a test side, as MS Recommenders sees them ("every test rating is
 * relevant"): user index → distinct item indices.
 */
export function groupByUser(log: InteractionLog, rows: ArrayLike<number>): Map<number, Int32Array> {
  const sets = new Map<number, Set<number>>();
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]!;
    const u = log.users[r]!;
    let s = sets.get(u);
    if (!s) {
      s = new Set();
      sets.set(u, s);
    }
    s.add(log.items[r]!);
  }
  const out = new Map<number, Int32Array>();
  for (const [u, s] of [...sets.entries()].sort((a, b) => a[0] - b[0])) out.set(u, Int32Array.from(s));
  return out;
}
