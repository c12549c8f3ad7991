import { describe, expect, it } from 'vitest';
import { decodeArtifact, encodeArtifact } from '../artifact.js';
import { buildInteractionMatrix, createInteractionLog } from '../interactions.js';
import { fitItemKnn } from '../model-item-knn.js';
import { resolveItemKnnOptions } from '../options.js';
import { createTrainer } from '../registry.js';
import type { Interaction } from '../types.js';
import {
  categoryPopularity,
  complementsOf,
  decayedPopularity,
  itemNeighbours,
  segmentPopularity,
  userCandidates,
} from './build-serving.js';
import { scoreHoldout, timeHoldout } from './holdout.js';
import { Dictionary } from './dictionary.js';
import { Catalogue } from './catalogue.js';
import { DeltaBuffer, InteractionTable } from './interaction-table.js';
import { resolveRecommendationOptions } from './options.js';
import { ServingModel } from './serving-model.js';
import { runTraining, toServingArtifact } from './train-job.js';

/** users u0..u7: u<k> views a<k%4>, a<(k+1)%4>; u4..u7 also put b0 in the cart with a0. */
function interactions(): Interaction[] {
  const out: Interaction[] = [];
  for (let k = 0; k < 8; k++) {
    out.push({ user: `u${k}`, item: `a${k % 4}`, weight: 1, timestamp: 100 + k });
    out.push({ user: `u${k}`, item: `a${(k + 1) % 4}`, weight: 1, timestamp: 100 + k });
  }
  for (let k = 4; k < 8; k++) {
    out.push({ user: `u${k}`, item: 'a0', weight: 3, timestamp: 200 + k });
    out.push({ user: `u${k}`, item: 'b0', weight: 3, timestamp: 200 + k });
  }
  return out;
}

const rows = <T extends { ptr: Int32Array; items: Int32Array; scores: Float32Array }>(csr: T, r: number) =>
  Array.from(
    { length: csr.ptr[r + 1]! - csr.ptr[r]! },
    (_, k) => [csr.items[csr.ptr[r]! + k]!, csr.scores[csr.ptr[r]! + k]!] as const,
  );

describe('serving form', () => {
  const log = createInteractionLog(interactions());
  const m = buildInteractionMatrix(log);
  const item = (id: string) => log.itemIds.indexOf(id);
  const model = createTrainer('itemknn', { neighbors: 0 }).fit(m);

  it('keeps the top-K neighbours of each item, without the item itself', () => {
    const full = fitItemKnn(m, 'itemknn', resolveItemKnnOptions({ neighbors: 0 }, 'itemknn'));
    const nbr = itemNeighbours(model, m, 2);
    for (let i = 0; i < m.itemCount; i++) {
      const expected = [];
      for (let a = full.simPtr[i]!; a < full.simPtr[i + 1]!; a++)
        if (full.simItems[a] !== i) expected.push([full.simItems[a]!, full.simValues[a]!] as const);
      expected.sort((x, y) => y[1] - x[1] || x[0] - y[0]);
      expect(rows(nbr, i)).toEqual(expected.slice(0, 2));
    }
  });

  it("ranks a user's candidates by the history's neighbour rows, history excluded", () => {
    const nbr = itemNeighbours(model, m, 10);
    const top = userCandidates(model, m, nbr, 10);
    const u0 = log.userIds.indexOf('u0'); // a0, a1
    const candidates = rows(top, u0).map(([i]) => log.itemIds[i]);
    expect(candidates).not.toContain('a0');
    expect(candidates).not.toContain('a1');
    // Σ over history rows: a2 (neighbour of a1) and a3, b0 (neighbours of a0).
    expect(new Set(candidates)).toEqual(new Set(['a2', 'a3', 'b0']));
    const scores = rows(top, u0).map(([, s]) => s);
    expect(scores).toEqual([...scores].sort((x, y) => y - x));
  });

  it('finds complements among strong interactions only', () => {
    const comp = complementsOf(m, 5, 3);
    expect(rows(comp, item('a0')).map(([i]) => log.itemIds[i])).toEqual(['b0']);
    expect(rows(comp, item('a1'))).toEqual([]);
    expect(rows(complementsOf(m, 5, 10), item('a0'))).toEqual([]);
  });

  it('ranks popularity overall, per category and per segment', () => {
    const pop = decayedPopularity(m, 0);
    // a0: viewed by u0, u3, u4, u7, carted by u4-u7 → six distinct users.
    expect(pop[item('a0')]).toBe(6);
    expect(pop[item('b0')]).toBe(4);
    const category = new Int32Array(m.itemCount).fill(-1);
    category[item('b0')] = 1;
    category[item('a2')] = 1;
    const cat = categoryPopularity(pop, category, 2, 5);
    expect(rows(cat, 0)).toEqual([]);
    expect(rows(cat, 1).map(([i]) => log.itemIds[i])).toEqual(['a2', 'b0']);
    const members = Int32Array.from(['u1', 'u2'].map((u) => log.userIds.indexOf(u)));
    const seg = segmentPopularity(m, [{ id: 's', users: members }], (u) => u, 0, 2);
    // u1: a1, a2; u2: a2, a3 → a2 twice.
    expect(rows(seg, 0).map(([i, s]) => [log.itemIds[i], s])).toEqual([
      ['a2', 2],
      ['a1', 1],
    ]);
  });

  it('holds out the newest pairs and scores the served lists on them', () => {
    const split = timeHoldout(m, 0.2, 100)!;
    expect(split.train.userItems.length + 4).toBe(m.userItems.length);
    expect(split.users.length).toBeGreaterThan(0);
    const trained = createTrainer('itemknn', { neighbors: 0 }).fit(split.train);
    const top = userCandidates(trained, split.train, itemNeighbours(trained, split.train, 10), 10);
    const metrics = scoreHoldout(split, top, Int32Array.from([item('a0'), item('a1')]), 10);
    expect(metrics.k).toBe(10);
    expect(metrics.pairs).toBe(split.users.length);
    expect(metrics.hitRate).toBeGreaterThanOrEqual(0);
    expect(metrics.hitRate).toBeLessThanOrEqual(1);
    expect(timeHoldout(m, 0.001, 100)).toBeUndefined();
  });

  it('trains a version from a table; its artifact loads back to the same serving model', () => {
    const users = new Dictionary();
    const items = new Dictionary();
    const buffer = new DeltaBuffer();
    for (const it of interactions()) buffer.add(users.intern(it.user), items.intern(it.item), it.weight, it.timestamp);
    const table = new InteractionTable(1);
    table.apply(buffer.take(users, 0, items, 0, new Catalogue().takeDelta(), [16]));
    const settings = resolveRecommendationOptions({ model: 'sar', neighbors: 5 }).trainer;
    const result = runTraining(table, 3, [{ id: 'vip', users: Int32Array.from([0, 1]) }], settings, 1234);
    expect(result.version).toBe(3);
    expect(result.interactions).toBe(m.userItems.length);
    expect(result.positions).toEqual([16]);
    expect(table.length).toBe(m.userItems.length);
    const fromResult = ServingModel.fromResult(result);
    const fromFile = ServingModel.fromArtifact(
      decodeArtifact(encodeArtifact(toServingArtifact(result, items.ids, users.ids))),
    );
    expect(fromFile.version).toBe(3);
    expect(fromFile.segments).toEqual(['vip']);
    expect(fromFile.itemCount).toBe(fromResult.itemCount);
    const loaded = fromFile.arrays as unknown as Record<string, Iterable<number>>;
    for (const [name, array] of Object.entries(fromResult.arrays))
      expect([name, [...loaded[name]!]]).toEqual([name, [...(array as Iterable<number>)]]);
  });
});
