import { describe, expect, it } from 'vitest';
import { createInteractionLog } from './interactions.js';
import { MersenneTwister } from './rng.js';
import { groupByUser, stratifiedSplit, temporalSplit, timeOrder } from './split.js';
import type { Interaction } from './types.js';

function syntheticLog(users: number, seed = 1): ReturnType<typeof createInteractionLog> {
  const rng = new MersenneTwister(seed);
  const rows: Interaction[] = [];
  for (let u = 0; u < users; u++) {
    const n = 1 + Math.floor(rng.random() * 30);
    for (let k = 0; k < n; k++) {
      rows.push({
        user: `u${u}`,
        item: `i${(u * 7 + k * 3) % 50}-${k}`,
        weight: 1 + (k % 5),
        timestamp: 1000 + Math.floor(rng.random() * 1e6),
      });
    }
  }
  // Interleave users so the source order is not grouped by user.
  return createInteractionLog(rows.sort((a, b) => a.timestamp - b.timestamp));
}

describe('MersenneTwister', () => {
  it('draws exactly what NumPy draws after np.random.seed(42)', () => {
    const rng = new MersenneTwister(42);
    // np.random.seed(42); np.random.rand(4)
    expect([rng.random(), rng.random(), rng.random(), rng.random()]).toEqual([
      0.3745401188473625, 0.9507143064099162, 0.7319939418114051, 0.5986584841970366,
    ]);
  });
});

describe('stratifiedSplit (MS python_stratified_split)', () => {
  const log = syntheticLog(60);

  it('is deterministic for a seed and changes with the seed', () => {
    const a = stratifiedSplit(log, { seed: 42 });
    const b = stratifiedSplit(log, { seed: 42 });
    const c = stratifiedSplit(log, { seed: 43 });
    expect(Array.from(a.train)).toEqual(Array.from(b.train));
    expect(Array.from(a.test)).toEqual(Array.from(b.test));
    expect(Array.from(a.test).sort()).not.toEqual(Array.from(c.test).sort());
  });

  it('puts floor(0.75·n) rows of every user in train and partitions the rows', () => {
    const { train, test } = stratifiedSplit(log);
    expect(train.length + test.length).toBe(log.length);
    const all = new Set([...train, ...test]);
    expect(all.size).toBe(log.length);
    const perUser = new Map<number, { n: number; train: number }>();
    for (let r = 0; r < log.length; r++) {
      const u = log.users[r]!;
      const s = perUser.get(u) ?? { n: 0, train: 0 };
      s.n++;
      perUser.set(u, s);
    }
    for (const r of train) perUser.get(log.users[r]!)!.train++;
    for (const s of perUser.values()) expect(s.train).toBe(Math.floor(0.75 * s.n));
  });

  it('orders each user by the NumPy draw of its row (rank/count ≤ ratio goes to train)', () => {
    // One user with four rows: draws for seed 42 are .3745, .9507, .7320, .5987 → order 0,3,2,1;
    // ranks 1..3 (≤ 0.75) train, rank 4 (row 1, the largest draw) test.
    const tiny = createInteractionLog(
      ['a', 'b', 'c', 'd'].map((item, k) => ({ user: 'u', item, weight: 1, timestamp: k })),
    );
    const { train, test } = stratifiedSplit(tiny, { seed: 42 });
    expect(Array.from(train)).toEqual([0, 3, 2]);
    expect(Array.from(test)).toEqual([1]);
  });

  it('rejects a ratio outside (0, 1)', () => {
    expect(() => stratifiedSplit(log, { ratio: 1 })).toThrow(
      expect.objectContaining({ code: 'RECOMMEND_INVALID_OPTIONS' }),
    );
  });
});

describe('temporalSplit', () => {
  const log = syntheticLog(40, 3);

  it('tests only later rows of users seen in train', () => {
    const { train, test } = temporalSplit(log, { testFraction: 0.2 });
    const lastTrain = Math.max(...Array.from(train, (r) => log.timestamps[r]!));
    const trainUsers = new Set(Array.from(train, (r) => log.users[r]!));
    expect(train.length).toBe(log.length - Math.round(log.length * 0.2));
    for (const r of test) {
      expect(log.timestamps[r]!).toBeGreaterThanOrEqual(lastTrain);
      expect(trainUsers.has(log.users[r]!)).toBe(true);
    }
    expect(test.length).toBeGreaterThan(0);
    expect(test.length).toBeLessThanOrEqual(log.length - train.length);
  });

  it('orders by timestamp then source order', () => {
    const order = timeOrder(log);
    for (let k = 1; k < order.length; k++) {
      const a = order[k - 1]!;
      const b = order[k]!;
      expect(log.timestamps[a]! < log.timestamps[b]! || (log.timestamps[a] === log.timestamps[b] && a < b)).toBe(true);
    }
  });
});

describe('groupByUser', () => {
  it('collects distinct items per user', () => {
    const log = createInteractionLog([
      { user: 'x', item: 'a', weight: 1, timestamp: 1 },
      { user: 'x', item: 'a', weight: 1, timestamp: 2 },
      { user: 'y', item: 'b', weight: 1, timestamp: 3 },
    ]);
    const g = groupByUser(log, [0, 1, 2]);
    expect(Array.from(g.get(0)!)).toEqual([0]);
    expect(Array.from(g.get(1)!)).toEqual([1]);
  });
});
