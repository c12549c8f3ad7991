import { describe, expect, it } from 'vitest';
import { buildInteractionMatrix, createInteractionLog } from './interactions.js';
import { popularityScores } from './model-popularity.js';
import { createTrainer } from './registry.js';
import { createScorer } from './scorer.js';
import { ItemExclusion, topN } from './scoring.js';
import { MODEL_NAMES } from './types.js';
import type { Interaction } from './types.js';

function data(): ReturnType<typeof buildInteractionMatrix> {
  const rows: Interaction[] = [];
  for (let u = 0; u < 10; u++) {
    const group = u < 5 ? 'a' : 'b';
    for (let i = 0; i < 4; i++)
      if ((u + i) % 5 !== 0) rows.push({ user: `u${u}`, item: `${group}${i}`, weight: 1, timestamp: u });
  }
  rows.push({ user: 'u9', item: 'a0', weight: 1, timestamp: 9 });
  return buildInteractionMatrix(createInteractionLog(rows));
}

describe('Scorer', () => {
  it.each(MODEL_NAMES)('%s: user + session equals the manual blend, cold visitors get popularity', (name) => {
    const m = data();
    const model = createTrainer(name, name === 'ials' ? { factors: 4, regularization: 0.1, alpha: 5 } : {}).fit(m);
    const popularity = popularityScores(m);
    const scorer = createScorer(model, popularity);
    const session = { items: [m.itemIds.indexOf('b1')], weights: [2] };
    const exclude = new ItemExclusion(m.itemCount);
    exclude.add(m.itemIds.indexOf('b1'));
    const got = scorer.recommend({ user: 1, session, k: 3, exclude, sessionWeight: 0.5 });
    const u = new Float64Array(m.itemCount);
    const s = new Float64Array(m.itemCount);
    model.scoreUser(1, u);
    model.scoreItems(session.items, session.weights, s);
    const expected = topN(
      u.map((x, i) => x + 0.5 * s[i]!),
      3,
      { exclude },
    );
    expect(Array.from(got.items)).toEqual(Array.from(expected.items));
    expect(got.source).toBe('user+session');

    const cold = scorer.recommend({ k: 2 });
    expect(cold.source).toBe('popularity');
    expect(Array.from(cold.items)).toEqual(Array.from(topN(popularity, 2).items));
    const anonymous = scorer.recommend({ session, k: 2, exclude });
    expect(anonymous.source).toBe('session');
  });
});
