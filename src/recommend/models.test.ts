import { describe, expect, it } from 'vitest';
import { decodeArtifact, encodeArtifact } from './artifact.js';
import { buildInteractionMatrix, createInteractionLog } from './interactions.js';
import { fitEase } from './model-ease.js';
import { fitIals } from './model-ials.js';
import { fitItemKnn } from './model-item-knn.js';
import { resolveEaseOptions, resolveIalsOptions, resolveItemKnnOptions } from './options.js';
import { createTrainer, loadRecommender, parseModelName } from './registry.js';
import { ItemExclusion, topN } from './scoring.js';
import { MODEL_NAMES } from './types.js';
import type { Interaction, InteractionMatrix } from './types.js';

/**
 * Two taste clusters: users 0–5 like items a0..a4, users 6–11 like b0..b4; a few users miss one
 * item of their cluster. Item "z" is seen by nobody.
 */
function clusters(): InteractionMatrix {
  const rows: Interaction[] = [];
  for (let u = 0; u < 12; u++) {
    const group = u < 6 ? 'a' : 'b';
    for (let i = 0; i < 5; i++) {
      if ((u + i) % 6 === 0) continue; // a hole per user
      rows.push({
        user: `u${u}`,
        item: `${group}${i}`,
        weight: 1 + ((u + i) % 5),
        timestamp: 1_000_000 + u * 1000 + i,
      });
    }
  }
  // One cross-over user so the clusters are connected.
  rows.push({ user: 'u0', item: 'b0', weight: 1, timestamp: 1_000_000 });
  rows.push({ user: 'ghost', item: 'z', weight: 1, timestamp: 1 });
  const log = createInteractionLog(rows);
  // Drop the ghost row from the matrix but keep the ids (z is in the dictionary, untrained).
  return buildInteractionMatrix({ ...log, length: log.length - 1 });
}

function gaussJordanInverse(m: Float64Array, n: number): Float64Array {
  const a = Array.from(m);
  const inv: number[] = Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0));
  for (let c = 0; c < n; c++) {
    const d = a[c * n + c]!;
    for (let k = 0; k < n; k++) {
      a[c * n + k]! /= d;
      inv[c * n + k]! /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r * n + c]!;
      for (let k = 0; k < n; k++) {
        a[r * n + k]! -= f * a[c * n + k]!;
        inv[r * n + k]! -= f * inv[c * n + k]!;
      }
    }
  }
  return Float64Array.from(inv);
}

const index = (m: InteractionMatrix, id: string): number => m.itemIds.indexOf(id);
const user = (m: InteractionMatrix, id: string): number => m.userIds.indexOf(id);

function seen(m: InteractionMatrix, u: number): ItemExclusion {
  const ex = new ItemExclusion(m.itemCount);
  for (let k = m.userPtr[u]!; k < m.userPtr[u + 1]!; k++) ex.add(m.userItems[k]!);
  return ex;
}

describe('EASE', () => {
  it('equals the closed form B = I − P·diag(1/diag(P)) computed by brute force', () => {
    const m = clusters();
    const lambda = 3;
    const dropout = 0.2;
    const model = fitEase(m, resolveEaseOptions({ lambda, dropout, binarize: true }));
    // Brute force over the trained items, in index order.
    const active = Array.from(model.active);
    expect(active).not.toContain(index(m, 'z'));
    const n = active.length;
    const x = Array.from({ length: m.userCount }, () => new Float64Array(n));
    for (let u = 0; u < m.userCount; u++)
      for (let k = m.userPtr[u]!; k < m.userPtr[u + 1]!; k++) x[u]![active.indexOf(m.userItems[k]!)] = 1;
    const g = new Float64Array(n * n);
    for (const row of x) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j]! += row[i]! * row[j]!;
    for (let i = 0; i < n; i++) g[i * n + i] = g[i * n + i]! * (1 + dropout / (1 - dropout)) + lambda;
    const p = gaussJordanInverse(g, n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) {
        const expected = i === j ? 0 : -p[i * n + j]! / p[j * n + j]!;
        expect(model.weights[i * n + j]!).toBeCloseTo(expected, 5);
      }
    // Scores of a user are X_u·B over trained items; the untrained item is unscorable.
    const out = new Float64Array(m.itemCount);
    const u = user(m, 'u3');
    expect(model.scoreUser(u, out)).toBe(true);
    expect(out[index(m, 'z')]).toBe(-Infinity);
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[u]![i]! * model.weights[i * n + j]!;
      expect(out[active[j]!]!).toBeCloseTo(s, 5);
    }
  });

  it('recommends the missing item of the user’s own cluster', () => {
    const m = clusters();
    const model = fitEase(m, resolveEaseOptions({ lambda: 1, dropout: 0 }));
    const out = new Float64Array(m.itemCount);
    const u = user(m, 'u8'); // misses b4 ((8+4) % 6 === 0)
    model.scoreUser(u, out);
    expect(m.itemIds[topN(out, 1, { exclude: seen(m, u) }).items[0]!]).toBe('b4');
  });
});

describe('item-kNN / SAR', () => {
  it('computes jaccard, cosine and lift from co-occurrence counts', () => {
    const log = createInteractionLog([
      { user: 'u1', item: 'x', weight: 1, timestamp: 0 },
      { user: 'u1', item: 'y', weight: 1, timestamp: 0 },
      { user: 'u2', item: 'x', weight: 1, timestamp: 0 },
      { user: 'u3', item: 'y', weight: 1, timestamp: 0 },
      { user: 'u3', item: 'x', weight: 1, timestamp: 0 },
      { user: 'u4', item: 'y', weight: 1, timestamp: 0 },
    ]);
    const m = buildInteractionMatrix(log);
    // C_xx = 3, C_yy = 3, C_xy = 2.
    const sim = (kind: 'jaccard' | 'cosine' | 'lift'): number => {
      const model = fitItemKnn(m, 'itemknn', resolveItemKnnOptions({ similarity: kind, neighbors: 0 }, 'itemknn'));
      const out = new Float64Array(m.itemCount);
      model.scoreItems([0], [1], out);
      return out[1]!;
    };
    expect(sim('jaccard')).toBeCloseTo(2 / (3 + 3 - 2), 6);
    expect(sim('cosine')).toBeCloseTo(2 / 3, 6);
    expect(sim('lift')).toBeCloseTo(2 / 9, 6);
  });

  it('halves an affinity per half-life of age (SAR time decay)', () => {
    const day = 86_400;
    const log = createInteractionLog([
      { user: 'u', item: 'old', weight: 4, timestamp: 0 },
      { user: 'u', item: 'new', weight: 4, timestamp: 30 * day },
      { user: 'v', item: 'old', weight: 1, timestamp: 30 * day },
      { user: 'v', item: 'new', weight: 1, timestamp: 30 * day },
    ]);
    const m = buildInteractionMatrix(log);
    const model = fitItemKnn(m, 'sar', resolveItemKnnOptions({ timeDecayHalfLifeDays: 30 }, 'sar'));
    const uRow = model.rows.values.subarray(m.userPtr[0], m.userPtr[1]);
    expect(Array.from(uRow).sort()).toEqual([2, 4]);
  });

  it('keeps at most `neighbors` similarities per item', () => {
    const m = clusters();
    const model = fitItemKnn(m, 'itemknn', resolveItemKnnOptions({ neighbors: 2 }, 'itemknn'));
    for (let i = 0; i < m.itemCount; i++) expect(model.simPtr[i + 1]! - model.simPtr[i]!).toBeLessThanOrEqual(2);
  });
});

describe('iALS', () => {
  it('is deterministic for a seed and separates the clusters', () => {
    const m = clusters();
    const o = resolveIalsOptions({ factors: 4, iterations: 15, regularization: 0.1, alpha: 5, seed: 7 });
    const a = fitIals(m, o);
    const b = fitIals(m, o);
    expect(Array.from(a.itemFactors)).toEqual(Array.from(b.itemFactors));
    const out = new Float64Array(m.itemCount);
    const u = user(m, 'u8');
    a.scoreUser(u, out);
    expect(m.itemIds[topN(out, 1, { exclude: seen(m, u) }).items[0]!]).toBe('b4');
    expect(out[index(m, 'z')]).toBe(-Infinity);
  });

  it('folds a history in to (nearly) the trained user factor', () => {
    const m = clusters();
    const model = fitIals(
      m,
      resolveIalsOptions({ factors: 4, iterations: 20, cgSteps: 4, regularization: 0.1, alpha: 5 }),
    );
    const u = user(m, 'u4');
    const trained = new Float64Array(m.itemCount);
    const folded = new Float64Array(m.itemCount);
    model.scoreUser(u, trained);
    const items = m.userItems.subarray(m.userPtr[u], m.userPtr[u + 1]);
    model.scoreItems(
      items,
      Array.from(items, () => 1),
      folded,
    );
    for (let i = 0; i < m.itemCount; i++)
      if (Number.isFinite(trained[i]!)) expect(folded[i]!).toBeCloseTo(trained[i]!, 3);
  });
});

describe('every model', () => {
  it.each(MODEL_NAMES)('%s: a session fold-in changes the ranking of a cold visitor', (name) => {
    const m = clusters();
    const model = createTrainer(name, name === 'ials' ? { factors: 4, regularization: 0.1, alpha: 5 } : {}).fit(m);
    const a = new Float64Array(m.itemCount);
    const b = new Float64Array(m.itemCount);
    const fold = model.createFoldIn();
    expect(fold.score(a)).toBe(name === 'popularity');
    fold.add(index(m, 'a1'), 1);
    fold.add(index(m, 'a2'), 1);
    fold.score(a);
    model.scoreItems([index(m, 'a1'), index(m, 'a2')], [1, 1], b);
    for (let i = 0; i < m.itemCount; i++) expect(a[i]).toBeCloseTo(b[i]!, 9);
    const ex = new ItemExclusion(m.itemCount);
    ex.addAll([index(m, 'a1'), index(m, 'a2')]);
    const top = Array.from(topN(a, 3, { exclude: ex }).items, (i) => m.itemIds[i]!);
    if (name === 'popularity') return;
    // After seeing a1 and a2 the best items are the rest of cluster a.
    expect(top.every((id) => id.startsWith('a'))).toBe(true);
    fold.reset();
    fold.add(index(m, 'b1'), 1);
    fold.score(a);
    expect(m.itemIds[topN(a, 1, { exclude: new ItemExclusion(m.itemCount) }).items[0]!]!.startsWith('b')).toBe(true);
  });

  it.each(MODEL_NAMES)('%s: survives an artifact round trip with identical scores', (name) => {
    const m = clusters();
    const model = createTrainer(name, name === 'ials' ? { factors: 4 } : {}).fit(m);
    const restored = loadRecommender(decodeArtifact(encodeArtifact(model.toArtifact())));
    expect(restored.name).toBe(name);
    const a = new Float64Array(m.itemCount);
    const b = new Float64Array(m.itemCount);
    for (let u = 0; u < m.userCount; u++) {
      expect(restored.scoreUser(u, b)).toBe(model.scoreUser(u, a));
      expect(Array.from(b)).toEqual(Array.from(a));
    }
    model.scoreItems([0, 3], [1, 2], a);
    restored.scoreItems([0, 3], [1, 2], b);
    expect(Array.from(b)).toEqual(Array.from(a));
  });

  it('rejects unknown models, options and broken artifacts by code', () => {
    expect(() => parseModelName('bpr')).toThrow(expect.objectContaining({ code: 'RECOMMEND_UNKNOWN_MODEL' }));
    expect(() => createTrainer('ease', { lambda: -1 })).toThrow(
      expect.objectContaining({ code: 'RECOMMEND_INVALID_OPTIONS' }),
    );
    expect(() => createTrainer('ease', { lamda: 10 })).toThrow(
      expect.objectContaining({ code: 'RECOMMEND_INVALID_OPTIONS' }),
    );
    expect(() => decodeArtifact(Buffer.from('nope nope'))).toThrow(
      expect.objectContaining({ code: 'RECOMMEND_INVALID_ARTIFACT' }),
    );
    const buf = encodeArtifact(createTrainer('popularity').fit(clusters()).toArtifact());
    expect(() => decodeArtifact(buf.subarray(0, buf.length - 8))).toThrow(
      expect.objectContaining({ code: 'RECOMMEND_INVALID_ARTIFACT' }),
    );
  });

  it('refuses to train on nothing', () => {
    const log = createInteractionLog([]);
    expect(() => buildInteractionMatrix(log)).toThrow(
      expect.objectContaining({ code: 'RECOMMEND_EMPTY_TRAINING_SET' }),
    );
  });
});
