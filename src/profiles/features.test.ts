import fc from 'fast-check';
import { pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import type { KairosEvent } from '../core/index.js';
import { makeEvent } from '../../test/helpers/events.js';
import { applyEvent, emptyProfile, mergeProfiles, sessionCount } from './features.js';
import { PROFILE_LIMITS } from './options.js';
import type { ProfileState } from './types.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);
const NAMES = ['Product Viewed', 'Product Added', 'Order Completed', 'Checkout Started'] as const;

const genEvent = fc.record({
  t: fc.integer({ min: 0, max: 8 * 60 * MIN }),
  delay: fc.integer({ min: 0, max: 4_999 }),
  kind: fc.constantFrom('track', 'track', 'track', 'page', 'identify'),
  name: fc.constantFrom(...NAMES),
  item: fc.integer({ min: 1, max: 30 }),
  category: fc.constantFrom('shoes', 'hats', 'bags'),
  plan: fc.constantFrom('free', 'pro', 'enterprise'),
});
type Gen = typeof genEvent extends fc.Arbitrary<infer T> ? T : never;

function toEvent(g: Gen): KairosEvent {
  const base = { userId: 'u1', eventTimeMs: T0 + g.t };
  if (g.kind === 'page') return makeEvent({ ...base, type: 'page', name: 'Home' });
  if (g.kind === 'identify') return makeEvent({ ...base, type: 'identify', traits: { plan: g.plan } });
  return makeEvent({ ...base, event: g.name, properties: { product_id: `p${g.item}`, category: g.category } });
}

/** The batch reference, written independently of features.ts. */
function reference(events: KairosEvent[]) {
  const times = events.map((e) => e.eventTimeMs).sort((a, b) => a - b);
  let sessions = 0;
  for (let i = 0; i < times.length; i++)
    if (i === 0 || times[i]! - times[i - 1]! > PROFILE_LIMITS.sessionGapMs) sessions++;
  const counts: Record<string, number> = {};
  for (const e of events) {
    const name = e.type === 'track' ? e.event! : `$${e.type}`;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  const lastSeenItem = new Map<string, number>();
  for (const e of events) {
    const id = e.properties?.product_id as string | undefined;
    if (e.type === 'track' && id) lastSeenItem.set(id, Math.max(lastSeenItem.get(id) ?? -Infinity, e.eventTimeMs));
  }
  const recent = [...lastSeenItem]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, PROFILE_LIMITS.maxRecentItems)
    .map(([id]) => id);
  const categories: Record<string, number> = {};
  for (const e of events) {
    if (e.type === 'track' && e.event === 'Product Viewed') {
      const c = e.properties!.category as string;
      categories[c] = (categories[c] ?? 0) + 1;
    }
  }
  const identifies = events.filter((e) => e.type === 'identify');
  const latest = identifies.sort(
    (a, b) =>
      b.eventTimeMs - a.eventTimeMs || (JSON.stringify(b.traits!.plan) > JSON.stringify(a.traits!.plan) ? 1 : -1),
  )[0];
  return {
    eventCount: events.length,
    eventCounts: counts,
    sessionCount: sessions,
    firstSeen: times[0],
    lastSeen: times.at(-1),
    recentItems: recent,
    categoryViews: categories,
    plan: latest?.traits?.plan,
  };
}

function summary(state: ProfileState) {
  return {
    eventCount: state.n,
    eventCounts: state.c,
    sessionCount: sessionCount(state),
    firstSeen: state.f,
    lastSeen: state.l,
    recentItems: state.ri.map(([id]) => id),
    categoryViews: state.cv,
    plan: state.tr?.plan,
  };
}

describe('profile features', () => {
  it('equal the batch reference for any arrival order within the out-of-orderness bound', () => {
    fc.assert(
      fc.property(fc.array(genEvent, { minLength: 1, maxLength: 150 }), (generated) => {
        const arrival = [...generated].sort((a, b) => a.t + a.delay - (b.t + b.delay));
        const events = arrival.map(toEvent);
        const state = emptyProfile();
        for (const e of events) applyEvent(state, e, 'u:u1');
        expect(summary(state)).toEqual(reference(events));
      }),
      { numRuns: 300 },
    );
  });

  it('merge of two partial profiles equals the profile of all their events', () => {
    fc.assert(
      fc.property(
        fc.array(genEvent, { minLength: 1, maxLength: 100 }),
        fc.array(fc.boolean(), { minLength: 100, maxLength: 100 }),
        (generated, sides) => {
          const events = generated.map(toEvent);
          const a = emptyProfile();
          const b = emptyProfile();
          events.forEach((e, i) => applyEvent(sides[i] ? a : b, e, 'u:u1'));
          mergeProfiles(b, a);
          expect(summary(b)).toEqual(reference(events));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('counts a late session that lands after the dropped history as a session of its own', () => {
    const HOUR = 60 * MIN;
    const at = (h: number) =>
      makeEvent({ userId: 'u1', eventTimeMs: T0 + h * HOUR, event: 'Product Viewed', properties: { category: 'c' } });
    const state = emptyProfile();
    // Sessions at hours 0, 10, 20, …: more than maxSessions of them, so the oldest are dropped.
    const hours = Array.from({ length: PROFILE_LIMITS.maxSessions + 4 }, (_, i) => i * 10);
    for (const h of hours.slice(1)) applyEvent(state, at(h), 'u:u1');
    applyEvent(state, at(hours[4]! + 5), 'u:u1'); // between a dropped and a kept session: new
    applyEvent(state, at(hours[1]! + 0.25), 'u:u1'); // joins a dropped session
    applyEvent(state, at(hours[0]!), 'u:u1'); // oldest of all, arriving last
    expect(sessionCount(state)).toBe(hours.length + 1);
    expect(sessionCount(state)).toBe(
      reference([...hours.slice(1), hours[4]! + 5, hours[1]! + 0.25, hours[0]!].map(at)).sessionCount,
    );
  });

  it('stays compact: a heavy visitor is under 1 KiB as stored (msgpack, as lmdb keeps it)', () => {
    const state = emptyProfile();
    for (let i = 0; i < 5_000; i++) {
      applyEvent(
        state,
        makeEvent({
          userId: 'heavy',
          eventTimeMs: T0 + i * 7 * MIN,
          event: NAMES[i % 4],
          properties: { product_id: `sku-${i % 500}`, category: `c${i % 12}` },
        }),
        'u:heavy',
      );
    }
    expect(state.n).toBe(5_000);
    expect(pack(state).length).toBeLessThan(1024);
  });
});
