import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { pino } from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ManualClock, isKairosError } from '../../core/index.js';
import type { LogEntry, LogRecord } from '../port.js';
import { createEmbeddedEventLog } from './embedded-event-log.js';
import { SharedOffsets } from './durable-offsets.js';
import { SEGMENT_HEADER_BYTES } from './frame.js';
import type { EmbeddedEventLogOptions } from './options.js';
import { listSegmentBases, partitionDirName, segmentFileName } from './segment.js';
import type { EmbeddedEventLog } from './types.js';

const root = mkdtempSync(join(tmpdir(), 'kairos-log-int-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const newDir = () => join(root, `log-${++dirs}`);

const opened: EmbeddedEventLog[] = [];
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close().catch(() => undefined);
});
async function openLog(options: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
  const log = await createEmbeddedEventLog(options);
  opened.push(log);
  return log;
}

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  return {
    logger,
    warnings: () => lines.filter((l) => l.level === 40),
    errors: () => lines.filter((l) => l.level === 50),
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    if (isKairosError(err)) return err.code;
    throw err;
  }
  return undefined;
}

const entry = (key: string, text: string, timestampMs = 0): LogEntry => ({
  key,
  value: Buffer.from(text),
  timestampMs,
});
const texts = (records: readonly LogRecord[]) => records.map((r) => Buffer.from(r.value).toString());

async function readAll(log: EmbeddedEventLog, partition: number, from = 0): Promise<LogRecord[]> {
  const { end } = await log.offsets(partition);
  const reader = await log.openReader(partition, from);
  const out: LogRecord[] = [];
  while (reader.position < end) {
    const batch = await reader.read({ maxRecords: 1_000, waitMs: 2_000 });
    if (batch.length === 0) break;
    out.push(...batch);
  }
  await reader.close();
  return out;
}

const CRASH_CHILD = fileURLToPath(new URL('../crash-child.ts', import.meta.url));
const EMBEDDED_MODULE = fileURLToPath(new URL('./embedded-event-log.ts', import.meta.url));

describe('embedded event log: group commit and backpressure', () => {
  it('appends issued together share one flush and one fsync per touched partition', async () => {
    const log = await openLog({ dir: newDir(), partitionCount: 2 });
    const appends = Array.from({ length: 64 }, (_, i) =>
      log.append([entry(`k${i}`, `v${i}`), entry(`j${i}`, `w${i}`)]),
    );
    await Promise.all(appends);
    const stats = log.stats();
    expect(stats.flushes).toBe(1);
    expect(stats.fsyncs).toBe(2);
    expect(stats.recordsPerFlush).toEqual({ count: 1, sum: 128, max: 128 });
    expect(stats.appendedRecords).toBe(128);
    expect(stats.fsyncMs.count).toBe(2);
    expect(stats.fsyncMs.buckets.at(-1)).toEqual({ leMs: Number.POSITIVE_INFINITY, count: 2 });
    expect(stats.pendingBytes).toBe(0);
    expect(stats.partitions.reduce((sum, p) => sum + p.end, 0)).toBe(128);
  });

  it('rejects appends past maxPendingBytes with LOG_BACKPRESSURE and takes them again once flushed', async () => {
    const log = await openLog({ dir: newDir(), partitionCount: 1, maxPendingBytes: 64 * 1024 });
    const value = 'x'.repeat(10 * 1024);
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => log.append([entry('k', `${i}:${value}`)])),
    );
    const accepted = results.filter((r) => r.status === 'fulfilled');
    const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(accepted.length).toBeGreaterThan(0);
    expect(rejected.length).toBeGreaterThan(0);
    for (const { reason } of rejected) {
      expect(isKairosError(reason, 'LOG_BACKPRESSURE')).toBe(true);
      expect((reason as { retryable: boolean; status: number }).retryable).toBe(true);
      expect((reason as { status: number }).status).toBe(503);
    }
    expect(log.stats().rejectedBackpressure).toBe(rejected.length);
    // Rejected appends got no offsets: the log holds exactly the accepted ones, densely.
    expect(await log.offsets(0)).toEqual({ start: 0, end: accepted.length });
    await expect(log.append([entry('k', 'after')])).resolves.toEqual([{ partition: 0, offset: accepted.length }]);
  });

  it('rejects oversized records with LOG_RECORD_TOO_LARGE and assigns nothing', async () => {
    const log = await openLog({ dir: newDir(), partitionCount: 1, maxRecordBytes: 100 });
    // key + value bytes count: 1 + 100 > 100.
    expect(await codeOf(log.append([entry('k', 'ok'), entry('k', 'y'.repeat(100))]))).toBe('LOG_RECORD_TOO_LARGE');
    expect(await log.offsets(0)).toEqual({ start: 0, end: 0 });
    await expect(log.append([entry('k', 'y'.repeat(99))])).resolves.toEqual([{ partition: 0, offset: 0 }]);
  });

  it('close flushes appends still in flight', async () => {
    const dir = newDir();
    const log = await createEmbeddedEventLog({ dir, partitionCount: 1 });
    const pending = log.append([entry('k', 'in flight')]);
    await log.close();
    await expect(pending).resolves.toEqual([{ partition: 0, offset: 0 }]);
    expect(await codeOf(log.append([entry('k', 'late')]))).toBe('LOG_CLOSED');
    const again = await openLog({ dir, partitionCount: 1 });
    expect(texts(await readAll(again, 0))).toEqual(['in flight']);
  });
});

describe('embedded event log: disk errors', () => {
  it('rejects with LOG_UNAVAILABLE when a write fails, stays consistent and heals', async () => {
    const dir = newDir();
    const { logger, errors } = capture();
    // segmentBytes 1: every flush starts a new segment, so the next segment's path is known in advance.
    const log = await openLog({ dir, partitionCount: 1, segmentBytes: 1, logger });
    await log.append([entry('k', 'a')]);
    const next = join(dir, partitionDirName(0), segmentFileName(1));
    // The kernel answers ENOSPC for every write to /dev/full: a real full disk for that one file.
    symlinkSync('/dev/full', next);
    let failure: unknown;
    await log.append([entry('k', 'b')]).catch((err: unknown) => (failure = err));
    expect(isKairosError(failure, 'LOG_UNAVAILABLE')).toBe(true);
    expect((failure as { retryable: boolean }).retryable).toBe(true);
    expect(((failure as Error).cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(await codeOf(log.append([entry('k', 'c')]))).toBe('LOG_UNAVAILABLE');
    expect(await log.offsets(0)).toEqual({ start: 0, end: 1 });
    expect(log.stats().flushFailures).toBeGreaterThanOrEqual(2);
    expect(errors().length).toBeGreaterThan(0);

    unlinkSync(next);
    // The rejected records were kept (at-least-once) and are written first, at their offsets.
    const [position] = await log.append([entry('k', 'd')]);
    expect(position).toEqual({ partition: 0, offset: 3 });
    expect(texts(await readAll(log, 0))).toEqual(['a', 'b', 'c', 'd']);
    await log.close();
    const again = await openLog({ dir, partitionCount: 1, segmentBytes: 1 });
    expect(texts(await readAll(again, 0))).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('embedded event log: directory lock', () => {
  it('refuses a second writer in the same process until the first closes', async () => {
    const dir = newDir();
    const first = await createEmbeddedEventLog({ dir });
    expect(await codeOf(createEmbeddedEventLog({ dir }))).toBe('LOG_LOCKED');
    await first.close();
    await openLog({ dir });
  });

  it('refuses a writer while another process holds the lock, and takes over once it is killed', async () => {
    const dir = newDir();
    const spec = {
      module: EMBEDDED_MODULE,
      exportName: 'createEmbeddedEventLog',
      options: { dir },
      seed: 1,
      concurrency: 1,
    };
    const child = spawn(process.execPath, ['--import', 'tsx', CRASH_CHILD, JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise((resolve) => child.on('close', resolve));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve()),
    );
    expect(await codeOf(createEmbeddedEventLog({ dir }))).toBe('LOG_LOCKED');
    child.kill('SIGKILL');
    await exited;
    const { logger, warnings } = capture();
    const log = await openLog({ dir, logger });
    expect(warnings().some((w) => w.msg.includes('lock'))).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8'))).toMatchObject({ pid: process.pid });
    await log.close();
  });

  it('takes over a lock whose pid is dead', async () => {
    const dir = newDir();
    await (await createEmbeddedEventLog({ dir })).close();
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: dead, start: null, token: 'stale' }));
    await openLog({ dir });
  });

  it('refuses to reopen with another partition count', async () => {
    const dir = newDir();
    await (await createEmbeddedEventLog({ dir, partitionCount: 4 })).close();
    expect(await codeOf(createEmbeddedEventLog({ dir, partitionCount: 8 }))).toBe('LOG_INVALID_OPTIONS');
    await openLog({ dir, partitionCount: 4 });
  });
});

describe('embedded event log: recovery', () => {
  it('truncates a zero-filled tail and rewrites a torn segment header', async () => {
    const dir = newDir();
    const log = await createEmbeddedEventLog({ dir, partitionCount: 1 });
    await log.append([entry('k', 'one'), entry('k', 'two')]);
    await log.close();
    const pdir = join(dir, partitionDirName(0));
    // A crash after the file grew but before its data blocks were written can leave zeros.
    appendFileSync(join(pdir, segmentFileName(0)), Buffer.alloc(4096));
    // ... and a crash while rolling, a new segment with half a header.
    writeFileSync(join(pdir, segmentFileName(2)), Buffer.from([0x4b, 0x4c, 0x4f]));
    const { logger, warnings } = capture();
    const again = await openLog({ dir, partitionCount: 1, logger });
    expect(warnings().length).toBeGreaterThanOrEqual(1);
    expect(await again.offsets(0)).toEqual({ start: 0, end: 2 });
    await again.append([entry('k', 'three')]);
    expect(texts(await readAll(again, 0))).toEqual(['one', 'two', 'three']);
    expect(listSegmentBases(pdir)).toEqual([0, 2]);
  });

  it('a reader reports LOG_CORRUPT for a damaged record in a sealed segment', async () => {
    const dir = newDir();
    const log = await openLog({ dir, partitionCount: 1, segmentBytes: 1 });
    for (const text of ['a', 'b', 'c']) await log.append([entry('k', text)]);
    const path = join(dir, partitionDirName(0), segmentFileName(1));
    const file = await open(path, 'r+');
    // The frame of 'b' is 28 header bytes + key 'k' + value 'b': flip its value byte.
    await file.write(Buffer.from([0xff]), 0, 1, SEGMENT_HEADER_BYTES + 29);
    await file.close();
    const reader = await log.openReader(0, 0);
    expect(await reader.read({ maxRecords: 1, waitMs: 0 }).then(texts)).toEqual(['a']);
    expect(await codeOf(reader.read({ maxRecords: 10, waitMs: 0 }))).toBe('LOG_CORRUPT');
  });
});

describe('embedded event log: retention', () => {
  it('deletes whole segments older than retentionMs, also after a reopen', async () => {
    const dir = newDir();
    const clock = new ManualClock(1_000_000);
    const options = { dir, partitionCount: 1, segmentBytes: 1, retentionMs: '1h', clock };
    const log = await createEmbeddedEventLog(options);
    for (let i = 0; i < 4; i++) await log.append([entry('k', `old${i}`, clock.now())]);
    clock.advance(30 * 60_000);
    for (let i = 0; i < 3; i++) await log.append([entry('k', `new${i}`, clock.now())]);
    await log.enforceRetention();
    expect(await log.offsets(0)).toEqual({ start: 0, end: 7 });
    clock.advance(45 * 60_000); // the old ones are 75 min old, the new ones 45 min
    await log.enforceRetention();
    expect(await log.offsets(0)).toEqual({ start: 4, end: 7 });
    expect(log.stats().segmentsDeleted).toBe(4);
    expect(texts(await readAll(log, 0))).toEqual(['new0', 'new1', 'new2']);
    await log.close();
    // After a reopen the segments' newest timestamps are learnt by scanning them.
    clock.advance(30 * 60_000);
    const again = await openLog(options);
    await again.enforceRetention();
    // The active (last) segment always stays.
    expect(await again.offsets(0)).toEqual({ start: 6, end: 7 });
    expect(listSegmentBases(join(dir, partitionDirName(0)))).toEqual([6]);
  });
});

describe('embedded event log: readers in other threads and processes', () => {
  it('a reader-mode instance in a worker thread wakes on the shared durable offsets', async () => {
    const dir = newDir();
    const log = await openLog({ dir, partitionCount: 2, segmentBytes: 4096 });
    const total = 300;
    const code = `
      const { parentPort, workerData } = require('node:worker_threads');
      (async () => {
        const { tsImport } = await import('tsx/esm/api');
        const { createEmbeddedEventLog } = await tsImport(workerData.module, workerData.parent);
        const log = await createEmbeddedEventLog({ dir: workerData.dir, mode: 'reader', shared: workerData.shared });
        const readers = [await log.openReader(0, 0), await log.openReader(1, 0)];
        const got = [];
        parentPort.postMessage({ ready: true });
        while (got.length < workerData.total) {
          for (const reader of readers) {
            for (const r of await reader.read({ maxRecords: 50, waitMs: 20 })) got.push([r.partition, r.offset, r.key, Buffer.from(r.value).toString()]);
          }
        }
        await log.close();
        parentPort.postMessage({ got });
      })().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
    `;
    const worker = new Worker(code, {
      eval: true,
      workerData: { module: EMBEDDED_MODULE, parent: import.meta.url, dir, shared: log.shared, total },
    });
    const messages: { ready?: boolean; got?: [number, number, string, string][]; error?: string }[] = [];
    const done = new Promise<[number, number, string, string][]>((resolve, reject) => {
      worker.on('message', (m: (typeof messages)[number]) => {
        messages.push(m);
        if (m.error) reject(new Error(m.error));
        if (m.got) resolve(m.got);
      });
      worker.on('error', reject);
    });
    await new Promise<void>((resolve) => worker.once('message', () => resolve()));
    const expected = new Map<string, string>();
    for (let i = 0; i < total; i += 10) {
      const entries = Array.from({ length: 10 }, (_, j) => entry(`user-${(i + j) % 7}`, `value ${i + j}`));
      (await log.append(entries)).forEach((p, j) =>
        expected.set(`${p.partition}:${p.offset}`, `${entries[j]!.key}/value ${i + j}`),
      );
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    const got = await done;
    await worker.terminate();
    expect(got).toHaveLength(total);
    for (const [partition, offset, key, value] of got)
      expect(`${key}/${value}`).toBe(expected.get(`${partition}:${offset}`));
  });

  it('a reader never passes the published durable end, whatever the files hold', async () => {
    const dir = newDir();
    const log = await openLog({ dir, partitionCount: 1 });
    await log.append(Array.from({ length: 10 }, (_, i) => entry('k', `r${i}`)));
    // Offsets published as if only 5 records were durable yet: the other 5 are in the file already.
    const published = SharedOffsets.create(1);
    published.publish(0, 0, 5);
    const reader = await openLog({ dir, mode: 'reader', shared: published.buffer });
    const r = await reader.openReader(0, 0);
    expect(texts(await r.read({ maxRecords: 100, waitMs: 0 }))).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(await r.read({ maxRecords: 100, waitMs: 50 })).toEqual([]);
    const waiting = r.read({ maxRecords: 100, waitMs: 30_000 });
    published.publish(0, 0, 10);
    expect(texts(await waiting)).toEqual(['r5', 'r6', 'r7', 'r8', 'r9']);
  });

  it('a reader-mode instance without shared memory polls the DURABLE file, across segments and retention', async () => {
    const dir = newDir();
    const log = await openLog({ dir, partitionCount: 1, segmentBytes: 2048, retentionBytes: 8192 });
    await log.append(Array.from({ length: 10 }, (_, i) => entry('k', `first ${i}`)));
    const reader = await openLog({ dir, mode: 'reader', pollIntervalMs: 2 });
    expect(reader.partitionCount).toBe(1);
    expect(await codeOf(reader.append([entry('k', 'no')]))).toBe('LOG_READ_ONLY');
    const r = await reader.openReader(0, 0);
    expect(texts(await r.read({ maxRecords: 100, waitMs: 0 }))).toEqual(
      Array.from({ length: 10 }, (_, i) => `first ${i}`),
    );
    const waiting = r.read({ maxRecords: 100, waitMs: 30_000 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await log.append([entry('k', 'second')]);
    expect(texts(await waiting)).toEqual(['second']);

    // Many segments later, retention has deleted the ones the reader would need next: it resumes at start.
    for (let i = 0; i < 60; i++) await log.append([entry('k', `bulk ${i} ${'z'.repeat(300)}`)]);
    await log.enforceRetention();
    const { start, end } = await log.offsets(0);
    expect(start).toBeGreaterThan(11);
    const rest: LogRecord[] = [];
    while (r.position < end) rest.push(...(await r.read({ maxRecords: 1_000, waitMs: 1_000 })));
    expect(rest[0]!.offset).toBe(start);
    expect(rest.at(-1)!.offset).toBe(end - 1);
    expect(await reader.offsets(0)).toEqual({ start, end });
  });
});
