import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, encodePayload, userKey, type KairosEvent } from '../core/index.js';
import { MemoryEventLog } from '../log/index.js';
import { createProfileOperator } from '../profiles/index.js';
import { MemoryStateStore } from '../store/index.js';
import { PartitionTask, resolveStreamOptions, stateKey, type KeyState, type Pipeline } from '../stream/index.js';
import { CASE_T0, caseDefinitions, drain, type CaseRule } from './cases-harness.js';
import { MembershipReader, isMembershipChange, segmentsOf } from './membership.js';
import { createSegmentsOperator } from './operator.js';
import type { ActiveSegmentVersion, MembershipChange } from './types.js';

const MIN = 60_000;
const HI: CaseRule = {
  id: 'high-intent',
  condition: { count: { event: 'Product Viewed', by: 'properties.product_id', within: '10m' }, gt: 3 },
};
const CA: CaseRule = {
  id: 'cart-abandoner',
  condition: { sequence: [{ event: 'Product Added' }, { absent: { event: 'Order Completed' }, for: '30m' }] },
};
const BS: CaseRule = {
  id: 'big-spender',
  condition: {
    all: [
      { sum: { event: 'Order Completed', of: 'properties.revenue', within: '30d' }, gte: 500 },
      { trait: 'plan', in: ['pro', 'enterprise'] },
    ],
  },
};

let seq = 0;
function event(
  user: string,
  t: number,
  name: string,
  properties: Record<string, unknown> = {},
  type: KairosEvent['type'] = 'track',
  traits?: Record<string, unknown>,
): KairosEvent {
  const iso = new Date(t).toISOString();
  return {
    type,
    ...(type === 'track' ? { event: name } : {}),
    messageId: `op-${++seq}`,
    userId: user,
    properties,
    ...(traits ? { traits } : {}),
    timestamp: iso,
    eventTimeMs: t,
    receivedAt: iso,
    receivedAtMs: t,
    profileKey: userKey(user),
  };
}

interface Rig {
  log: MemoryEventLog;
  store: MemoryStateStore;
  clock: ManualClock;
  tasks: PartitionTask[];
  start(pipeline: Pipeline): Promise<void>;
  append(events: KairosEvent[]): Promise<void>;
  drain(): Promise<void>;
  outbox(): Promise<MembershipChange[]>;
}

async function rig(partitions: number, pipeline: Pipeline, log = new MemoryEventLog(partitions)): Promise<Rig> {
  const store = new MemoryStateStore();
  const clock = new ManualClock(CASE_T0);
  const options = resolveStreamOptions({
    outOfOrderness: '5s',
    idleTimeout: '1s',
    pollMs: 1,
    clock,
    maxBatchRecords: 3,
  });
  const r: Rig = {
    log,
    store,
    clock,
    tasks: [],
    async start(p) {
      for (const task of r.tasks) await task.stop();
      r.tasks = [];
      for (let partition = 0; partition < partitions; partition++) {
        const task = new PartitionTask({ partition, log, store, pipeline: p, options, owner: 'test' });
        await task.start();
        r.tasks.push(task);
      }
    },
    async append(events) {
      const last = Math.max(...events.map((e) => e.eventTimeMs));
      if (last > clock.now()) clock.set(last);
      await log.append(events.map((e) => ({ key: e.profileKey, value: encodePayload(e), timestampMs: e.eventTimeMs })));
    },
    drain: () => drain(r),
    async outbox() {
      const out: MembershipChange[] = [];
      for (let p = 0; p < partitions; p++)
        for (const r of await store.readOutbox(p, 0, 1_000_000)) if (isMembershipChange(r.value)) out.push(r.value);
      return out;
    },
  };
  await r.start(pipeline);
  return r;
}

function pipelineOf(definitions: ActiveSegmentVersion[]): Pipeline {
  return [createProfileOperator(), createSegmentsOperator(definitions)];
}

const genStream = fc.array(
  fc.record({
    user: fc.integer({ min: 0, max: 5 }),
    t: fc.integer({ min: 0, max: 90 * MIN }),
    kind: fc.constantFrom('view', 'view', 'view', 'add', 'order', 'identify'),
    item: fc.integer({ min: 1, max: 3 }),
    revenue: fc.integer({ min: 50, max: 400 }),
    plan: fc.constantFrom('free', 'pro'),
  }),
  { minLength: 1, maxLength: 80 },
);

function toEvents(
  generated: readonly { user: number; t: number; kind: string; item: number; revenue: number; plan: string }[],
): KairosEvent[] {
  return [...generated]
    .sort((a, b) => a.t - b.t)
    .map((g) => {
      const user = `user${g.user}`;
      const t = CASE_T0 + g.t;
      if (g.kind === 'view') return event(user, t, 'Product Viewed', { product_id: `p${g.item}` });
      if (g.kind === 'add') return event(user, t, 'Product Added', { product_id: `p${g.item}` });
      if (g.kind === 'order') return event(user, t, 'Order Completed', { revenue: g.revenue });
      return event(user, t, '', {}, 'identify', { plan: g.plan });
    });
}

describe('segments operator', () => {
  it('a replay of the same log gives the same changes with the same ids, also across restarts', async () => {
    const definitions = caseDefinitions([HI, CA, BS]);
    await fc.assert(
      fc.asyncProperty(genStream, fc.integer({ min: 1, max: 7 }), async (generated, restartEvery) => {
        const events = toEvents(generated);
        const straight = await rig(3, pipelineOf(definitions));
        const restarted = await rig(3, pipelineOf(definitions), straight.log);
        for (let i = 0; i < events.length; i += restartEvery) {
          await straight.append(events.slice(i, i + restartEvery));
          await straight.drain();
          restarted.clock.set(straight.clock.now());
          await restarted.drain();
          await restarted.start(pipelineOf(definitions));
        }
        straight.clock.advance(40 * 24 * 60 * MIN);
        restarted.clock.set(straight.clock.now());
        await straight.drain();
        await restarted.drain();
        const a = await straight.outbox();
        const b = await restarted.outbox();
        expect(b.map((c) => c.id)).toEqual(a.map((c) => c.id));
        expect(new Set(a.map((c) => c.id)).size).toBe(a.length);
        // Counters and the member index, committed with the states across restarts, agree with the profiles.
        const reader = new MembershipReader({ store: restarted.store, partitionCount: 3 });
        const states = await restarted.store.scan('s/', { limit: 100 });
        for (const id of ['high-intent', 'cart-abandoner', 'big-spender']) {
          const holders = states
            .filter(({ value }) => segmentsOf(value as KeyState).some((m) => m.id === id))
            .map(({ key }) => key.slice(2));
          expect(await reader.count(id, 1)).toBe(holders.length);
          expect((await reader.page(id, 1, { limit: 1000 })).members.map((m) => m.profileId)).toEqual(holders.sort());
        }
        // Per profile and segment, enter and exit alternate, starting with an enter.
        const last = new Map<string, string>();
        for (const change of a) {
          const key = `${change.profileKey}|${change.segmentId}`;
          expect(change.type).toBe(last.get(key) === 'enter' ? 'exit' : 'enter');
          last.set(key, change.type);
        }
      }),
      { numRuns: 25 },
    );
  });

  it('keeps the member index and counts equal to the announced memberships, and pages them', async () => {
    const definitions = caseDefinitions([HI, CA]);
    const r = await rig(4, pipelineOf(definitions));
    const events: KairosEvent[] = [];
    for (let u = 0; u < 30; u++) {
      const views = u % 3 === 0 ? 4 : 2;
      for (let i = 0; i < views; i++)
        events.push(event(`m${u}`, CASE_T0 + i * 1000 + u, 'Product Viewed', { product_id: 'p1' }));
      if (u % 5 === 0) events.push(event(`m${u}`, CASE_T0 + 10_000 + u, 'Product Added', { product_id: 'p9' }));
    }
    events.sort((a, b) => a.eventTimeMs - b.eventTimeMs);
    await r.append(events);
    await r.drain();
    const reader = new MembershipReader({ store: r.store, partitionCount: 4 });
    const expected = Array.from({ length: 30 }, (_, u) => u)
      .filter((u) => u % 3 === 0)
      .map((u) => userKey(`m${u}`))
      .sort();
    expect(await reader.count('high-intent', 1)).toBe(expected.length);
    const seen: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await reader.page('high-intent', 1, { limit: 3, ...(cursor ? { cursor } : {}) });
      expect(page.count).toBe(expected.length);
      seen.push(...page.members.map((m) => m.profileId));
      if (!page.next) break;
      cursor = page.next;
    }
    expect(seen).toEqual(expected);
    // The profile view agrees with the index.
    for (const key of expected) {
      const state = (await r.store.get(stateKey(key))) as KeyState;
      expect(segmentsOf(state).map((s) => s.id)).toContain('high-intent');
    }
    // Cart abandoners appear 30 min later (idle), and the 10-minute views expire: counts follow.
    r.clock.advance(31 * MIN);
    await r.drain();
    expect(await reader.count('cart-abandoner', 1)).toBe(6);
    expect(await reader.count('high-intent', 1)).toBe(0);
    expect((await reader.page('high-intent', 1)).members).toEqual([]);
  });

  it('hands memberships over to a new active version: silent for both, exit or enter for the difference', async () => {
    const v1 = caseDefinitions([HI]);
    const r = await rig(1, pipelineOf(v1));
    // alice: 4 views of p1 (in v1 and v2), bob: 2 views (v2 only), carol: 4 views but plan free (v1 only).
    await r.append([
      event('carol', CASE_T0, '', {}, 'identify', { plan: 'free' }),
      ...[0, 1, 2, 3].map((i) => event('alice', CASE_T0 + i * 1000, 'Product Viewed', { product_id: 'p1' })),
      ...[0, 1].map((i) => event('bob', CASE_T0 + i * 1000, 'Product Viewed', { product_id: 'p1' })),
      ...[0, 1, 2, 3].map((i) => event('carol', CASE_T0 + i * 1000 + 1, 'Product Viewed', { product_id: 'p2' })),
    ]);
    await r.drain();
    const before = await r.outbox();
    expect(before.map((c) => `${c.type} ${c.profileKey} v${c.version}`).sort()).toEqual([
      'enter u:alice v1',
      'enter u:carol v1',
    ]);
    // v2 shares v1's count (same leaf state, so no history is lost), with a lower threshold, for non-free plans; v1 retired.
    const v2: ActiveSegmentVersion[] = [
      {
        id: 'high-intent',
        version: 2,
        state: 'active',
        condition: {
          all: [
            { count: { event: 'Product Viewed', by: 'properties.product_id', within: '10m' }, gt: 1 },
            { not: { trait: 'plan', eq: 'free' } },
          ],
        },
      },
    ];
    for (const task of r.tasks) task.setPipeline(pipelineOf(v2));
    // Each profile is reconciled when it is next touched (here: a page view).
    await r.append(['alice', 'bob', 'carol'].map((u) => event(u, CASE_T0 + 5000, '', {}, 'page')));
    await r.drain();
    const after = (await r.outbox()).slice(before.length);
    expect(after.map((c) => `${c.type} ${c.profileKey} v${c.version}`).sort()).toEqual([
      'enter u:bob v2',
      'exit u:carol v1',
    ]);
    const reader = new MembershipReader({ store: r.store, partitionCount: 1 });
    expect(await reader.count('high-intent', 2)).toBe(2);
    expect(await reader.count('high-intent', 1)).toBe(0);
    const alice = (await r.store.get(stateKey('u:alice'))) as KeyState;
    expect(segmentsOf(alice).map((m) => [m.id, m.version])).toEqual([['high-intent', 2]]);
  });

  it('a shadow version keeps counts and an index but emits nothing, and its promotion announces members', async () => {
    const shadow: ActiveSegmentVersion[] = [
      ...caseDefinitions([HI]),
      {
        id: 'high-intent',
        version: 2,
        state: 'shadow',
        condition: { count: { event: 'Product Viewed', within: '10m' }, gte: 2 },
      },
    ];
    const r = await rig(1, pipelineOf(shadow));
    await r.append([0, 1].map((i) => event('dana', CASE_T0 + i * 1000, 'Product Viewed', { product_id: `p${i}` })));
    await r.drain();
    const reader = new MembershipReader({ store: r.store, partitionCount: 1 });
    expect(await reader.count('high-intent', 2)).toBe(1);
    expect(await r.outbox()).toEqual([]);
    const dana = (await r.store.get(stateKey('u:dana'))) as KeyState;
    expect(segmentsOf(dana)).toEqual([]);
    expect(segmentsOf(dana, new Map([['high-intent', 2]]))).toHaveLength(1);
    // Promote v2 (v1 retired): dana is announced on her next event.
    for (const task of r.tasks) task.setPipeline(pipelineOf([{ ...shadow[1]!, state: 'active' }]));
    await r.append([event('dana', CASE_T0 + 3000, '', {}, 'page')]);
    await r.drain();
    // Announced at the profile's evaluation clock when it was reconciled (its last event before the change).
    expect((await r.outbox()).map((c) => `${c.type} v${c.version} @${c.eventTimeMs - CASE_T0}`)).toEqual([
      'enter v2 @1000',
    ]);
  });

  it('stays compact: a heavy visitor of the three example segments is under 1 KiB of state', async () => {
    const r = await rig(1, pipelineOf(caseDefinitions([HI, CA, BS])));
    const events: KairosEvent[] = [];
    for (let i = 0; i < 3000; i++) {
      const t = CASE_T0 + i * 20_000;
      const kind = i % 10;
      if (kind < 7) events.push(event('heavy', t, 'Product Viewed', { product_id: `sku-${i % 40}` }));
      else if (kind < 9) events.push(event('heavy', t, 'Product Added', { product_id: `sku-${i % 40}` }));
      else events.push(event('heavy', t, 'Order Completed', { revenue: 20 }));
    }
    for (let i = 0; i < events.length; i += 500) await r.append(events.slice(i, i + 500));
    await r.drain();
    const state = (await r.store.get(stateKey('u:heavy'))) as KeyState;
    const size = JSON.stringify(state.ops.segments).length;
    expect(size).toBeLessThan(1024);
  });

  it('moves a wake-up timer only earlier: a later expiry keeps it; it fires early, re-arms, and the exit is on time', async () => {
    const r = await rig(1, pipelineOf(caseDefinitions([HI])));
    const wakeTimes = async (profileKey: string) =>
      (await r.store.scan('t/0/', { limit: 100 }))
        .filter(({ key }) => key.includes(`/${profileKey}\u0000segments\u0000`))
        .map(({ key }) => Number(/\/event\/(\d{15})\//.exec(key)![1]) - CASE_T0);
    const view = (t: number) => event('w1', CASE_T0 + t, 'Product Viewed', { product_id: 'p1' });
    await r.append([0, 1, 2, 3].map((m) => view(m * MIN)));
    await r.drain();
    // A member since the 4th view; out when the first view leaves the 10-minute window.
    expect(await wakeTimes('u:w1')).toEqual([10 * MIN]);
    // A 5th view pushes the exit to 11 minutes (the views of minutes 0 and 1 must leave): the timer stays at 10.
    await r.append([view(5 * MIN)]);
    await r.drain();
    expect(await wakeTimes('u:w1')).toEqual([10 * MIN]);
    // The watermark passes 10 minutes: the timer fires early, nothing changes, it re-arms at 11.
    await r.append([event('other', CASE_T0 + 10 * MIN + 6000, 'Page Viewed')]);
    await r.drain();
    expect(await wakeTimes('u:w1')).toEqual([11 * MIN]);
    await r.append([event('other', CASE_T0 + 11 * MIN + 6000, 'Page Viewed')]);
    await r.drain();
    expect(await wakeTimes('u:w1')).toEqual([]);
    const changes = (await r.outbox()).filter((c) => c.profileKey === 'u:w1');
    expect(changes.map((c) => [c.type, c.eventTimeMs - CASE_T0])).toEqual([
      ['enter', 3 * MIN],
      ['exit', 11 * MIN],
    ]);
  });
});
