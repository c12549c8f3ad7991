import type { KairosEvent } from '../core/index.js';
import { PROFILE_LIMITS } from './options.js';
import type { ProfileState } from './types.js';

/** The item an event is about (Segment e-commerce `product_id`, common variants, ratings' `item_id`). */
export function itemIdOf(properties: Record<string, unknown> | undefined): string | undefined {
  if (!properties) return undefined;
  const id = properties.product_id ?? properties.productId ?? properties.item_id ?? properties.itemId;
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number' && Number.isFinite(id)) return String(id);
  return undefined;
}

/** Every item an event is about: its own, plus `products[]` of order/cart events. */
export function itemIdsOf(event: KairosEvent): string[] {
  const ids: string[] = [];
  const own = itemIdOf(event.properties);
  if (own) ids.push(own);
  const products = event.properties?.products;
  if (Array.isArray(products)) {
    for (const product of products) {
      const id = itemIdOf(product as Record<string, unknown>);
      if (id && !ids.includes(id)) ids.push(id);
    }
  }
  return ids;
}

export function eventName(event: KairosEvent): string {
  return event.type === 'track' ? (event.event ?? '$track') : `$${event.type}`;
}

export function emptyProfile(): ProfileState {
  return { n: 0, c: {}, f: 0, l: 0, s: [], sc: 0, ri: [], cv: {}, up: 0 };
}

/**
 * Adds one event to a profile. Every part is order-insensitive (counts, min/max, interval union,
 * top-k by time, per-trait last-writer-wins by event time), so any arrival order of the same events
 * gives the same profile — the property the stream's tests check against a batch reference.
 */
export function applyEvent(state: ProfileState, event: KairosEvent, profileKey: string): void {
  const t = event.eventTimeMs;
  if (profileKey.startsWith('u:') && state.u === undefined) state.u = profileKey.slice(2);
  if (event.anonymousId) addAnonymousId(state, event.anonymousId);
  const firstSeen = state.n === 0 ? undefined : state.f;
  state.n += 1;
  const name = eventName(event);
  state.c[name] = (state.c[name] ?? 0) + 1;
  state.f = state.n === 1 ? t : Math.min(state.f, t);
  state.l = state.n === 1 ? t : Math.max(state.l, t);
  if (event.receivedAtMs > state.up) state.up = event.receivedAtMs;
  addToSessions(state, t, t, firstSeen);
  if (event.type === 'identify' && event.traits) applyTraits(state, event.traits, t);
  if (event.type === 'track') {
    const items = itemIdsOf(event);
    for (const itemId of items) addRecentItem(state, itemId, t);
    if (event.event === 'Order Completed')
      for (const itemId of items) addTimedItem((state.pu ??= []), itemId, t, PROFILE_LIMITS.maxPurchasedItems);
    if (event.event === 'Product Viewed') {
      const category = event.properties?.category;
      if (typeof category === 'string' && category !== '') addCategoryView(state, category, 1);
    }
  }
}

/** Folds a sealed profile into a surviving one (identity merge). Commutative with applyEvent. */
export function mergeProfiles(into: ProfileState, from: ProfileState): void {
  if (from.n === 0 && !from.tr) {
    for (const id of from.a ?? []) addAnonymousId(into, id);
    return;
  }
  for (const id of from.a ?? []) addAnonymousId(into, id);
  if (from.tr) {
    for (const [trait, value] of Object.entries(from.tr)) setTrait(into, trait, value, from.tt?.[trait] ?? 0);
  }
  if (from.n > 0) {
    into.f = into.n === 0 ? from.f : Math.min(into.f, from.f);
    into.l = into.n === 0 ? from.l : Math.max(into.l, from.l);
    into.n += from.n;
  }
  for (const [name, count] of Object.entries(from.c)) into.c[name] = (into.c[name] ?? 0) + count;
  into.up = Math.max(into.up, from.up);
  into.sc += from.sc;
  if (from.sd !== undefined) into.sd = Math.max(into.sd ?? from.sd, from.sd);
  for (const [start, end] of from.s) addToSessions(into, start, end);
  for (const [itemId, t] of from.ri) addRecentItem(into, itemId, t);
  for (const [itemId, t] of from.pu ?? []) addTimedItem((into.pu ??= []), itemId, t, PROFILE_LIMITS.maxPurchasedItems);
  for (const [category, count] of Object.entries(from.cv)) addCategoryView(into, category, count);
}

export function sessionCount(state: ProfileState): number {
  return state.sc + state.s.length;
}

function addAnonymousId(state: ProfileState, id: string): void {
  const ids = (state.a ??= []);
  if (ids.includes(id)) return;
  ids.push(id);
  if (ids.length > PROFILE_LIMITS.maxAnonymousIds) ids.shift();
}

function applyTraits(state: ProfileState, traits: Record<string, unknown>, t: number): void {
  for (const [trait, value] of Object.entries(traits)) setTrait(state, trait, value, t);
}

function setTrait(state: ProfileState, trait: string, value: unknown, t: number): void {
  if (trait === '__proto__' || trait === 'constructor' || trait === 'prototype') return;
  const traits = (state.tr ??= {});
  const times = (state.tt ??= {});
  const current = times[trait];
  if (current !== undefined) {
    if (t < current) return;
    // Same instant: a deterministic winner whatever the arrival order.
    if (t === current && JSON.stringify(value) <= JSON.stringify(traits[trait])) return;
  } else if (Object.keys(traits).length >= PROFILE_LIMITS.maxTraits) {
    return;
  }
  traits[trait] = value;
  times[trait] = t;
}

/**
 * Sessions are maximal runs of events with gaps ≤ sessionGapMs. Adding [start, end] merges every kept
 * interval it touches (an event can bridge two sessions). When more than maxSessions are kept, the
 * oldest is dropped, counted in `sc`, and its end remembered in `sd`. An interval reaching back to
 * within the gap of `sd` belongs to the dropped history (and joins the oldest kept session to it when
 * it touches that too) unless it lies before everything seen (firstSeen − gap): then it is a new oldest
 * session; one after `sd` + gap is a session of its own, wherever it arrives. The count is therefore
 * exact for any arrival order except an event landing inside a gap of the dropped history, i.e. one
 * arriving after events of more than maxSessions later sessions that are not all before it.
 */
function addToSessions(state: ProfileState, start: number, end: number, firstSeen?: number): void {
  const gap = PROFILE_LIMITS.sessionGapMs;
  const sessions = state.s;
  if (state.sc > 0 && state.sd !== undefined && start <= state.sd + gap) {
    // Before everything seen so far, by more than the gap: a new oldest session (dropped at once).
    if (firstSeen !== undefined && end < firstSeen - gap) {
      state.sc += 1;
      return;
    }
    const reach = Math.max(end, state.sd);
    // Every kept session the dropped history now touches joins it (sessions are ascending).
    while (sessions.length > 0 && sessions[0]![0] - gap <= reach) {
      const joined = sessions.shift()!;
      state.sd = Math.max(state.sd, joined[1], end);
    }
    state.sd = Math.max(state.sd, end);
    return;
  }
  let lo = start;
  let hi = end;
  const kept: [number, number][] = [];
  let inserted = false;
  for (const interval of sessions) {
    if (interval[1] + gap >= lo && interval[0] - gap <= hi) {
      lo = Math.min(lo, interval[0]);
      hi = Math.max(hi, interval[1]);
    } else if (interval[0] > hi) {
      if (!inserted) {
        kept.push([lo, hi]);
        inserted = true;
      }
      kept.push(interval);
    } else {
      kept.push(interval);
    }
  }
  if (!inserted) kept.push([lo, hi]);
  while (kept.length > PROFILE_LIMITS.maxSessions) {
    const dropped = kept.shift()!;
    state.sc += 1;
    state.sd = Math.max(state.sd ?? dropped[1], dropped[1]);
  }
  state.s = kept;
}

function addRecentItem(state: ProfileState, itemId: string, t: number): void {
  addTimedItem(state.ri, itemId, t, PROFILE_LIMITS.maxRecentItems);
}

/** Keeps the `limit` distinct items with the latest times, newest first (ties by id): order-insensitive. */
function addTimedItem(items: [string, number][], itemId: string, t: number, limit: number): void {
  const existing = items.findIndex((entry) => entry[0] === itemId);
  if (existing !== -1) {
    if (items[existing]![1] >= t) return;
    items.splice(existing, 1);
  }
  let index = 0;
  while (index < items.length && (items[index]![1] > t || (items[index]![1] === t && items[index]![0] < itemId)))
    index++;
  if (index >= limit) return;
  items.splice(index, 0, [itemId, t]);
  if (items.length > limit) items.pop();
}

function addCategoryView(state: ProfileState, category: string, count: number): void {
  const views = state.cv;
  if (views[category] === undefined && Object.keys(views).length >= PROFILE_LIMITS.maxCategories) return;
  views[category] = (views[category] ?? 0) + count;
}
