/** The 50 rules of the segment benchmarks: every condition kind of DESIGN.md §6, dependencies first. */
import { validateDefinition, type ActiveSegmentVersion, type Condition } from '../../src/segments/index.js';

export function rules(): ActiveSegmentVersion[] {
  const out: { id: string; condition: Condition }[] = [
    {
      id: 'high-intent',
      condition: { count: { event: 'Product Viewed', by: 'properties.product_id', within: '10m' }, gt: 3 },
    },
    {
      id: 'cart-abandoner',
      condition: { sequence: [{ event: 'Product Added' }, { absent: { event: 'Order Completed' }, for: '30m' }] },
    },
    {
      id: 'big-spender',
      condition: {
        all: [
          { sum: { event: 'Order Completed', of: 'properties.revenue', within: '30d' }, gte: 500 },
          { trait: 'plan', in: ['pro', 'enterprise'] },
        ],
      },
    },
  ];
  for (const within of ['5m', '10m', '30m'])
    for (const gt of [2, 3, 5])
      out.push({
        id: `views-${within}-${gt}`,
        condition: { count: { event: 'Product Viewed', by: 'properties.product_id', within }, gt },
      });
  for (let k = 0; k < 10; k++) {
    out.push({
      id: `cat-${k}-fan`,
      condition: {
        count: {
          event: ['Product Viewed', 'Product Added'],
          where: { 'properties.category': { eq: `cat-${k}` } },
          within: '10m',
        },
        gte: 2,
      },
    });
  }
  for (const [within, gte] of [
    ['1h', 50],
    ['1h', 200],
    ['7d', 200],
    ['7d', 1000],
    ['30d', 1000],
    ['30d', 3000],
  ] as const) {
    out.push({
      id: `revenue-${within}-${gte}`,
      condition: { sum: { event: 'Order Completed', of: 'properties.revenue', within }, gte },
    });
  }
  for (const [within, gte] of [
    ['30m', 3],
    ['30m', 5],
    ['1d', 3],
    ['1d', 8],
  ] as const) {
    out.push({
      id: `explorer-${within}-${gte}`,
      condition: { distinct: { event: 'Product Viewed', of: 'properties.category', within }, gte },
    });
  }
  out.push(
    {
      id: 'view-add',
      condition: { sequence: [{ event: 'Product Viewed' }, { event: 'Product Added' }], within: '30m' },
    },
    {
      id: 'funnel',
      condition: {
        sequence: [{ event: 'Product Viewed' }, { event: 'Product Added' }, { event: 'Checkout Started' }],
        within: '1h',
      },
    },
    {
      id: 'abandon-1h',
      condition: { sequence: [{ event: 'Product Added' }, { absent: { event: 'Order Completed' }, for: '1h' }] },
    },
    {
      id: 'checkout-stall',
      condition: { sequence: [{ event: 'Checkout Started' }, { absent: { event: 'Order Completed' }, for: '15m' }] },
    },
    {
      id: 'came-back',
      condition: {
        sequence: [
          { event: 'Product Viewed' },
          { absent: { event: 'Product Viewed' }, for: '20m' },
          { event: 'Product Viewed' },
        ],
      },
    },
    { id: 'binge', condition: { count: { event: 'Product Viewed', within: '1h' }, gte: 10 } },
    {
      id: 'pricey-add',
      condition: {
        count: { event: 'Product Added', where: { 'properties.price': { gte: 100 } }, within: '1h' },
        gte: 1,
      },
    },
    { id: 'pro', condition: { trait: 'plan', eq: 'pro' } },
    { id: 'paid', condition: { trait: 'plan', in: ['pro', 'enterprise'] } },
    { id: 'has-email', condition: { trait: 'email', exists: true } },
    {
      id: 'free-window-shopper',
      condition: {
        all: [{ trait: 'plan', eq: 'free' }, { not: { count: { event: 'Order Completed', within: '7d' }, gte: 1 } }],
      },
    },
    {
      id: 'engaged',
      condition: {
        any: [
          { count: { event: 'Product Viewed', within: '10m' }, gte: 5 },
          { count: { event: 'Product Added', within: '10m' }, gte: 2 },
        ],
      },
    },
    {
      id: 'quiet',
      condition: { not: { count: { event: ['Product Viewed', 'Product Added'], within: '30m' }, gte: 1 } },
    },
    {
      id: 'mixed',
      condition: {
        all: [
          {
            any: [
              { trait: 'plan', eq: 'pro' },
              { sum: { event: 'Order Completed', of: 'properties.revenue', within: '1h' }, gte: 100 },
            ],
          },
          { not: { trait: 'email', exists: false } },
        ],
      },
    },
    { id: 'hot-pro', condition: { all: [{ inSegment: 'high-intent' }, { inSegment: 'pro' }] } },
    { id: 'rescue', condition: { all: [{ inSegment: 'cart-abandoner' }, { not: { inSegment: 'big-spender' } }] } },
    { id: 'vip', condition: { any: [{ inSegment: 'big-spender' }, { inSegment: 'hot-pro' }] } },
    { id: 'vip-engaged', condition: { all: [{ inSegment: 'vip' }, { inSegment: 'engaged' }] } },
  );
  return out.map((r) => {
    const d = validateDefinition({ id: r.id, name: r.id, condition: r.condition });
    return { id: d.id, version: 1, state: 'active' as const, condition: d.condition };
  });
}
