/**
 * Segment evaluation cost: events/s through one PartitionTask running [profile, segments(50 rules)]
 * over memory stores, beside the same task running [profile] only, in the same run, as a ratio. The
 * 50 rules mix every condition kind of DESIGN.md §6 (the three examples, counts with by/where, sums
 * and distinct counts over short and long windows, sequences with and without absence, traits,
 * all/any/not, inSegment chains). Also reports the segments state size per profile.
 *
 * Run: npx tsx bench/segments-eval.ts [--events 100000] [--users 10000] [--runs 3] [--store memory|lmdb].
 * Writes bench/results/segments-eval.json. `--store lmdb` runs the tasks over the engine's store (msgpack
 * encoding and lmdb puts at each commit) instead of the memory store (structuredClone at each commit).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, encodePayload, type KairosEvent } from '../src/core/index.js';
import { MemoryEventLog } from '../src/log/index.js';
import { createProfileOperator } from '../src/profiles/index.js';
import { createSegmentsOperator } from '../src/segments/index.js';
import { LmdbStateStore, MemoryStateStore, type StateStore } from '../src/store/index.js';
import {
  PartitionTask,
  resolveStreamOptions,
  type KeyState,
  type KeyedContext,
  type KeyedOperator,
  type Pipeline,
} from '../src/stream/index.js';
import { writeResults, type BenchResult } from './lib/results.js';
import { rules } from './lib/rules.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg('events', 100_000);
const USERS = arg('users', 10_000);
const RUNS = arg('runs', 3);
/** `--store lmdb`: the engine's store (msgpack encoding + lmdb puts at each commit) instead of the memory store. */
const STORE = process.argv.includes('--store') ? process.argv[process.argv.indexOf('--store') + 1]! : 'memory';
const T0 = Date.UTC(2026, 10, 1);

const NAMES = [
  'Product Viewed',
  'Product Viewed',
  'Product Viewed',
  'Product Viewed',
  'Product Added',
  'Checkout Started',
  'Order Completed',
];

function event(i: number): KairosEvent {
  const user = (i * 7919) % USERS;
  const t = T0 + i * 20;
  const iso = new Date(t).toISOString();
  const base = {
    messageId: `seg-bench-${i}`,
    userId: `user-${user}`,
    profileKey: `u:user-${user}`,
    timestamp: iso,
    eventTimeMs: t,
    receivedAt: iso,
    receivedAtMs: t,
  };
  if (i % 20 === 0)
    return {
      ...base,
      type: 'identify',
      traits: {
        plan: ['free', 'pro', 'enterprise'][user % 3],
        ...(user % 2 === 0 ? { email: `u${user}@example.com` } : {}),
      },
    };
  if (i % 20 === 1) return { ...base, type: 'page', name: 'Home', properties: { path: '/' } };
  const name = NAMES[i % NAMES.length]!;
  return {
    ...base,
    type: 'track',
    event: name,
    properties: {
      // Knuth multiplicative hashes: products and categories vary per event (a user browses several).
      product_id: `p-${((i * 2654435761) >>> 0) % 60}`,
      category: `cat-${((i * 2246822519) >>> 0) % 40}`,
      price: (i % 17) * 10,
      ...(name === 'Order Completed' ? { revenue: 20 + (i % 9) * 30, order_id: `o-${i}` } : {}),
    },
    context: { ip: '203.0.113.7', userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/126', locale: 'en-US' },
  };
}

const log = new MemoryEventLog(1);
for (let i = 0; i < EVENTS; i += 5_000) {
  const batch = [];
  for (let j = i; j < Math.min(EVENTS, i + 5_000); j++) {
    const e = event(j);
    batch.push({ key: e.profileKey, value: encodePayload(e), timestampMs: e.eventTimeMs });
  }
  await log.append(batch);
}

async function measure(pipeline: Pipeline): Promise<{ eventsPerSecond: number; store: StateStore; changes: number }> {
  const store: StateStore =
    STORE === 'lmdb'
      ? new LmdbStateStore({ dir: mkdtempSync(join(tmpdir(), 'kairos-seg-bench-')) })
      : new MemoryStateStore();
  const clock = new ManualClock(T0 + EVENTS * 20);
  const options = resolveStreamOptions({ clock, pollMs: 1, maxBatchRecords: 2000 });
  const task = new PartitionTask({ partition: 0, log, store, pipeline, options, owner: 'bench' });
  let changes = 0;
  await task.start();
  const started = performance.now();
  while (task.position < EVENTS) await task.step();
  const elapsed = (performance.now() - started) / 1000;
  await task.stop();
  for (const r of await store.readOutbox(0, 0, 10_000_000))
    if ((r.value as { kind?: string }).kind === 'segment') changes++;
  return { eventsPerSecond: EVENTS / elapsed, store, changes };
}

/**
 * The operators alone, without a store or a task: CPU time (process.cpuUsage, less sensitive to a
 * shared machine than wall time) per event, the events decoded up front. A minimal context keeps each
 * profile's slots in a Map; timers are not fired (exits by time happen on the profiles' next events).
 */
const decoded = Array.from({ length: EVENTS }, (_, i) => event(i));
function operatorCpu(ops: KeyedOperator[]): number {
  const states = new Map<string, { ops: Record<string, unknown> }>();
  let watermark = -8.64e15;
  let current: { ops: Record<string, unknown> } = { ops: {} };
  let operator = '';
  let key = '';
  const ctx: KeyedContext = {
    get key() {
      return key;
    },
    partition: 0,
    get watermarkMs() {
      return watermark;
    },
    processingTimeMs: 0,
    getState: <T>() => current.ops[operator] as T | undefined,
    setState: (value: unknown) => {
      current.ops[operator] = value;
    },
    readState: <T>(op: string) => current.ops[op] as T | undefined,
    registerTimer: () => undefined,
    deleteTimer: () => undefined,
    emit: () => undefined,
    late: () => undefined,
    putIndex: () => undefined,
    addToCounter: () => undefined,
  };
  const started = process.cpuUsage();
  for (const e of decoded) {
    watermark = Math.max(watermark, e.eventTimeMs - 5000);
    key = e.profileKey;
    current = states.get(key) ?? { ops: {} };
    states.set(key, current);
    for (const op of ops) {
      operator = op.name;
      op.processElement(e, ctx);
    }
  }
  const used = process.cpuUsage(started);
  return (used.user + used.system) / EVENTS;
}

const definitions = rules();
console.log(`${definitions.length} rules, ${EVENTS} events, ${USERS} profiles`);
const withSegments: number[] = [];
const baseline: number[] = [];
let last: Awaited<ReturnType<typeof measure>> | undefined;
for (let run = 0; run < RUNS; run++) {
  baseline.push((await measure([createProfileOperator()])).eventsPerSecond);
  last = await measure([createProfileOperator(), createSegmentsOperator(definitions)]);
  withSegments.push(last.eventsPerSecond);
  console.log(
    `run ${run + 1}: [profile] ${Math.round(baseline.at(-1)!)} ev/s, [profile, segments(50)] ${Math.round(withSegments.at(-1)!)} ev/s`,
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const cpuProfile: number[] = [];
const cpuSegments: number[] = [];
for (let run = 0; run < RUNS; run++) {
  cpuProfile.push(operatorCpu([createProfileOperator()]));
  cpuSegments.push(operatorCpu([createProfileOperator(), createSegmentsOperator(definitions)]));
}
const seg = median(withSegments);
const base = median(baseline);

let sizeTotal = 0;
let sizeMax = 0;
let profiles = 0;
let after: string | undefined;
for (;;) {
  const page = await last!.store.scan('s/', after === undefined ? { limit: 5000 } : { after, limit: 5000 });
  for (const { value } of page) {
    const size = JSON.stringify((value as KeyState).ops.segments ?? {}).length;
    sizeTotal += size;
    sizeMax = Math.max(sizeMax, size);
    profiles++;
  }
  if (page.length < 5000) break;
  after = page.at(-1)!.key;
}

const results: BenchResult[] = [
  {
    metric: 'events/s through [profile, segments(50 rules)]',
    value: seg,
    unit: 'events/s',
    baseline: '[profile] only, same task, same log, same run',
    baselineValue: base,
    ratio: seg / base,
    goal: '≥ 10k events/s with 50 rules on one core (DESIGN.md freshness figure: 10k events/s)',
  },
  {
    metric: 'segment evaluation cost per event',
    value: 1e6 / seg - 1e6 / base,
    unit: 'µs/event',
    baseline: 'whole [profile] step per event',
    baselineValue: 1e6 / base,
    ratio: (1e6 / seg - 1e6 / base) / (1e6 / base),
    goal: 'informative',
  },
  {
    metric: 'operator CPU per event, no store: [profile, segments(50 rules)]',
    value: median(cpuSegments),
    unit: 'µs/event (CPU)',
    baseline: '[profile] alone, same driver',
    baselineValue: median(cpuProfile),
    ratio: median(cpuSegments) / median(cpuProfile),
    goal: 'informative: how much of the task cost is the operator (the rest is the store copying state)',
  },
  {
    metric: 'segments state per profile (mean JSON bytes)',
    value: sizeTotal / Math.max(1, profiles),
    unit: 'bytes',
    baseline: 'DESIGN.md §8 per-profile target',
    baselineValue: 1024,
    ratio: sizeTotal / Math.max(1, profiles) / 1024,
    goal: '≤ 1 KiB (ratio ≤ 1); max seen in notes',
  },
];
writeResults(
  'segments-eval',
  results,
  `${definitions.length} rules (all condition kinds), ${EVENTS} events over ${Math.round((EVENTS * 20) / 60_000)} min of event time, ` +
    `${USERS} profiles (about one event per profile every ${Math.round((USERS * 20) / 1000)} s), one PartitionTask over MemoryEventLog + ` +
    `${STORE === 'lmdb' ? 'LmdbStateStore' : 'MemoryStateStore'}, median of ${RUNS} alternating runs. ${last!.changes} enter/exit records (${(last!.changes / EVENTS).toFixed(2)} per event: ` +
    `a churn-heavy workload). Segments state: mean ${Math.round(sizeTotal / Math.max(1, profiles))} B, max ${sizeMax} B per profile. ` +
    (STORE === 'lmdb'
      ? `In the task, the extra cost beyond the operator's own CPU (third row) is msgpack encoding of the larger per-profile state and its lmdb puts at each commit. `
      : `In the task, most of the extra cost is the memory store deep-copying (structuredClone) the larger per-profile state at each commit ` +
        `and the garbage it makes; the operator's own CPU is the third row. `) +
    `The machine is shared (2 cores): absolute rates vary by 2x between runs, the ratios are the stable figures. The freshness goal (4th view visible within ` +
    `50 ms p99 at 10k events/s, 50 rules) is measured by the engine benchmark (lmdb store, worker threads).`,
);
