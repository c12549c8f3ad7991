import { describe, expect, it } from 'vitest';
import { recommendBatch } from './batch.js';
import { evaluateOffline } from './evaluate.js';
import { createInteractionLog } from './interactions.js';
import { runPrequential } from './prequential.js';
import { MersenneTwister } from './rng.js';
import type { Interaction } from './types.js';

/**
 * Users arrive one after another; each consumes 8 items of one of four taste clusters (16 items
 * each), in a random order, within its own burst of time — MovieLens-like sessions.
 */
function burstyLog(users: number, seed = 11): ReturnType<typeof createInteractionLog> {
  const rng = new MersenneTwister(seed);
  const rows: Interaction[] = [];
  let t = 0;
  for (let u = 0; u < users; u++) {
    const cluster = Math.floor(rng.random() * 4);
    const picks = new Set<number>();
    while (picks.size < 8) picks.add(Math.floor(rng.random() * 16));
    for (const p of picks) rows.push({ user: `u${u}`, item: `c${cluster}-${p}`, weight: 1 + (p % 5), timestamp: t++ });
  }
  return createInteractionLog(rows);
}

describe('evaluateOffline', () => {
  it('trains and scores every model on the msr split, collaborative models beating popularity', () => {
    const log = burstyLog(300);
    const report = evaluateOffline(log, {
      protocol: 'msr',
      k: 5,
      models: ['popularity', 'itemknn', 'ease', 'ials'],
      modelOptions: { ials: { factors: 8, regularization: 1 } },
    });
    expect(report.results.map((r) => r.model)).toEqual(['popularity', 'itemknn', 'ease', 'ials']);
    expect(report.trainRows + report.testRows).toBe(log.length);
    for (const r of report.results) {
      for (const v of [r.precision, r.recall, r.ndcg, r.map, r.mapAtK, r.coverage]) {
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }
    }
    const ndcg = (m: string): number => report.results.find((r) => r.model === m)!.ndcg;
    expect(ndcg('ease')).toBeGreaterThan(ndcg('popularity'));
    expect(ndcg('itemknn')).toBeGreaterThan(ndcg('popularity'));
    expect(ndcg('ials')).toBeGreaterThan(ndcg('popularity'));
  });

  it('never reads test rows in validation mode and is deterministic', () => {
    const log = burstyLog(200);
    const a = evaluateOffline(log, { models: ['ease'], validation: true });
    const b = evaluateOffline(log, { models: ['ease'], validation: true });
    const full = evaluateOffline(log, { models: ['ease'] });
    expect(a.trainRows + a.testRows).toBe(full.trainRows);
    expect(a.results[0]!.ndcg).toBe(b.results[0]!.ndcg);
  });

  it('supports the temporal protocol', () => {
    const log = burstyLog(200);
    const report = evaluateOffline(log, { protocol: 'temporal', models: ['popularity', 'sar'] });
    expect(report.protocol).toBe('temporal');
    expect(report.trainRows).toBe(log.length - Math.round(log.length * 0.2));
  });
});

describe('runPrequential', () => {
  it('session fold-in beats periodic retraining when users act in bursts', () => {
    const log = burstyLog(300);
    const report = runPrequential(log, { models: ['popularity', 'sar', 'ease'], retrainEvery: 400, k: 5 });
    expect(report.results).toHaveLength(3);
    for (const r of report.results) {
      expect(r.events).toBe(log.length - 400);
      expect(r.retrains).toBe(Math.floor((log.length - 1) / 400));
    }
    const [pop, sar, ease] = report.results;
    expect(pop!.hitRateSession).toBe(pop!.hitRatePeriodic);
    expect(sar!.hitRateSession).toBeGreaterThan(sar!.hitRatePeriodic + 0.1);
    expect(ease!.hitRateSession).toBeGreaterThan(ease!.hitRatePeriodic + 0.1);
  });

  it('rejects a retrain interval outside the log', () => {
    expect(() => runPrequential(burstyLog(10), { retrainEvery: 0 })).toThrow(
      expect.objectContaining({ code: 'RECOMMEND_INVALID_OPTIONS' }),
    );
  });
});

describe('recommendBatch', () => {
  it('returns k unseen items for every user', () => {
    const log = burstyLog(50);
    const { recommendations } = recommendBatch(log, { model: 'sar', k: 4 });
    expect(recommendations).toHaveLength(50);
    const seen = new Map<string, Set<string>>();
    for (let r = 0; r < log.length; r++) {
      const u = log.userIds[log.users[r]!]!;
      if (!seen.has(u)) seen.set(u, new Set());
      seen.get(u)!.add(log.itemIds[log.items[r]!]!);
    }
    for (const rec of recommendations) {
      expect(rec.items).toHaveLength(4);
      for (const item of rec.items) expect(seen.get(rec.user)!.has(item)).toBe(false);
    }
  });
});
