import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, type KairosEvent } from '../core/index.js';
import { MemoryEventLog } from '../log/index.js';
import { MemoryStateStore } from '../store/index.js';
import { appendPayloads, makeEvent } from '../../test/helpers/events.js';
import { resolveStreamOptions } from './options.js';
import { PartitionTask } from './task.js';
import type { KeyedOperator, Pipeline } from './types.js';
import {
  countAggregate,
  createWindowOperator,
  sessionWindows,
  slidingWindows,
  tumblingWindows,
  type WindowResult,
} from './windows.js';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 1);

interface Harness {
  log: MemoryEventLog;
  store: MemoryStateStore;
  clock: ManualClock;
  tasks: PartitionTask[];
  outbox: unknown[];
  late: number;
  /** Steps every task until each has read the whole log (and fired what is due). */
  drain(): Promise<void>;
  restart(): Promise<void>;
}

async function harness(pipeline: Pipeline, partitions = 2, boundMs = 5_000): Promise<Harness> {
  const log = new MemoryEventLog(partitions);
  const store = new MemoryStateStore();
  const clock = new ManualClock(T0);
  const outbox: unknown[] = [];
  const h: Harness = {
    log,
    store,
    clock,
    tasks: [],
    outbox,
    late: 0,
    async drain() {
      for (const task of h.tasks) {
        for (let i = 0; i < 10_000; i++) {
          await task.step();
          const { end } = await log.offsets(task.partition);
          if (task.position >= end && !task.hasPending) break;
        }
        await task.step();
      }
    },
    async restart() {
      for (const task of h.tasks) await task.stop();
      await start();
    },
  };
  const options = resolveStreamOptions({
    outOfOrderness: boundMs,
    idleTimeout: '1s',
    pollMs: 1,
    clock,
    maxBatchRecords: 7,
  });
  const start = async () => {
    h.tasks = [];
    for (let p = 0; p < partitions; p++) {
      const task = new PartitionTask({
        partition: p,
        log,
        store,
        pipeline,
        options,
        owner: 'test',
        onCommit: (report) => {
          for (const r of report.outbox) outbox.push(r.value);
          h.late += report.late;
        },
      });
      await task.start();
      h.tasks.push(task);
    }
  };
  await start();
  return h;
}

const counter: KeyedOperator = {
  name: 'counter',
  processElement(_event, ctx) {
    ctx.setState((ctx.getState<number>() ?? 0) + 1);
  },
  merge(from, ctx) {
    ctx.setState((ctx.getState<number>() ?? 0) + ((from as number | undefined) ?? 0));
  },
};

describe('PartitionTask', () => {
  it('processes every record once and resumes from its checkpoint after a restart', async () => {
    const h = await harness([counter]);
    await appendPayloads(
      h.log,
      Array.from({ length: 30 }, (_, i) => makeEvent({ userId: `u${i % 3}`, eventTimeMs: T0 + i * 1000 })),
    );
    await h.drain();
    await h.restart();
    await appendPayloads(
      h.log,
      Array.from({ length: 6 }, (_, i) => makeEvent({ userId: `u${i % 3}`, eventTimeMs: T0 + 40_000 + i })),
    );
    await h.drain();
    for (const user of ['u0', 'u1', 'u2']) {
      expect(((await h.store.get(`s/u:${user}`)) as { ops: { counter: number } }).ops.counter).toBe(12);
    }
  });

  it('drops a message id it has already processed, also across restarts', async () => {
    const h = await harness([counter], 1);
    const event = makeEvent({ userId: 'dup', eventTimeMs: T0 });
    await appendPayloads(h.log, [event, event]);
    await h.drain();
    await h.restart();
    await appendPayloads(h.log, [event]);
    await h.drain();
    expect(((await h.store.get('s/u:dup')) as { ops: { counter: number } }).ops.counter).toBe(1);
  });

  it('fires event-time timers when the watermark passes them, and with the wall clock when idle', async () => {
    const fired: number[] = [];
    const op: KeyedOperator = {
      name: 'timer',
      processElement(event, ctx) {
        ctx.registerTimer(event.eventTimeMs + 10 * MIN, 'event', 'expire');
        ctx.registerTimer(event.eventTimeMs + 10 * MIN, 'event', 'expire'); // deduplicated
      },
      onTimer(timer) {
        fired.push(timer.timeMs);
      },
    };
    const h = await harness([op], 1);
    await appendPayloads(h.log, [makeEvent({ userId: 'a', eventTimeMs: T0 })]);
    await h.drain();
    expect(fired).toEqual([]);
    // An event 10 min + bound later moves the watermark past the timer.
    await appendPayloads(h.log, [makeEvent({ userId: 'b', eventTimeMs: T0 + 10 * MIN + 5_000 })]);
    await h.drain();
    expect(fired).toEqual([T0 + 10 * MIN]);
    // Idle: no more events; the watermark follows the wall clock.
    h.clock.advance(9 * MIN);
    await h.drain();
    expect(fired).toEqual([T0 + 10 * MIN]);
    h.clock.advance(2 * MIN);
    await h.drain();
    expect(fired).toEqual([T0 + 10 * MIN, T0 + 20 * MIN + 5_000]);
  });

  it('keeps timers across a restart', async () => {
    const fired: string[] = [];
    const op: KeyedOperator = {
      name: 'timer',
      processElement(event, ctx) {
        ctx.registerTimer(event.eventTimeMs + MIN, 'event', event.messageId);
      },
      onTimer(timer, ctx) {
        fired.push(`${ctx.key}:${timer.tag}`);
      },
    };
    const h = await harness([op], 1);
    const e = makeEvent({ userId: 'r', eventTimeMs: T0 });
    await appendPayloads(h.log, [e]);
    await h.drain();
    await h.restart();
    await appendPayloads(h.log, [makeEvent({ userId: 'other', eventTimeMs: T0 + 2 * MIN })]);
    await h.drain();
    expect(fired).toEqual([`u:r:${e.messageId}`]);
  });

  it('merges a sealed profile into the survivor once the seal is committed', async () => {
    const h = await harness([counter], 4);
    const anon = 'visitor-1';
    const events = [1, 2, 3].map((i) => makeEvent({ anonymousId: anon, eventTimeMs: T0 + i }));
    await appendPayloads(h.log, events);
    // The collector's link: seal keyed by the anonymous profile, then the identify keyed by the user.
    await appendPayloads(h.log, [
      {
        control: 'seal',
        messageId: 'id-1:seal:a:visitor-1',
        profileKey: `a:${anon}`,
        intoKey: 'u:alice',
        eventTimeMs: T0 + 4,
        receivedAtMs: T0 + 4,
      },
      makeEvent({
        type: 'identify',
        userId: 'alice',
        anonymousId: anon,
        eventTimeMs: T0 + 4,
        links: [{ fromKey: `a:${anon}` }],
      }),
    ]);
    await appendPayloads(h.log, [makeEvent({ userId: 'alice', eventTimeMs: T0 + 5 })]);
    // Drain the user's partition first: it must wait for the anonymous partition's seal.
    const userPartition = h.log.partitionOf('u:alice');
    const order = [...h.tasks].sort((a, b) =>
      a.partition === userPartition ? -1 : b.partition === userPartition ? 1 : 0,
    );
    h.tasks = order;
    await h.drain();
    await h.drain();
    const alice = (await h.store.get('s/u:alice')) as { ops: { counter: number } };
    expect(alice.ops.counter).toBe(3 + 1 + 1);
    expect(((await h.store.get(`s/a:${anon}`)) as { sealedInto: string }).sealedInto).toBe('u:alice');
  });

  it('forwards an event that reaches an already sealed profile to the survivor (outbox)', async () => {
    const h = await harness([counter], 1);
    await appendPayloads(h.log, [
      makeEvent({ anonymousId: 'late-visitor', eventTimeMs: T0 }),
      {
        control: 'seal',
        messageId: 's1',
        profileKey: 'a:late-visitor',
        intoKey: 'u:bob',
        eventTimeMs: T0 + 1,
        receivedAtMs: T0 + 1,
      },
      makeEvent({ anonymousId: 'late-visitor', eventTimeMs: T0 + 2 }),
    ]);
    await h.drain();
    const forwards = h.outbox.filter((r) => (r as { kind?: string }).kind === 'forward') as {
      intoKey: string;
      event: KairosEvent;
    }[];
    expect(forwards).toHaveLength(1);
    expect(forwards[0]!.intoKey).toBe('u:bob');
    expect(forwards[0]!.event.profileKey).toBe('u:bob');
    expect(((await h.store.get('s/a:late-visitor')) as { ops: { counter: number } }).ops.counter).toBe(1);
  });
});

// ---- windows: property test against a batch reference ----------------------------------------------

interface GenEvent {
  user: number;
  t: number;
  delay: number;
}

const genEvents = fc.array(
  fc.record({
    user: fc.integer({ min: 0, max: 4 }),
    t: fc.integer({ min: 0, max: 40 * MIN }),
    delay: fc.integer({ min: 0, max: 4_999 }),
  }),
  { minLength: 1, maxLength: 120 },
);

function finalResults(outbox: unknown[], operator: string): Map<string, number> {
  const results = new Map<string, number>();
  for (const record of outbox as WindowResult<number>[]) {
    if (record.kind === 'window' && record.operator === operator)
      results.set(`${record.key}|${record.startMs}|${record.endMs}`, record.result);
  }
  return results;
}

function referenceWindows(events: GenEvent[], assign: (t: number) => [number, number][]): Map<string, number> {
  const results = new Map<string, number>();
  for (const e of events) {
    for (const [start, end] of assign(T0 + e.t)) {
      const id = `u:user${e.user}|${start}|${end}`;
      results.set(id, (results.get(id) ?? 0) + 1);
    }
  }
  return results;
}

function referenceSessions(events: GenEvent[], gapMs: number): Map<string, number> {
  const results = new Map<string, number>();
  for (let user = 0; user <= 4; user++) {
    const times = events
      .filter((e) => e.user === user)
      .map((e) => T0 + e.t)
      .sort((a, b) => a - b);
    let start = 0;
    let end = 0;
    let count = 0;
    for (const t of times) {
      if (count > 0 && t < end) {
        end = Math.max(end, t + gapMs);
        count++;
        continue;
      }
      if (count > 0) results.set(`u:user${user}|${start}|${end}`, count);
      start = t;
      end = t + gapMs;
      count = 1;
    }
    if (count > 0) results.set(`u:user${user}|${start}|${end}`, count);
  }
  return results;
}

describe('window operators', () => {
  it('give the batch result for any arrival order within the out-of-orderness bound', async () => {
    await fc.assert(
      fc.asyncProperty(genEvents, async (generated) => {
        const pipeline = [
          createWindowOperator({ name: 'tumbling', assigner: tumblingWindows(10 * MIN), aggregate: countAggregate }),
          createWindowOperator({
            name: 'sliding',
            assigner: slidingWindows(10 * MIN, 5 * MIN),
            aggregate: countAggregate,
          }),
          createWindowOperator({ name: 'session', assigner: sessionWindows(3 * MIN), aggregate: countAggregate }),
        ];
        const h = await harness(pipeline, 2, 5_000);
        // Arrival order: by event time + a random delay below the bound.
        const arrival = [...generated].sort((a, b) => a.t + a.delay - (b.t + b.delay));
        const events: KairosEvent[] = arrival.map((e) => makeEvent({ userId: `user${e.user}`, eventTimeMs: T0 + e.t }));
        for (let i = 0; i < events.length; i += 5) {
          await appendPayloads(h.log, events.slice(i, i + 5));
          await h.drain();
        }
        h.clock.advance(24 * 60 * MIN);
        await h.drain();
        expect(h.late).toBe(0);
        expect(finalResults(h.outbox, 'tumbling')).toEqual(
          referenceWindows(generated, (t) => {
            const start = t - (t % (10 * MIN));
            return [[start, start + 10 * MIN]];
          }),
        );
        expect(finalResults(h.outbox, 'sliding')).toEqual(
          referenceWindows(generated, (t) => {
            const last = t - (t % (5 * MIN));
            return [
              [last, last + 10 * MIN],
              [last - 5 * MIN, last + 5 * MIN],
            ];
          }),
        );
        expect(finalResults(h.outbox, 'session')).toEqual(referenceSessions(generated, 3 * MIN));
      }),
      { numRuns: 60 },
    );
  });

  it('sends elements beyond the allowed lateness to the late side-output, updates within it', async () => {
    const op = createWindowOperator({
      name: 'w',
      assigner: tumblingWindows(MIN),
      aggregate: countAggregate,
      allowedLatenessMs: 30_000,
    });
    const h = await harness([op], 1, 0);
    await appendPayloads(h.log, [
      makeEvent({ userId: 'x', eventTimeMs: T0 + 10_000 }),
      makeEvent({ userId: 'x', eventTimeMs: T0 + MIN + 20_000 }),
    ]);
    await h.drain();
    expect(finalResults(h.outbox, 'w').get(`u:x|${T0}|${T0 + MIN}`)).toBe(1);
    // Within lateness (watermark T0+80s < end-1+30s): the fired window is updated and re-emitted.
    await appendPayloads(h.log, [makeEvent({ userId: 'x', eventTimeMs: T0 + 20_000 })]);
    await h.drain();
    expect(finalResults(h.outbox, 'w').get(`u:x|${T0}|${T0 + MIN}`)).toBe(2);
    expect((h.outbox as WindowResult<number>[]).filter((r) => r.update)).toHaveLength(1);
    // Beyond lateness: move the watermark past end-1+30s, then a late element.
    await appendPayloads(h.log, [makeEvent({ userId: 'x', eventTimeMs: T0 + 2 * MIN })]);
    await appendPayloads(h.log, [makeEvent({ userId: 'x', eventTimeMs: T0 + 30_000 })]);
    await h.drain();
    expect(h.late).toBe(1);
    expect(finalResults(h.outbox, 'w').get(`u:x|${T0}|${T0 + MIN}`)).toBe(2);
    const late = await h.store.scan('l/0/');
    expect(late).toHaveLength(1);
    expect(late[0]!.value).toMatchObject({ key: 'u:x', operator: 'w' });
  });
});

describe('TaskGroup', () => {
  it('runs every partition until the log is consumed, and stops cleanly', async () => {
    const { TaskGroup } = await import('./task-group.js');
    const log = new MemoryEventLog(3);
    const store = new MemoryStateStore();
    const events = Array.from({ length: 90 }, (_, i) => makeEvent({ userId: `g${i % 9}`, eventTimeMs: T0 + i }));
    await appendPayloads(log, events);
    let processed = 0;
    const done = new Promise<void>((resolve) => {
      const group = new TaskGroup({
        partitions: [0, 1, 2],
        log,
        store,
        options: resolveStreamOptions({ pollMs: 2 }),
        owner: 'group-test',
        pipeline: [counter],
        onCommit: (report) => {
          processed += report.processed;
          if (processed === 90) void group.stop().then(resolve);
        },
      });
      void group.start();
    });
    await done;
    for (let u = 0; u < 9; u++)
      expect(((await store.get(`s/u:g${u}`)) as { ops: { counter: number } }).ops.counter).toBe(10);
  });
});
