import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRecommendEngine, track, type RecommendHarness } from './recommend-harness.js';

/**
 * Retraining under load: four request loops run while the model is retrained several times in the
 * trainer thread. Every request must succeed, the served version must change mid-run, and a
 * response must come from exactly one version (lists are a function of version and profile: the
 * cache is off here so every request is scored afresh).
 */
const A = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
const B = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];

describe('retraining under concurrent requests', () => {
  let h: RecommendHarness;
  let at = Date.now() - 60 * 60_000;
  const next = () => (at += 500);

  beforeAll(async () => {
    h = await startRecommendEngine({
      streamWorkers: 1,
      recommend: {
        minInteractions: 1e9,
        retrainInterval: 0,
        retrainEveryInteractions: 0,
        cacheTtl: 0,
        model: 'ease',
        modelOptions: { lambda: 1 },
      },
    });
    const batch: Record<string, unknown>[] = [];
    for (const [prefix, items] of [
      ['ua', A],
      ['ub', B],
    ] as const) {
      for (let k = 0; k < 12; k++)
        for (let j = 0; j < 3; j++)
          batch.push(track({ userId: `${prefix}${k}` }, 'Product Viewed', { product_id: items[(k + j) % 6] }, next()));
    }
    batch.push(track({ anonymousId: 'session-visitor' }, 'Product Viewed', { product_id: 'a3' }, next()));
    await h.send(batch);
    await h.waitForStream();
    expect((await h.train()).version).toBe(1);
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('never fails, never mixes versions, and swaps mid-run', async () => {
    const queries: Record<string, string | number>[] = [
      { userId: 'ua0', n: 5 },
      { anonymousId: 'session-visitor', n: 5 },
      { anonymousId: 'x', placement: 'product', itemId: 'a3', n: 5 },
      { userId: 'ub1', placement: 'cart', itemId: 'b2', n: 5 },
    ];
    interface Sample {
      query: number;
      status: number;
      version: number;
      items: string;
      startedAt: number;
      ms: number;
    }
    const samples: Sample[] = [];
    let running = true;
    const loop = async (offset: number) => {
      for (let i = offset; running; i++) {
        const query = i % queries.length;
        const startedAt = performance.now();
        const answer = await h.recommend(queries[query]!);
        samples.push({
          query,
          status: answer.status,
          version: answer.body?.model?.version ?? -1,
          items: answer.body?.items?.map((item) => item.itemId).join(',') ?? answer.text,
          startedAt,
          ms: performance.now() - startedAt,
        });
      }
    };
    const loops = [0, 1, 2, 3].map((offset) => loop(offset));
    const trainings: { version: number; startedAt: number; endedAt: number }[] = [];
    for (let round = 0; round < 3; round++) {
      await new Promise((resolve) => setTimeout(resolve, 300));
      // New shoppers tie A and B together differently each round, so every version ranks differently.
      const batch: Record<string, unknown>[] = [];
      for (let k = 0; k < 6 + 4 * round; k++) {
        const userId = `round${round}-${k}`;
        batch.push(track({ userId }, 'Product Viewed', { product_id: 'a3' }, next()));
        batch.push(track({ userId }, 'Product Viewed', { product_id: B[(round + k) % 6]! }, next()));
        batch.push(track({ userId }, 'Product Viewed', { product_id: 'b2' }, next()));
      }
      await h.send(batch);
      const startedAt = performance.now();
      const record = await h.train();
      trainings.push({ version: record.version, startedAt, endedAt: performance.now() });
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    running = false;
    await Promise.all(loops);

    expect(samples.filter((s) => s.status !== 200)).toEqual([]);
    expect(trainings.map((t) => t.version)).toEqual([2, 3, 4]);
    const versions = [...new Set(samples.map((s) => s.version))].sort();
    expect(versions).toEqual([1, 2, 3, 4]);
    // Per loop, versions only move forward.
    const ordered = [...samples].sort((a, b) => a.startedAt - b.startedAt);
    expect(ordered[0]!.version).toBe(1);
    expect(ordered.at(-1)!.version).toBe(4);
    // One list per (query, version): a response never mixes two versions' arrays.
    const lists = new Map<string, Set<string>>();
    for (const s of samples) {
      const key = `${s.query}@${s.version}`;
      if (!lists.has(key)) lists.set(key, new Set());
      lists.get(key)!.add(s.items);
    }
    for (const [key, set] of lists) expect([key, set.size]).toEqual([key, 1]);
    // …and the versions do differ, so the check above has teeth.
    const productLists = new Set([1, 2, 3, 4].map((v) => [...(lists.get(`2@${v}`) ?? [])][0]));
    expect(productLists.size).toBeGreaterThan(1);

    const during = samples.filter((s) =>
      trainings.some((t) => s.startedAt + s.ms >= t.startedAt && s.startedAt <= t.endedAt),
    );
    const sorted = samples.map((s) => s.ms).sort((a, b) => a - b);
    const p99 = sorted[Math.floor(sorted.length * 0.99)]!;
    console.log(
      `swap run: ${samples.length} requests, ${during.length} while training; latency p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)} ms, ` +
        `p99 ${p99.toFixed(2)} ms, max ${sorted.at(-1)!.toFixed(2)} ms (max while training ${Math.max(...during.map((s) => s.ms)).toFixed(2)} ms); ` +
        `trainings ${trainings.map((t) => `${(t.endedAt - t.startedAt).toFixed(0)} ms`).join(', ')}`,
    );
    expect(during.length).toBeGreaterThan(0);
  });
});
