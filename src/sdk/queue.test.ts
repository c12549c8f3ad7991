import { describe, expect, it } from 'vitest';
import { createMemoryStorage } from './environment.js';
import { defaultPriority } from './options.js';
import { createPersistentQueue } from './queue.js';
import type { QueueEntry, QueueSettings } from './queue.js';
import type { KairosMessage, StoragePort } from './types.js';

let seq = 0;
function entry(type: KairosMessage['type'], event?: string, size = 100, timestamp?: string): QueueEntry {
  seq++;
  const m = {
    type,
    event,
    messageId: `m${seq}`,
    anonymousId: 'a',
    timestamp: timestamp ?? new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
    context: { library: { name: 'kairos-sdk', version: 't' } },
  } as KairosMessage;
  return { m, c: 'analytics', p: defaultPriority(m), s: size };
}

function queueOn(storage: StoragePort, tabId: string, extra: Partial<QueueSettings> = {}) {
  let now = 1_000_000;
  const errors: unknown[] = [];
  const queue = createPersistentQueue({
    storage,
    prefix: 'kairos.wk.',
    tabId,
    now: () => now,
    maxCount: 100,
    maxBytes: 100_000,
    tabTimeoutMs: 60_000,
    onWriteError: (err) => errors.push(err),
    ...extra,
  });
  return { queue, errors, advance: (ms: number) => void (now += ms) };
}

const ids = (entries: readonly QueueEntry[]): string[] => entries.map((e) => e.m.messageId);

describe('persistent queue bounds', () => {
  it('drops page views first, then ordinary track events, keeping identity and high-value events', () => {
    const { queue } = queueOn(createMemoryStorage(), 't1', { maxCount: 4 });
    const identify = entry('identify');
    const order = entry('track', 'Order Completed');
    const view1 = entry('page');
    const viewed = entry('track', 'Product Viewed');
    const view2 = entry('page');
    for (const e of [identify, order, view1, viewed]) expect(queue.push(e)).toEqual([]);
    expect(ids(queue.push(view2))).toEqual([view1.m.messageId]); // oldest page view first
    expect(ids(queue.push(entry('alias')))).toEqual([view2.m.messageId]);
    expect(ids(queue.push(entry('track', 'Checkout Started')))).toEqual([viewed.m.messageId]);
    const last = entry('track', 'Product Clicked');
    expect(ids(queue.push(last))).toEqual([last.m.messageId]); // the newcomer itself is the least valuable
    expect(queue.entries().map((e) => e.m.type)).toEqual(['identify', 'track', 'alias', 'track']);
    expect(queue.entries().some((e) => e.m.event === 'Order Completed')).toBe(true);
  });

  it('bounds bytes as well as count', () => {
    const { queue } = queueOn(createMemoryStorage(), 't1', { maxBytes: 1000 });
    const big = entry('track', 'Product Viewed', 600);
    queue.push(big);
    const dropped = queue.push(entry('track', 'Product Added', 500));
    expect(ids(dropped)).toEqual([big.m.messageId]);
    expect(queue.entries().reduce((n, e) => n + e.s, 0)).toBeLessThanOrEqual(1000);
  });

  it('honours a custom priority (whatever number the entry carries)', () => {
    const { queue } = queueOn(createMemoryStorage(), 't1', { maxCount: 2 });
    const keep = { ...entry('page'), p: 9 };
    const lose = { ...entry('identify'), p: 1 };
    queue.push(keep);
    queue.push(lose);
    expect(ids(queue.push({ ...entry('track', 'x'), p: 5 }))).toEqual([lose.m.messageId]);
  });
});

describe('persistence and tabs', () => {
  it('survives a reload: the next page adopts the queue of a page that retired', () => {
    const storage = createMemoryStorage();
    const first = queueOn(storage, 'page-1');
    first.queue.heartbeat();
    const a = entry('track', 'A');
    const b = entry('track', 'B');
    first.queue.push(a);
    first.queue.push(b);
    first.queue.retire();

    const second = queueOn(storage, 'page-2');
    second.queue.heartbeat();
    expect(second.queue.adopt()).toEqual([]);
    expect(ids(second.queue.entries())).toEqual([a.m.messageId, b.m.messageId]);
    expect(storage.getItem('kairos.wk.q.page-1')).toBeNull();
    // What is adopted is persisted under the adopter's key.
    expect(ids(queueOn(storage, 'page-2').queue.entries())).toEqual([a.m.messageId, b.m.messageId]);
  });

  it('leaves a live tab alone and adopts it only once its alive mark lapses (crash)', () => {
    const storage = createMemoryStorage();
    const tab1 = queueOn(storage, 'tab-1');
    tab1.queue.heartbeat();
    tab1.queue.push(entry('track', 'A'));
    const tab2 = queueOn(storage, 'tab-2');
    tab2.queue.heartbeat();
    tab2.queue.adopt();
    expect(tab2.queue.entries()).toEqual([]);
    expect(tab1.queue.entries()).toHaveLength(1);

    tab2.advance(60_001);
    tab2.queue.heartbeat();
    tab2.queue.adopt();
    expect(tab2.queue.entries()).toHaveLength(1);
    expect(storage.getItem('kairos.wk.alive.tab-1')).toBeNull();
  });

  it('merges adopted messages in timestamp order without duplicates', () => {
    const storage = createMemoryStorage();
    const old = queueOn(storage, 'old');
    const early = entry('track', 'early', 100, '2026-01-01T00:00:00.000Z');
    old.queue.push(early);
    const mine = queueOn(storage, 'mine');
    const late = entry('track', 'late', 100, '2026-01-02T00:00:00.000Z');
    mine.queue.push(late);
    mine.queue.push(early); // already here (a second adopter raced us): kept once
    mine.queue.heartbeat();
    mine.queue.adopt();
    expect(ids(mine.queue.entries())).toEqual([early.m.messageId, late.m.messageId]);
    expect(mine.queue.entries().map((e) => e.m.event)).toEqual(['early', 'late']);
  });

  it('keeps leases and removes by id', () => {
    const { queue } = queueOn(createMemoryStorage(), 't');
    const a = entry('track', 'A');
    const b = entry('track', 'B');
    queue.push(a);
    queue.push(b);
    queue.lease(new Set([a.m.messageId]), 123);
    expect(queue.entries().map((e) => e.l)).toEqual([123, undefined]);
    queue.remove(new Set([a.m.messageId]));
    expect(ids(queue.entries())).toEqual([b.m.messageId]);
  });

  it('goes on in memory when localStorage refuses writes (quota)', () => {
    const storage = createMemoryStorage();
    const { queue, errors } = queueOn(storage, 't');
    const a = entry('track', 'A');
    queue.push(a);
    storage.setItem = () => {
      throw new DOMException('full', 'QuotaExceededError');
    };
    const b = entry('track', 'B');
    queue.push(b);
    expect(errors).toHaveLength(1);
    expect(ids(queue.entries())).toEqual([a.m.messageId, b.m.messageId]);
  });

  it('treats an unreadable stored queue as empty', () => {
    const storage = createMemoryStorage();
    storage.setItem('kairos.wk.q.t', '{not json');
    const { queue } = queueOn(storage, 't');
    expect(queue.entries()).toEqual([]);
    queue.push(entry('track', 'A'));
    expect(queue.entries()).toHaveLength(1);
  });
});
