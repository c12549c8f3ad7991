import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { isKairosError, partitionFor } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { EventLog, LogEntry, LogPosition, LogRecord } from './port.js';

/**
 * The EventLog conformance suite. Every adapter's `*.conformance.test.ts` calls
 * `runEventLogConformance` with factories; what an adapter cannot do is skipped with a stated reason.
 * Cases needing a hook (`reopen`, `crash`, `torn`, `retention`) fail loudly when the hook is missing and
 * the case is not skipped, so a skip is always a decision.
 */

export const EVENT_LOG_CONFORMANCE_TESTS = {
  partitioning: 'maps every key to partitionFor(key, partitionCount) and appends it there',
  denseOffsets: 'assigns dense offsets from 0 in each partition',
  keyOrder: 'keeps per-key order inside one append and across sequential appends',
  readFromOffset: 'reads from the start, the middle, the end and beyond the end',
  wakeEarly: 'a waiting read wakes as soon as a record arrives',
  maxRecords: 'read honours maxRecords and advances position',
  concurrent: '200 concurrent appends of random batches stay dense, readable and byte-identical',
  sizes: 'keeps large and empty values and unicode keys byte-for-byte',
  offsets: 'offsets() reports start and end; unknown partitions reject with LOG_INVALID_PARTITION',
  closed: 'append after close rejects with LOG_CLOSED',
  readerClosed: 'read on a closed reader rejects with LOG_CLOSED (a loop reading it cannot spin on instant answers)',
  reopen: 'everything survives close and reopen, and appends continue at the right offsets',
  retention: 'retention only moves start forward, and readers resume from the new start',
  crash: 'kill -9 at random points loses no acknowledged record and leaves no partial one',
  torn: 'a torn tail is truncated on reopen, keeping everything before it',
} as const;
export type EventLogConformanceTest = (typeof EVENT_LOG_CONFORMANCE_TESTS)[keyof typeof EVENT_LOG_CONFORMANCE_TESTS];

export interface LoggedLine {
  readonly level: number;
  readonly msg?: string;
  readonly [field: string]: unknown;
}

/** Handed to every factory: a namespace unique to the test, and a logger the suite reads back. */
export interface EventLogTestContext {
  /** Unique per test (a directory name, a queue-name prefix); the same for `create` and `reopen`. */
  readonly namespace: string;
  readonly partitionCount: number;
  /** Pass it to the adapter: the torn-write case expects a warning through it. */
  readonly logger: Logger;
  /** Every line logged through `logger` so far, parsed. */
  readonly logs: readonly LoggedLine[];
}

export interface EventLogCrashOptions {
  /** Absolute path of the module (a TS source; the child runs under `node --import tsx`) exporting the factory. */
  readonly module: string;
  /** Name of the export: `(options) => EventLog | Promise<EventLog>`. */
  readonly exportName: string;
  /** JSON-serialisable factory options for the context's namespace (as `reopen(ctx)` would open it). */
  readonly options: (ctx: EventLogTestContext) => unknown;
  /** Kill trials; at least 10. @default 12 */
  readonly trials?: number;
}

export interface EventLogConformanceOptions {
  readonly name: string;
  /** A fresh, empty log for the context's namespace. The suite closes it. */
  readonly create: (ctx: EventLogTestContext) => EventLog | Promise<EventLog>;
  /** A new instance over the same data as `create(ctx)` made (after that one was closed or killed). */
  readonly reopen?: (ctx: EventLogTestContext) => EventLog | Promise<EventLog>;
  /** How to run the adapter in a child process that the suite kills with SIGKILL. */
  readonly crash?: EventLogCrashOptions;
  /** Adapters that own files: simulate a torn write. */
  readonly torn?: {
    /**
     * With the log closed: cut the last segment of `partition` inside its last record, then append garbage
     * bytes, as a crash in the middle of a write would leave it.
     */
    readonly damageTail: (ctx: EventLogTestContext, partition: number) => Promise<void>;
  };
  /** A log configured to drop old records quickly, and a way to apply retention now. */
  readonly retention?: {
    readonly create: (ctx: EventLogTestContext) => EventLog | Promise<EventLog>;
    readonly enforce: (log: EventLog) => Promise<void>;
  };
  /** @default 4 */
  readonly partitionCount?: number;
  readonly skip?: readonly { readonly reason: string; readonly tests: readonly EventLogConformanceTest[] }[];
}

// --- small helpers ---------------------------------------------------------------------------------

/** Deterministic PRNG (mulberry32) so a failure can be replayed from the seed in its message. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytesFrom(rand: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (rand() * 256) | 0;
  return bytes;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const text = (value: string) => new TextEncoder().encode(value);
const decode = (value: Uint8Array) => new TextDecoder().decode(value);

/** Reads `[from, to)` of a partition, failing when records stop coming before `to`. */
async function readRange(log: EventLog, partition: number, from: number, to: number): Promise<LogRecord[]> {
  const reader = await log.openReader(partition, from);
  const records: LogRecord[] = [];
  try {
    while (reader.position < to) {
      const batch = await reader.read({ maxRecords: Math.min(500, to - reader.position), waitMs: 10_000 });
      if (batch.length === 0)
        throw new Error(`partition ${partition}: no record at ${reader.position} (expected up to ${to})`);
      records.push(...batch);
    }
  } finally {
    await reader.close();
  }
  return records;
}

async function readPartition(log: EventLog, partition: number): Promise<LogRecord[]> {
  const { start, end } = await log.offsets(partition);
  return readRange(log, partition, start, end);
}

function expectDense(records: readonly LogRecord[], partition: number, from: number): void {
  records.forEach((record, i) => {
    expect(record.partition).toBe(partition);
    expect(record.offset).toBe(from + i);
  });
}

function expectSameRecord(actual: LogRecord | undefined, expected: LogEntry, where: string): void {
  expect(actual, where).toBeDefined();
  expect(actual!.key, where).toBe(expected.key);
  expect(actual!.timestampMs, where).toBe(expected.timestampMs);
  expect(sameBytes(actual!.value, expected.value), `${where}: value bytes differ`).toBe(true);
}

/** Records appended in a test, by position, to compare with what comes back. */
class Expected {
  private readonly byPartition = new Map<number, Map<number, LogEntry>>();

  add(positions: readonly LogPosition[], entries: readonly LogEntry[]): void {
    positions.forEach((position, i) => {
      let partition = this.byPartition.get(position.partition);
      if (!partition) this.byPartition.set(position.partition, (partition = new Map<number, LogEntry>()));
      expect(partition.has(position.offset), `position ${position.partition}:${position.offset} given twice`).toBe(
        false,
      );
      partition.set(position.offset, entries[i]!);
    });
  }

  count(partition: number): number {
    return this.byPartition.get(partition)?.size ?? 0;
  }

  get(partition: number, offset: number): LogEntry | undefined {
    return this.byPartition.get(partition)?.get(offset);
  }
}

async function expectCode(promise: () => Promise<unknown>, code: string): Promise<void> {
  let caught: unknown;
  try {
    await promise();
  } catch (err) {
    caught = err;
  }
  expect(isKairosError(caught), `expected a KairosError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as { code: string }).code).toBe(code);
}

// --- crash test: a child appends and prints acknowledgements, the parent kills it ---------------------

const CRASH_CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

/** One acknowledged record as the crash child reports it: position, key, value length and CRC32. */
export interface CrashAck {
  readonly p: number;
  readonly o: number;
  readonly k: string;
  readonly n: number;
  readonly c: number;
}

/** What the crash child passes in argv[2]. */
export interface CrashChildSpec {
  readonly module: string;
  readonly exportName: string;
  readonly options: unknown;
  readonly seed: number;
  readonly concurrency: number;
}

/**
 * Values written by the crash test check themselves: the first 4 bytes are the CRC32 of key + rest, so
 * any record read back can be proven whole even when its append was never acknowledged.
 */
export function selfCheckingValue(key: string, payload: Uint8Array): Uint8Array {
  const value = new Uint8Array(4 + payload.byteLength);
  value.set(payload, 4);
  new DataView(value.buffer).setUint32(0, crc32(payload, crc32(key)), true);
  return value;
}

function isSelfConsistent(record: LogRecord): boolean {
  if (record.value.byteLength < 4) return false;
  const view = new DataView(record.value.buffer, record.value.byteOffset, record.value.byteLength);
  return view.getUint32(0, true) === crc32(record.value.subarray(4), crc32(record.key));
}

interface ChildRun {
  readonly acks: CrashAck[];
  readonly readyAfterMs: number | undefined;
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly stderr: string;
}

type KillPlan =
  { readonly beforeReadyMs: number } | { readonly afterReadyMs: number } | { readonly afterFirstAckMs: number };

function runCrashChild(spec: CrashChildSpec, plan: KillPlan): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['--import', 'tsx', CRASH_CHILD, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: CrashAck[] = [];
    let readyAfterMs: number | undefined;
    let partial = '';
    let stderr = '';
    const kill = () => child.kill('SIGKILL');
    const killAfter = (ms: number) => (ms <= 0 ? kill() : setTimeout(kill, ms));
    const guard = setTimeout(kill, 60_000);
    if ('beforeReadyMs' in plan) killAfter(plan.beforeReadyMs);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      // A line cut by the kill is not counted: fewer acknowledgements only make the check weaker, never wrong.
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (line === 'ready') {
          readyAfterMs = performance.now() - started;
          if ('afterReadyMs' in plan) killAfter(plan.afterReadyMs);
        } else if (line.length > 0) {
          if (acks.length === 0 && 'afterFirstAckMs' in plan) killAfter(plan.afterFirstAckMs);
          acks.push(JSON.parse(line) as CrashAck);
        }
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(guard);
      resolve({ acks, readyAfterMs, signal, code, stderr });
    });
  });
}

async function verifyAfterCrash(
  log: EventLog,
  acked: ReadonlyMap<string, CrashAck>,
  partitionCount: number,
  where: string,
): Promise<{ ends: number[]; present: number }> {
  const ends: number[] = [];
  let present = 0;
  for (let p = 0; p < partitionCount; p++) {
    const { start, end } = await log.offsets(p);
    const records = await readRange(log, p, start, end);
    expectDense(records, p, start);
    const byOffset = new Map(records.map((r) => [r.offset, r]));
    for (const record of records) {
      expect(isSelfConsistent(record), `${where}: record ${p}:${record.offset} is not whole`).toBe(true);
      expect(log.partitionOf(record.key), `${where}: record ${p}:${record.offset} in the wrong partition`).toBe(p);
    }
    for (const ack of acked.values()) {
      if (ack.p !== p) continue;
      const record = byOffset.get(ack.o);
      expect(record, `${where}: acknowledged record ${p}:${ack.o} is missing (end ${end})`).toBeDefined();
      expect(record!.key, `${where}: ${p}:${ack.o} key`).toBe(ack.k);
      expect(record!.value.byteLength, `${where}: ${p}:${ack.o} length`).toBe(ack.n);
      expect(crc32(record!.value), `${where}: ${p}:${ack.o} bytes`).toBe(ack.c);
    }
    ends.push(end);
    present += records.length;
  }
  return { ends, present };
}

// --- the suite -------------------------------------------------------------------------------------

export function runEventLogConformance(options: EventLogConformanceOptions): void {
  const partitionCount = options.partitionCount ?? 4;
  const known = new Set<string>(Object.values(EVENT_LOG_CONFORMANCE_TESTS));
  const skipped = new Map<string, string>();
  for (const { reason, tests } of options.skip ?? []) {
    if (!reason.trim()) throw new Error('every skip states its reason');
    for (const title of tests) {
      if (!known.has(title)) throw new Error(`skip names an unknown conformance test: ${title}`);
      skipped.set(title, reason);
    }
  }
  const T = EVENT_LOG_CONFORMANCE_TESTS;
  const test = (title: EventLogConformanceTest, fn: () => Promise<void>, timeoutMs?: number) => {
    const reason = skipped.get(title);
    if (reason !== undefined) it.skip(`${title} — skipped: ${reason}`, fn);
    else it(title, fn, timeoutMs);
  };
  function need<T>(hook: T | undefined, hookName: string, title: string): T {
    if (hook === undefined) throw new Error(`"${title}" needs options.${hookName}, or a skip with a reason`);
    return hook;
  }

  describe(`EventLog conformance: ${options.name}`, () => {
    const opened: EventLog[] = [];
    let counter = 0;

    const context = (): EventLogTestContext => {
      const logs: LoggedLine[] = [];
      const logger = pino(
        { level: 'debug' },
        { write: (line: string) => void logs.push(JSON.parse(line) as LoggedLine) },
      );
      const slug = options.name.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      return {
        namespace: `${slug}-${process.pid}-${++counter}-${randomUUID().slice(0, 8)}`,
        partitionCount,
        logger,
        logs,
      };
    };
    const track = async (made: EventLog | Promise<EventLog>): Promise<EventLog> => {
      const log = await made;
      opened.push(log);
      return log;
    };
    const create = (ctx: EventLogTestContext) => track(options.create(ctx));
    const reopen = (ctx: EventLogTestContext) => track(need(options.reopen, 'reopen', 'reopen')(ctx));

    afterEach(async () => {
      for (const log of opened.splice(0)) await log.close().catch(() => undefined);
    });

    test(T.partitioning, async () => {
      const log = await create(context());
      expect(log.partitionCount).toBe(partitionCount);
      const rand = prng(7);
      const keys = Array.from({ length: 300 }, (_, i) =>
        i % 3 === 0 ? `user:${i}` : i % 3 === 1 ? `anon:ü${i}😀` : `${rand()}`,
      );
      for (const key of keys) {
        expect(log.partitionOf(key)).toBe(partitionFor(key, partitionCount));
        expect(log.partitionOf(key)).toBe(log.partitionOf(key));
      }
      const entries = keys.slice(0, 60).map((key, i) => ({ key, value: text(`v${i}`), timestampMs: 1_000 + i }));
      const positions = await log.append(entries);
      expect(positions).toHaveLength(entries.length);
      positions.forEach((position, i) =>
        expect(position.partition).toBe(partitionFor(entries[i]!.key, partitionCount)),
      );
    });

    test(T.denseOffsets, async () => {
      const log = await create(context());
      for (let p = 0; p < partitionCount; p++) expect(await log.offsets(p)).toEqual({ start: 0, end: 0 });
      const seen = new Map<number, number[]>();
      for (let round = 0; round < 3; round++) {
        const entries = Array.from({ length: 25 }, (_, i) => ({
          key: `k${(i * 7 + round) % 11}`,
          value: text(`${round}.${i}`),
          timestampMs: i,
        }));
        for (const { partition, offset } of await log.append(entries)) {
          seen.set(partition, [...(seen.get(partition) ?? []), offset]);
        }
      }
      expect(seen.size).toBeGreaterThan(1);
      for (const [partition, offsets] of seen) {
        expect(offsets).toEqual(offsets.map((_, i) => i));
        expect(await log.offsets(partition)).toEqual({ start: 0, end: offsets.length });
      }
    });

    test(T.keyOrder, async () => {
      const log = await create(context());
      const keys = ['alice', 'bob', 'carol', 'dave', 'erin'];
      const sent = new Map<string, string[]>(keys.map((k) => [k, []]));
      const batch = (round: number, size: number) =>
        Array.from({ length: size }, (_, i) => {
          const key = keys[(i * 3 + round) % keys.length]!;
          const value = `${key}#${round}.${i}`;
          sent.get(key)!.push(value);
          return { key, value: text(value), timestampMs: round * 1000 + i };
        });
      const first = batch(0, 40);
      const positions = await log.append(first);
      // Within one append, the same key's entries get increasing offsets in input order.
      for (const key of keys) {
        const offsets = positions.filter((_, i) => first[i]!.key === key).map((p) => p.offset);
        expect(offsets).toEqual([...offsets].sort((a, b) => a - b));
      }
      for (let round = 1; round <= 5; round++) await log.append(batch(round, 10));
      for (const key of keys) {
        const records = await readPartition(log, log.partitionOf(key));
        expect(records.filter((r) => r.key === key).map((r) => decode(r.value))).toEqual(sent.get(key));
      }
    });

    test(T.readFromOffset, async () => {
      const log = await create(context());
      const key = 'reader-key';
      const p = log.partitionOf(key);
      const entries = Array.from({ length: 20 }, (_, i) => ({ key, value: text(`r${i}`), timestampMs: i }));
      await log.append(entries.slice(0, 8));
      await log.append(entries.slice(8));
      const all = await readRange(log, p, 0, 20);
      all.forEach((record, i) => expectSameRecord(record, entries[i]!, `offset ${i}`));

      const middle = await log.openReader(p, 7);
      expect(middle.position).toBe(7);
      const fromMiddle = await middle.read({ maxRecords: 100, waitMs: 1_000 });
      expect(fromMiddle.map((r) => r.offset)).toEqual(Array.from({ length: 13 }, (_, i) => 7 + i));
      expect(middle.position).toBe(20);

      const atEnd = await log.openReader(p, 20);
      expect(await atEnd.read({ maxRecords: 10, waitMs: 0 })).toEqual([]);
      expect(atEnd.position).toBe(20);

      const beyond = await log.openReader(p, 25);
      expect(await beyond.read({ maxRecords: 10, waitMs: 100 })).toEqual([]);
      expect(beyond.position).toBe(25);

      const more = Array.from({ length: 10 }, (_, i) => ({ key, value: text(`m${i}`), timestampMs: 100 + i }));
      await log.append(more);
      const tail = await atEnd.read({ maxRecords: 100, waitMs: 5_000 });
      expect(tail[0]?.offset).toBe(20);
      const fromBeyond = await beyond.read({ maxRecords: 100, waitMs: 5_000 });
      expect(fromBeyond.map((r) => r.offset)).toEqual([25, 26, 27, 28, 29]);
      expectSameRecord(fromBeyond[0], more[5]!, 'offset 25');
      for (const reader of [middle, atEnd, beyond]) await reader.close();
    });

    test(T.wakeEarly, async () => {
      const log = await create(context());
      const key = 'wake-key';
      const p = log.partitionOf(key);
      await log.append([{ key, value: text('first'), timestampMs: 1 }]);
      const reader = await log.openReader(p, 1);
      // If the read did not wake on the append it would come back empty after 60 s: the test fails either way.
      const waiting = reader.read({ maxRecords: 10, waitMs: 60_000 });
      await new Promise((resolve) => setTimeout(resolve, 30));
      await log.append([{ key, value: text('second'), timestampMs: 2 }]);
      const records = await waiting;
      expect(records.map((r) => decode(r.value))).toEqual(['second']);
      expect(records[0]!.offset).toBe(1);
      await reader.close();
    });

    test(T.maxRecords, async () => {
      const log = await create(context());
      const key = 'max-key';
      const p = log.partitionOf(key);
      await log.append(Array.from({ length: 10 }, (_, i) => ({ key, value: text(`${i}`), timestampMs: i })));
      const reader = await log.openReader(p, 0);
      const first = await reader.read({ maxRecords: 3, waitMs: 1_000 });
      expect(first.map((r) => r.offset)).toEqual([0, 1, 2]);
      expect(reader.position).toBe(3);
      const rest: LogRecord[] = [];
      while (reader.position < 10) rest.push(...(await reader.read({ maxRecords: 100, waitMs: 1_000 })));
      expect(rest.map((r) => r.offset)).toEqual([3, 4, 5, 6, 7, 8, 9]);
      await reader.close();
    });

    test(T.concurrent, async () => {
      const log = await create(context());
      const seed = Date.now() >>> 0;
      const rand = prng(seed);
      const keys = Array.from({ length: 12 }, (_, i) => `c-${i}`);
      const batches = Array.from({ length: 200 }, (_, b) =>
        Array.from({ length: 1 + Math.floor(rand() * 20) }, (_, i) => ({
          key: keys[Math.floor(rand() * keys.length)]!,
          value: randomBytesFrom(rand, Math.floor(rand() * 2_000)),
          timestampMs: b * 100 + i,
        })),
      );
      const results = await Promise.all(batches.map((entries) => log.append(entries)));
      const expected = new Expected();
      results.forEach((positions, b) => {
        expect(positions).toHaveLength(batches[b]!.length);
        expected.add(positions, batches[b]!);
        // One append's entries of the same key keep their order.
        const lastByKey = new Map<string, number>();
        positions.forEach((position, i) => {
          const key = batches[b]![i]!.key;
          expect(position.partition).toBe(partitionFor(key, partitionCount));
          expect(position.offset).toBeGreaterThan(lastByKey.get(key) ?? -1);
          lastByKey.set(key, position.offset);
        });
      });
      let total = 0;
      for (let p = 0; p < partitionCount; p++) {
        const count = expected.count(p);
        total += count;
        expect(await log.offsets(p), `seed ${seed}`).toEqual({ start: 0, end: count });
        const records = await readRange(log, p, 0, count);
        expectDense(records, p, 0);
        records.forEach((record) =>
          expectSameRecord(record, expected.get(p, record.offset)!, `seed ${seed} ${p}:${record.offset}`),
        );
      }
      expect(total).toBe(batches.reduce((sum, b) => sum + b.length, 0));
    });

    test(T.sizes, async () => {
      const log = await create(context());
      const rand = prng(99);
      const entries: LogEntry[] = [
        { key: 'empty', value: new Uint8Array(0), timestampMs: 0 },
        { key: 'one', value: new Uint8Array([255]), timestampMs: -5 },
        { key: 'large', value: randomBytesFrom(rand, 1_000_000), timestampMs: 1.5 },
        { key: 'ключ-😀-ü', value: text('unicode key'), timestampMs: 1_700_000_000_000 },
        { key: '', value: text('empty key'), timestampMs: 3 },
        { key: 'x'.repeat(1_000), value: randomBytesFrom(rand, 300_000), timestampMs: 4 },
      ];
      const positions = await log.append(entries);
      const again = await log.append([{ key: 'empty', value: new Uint8Array(0), timestampMs: 9 }]);
      for (let i = 0; i < entries.length; i++) {
        const { partition, offset } = positions[i]!;
        const [record] = await readRange(log, partition, offset, offset + 1);
        expectSameRecord(record, entries[i]!, entries[i]!.key.slice(0, 20));
      }
      const [emptyAgain] = await readRange(log, again[0]!.partition, again[0]!.offset, again[0]!.offset + 1);
      expect(emptyAgain!.value.byteLength).toBe(0);
    });

    test(T.offsets, async () => {
      const log = await create(context());
      const counts = new Array<number>(partitionCount).fill(0);
      const entries = Array.from({ length: 30 }, (_, i) => ({ key: `o${i}`, value: text(`${i}`), timestampMs: i }));
      for (const { partition } of await log.append(entries)) counts[partition]!++;
      for (let p = 0; p < partitionCount; p++) expect(await log.offsets(p)).toEqual({ start: 0, end: counts[p] });
      for (const bad of [-1, partitionCount, 1.5]) {
        await expectCode(() => log.offsets(bad), 'LOG_INVALID_PARTITION');
        await expectCode(() => log.openReader(bad, 0), 'LOG_INVALID_PARTITION');
      }
    });

    test(T.closed, async () => {
      const log = await create(context());
      await log.append([{ key: 'a', value: text('a'), timestampMs: 0 }]);
      await log.close();
      await expectCode(() => log.append([{ key: 'a', value: text('b'), timestampMs: 1 }]), 'LOG_CLOSED');
    });

    test(T.readerClosed, async () => {
      const log = await create(context());
      const p = partitionFor('a', log.partitionCount);
      await log.append([{ key: 'a', value: text('a'), timestampMs: 0 }]);
      const reader = await log.openReader(p, 0);
      expect((await reader.read({ maxRecords: 10, waitMs: 1_000 })).length).toBe(1);
      await reader.close();
      await expectCode(() => reader.read({ maxRecords: 10, waitMs: 0 }), 'LOG_CLOSED');
      // Also when the log closes under an open reader.
      const other = await log.openReader(p, 0);
      await log.close();
      await expectCode(() => other.read({ maxRecords: 10, waitMs: 0 }), 'LOG_CLOSED');
    });

    test(T.reopen, async () => {
      const ctx = context();
      const log = await create(ctx);
      const expected = new Expected();
      const rand = prng(5);
      for (let round = 0; round < 5; round++) {
        const entries = Array.from({ length: 30 }, (_, i) => ({
          key: `re-${(i + round) % 9}`,
          value: randomBytesFrom(rand, 50 + Math.floor(rand() * 3_000)),
          timestampMs: round * 100 + i,
        }));
        expected.add(await log.append(entries), entries);
      }
      await log.close();
      const again = await reopen(ctx);
      for (let p = 0; p < partitionCount; p++) {
        expect(await again.offsets(p)).toEqual({ start: 0, end: expected.count(p) });
        const records = await readPartition(again, p);
        expectDense(records, p, 0);
        records.forEach((r) => expectSameRecord(r, expected.get(p, r.offset)!, `${p}:${r.offset}`));
      }
      const more = Array.from({ length: 20 }, (_, i) => ({
        key: `re-${i % 9}`,
        value: text(`after ${i}`),
        timestampMs: 9_000 + i,
      }));
      const counts = Array.from({ length: partitionCount }, (_, p) => expected.count(p));
      const positions = await again.append(more);
      for (const { partition, offset } of positions) expect(offset).toBe(counts[partition]!++);
      expected.add(positions, more);
      await again.close();
      const third = await reopen(ctx);
      for (let p = 0; p < partitionCount; p++) {
        const records = await readPartition(third, p);
        expect(records).toHaveLength(expected.count(p));
        records.forEach((r) => expectSameRecord(r, expected.get(p, r.offset)!, `${p}:${r.offset}`));
      }
    });

    test(T.retention, async () => {
      const { create: createRetained, enforce } = need(options.retention, 'retention', T.retention);
      const log = await track(createRetained(context()));
      const expected = new Expected();
      const rand = prng(11);
      const key = 'ret-0';
      const watched = log.partitionOf(key);
      const first = [{ key, value: text('first'), timestampMs: 0 }];
      expected.add(await log.append(first), first);
      const early = await log.openReader(watched, 0);
      expect((await early.read({ maxRecords: 1, waitMs: 5_000 })).map((r) => r.offset)).toEqual([0]);
      const starts = new Array<number>(partitionCount).fill(0);
      for (let round = 0; round < 12; round++) {
        const entries = Array.from({ length: 30 }, (_, i) => ({
          key: i % 2 === 0 ? key : `ret-${i % 7}`,
          value: randomBytesFrom(rand, 400),
          timestampMs: round * 1_000 + i,
        }));
        expected.add(await log.append(entries), entries);
        await enforce(log);
        for (let p = 0; p < partitionCount; p++) {
          const { start, end } = await log.offsets(p);
          expect(start).toBeGreaterThanOrEqual(starts[p]!);
          expect(start).toBeLessThanOrEqual(end);
          expect(end).toBe(expected.count(p));
          starts[p] = start;
        }
      }
      expect(starts[watched]).toBeGreaterThan(1);
      // A reader left behind resumes at the oldest retained offset instead of failing.
      const resumed = await early.read({ maxRecords: 5, waitMs: 5_000 });
      const { start } = await log.offsets(watched);
      expect(resumed[0]?.offset).toBe(start);
      await early.close();
      for (let p = 0; p < partitionCount; p++) {
        const reader = await log.openReader(p, 0);
        expect(reader.position).toBe(starts[p]);
        await reader.close();
        const records = await readPartition(log, p);
        expectDense(records, p, starts[p]!);
        records.forEach((r) => expectSameRecord(r, expected.get(p, r.offset)!, `${p}:${r.offset}`));
      }
    });

    test(
      T.crash,
      async () => {
        const crash = need(options.crash, 'crash', T.crash);
        need(options.reopen, 'reopen', T.crash);
        const trials = crash.trials ?? 12;
        expect(trials).toBeGreaterThanOrEqual(10);
        const ctx = context();
        const seed = Date.now() >>> 0;
        const rand = prng(seed);
        const acked = new Map<string, CrashAck>();
        let readyAfterMs = 500;
        let killedWhileAppending = 0;
        for (let trial = 0; trial < trials; trial++) {
          // Very early kills first: as soon as the log is open, at the first acknowledgement, 2 ms after
          // opening, and somewhere during start-up and recovery; then random points of the append loop.
          const plan: KillPlan =
            trial === 0
              ? { afterReadyMs: 0 }
              : trial === 1
                ? { afterFirstAckMs: 0 }
                : trial === 2
                  ? { afterReadyMs: 2 }
                  : trial === 3
                    ? { beforeReadyMs: Math.floor(rand() * readyAfterMs) }
                    : { afterFirstAckMs: Math.floor(rand() * 300) };
          const where = `seed ${seed} trial ${trial} ${JSON.stringify(plan)}`;
          const run = await runCrashChild(
            {
              module: crash.module,
              exportName: crash.exportName,
              options: crash.options(ctx),
              seed: seed + trial,
              concurrency: 4,
            },
            plan,
          );
          expect(run.signal, `${where}: the child should die by SIGKILL, it exited ${run.code}: ${run.stderr}`).toBe(
            'SIGKILL',
          );
          if (run.readyAfterMs !== undefined) readyAfterMs = run.readyAfterMs;
          if (run.acks.length > 0) killedWhileAppending++;
          for (const ack of run.acks) {
            const id = `${ack.p}:${ack.o}`;
            const before = acked.get(id);
            if (before) expect(before, `${where}: ${id} acknowledged twice with different content`).toEqual(ack);
            acked.set(id, ack);
          }
          const log = await reopen(ctx);
          const { ends } = await verifyAfterCrash(log, acked, partitionCount, where);
          // Appends continue right after the recovered end of every partition.
          const entries = Array.from({ length: 24 }, (_, i) => {
            const key = `after-${trial}-${i}`;
            return { key, value: selfCheckingValue(key, randomBytesFrom(rand, 16 + i * 10)), timestampMs: trial };
          });
          const positions = await log.append(entries);
          const next = [...ends];
          for (let i = 0; i < positions.length; i++) {
            const { partition, offset } = positions[i]!;
            const entry = entries[i]!;
            expect(offset, `${where}: append after recovery`).toBe(next[partition]!++);
            const [record] = await readRange(log, partition, offset, offset + 1);
            expectSameRecord(record, entry, `${where}: appended after recovery at ${partition}:${offset}`);
            acked.set(`${partition}:${offset}`, {
              p: partition,
              o: offset,
              k: entry.key,
              n: entry.value.byteLength,
              c: crc32(entry.value),
            });
          }
          await log.close();
        }
        expect(killedWhileAppending, `seed ${seed}: kills timed after an acknowledgement`).toBeGreaterThanOrEqual(
          trials - 3,
        );
      },
      600_000,
    );

    test(T.torn, async () => {
      const torn = need(options.torn, 'torn', T.torn);
      const ctx = context();
      const log = await create(ctx);
      const key = 'torn-key';
      const p = log.partitionOf(key);
      const mine = Array.from({ length: 12 }, (_, i) => ({
        key,
        value: text(`torn ${i} `.repeat(i + 1)),
        timestampMs: i,
      }));
      const others = Array.from({ length: 16 }, (_, i) => ({
        key: `other-${i}`,
        value: text(`o${i}`),
        timestampMs: i,
      }));
      const expected = new Expected();
      for (let i = 0; i < 12; i += 4) expected.add(await log.append(mine.slice(i, i + 4)), mine.slice(i, i + 4));
      expected.add(await log.append(others), others);
      await log.close();

      await torn.damageTail(ctx, p);
      const warningsBefore = ctx.logs.filter((l) => l.level === 40).length;
      const healed = await reopen(ctx);
      expect(ctx.logs.filter((l) => l.level === 40).length).toBeGreaterThan(warningsBefore);
      const lost = expected.count(p) - 1;
      expect(await healed.offsets(p)).toEqual({ start: 0, end: lost });
      const records = await readPartition(healed, p);
      records.forEach((r) => expectSameRecord(r, expected.get(p, r.offset)!, `${p}:${r.offset}`));
      for (let q = 0; q < partitionCount; q++) {
        if (q === p) continue;
        expect(await healed.offsets(q)).toEqual({ start: 0, end: expected.count(q) });
      }
      const [position] = await healed.append([{ key, value: text('after the tear'), timestampMs: 99 }]);
      expect(position).toEqual({ partition: p, offset: lost });
      await healed.close();

      const warningsAfterHeal = ctx.logs.filter((l) => l.level === 40).length;
      const clean = await reopen(ctx);
      expect(ctx.logs.filter((l) => l.level === 40).length).toBe(warningsAfterHeal);
      const final = await readPartition(clean, p);
      expect(final).toHaveLength(lost + 1);
      expect(decode(final[lost]!.value)).toBe('after the tear');
    });
  });
}
