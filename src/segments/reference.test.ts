import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runCase, CASE_T0, type CaseEvent, type CaseRule } from './cases-harness.js';

/**
 * The operator against a naive batch reference: for one profile whose events arrive in event-time
 * order, the enter/exit timeline must equal the membership function evaluated (from the full event
 * list, independently of the operator's state) at every instant where it can change.
 */

const MIN = 60_000;

interface Ev {
  t: number;
  name: 'Product Viewed' | 'Product Added' | 'Order Completed' | 'Checkout Started';
  product: string;
  category: string;
  revenue: number;
}

const RULES: CaseRule[] = [
  {
    id: 'high-intent',
    condition: { count: { event: 'Product Viewed', by: 'properties.product_id', within: '10m' }, gt: 3 },
  },
  // Shares high-intent's buffer (same filter and group, shorter window).
  {
    id: 'repeat-5m',
    condition: { count: { event: 'Product Viewed', by: 'properties.product_id', within: '5m' }, gte: 2 },
  },
  {
    id: 'cart-abandoner',
    condition: { sequence: [{ event: 'Product Added' }, { absent: { event: 'Order Completed' }, for: '30m' }] },
  },
  { id: 'spender', condition: { sum: { event: 'Order Completed', of: 'properties.revenue', within: '1h' }, gte: 100 } },
  {
    id: 'browser',
    condition: { distinct: { event: 'Product Viewed', of: 'properties.category', within: '20m' }, gte: 2 },
  },
  {
    id: 'funnel',
    condition: {
      sequence: [{ event: 'Product Viewed' }, { event: 'Product Added' }, { event: 'Checkout Started' }],
      within: '30m',
    },
  },
  {
    id: 'mixed',
    condition: {
      any: [
        {
          all: [
            { count: { event: 'Product Viewed', within: '15m' }, gte: 2 },
            { count: { event: 'Product Added', within: '15m' }, lt: 1 },
          ],
        },
        { sum: { event: 'Order Completed', of: 'properties.revenue', within: '5m' }, gt: 150 },
      ],
    },
  },
];

const inWindow = (e: Ev, T: number, w: number) => e.t <= T && e.t > T - w;

/** Membership at instant T from the full list (events after T are ignored). */
const reference: Record<string, { holds: (events: Ev[], T: number) => boolean; changes: (events: Ev[]) => number[] }> =
  {
    'high-intent': {
      holds: (events, T) => {
        const byProduct = new Map<string, number>();
        for (const e of events)
          if (e.name === 'Product Viewed' && inWindow(e, T, 10 * MIN))
            byProduct.set(e.product, (byProduct.get(e.product) ?? 0) + 1);
        return Math.max(0, ...byProduct.values()) > 3;
      },
      changes: (events) => events.flatMap((e) => [e.t, e.t + 10 * MIN]),
    },
    'repeat-5m': {
      holds: (events, T) => {
        const byProduct = new Map<string, number>();
        for (const e of events)
          if (e.name === 'Product Viewed' && inWindow(e, T, 5 * MIN))
            byProduct.set(e.product, (byProduct.get(e.product) ?? 0) + 1);
        return Math.max(0, ...byProduct.values()) >= 2;
      },
      changes: (events) => events.flatMap((e) => [e.t, e.t + 5 * MIN]),
    },
    'cart-abandoner': {
      holds: (events, T) =>
        events.some(
          (a) =>
            a.name === 'Product Added' &&
            a.t <= T - 30 * MIN &&
            !events.some((o) => o.name === 'Order Completed' && o.t > a.t && o.t <= T),
        ),
      changes: (events) => events.flatMap((e) => [e.t, e.t + 30 * MIN]),
    },
    spender: {
      holds: (events, T) =>
        events
          .filter((e) => e.name === 'Order Completed' && inWindow(e, T, 60 * MIN))
          .reduce((s, e) => s + e.revenue, 0) >= 100,
      changes: (events) => events.flatMap((e) => [e.t, e.t + 60 * MIN]),
    },
    browser: {
      holds: (events, T) =>
        new Set(events.filter((e) => e.name === 'Product Viewed' && inWindow(e, T, 20 * MIN)).map((e) => e.category))
          .size >= 2,
      changes: (events) => events.flatMap((e) => [e.t, e.t + 20 * MIN]),
    },
    funnel: {
      holds: (events, T) => {
        const w = events.filter((e) => inWindow(e, T, 30 * MIN));
        return w.some(
          (v) =>
            v.name === 'Product Viewed' &&
            w.some(
              (a) =>
                a.name === 'Product Added' && a.t > v.t && w.some((c) => c.name === 'Checkout Started' && c.t > a.t),
            ),
        );
      },
      changes: (events) => events.flatMap((e) => [e.t, e.t + 30 * MIN]),
    },
    mixed: {
      holds: (events, T) => {
        const views = events.filter((e) => e.name === 'Product Viewed' && inWindow(e, T, 15 * MIN)).length;
        const adds = events.filter((e) => e.name === 'Product Added' && inWindow(e, T, 15 * MIN)).length;
        const revenue = events
          .filter((e) => e.name === 'Order Completed' && inWindow(e, T, 5 * MIN))
          .reduce((s, e) => s + e.revenue, 0);
        return (views >= 2 && adds < 1) || revenue > 150;
      },
      changes: (events) => events.flatMap((e) => [e.t, e.t + 15 * MIN, e.t + 5 * MIN]),
    },
  };

function referenceTimeline(id: string, events: Ev[]): string[] {
  const ref = reference[id]!;
  const instants = [...new Set(ref.changes(events))].sort((a, b) => a - b).filter((t) => t >= events[0]!.t);
  const out: string[] = [];
  let member = false;
  for (const T of instants) {
    const now = ref.holds(events, T);
    if (now !== member) out.push(`${now ? 'enter' : 'exit'} ${(T - CASE_T0) / 1000}s`);
    member = now;
  }
  return out;
}

const genEvents = fc
  .array(
    fc.record({
      t: fc.integer({ min: 0, max: 120 * 60 }),
      name: fc.constantFrom(
        'Product Viewed',
        'Product Viewed',
        'Product Viewed',
        'Product Added',
        'Order Completed',
        'Checkout Started',
      ),
      product: fc.constantFrom('p1', 'p2'),
      category: fc.constantFrom('shoes', 'hats', 'bags'),
      revenue: fc.integer({ min: 10, max: 120 }),
    }),
    { minLength: 1, maxLength: 30 },
  )
  .map((list) => {
    // Distinct event times (seconds), in order.
    const byTime = new Map<number, (typeof list)[number]>();
    for (const e of list) byTime.set(e.t, e);
    return [...byTime.values()].sort((a, b) => a.t - b.t).map((e) => ({ ...e, t: CASE_T0 + e.t * 1000 }));
  });

describe('segments operator vs a batch reference', () => {
  it('gives the reference timeline for in-order streams (windows, sums, distinct values, sequences, absence, any/all)', async () => {
    await fc.assert(
      fc.asyncProperty(genEvents, async (events) => {
        const caseEvents: CaseEvent[] = events.map((e) => ({
          at: new Date(e.t).toISOString(),
          userId: 'ref',
          event: e.name,
          properties: { product_id: e.product, category: e.category, revenue: e.revenue },
        }));
        const run = await runCase({ name: 'reference', rules: RULES, events: caseEvents, advance: ['3h'], expect: [] });
        for (const rule of RULES) {
          const actual = run.changes
            .filter((c) => c.segmentId === rule.id)
            .map((c) => `${c.type} ${(c.eventTimeMs - CASE_T0) / 1000}s`);
          expect(actual, rule.id).toEqual(referenceTimeline(rule.id, events));
        }
      }),
      { numRuns: 150 },
    );
  });
});
