import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../../test/helpers/events.js';
import { isKairosError } from '../../core/index.js';
import { RecommendationCache } from './cache.js';
import { interactionsOf, productFactsOf, recommendationIdOf, revenueOf } from './events.js';
import { resolveRecommendationOptions } from './options.js';

const T = Date.UTC(2026, 0, 1);

describe('interactions from events', () => {
  it('weights views < cart adds < purchases, ratings by their value, and ignores the rest', () => {
    const of = (event: string, properties: Record<string, unknown>) =>
      interactionsOf(makeEvent({ userId: 'u', eventTimeMs: T, event, properties }));
    expect(of('Product Viewed', { product_id: 'p1' })).toEqual([{ itemId: 'p1', weight: 1 }]);
    expect(of('Product Added', { product_id: 'p1' })).toEqual([{ itemId: 'p1', weight: 3 }]);
    expect(of('Product Added to Wishlist', { product_id: 'p1' })).toEqual([{ itemId: 'p1', weight: 2 }]);
    expect(
      of('Order Completed', { order_id: 'o', products: [{ product_id: 'p1' }, { product_id: 2 }, { sku: 'x' }] }),
    ).toEqual([
      { itemId: 'p1', weight: 5 },
      { itemId: '2', weight: 5 },
    ]);
    expect(of('Item Rated', { item_id: 'm1', rating: 4.5 })).toEqual([{ itemId: 'm1', weight: 4.5 }]);
    expect(of('Item Rated', { item_id: 'm1' })).toEqual([]);
    expect(of('Products Searched', { query: 'shoes' })).toEqual([]);
    expect(
      interactionsOf(
        makeEvent({ userId: 'u', eventTimeMs: T, type: 'page', name: 'Home', properties: { product_id: 'p1' } }),
      ),
    ).toEqual([]);
  });

  it('learns catalogue facts and attribution fields', () => {
    const event = makeEvent({
      userId: 'u',
      eventTimeMs: T,
      event: 'Order Completed',
      properties: {
        recommendation_id: 'rec_1',
        products: [
          { product_id: 'p1', category: 'shoes', price: '12.5', name: 'Shoe', quantity: 2 },
          { product_id: 'p2', in_stock: false },
        ],
      },
    });
    expect(productFactsOf(event)).toEqual([
      { itemId: 'p1', category: 'shoes', price: 12.5, name: 'Shoe' },
      { itemId: 'p2', available: false },
    ]);
    expect(recommendationIdOf(event)).toBe('rec_1');
    expect(revenueOf(event)).toBe(25);
    expect(
      revenueOf(makeEvent({ userId: 'u', eventTimeMs: T, event: 'Order Completed', properties: { revenue: 42 } })),
    ).toBe(42);
  });
});

describe('RecommendationCache', () => {
  const entry = (version: number, expiresAtMs = 1_000) => ({
    version,
    stateKey: 'u:1',
    stateEvents: 1,
    stateUpdatedMs: 1,
    itemsJson: '[]',
    count: 0,
    placement: 'home',
    source: 'popular' as const,
    expiresAtMs,
  });

  it('serves an entry only for its version and before its TTL', () => {
    const cache = new RecommendationCache(10, 30_000);
    cache.set('u:1', 'u:1', 'home', entry(2));
    expect(cache.get('u:1', 'home', 2, 999)?.version).toBe(2);
    expect(cache.get('u:1', 'home', 3, 999)).toBeUndefined();
    expect(cache.get('u:1', 'home', 2, 1_000)).toBeUndefined();
    expect(cache.get('u:1', 'product', 2, 0)).toBeUndefined();
  });

  it("drops a profile's lists, including those cached under a key that resolved to it", () => {
    const cache = new RecommendationCache(10, 30_000);
    cache.set('a:anon', 'u:1', 'home', entry(1));
    cache.set('u:1', 'u:1', 'cart', entry(1));
    cache.set('u:2', 'u:2', 'home', entry(1));
    cache.invalidate('u:1');
    expect(cache.get('a:anon', 'home', 1, 0)).toBeUndefined();
    expect(cache.get('u:1', 'cart', 1, 0)).toBeUndefined();
    expect(cache.get('u:2', 'home', 1, 0)).toBeDefined();
    expect(cache.size).toBe(1);
  });

  it('evicts the oldest profile beyond its size and stores nothing with a TTL of 0', () => {
    const cache = new RecommendationCache(2, 30_000);
    for (const key of ['u:1', 'u:2', 'u:3']) cache.set(key, key, 'home', entry(1));
    expect(cache.get('u:1', 'home', 1, 0)).toBeUndefined();
    expect(cache.size).toBe(2);
    const off = new RecommendationCache(2, 0);
    off.set('u:1', 'u:1', 'home', entry(1));
    expect(off.enabled).toBe(false);
    expect(off.size).toBe(0);
  });
});

describe('resolveRecommendationOptions', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return isKairosError(error) ? error.code : 'not a KairosError';
    }
    return 'no error';
  };

  it('fills defaults and freezes', () => {
    const o = resolveRecommendationOptions();
    expect(o.trainer.model).toBe('sar');
    expect(o.retrainIntervalMs).toBe(600_000);
    expect(o.placements.pdp).toBe('product');
    expect(o.cacheTtlMs).toBe(30_000);
    expect(Object.isFrozen(o)).toBe(true);
  });

  it('rejects typos and bad values', () => {
    expect(code(() => resolveRecommendationOptions({ retrainEvery: 5 } as never))).toBe('RECOMMEND_INVALID_OPTIONS');
    expect(code(() => resolveRecommendationOptions({ model: 'bpr' as never }))).toBe('RECOMMEND_INVALID_OPTIONS');
    expect(code(() => resolveRecommendationOptions({ modelOptions: { lambda: -1 }, model: 'ease' }))).toBe(
      'RECOMMEND_INVALID_OPTIONS',
    );
    expect(code(() => resolveRecommendationOptions({ retrainInterval: 'soon' }))).toBe('RECOMMEND_INVALID_OPTIONS');
    expect(code(() => resolveRecommendationOptions({ placements: { home: 'landing' as never } }))).toBe(
      'RECOMMEND_INVALID_OPTIONS',
    );
    expect(code(() => resolveRecommendationOptions({ defaultN: 500 }))).toBe('RECOMMEND_INVALID_OPTIONS');
  });
});

describe('ImpressionLog', () => {
  it('remembers the last `capacity` impressions by id, and nothing else', async () => {
    const { ImpressionLog } = await import('./impressions.js');
    const log = new ImpressionLog(3, 'rec_test');
    const ids = ['home', 'product', 'home', 'cart'].map((placement, version) => log.record(placement, version));
    expect(new Set(ids).size).toBe(4);
    expect(log.get(ids[0]!)).toBeUndefined();
    expect(log.get(ids[1]!)).toEqual({ placement: 'product', version: 1 });
    expect(log.get(ids[3]!)).toEqual({ placement: 'cart', version: 3 });
    expect(log.get('rec_other1')).toBeUndefined();
    expect(log.get('rec_test$$')).toBeUndefined();
    expect(log.get('rec_testzz')).toBeUndefined();
  });
});
