import { afterEach, describe, expect, it } from 'vitest';
import { startRecommendEngine, track, type RecommendHarness } from './recommend-harness.js';

/**
 * The count trigger under a steady stream: with `trainerShare` the trainer rests T × (1/share − 1)
 * after a training of T, so new interactions wait; with share 1 they retrain at once.
 */
describe('trainer share', () => {
  let h: RecommendHarness | undefined;
  let at = Date.now() - 60 * 60_000;
  const views = (prefix: string, n: number) =>
    Array.from({ length: n }, (_, k) =>
      track({ userId: `${prefix}${k % 7}` }, 'Product Viewed', { product_id: `${prefix}-item-${k % 11}` }, (at += 500)),
    );

  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  async function activeVersion(): Promise<number> {
    const models = await h!.get<{ active: { version: number } | null }>('/v1/models');
    return models.body.active?.version ?? 0;
  }

  async function waitForVersion(version: number, timeoutMs: number): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (performance.now() < deadline) {
      if ((await activeVersion()) >= version) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`version ${version} not trained within ${timeoutMs} ms`);
  }

  for (const [share, rests] of [
    [0.001, true],
    [1, false],
  ] as const) {
    it(`share ${share}: the count trigger ${rests ? 'waits' : 'fires at once'}`, async () => {
      h = await startRecommendEngine({
        recommend: { retrainInterval: 0, retrainEveryInteractions: 10, trainerShare: share, tickInterval: 20 },
      });
      await h.send(views('a', 30));
      await waitForVersion(1, 15_000);
      await h.send(views('b', 30));
      await h.waitForStream();
      if (rests) {
        // The first training took T ≥ 2 ms of wall time (it writes and syncs an artifact): no new
        // version for 999 T, though 30 new interactions passed the count trigger of 10.
        await new Promise((r) => setTimeout(r, 1500));
        expect(await activeVersion()).toBe(1);
      } else {
        await waitForVersion(2, 5_000);
      }
    });
  }
});
