import type { SegmentDefinition } from './types.js';

/**
 * The three segments of DESIGN.md §6, verbatim. `kairos start` installs them on the first start of a
 * data directory (the demo store's banner and cart reminder use the first two); delete or replace
 * them through `PUT|DELETE /v1/segments/{id}` like any other.
 */
export const EXAMPLE_SEGMENTS: readonly SegmentDefinition[] = Object.freeze([
  {
    id: 'high-intent',
    name: 'High intent',
    condition: { count: { event: 'Product Viewed', by: 'properties.product_id', within: '10m' }, gt: 3 },
  },
  {
    id: 'cart-abandoner',
    name: 'Cart abandoner',
    condition: { sequence: [{ event: 'Product Added' }, { absent: { event: 'Order Completed' }, for: '30m' }] },
  },
  {
    id: 'big-spender',
    name: 'Big spender',
    condition: {
      all: [
        { sum: { event: 'Order Completed', of: 'properties.revenue', within: '30d' }, gte: 500 },
        { trait: 'plan', in: ['pro', 'enterprise'] },
      ],
    },
  },
] as SegmentDefinition[]);
