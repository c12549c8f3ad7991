import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SegmentDefinition } from '../../src/segments/index.js';
import { metricValue as metric } from '../helpers/metrics.js';
import {
  identify,
  startRecommendEngine,
  track,
  type RecommendHarness,
  type RecommendationBody,
} from './recommend-harness.js';

/**
 * Live recommendations through the real engine (HTTP collection → log → stream → profiles; the
 * trainer tail, the trainer thread, the registry and the live scorer of the extension).
 *
 * Catalogue: clusters A (shoes), B (hats), C (bags) of six items; user k of a cluster views items
 * k, k+1, k+2 (mod 6) of it. C has twice the users (popular). Eight shoppers put a1 and b1 in
 * their cart (complements). m1 (shoes) is co-viewed with h1 (hats) by six users and with s1
 * (shoes) by four. B's users carry the trait segment=vip.
 */
const A = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
const B = ['b1', 'b2', 'b3', 'b4', 'b5', 'b6'];
const C = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'];
const CATEGORY: Record<string, string> = { a: 'shoes', b: 'hats', c: 'bags', m: 'shoes', h: 'hats', s: 'shoes' };
const categoryOf = (item: string) => CATEGORY[item[0]!]!;

/** Trait segments: the segments operator announces enters, the recommendation extension learns them. */
const SEGMENTS: SegmentDefinition[] = [
  { id: 'vip', name: 'VIP', condition: { trait: 'segment', eq: 'vip' } },
  { id: 'high-intent', name: 'High intent (from a trait here)', condition: { trait: 'intent', eq: 'high' } },
];

const ids = (body: RecommendationBody) => body.items.map((i) => i.itemId);

describe('live recommendations in the engine', () => {
  let h: RecommendHarness;
  const answers: string[] = [];
  const t0 = Date.now() - 30 * 60_000;
  let at = t0;
  const next = () => (at += 1000);
  const userCount: Record<string, number> = {};

  const recommend = async (query: Record<string, string | number>) => {
    const answer = await h.recommend(query);
    answers.push(answer.text);
    return answer;
  };

  beforeAll(async () => {
    h = await startRecommendEngine({
      recommend: {
        // Only explicit trainings (POST /v1/models/train): the tests decide when versions change.
        minInteractions: 1e9,
        retrainInterval: 0,
        retrainEveryInteractions: 0,
        categoryBoost: 1,
      },
      segments: SEGMENTS,
    });
    const batch: Record<string, unknown>[] = [];
    const view = (userId: string, item: string) => {
      userCount[userId] = (userCount[userId] ?? 0) + 1;
      batch.push(
        track(
          { userId },
          'Product Viewed',
          { product_id: item, category: categoryOf(item), price: 10, name: `Item ${item}` },
          next(),
        ),
      );
    };
    for (const [prefix, items, users] of [
      ['ua', A, 12],
      ['ub', B, 12],
      ['uc', C, 24],
    ] as const) {
      for (let k = 0; k < users; k++) {
        const userId = `${prefix}${k}`;
        if (prefix === 'ub') {
          userCount[userId] = (userCount[userId] ?? 0) + 1;
          batch.push(
            identify({ userId }, { segment: 'vip', email: `${userId}@example.com`, name: 'Secret Name' }, next()),
          );
        }
        for (let j = 0; j < 3; j++) view(userId, items[(k + j) % 6]!);
      }
    }
    for (let k = 0; k < 8; k++) {
      const userId = `cart${k}`;
      userCount[userId] = 2;
      for (const item of ['a1', 'b1'])
        batch.push(
          track({ userId }, 'Product Added', { product_id: item, category: categoryOf(item), price: 10 }, next()),
        );
    }
    for (let k = 0; k < 10; k++) {
      const userId = `mix${k}`;
      view(userId, 'm1');
      view(userId, k < 6 ? 'h1' : 's1');
    }
    await h.send(batch);
    await h.waitForStream();
    for (const [userId, count] of Object.entries(userCount)) {
      await h.waitForProfile({ userId }, (p) => p.features.eventCount === count);
    }
    const record = await h.train();
    expect(record.version).toBe(1);
  });

  afterAll(async () => {
    await h?.stop();
  });

  it('starts a new visitor on the most popular items (cold start)', async () => {
    const answer = await recommend({ anonymousId: 'fresh-visitor', placement: 'home', n: 8 });
    expect(answer.status).toBe(200);
    expect(answer.body.model).toEqual({ name: 'sar', version: 1 });
    // a1 and b1: 14 users each; every C item: 12; everything else fewer.
    expect(new Set(ids(answer.body))).toEqual(new Set(['a1', 'b1', ...C]));
    expect(ids(answer.body).slice(0, 2).sort()).toEqual(['a1', 'b1']);
  });

  it('starts a segment member on what the segment likes (segment popularity)', async () => {
    await h.send([identify({ userId: 'vip-new' }, { segment: 'vip', email: 'vip-new@example.com' }, Date.now())]);
    await h.waitForProfile({ userId: 'vip-new' }, (p) => p.traits.segment === 'vip');
    const answer = await recommend({ userId: 'vip-new', n: 6 });
    expect(answer.status).toBe(200);
    expect(new Set(ids(answer.body))).toEqual(new Set(B));
  });

  it('changes the next list right after a click, without retraining', async () => {
    const visitor = { anonymousId: 'click-visitor' };
    await h.send([track(visitor, 'Product Viewed', { product_id: 'a3', category: 'shoes' }, Date.now() - 10_000)]);
    await h.waitForProfile(visitor, (p) => p.features.recentItems.includes('a3'));
    const before = await recommend({ ...visitor, placement: 'home', n: 4 });
    expect(before.status).toBe(200);
    // a3 is co-viewed with a1, a2, a4, a5 (users who viewed a1-a3, a2-a4, a3-a5).
    expect(new Set(ids(before.body))).toEqual(new Set(['a1', 'a2', 'a4', 'a5']));
    // The same request again is served from the cache, with a new recommendationId.
    const again = await recommend({ ...visitor, placement: 'home', n: 4 });
    expect(ids(again.body)).toEqual(ids(before.body));
    expect(again.body.recommendationId).not.toBe(before.body.recommendationId);

    await h.send([track(visitor, 'Product Clicked', { product_id: 'b4', category: 'hats' }, Date.now())]);
    await h.waitForProfile(visitor, (p) => p.features.recentItems.includes('b4'));
    const after = await recommend({ ...visitor, placement: 'home', n: 4 });
    expect(after.status).toBe(200);
    expect(after.body.model.version).toBe(before.body.model.version);
    expect(ids(after.body)).not.toEqual(ids(before.body));
    // b4's neighbours (b2, b3, b5, b6) enter the list; the clicked and viewed items never do.
    expect(ids(after.body).some((id) => ['b2', 'b3', 'b5', 'b6'].includes(id))).toBe(true);
    expect(ids(after.body)).not.toContain('b4');
    expect(ids(after.body)).not.toContain('a3');
  });

  it('serves item-to-item on the product placement, the item itself excluded', async () => {
    const answer = await recommend({ anonymousId: 'product-visitor', placement: 'product', itemId: 'a3', n: 4 });
    expect(answer.status).toBe(200);
    expect(new Set(ids(answer.body))).toEqual(new Set(['a1', 'a2', 'a4', 'a5']));
    // The SDK's placement name is an alias of product.
    const pdp = await recommend({ anonymousId: 'product-visitor', placement: 'pdp', itemId: 'a3', n: 4 });
    expect(ids(pdp.body)).toEqual(ids(answer.body));
  });

  it('serves complements of the cart on the cart placement (from itemId or from the live cart)', async () => {
    const byParam = await recommend({ anonymousId: 'cart-param', placement: 'cart', itemId: 'a1', n: 3 });
    expect(byParam.status).toBe(200);
    expect(ids(byParam.body)[0]).toBe('b1');
    expect(ids(byParam.body)).not.toContain('a1');

    const visitor = { anonymousId: 'cart-visitor' };
    await h.send([track(visitor, 'Product Added', { product_id: 'b1', category: 'hats' }, Date.now())]);
    await h.waitForProfile(visitor, (p) => p.features.recentItems.includes('b1'));
    // The cart comes from the trainer's tail of the log: give it the time to read the event.
    let answer: RecommendationBody | undefined;
    for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
      answer = (await recommend({ ...visitor, placement: 'cart', n: 3 })).body;
      if (answer.items[0]?.itemId === 'a1') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(ids(answer!)[0]).toBe('a1');
    expect(ids(answer!)).not.toContain('b1');
  });

  it('boosts the viewed category for members of high-intent', async () => {
    await h.send([
      identify({ userId: 'keen' }, { intent: 'high' }, Date.now()),
      identify({ userId: 'calm' }, { intent: 'low' }, Date.now()),
    ]);
    await h.waitForProfile({ userId: 'keen' }, (p) => p.traits.intent === 'high');
    await h.waitForProfile({ userId: 'calm' }, (p) => p.traits.intent === 'low');
    // m1 (shoes): h1 (hats) is the closer neighbour (6 co-viewers against s1's 4)…
    const calm = await recommend({ userId: 'calm', placement: 'product', itemId: 'm1', n: 2 });
    expect(ids(calm.body)).toEqual(['h1', 's1']);
    // …but a high-intent visitor gets the category being viewed (shoes) first.
    const keen = await recommend({ userId: 'keen', placement: 'product', itemId: 'm1', n: 2 });
    expect(ids(keen.body)).toEqual(['s1', 'h1']);
  });

  it('personalises for a known user from the trained model and excludes what they saw', async () => {
    const answer = await recommend({ userId: 'ua0', n: 3 });
    expect(answer.status).toBe(200);
    // ua0 viewed a1, a2, a3.
    for (const seen of ['a1', 'a2', 'a3']) expect(ids(answer.body)).not.toContain(seen);
    expect(['a4', 'a5', 'b1']).toContain(ids(answer.body)[0]);
  });

  it('attributes clicks and orders carrying the recommendationId', async () => {
    const list = await recommend({ userId: 'ub3', n: 3 });
    const recommendationId = list.body.recommendationId;
    const item = list.body.items[0]!.itemId;
    await h.send([
      track(
        { userId: 'ub3' },
        'Product Clicked',
        { product_id: item, recommendation_id: recommendationId },
        Date.now(),
      ),
      track(
        { userId: 'ub3' },
        'Order Completed',
        {
          order_id: 'o-1',
          revenue: 42,
          recommendation_id: recommendationId,
          products: [{ product_id: item, price: 42 }],
        },
        Date.now(),
      ),
      track({ userId: 'ub3' }, 'Product Clicked', { product_id: item, recommendation_id: 'rec_unknown' }, Date.now()),
    ]);
    let text = '';
    for (const deadline = Date.now() + 15_000; Date.now() < deadline;) {
      text = (await h.get('/metrics', 'none')).text;
      if (
        metric(text, 'kairos_recommend_orders_attributed_total\\{placement="home"\\}') === 1 &&
        metric(text, 'kairos_recommend_attribution_unmatched_total\\{event="Product Clicked"\\}') === 1
      )
        break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(metric(text, 'kairos_recommend_clicks_attributed_total\\{placement="home"\\}')).toBe(1);
    expect(metric(text, 'kairos_recommend_orders_attributed_total\\{placement="home"\\}')).toBe(1);
    expect(metric(text, 'kairos_recommend_revenue_attributed_total\\{placement="home"\\}')).toBe(42);
    expect(metric(text, 'kairos_recommend_attribution_unmatched_total\\{event="Product Clicked"\\}')).toBe(1);
    expect(metric(text, 'kairos_recommend_model_version')).toBe(1);
  });

  it('answers errors with RECOMMEND_* codes and checks keys', async () => {
    const unknown = await h.recommend({ userId: 'ua0', placement: 'checkout-banner' });
    expect([unknown.status, (unknown.body as unknown as { error: { code: string } }).error.code]).toEqual([
      400,
      'RECOMMEND_UNKNOWN_PLACEMENT',
    ]);
    const noItem = await h.recommend({ userId: 'ua0', placement: 'product' });
    expect([noItem.status, (noItem.body as unknown as { error: { code: string } }).error.code]).toEqual([
      400,
      'RECOMMEND_ITEM_REQUIRED',
    ]);
    const badN = await h.recommend({ userId: 'ua0', n: 0 });
    expect([badN.status, (badN.body as unknown as { error: { code: string } }).error.code]).toEqual([
      400,
      'RECOMMEND_INVALID_REQUEST',
    ]);
    const noKey = await h.get<{ error: { code: string } }>('/v1/recommendations?userId=ua0', 'none');
    expect([noKey.status, noKey.body.error.code]).toEqual([401, 'SERVE_UNAUTHORIZED']);
    const bySecret = await h.get<RecommendationBody>('/v1/recommendations?userId=ua0', 'secret');
    expect(bySecret.status).toBe(200);
    const modelsByWriteKey = await h.get<{ error: { code: string } }>('/v1/models', 'write');
    expect([modelsByWriteKey.status, modelsByWriteKey.body.error.code]).toEqual([403, 'SERVE_FORBIDDEN']);
    const noVersion = await h.get<{ error: { code: string } }>('/v1/models/999');
    expect([noVersion.status, noVersion.body.error.code]).toEqual([404, 'RECOMMEND_UNKNOWN_VERSION']);
  });

  it('never puts anything about the visitor in a response', () => {
    expect(answers.length).toBeGreaterThan(10);
    for (const text of answers) {
      for (const secret of [
        'example.com',
        'Secret Name',
        'ub3',
        'ua0',
        'vip-new',
        'click-visitor',
        'cart-visitor',
        'keen',
        'calm',
        'vip',
        'intent',
      ]) {
        expect(text).not.toContain(secret);
      }
      expect(Object.keys(JSON.parse(text) as object).sort()).toEqual([
        'generatedAt',
        'items',
        'model',
        'recommendationId',
      ]);
    }
  });

  it('lists versions with their holdout metrics, and resumes from the registry after a restart', async () => {
    const second = await h.train();
    expect(second.version).toBe(2);
    const models = await h.get<{
      active: { version: number };
      versions: { version: number; state: string; file?: string; metrics: unknown; interactions: number }[];
      trainer: { positions: number[] };
    }>('/v1/models');
    expect(models.status).toBe(200);
    expect(models.body.active).toEqual({ name: 'sar', version: 2 });
    expect(models.body.versions.map((v) => [v.version, v.state])).toEqual([
      [2, 'active'],
      [1, 'retired'],
    ]);
    expect(models.body.versions[0]!.file).toMatch(/^models\/v00000002-sar\.krm$/);
    expect(models.body.versions[0]!.metrics).toMatchObject({ k: 10 });
    const one = await h.get<{ version: number }>('/v1/models/1');
    expect(one.body.version).toBe(1);
    const before = await recommend({ anonymousId: 'restart-visitor', placement: 'product', itemId: 'a3', n: 4 });
    const positions = models.body.trainer.positions;

    const dir = h.dir;
    await h.stop(false);
    h = await startRecommendEngine({
      dir,
      recommend: { minInteractions: 1e9, retrainInterval: 0, retrainEveryInteractions: 0, categoryBoost: 1 },
      segments: SEGMENTS,
    });
    // Served at once from the registry: same version, same list, no training.
    const after = await recommend({ anonymousId: 'restart-visitor', placement: 'product', itemId: 'a3', n: 4 });
    expect(after.body.model).toEqual({ name: 'sar', version: 2 });
    expect(ids(after.body)).toEqual(ids(before.body));
    // The trainer resumed from its cursors: it did not re-read the log.
    const resumed = await h.get<{ trainer: { positions: number[]; training: boolean } }>('/v1/models');
    expect(resumed.body.trainer.positions).toEqual(positions);
    // Segment members are seeded from the member index at start: the vip users did not change since
    // the restart, yet a new member still starts on what the segment likes.
    await h.send([identify({ userId: 'vip-after-restart' }, { segment: 'vip' }, Date.now())]);
    await h.waitForProfile({ userId: 'vip-after-restart' }, (p) => p.traits.segment === 'vip');
    const third = await h.train();
    expect(third.version).toBe(3);
    const vip = await recommend({ userId: 'vip-after-restart', n: 6 });
    expect(new Set(ids(vip.body))).toEqual(new Set(B));
  });
});
