import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fsyncPath, partitionFor } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import { LogErrors } from '../errors.js';
import type { LogEntry, LogPosition, LogReader, PartitionOffsets } from '../port.js';
import { DurableFileWriter, PolledOffsets, SharedOffsets, type OffsetsView } from './durable-offsets.js';
import { FRAME_HEADER_BYTES, SEGMENT_HEADER_BYTES, checkSegmentHeader, encodeSegmentHeader } from './frame.js';
import { Histogram } from './histogram.js';
import { acquireDirLock, type DirLock } from './lock.js';
import { resolveEmbeddedEventLogOptions } from './options.js';
import type { EmbeddedEventLogOptions, ResolvedEmbeddedEventLogOptions } from './options.js';
import { ChunkPool, PendingFrames, type FrameBatch } from './pending.js';
import { EmbeddedLogReader, type ReaderSource } from './reader.js';
import { Segment, listSegmentBases, partitionDirName, scanFrames } from './segment.js';
import type { EmbeddedEventLog, EmbeddedLogStats, EmbeddedPartitionStats } from './types.js';

const META_FILE = 'META';
const META_FORMAT = 'kairos-event-log';
const RETRY_BASE_MS = 25;
const RETRY_MAX_MS = 1_000;

interface Meta {
  readonly format: typeof META_FORMAT;
  readonly version: 1;
  readonly partitionCount: number;
}

/**
 * Opens the embedded (file-based) EventLog in `options.dir`: a writer by default (takes the directory
 * lock, heals a torn tail, appends with group commit), or a reader (`mode: 'reader'`) for worker threads
 * and other processes. See docs/log.md for the file format, recovery and reader notification.
 */
export async function createEmbeddedEventLog(options: EmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
  const resolved = resolveEmbeddedEventLogOptions(options);
  return resolved.mode === 'reader' ? openReaderLog(resolved) : openWriterLog(resolved);
}

// ---------------------------------------------------------------------------------------------------
// Directory metadata

/** mkdir -p, then fsync the parent of every directory it created, so the new entries survive a power loss. */
function makeDirDurably(dir: string): void {
  const first = mkdirSync(dir, { recursive: true });
  if (first === undefined) return;
  for (let created = resolvePath(dir); ; created = dirname(created)) {
    fsyncPath(dirname(created));
    if (created === resolvePath(first)) break;
  }
}

function readMeta(dir: string): Meta | undefined {
  let text: string;
  try {
    text = readFileSync(join(dir, META_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const meta = JSON.parse(text) as Partial<Meta>;
    if (meta.format === META_FORMAT && meta.version === 1 && Number.isInteger(meta.partitionCount)) return meta as Meta;
  } catch {
    // fall through: not ours
  }
  throw LogErrors.create('LOG_CORRUPT', `${join(dir, META_FILE)} is not an event log description`, {
    details: { dir },
  });
}

/** Written to a temporary name, synced, renamed, and the directory synced: never seen half written. */
function writeMeta(dir: string, meta: Meta): void {
  const temp = join(dir, `${META_FILE}.tmp`);
  writeFileSync(temp, JSON.stringify(meta));
  fsyncPath(temp);
  renameSync(temp, join(dir, META_FILE));
  fsyncPath(dir);
}

function ignoreMissing(err: unknown): void {
  if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
}

function invalidPartition(partition: number, partitionCount: number) {
  return LogErrors.create('LOG_INVALID_PARTITION', `No partition ${partition} (0..${partitionCount - 1})`, {
    details: { partition, partitionCount },
  });
}

function isPartition(partition: number, partitionCount: number): boolean {
  return Number.isInteger(partition) && partition >= 0 && partition < partitionCount;
}

// ---------------------------------------------------------------------------------------------------
// Writer

/** One partition of a writer: its segments, the active file, and what is assigned vs durable. */
class PartitionLog {
  readonly segments: Segment[] = [];
  /** Next offset `append` hands out (assigned synchronously, in call order). */
  nextOffset = 0;
  /** Everything below is fsync'd. */
  durableEnd = 0;
  /** Durable size of the active segment file. */
  durableBytes = 0;
  /** Set after a failed write or sync: the active file is truncated back to `durableBytes` before reuse. */
  broken = false;
  readonly pending: PendingFrames;

  constructor(
    readonly partition: number,
    readonly dir: string,
    readonly dirHandle: FileHandle,
    public file: FileHandle,
    pool: ChunkPool,
  ) {
    this.pending = new PendingFrames(pool);
  }

  get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  get start(): number {
    return this.segments[0]!.base;
  }
}

/**
 * Opens (creating or healing) one partition directory. Segments before the last were synced before their
 * successor was created, so only the last one can have a torn tail: it is scanned with CRCs and truncated
 * at the first invalid frame.
 */
async function openPartition(root: string, partition: number, pool: ChunkPool, logger: Logger): Promise<PartitionLog> {
  const dir = join(root, partitionDirName(partition));
  mkdirSync(dir, { recursive: true });
  const dirHandle = await open(dir, 'r');
  let file: FileHandle | undefined;
  try {
    const bases = listSegmentBases(dir);
    if (bases.length === 0) {
      bases.push(0);
      file = await open(Segment.at(dir, 0, 0).path, 'w+');
      await file.write(encodeSegmentHeader(0), 0, SEGMENT_HEADER_BYTES, 0);
      await file.datasync();
      await dirHandle.sync();
    }
    const lastBase = bases[bases.length - 1]!;
    const last = Segment.at(dir, lastBase, 0);
    file ??= await open(last.path, 'r+');
    const part = new PartitionLog(partition, dir, dirHandle, file, pool);
    for (const base of bases.slice(0, -1)) {
      const segment = Segment.at(dir, base, statSync(Segment.at(dir, base, 0).path).size);
      part.segments.push(segment);
    }
    part.segments.push(last);
    await recoverActiveSegment(part, last, file, logger);
    return part;
  } catch (err) {
    await file?.close().catch(() => undefined);
    await dirHandle.close().catch(() => undefined);
    throw err;
  }
}

async function recoverActiveSegment(
  part: PartitionLog,
  segment: Segment,
  file: FileHandle,
  logger: Logger,
): Promise<void> {
  const { size } = await file.stat();
  const head = Buffer.alloc(SEGMENT_HEADER_BYTES);
  const { bytesRead } = await file.read(head, 0, SEGMENT_HEADER_BYTES, 0);
  const header = checkSegmentHeader(head, bytesRead, segment.base);
  if (header === 'foreign') {
    throw LogErrors.create('LOG_CORRUPT', `${segment.path} does not start with a segment header`, {
      details: { segment: segment.path },
    });
  }
  let end = { pos: SEGMENT_HEADER_BYTES, offset: segment.base };
  if (header === 'torn') {
    // A crash while the segment was being created: it never held an acknowledged record.
    logger.warn(
      { partition: part.partition, segment: segment.path, bytes: size },
      'event log: rewrote a torn segment header',
    );
    await file.truncate(0);
    await file.write(encodeSegmentHeader(segment.base), 0, SEGMENT_HEADER_BYTES, 0);
    await file.datasync();
  } else {
    const result = await scanFrames(file, {
      fromPos: SEGMENT_HEADER_BYTES,
      fromOffset: segment.base,
      limitPos: size,
      verify: true,
      onFrame: (offset, pos, _length, timestampMs) => {
        segment.noteFrame(offset, pos);
        segment.noteTimestamp(timestampMs);
      },
    });
    end = { pos: result.pos, offset: result.offset };
    if (result.stop !== 'end') {
      logger.warn(
        {
          partition: part.partition,
          segment: segment.path,
          position: result.pos,
          offset: result.offset,
          droppedBytes: size - result.pos,
          reason: result.stop,
        },
        'event log: truncated a torn tail (records that were never acknowledged)',
      );
      await file.truncate(result.pos);
      await file.datasync();
    }
  }
  segment.bytes = end.pos;
  segment.noteBoundary(end.offset, end.pos);
  part.durableBytes = end.pos;
  part.durableEnd = end.offset;
  part.nextOffset = end.offset;
}

async function writeAll(file: FileHandle, buffers: readonly Buffer[], position: number): Promise<void> {
  let remaining = buffers.filter((b) => b.length > 0);
  let at = position;
  while (remaining.length > 0) {
    const { bytesWritten } = await file.writev(remaining, at);
    if (bytesWritten <= 0) throw new Error(`writev wrote ${bytesWritten} bytes`);
    at += bytesWritten;
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const buf of remaining) {
      if (skip >= buf.length) skip -= buf.length;
      else {
        rest.push(skip > 0 ? buf.subarray(skip) : buf);
        skip = 0;
      }
    }
    remaining = rest;
  }
}

interface AppendWaiter {
  readonly positions: LogPosition[];
  readonly partitions: readonly number[];
  readonly resolve: (positions: LogPosition[]) => void;
  readonly reject: (err: unknown) => void;
}

interface FlushJob {
  readonly part: PartitionLog;
  readonly batch: FrameBatch;
}

async function openWriterLog(options: ResolvedEmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
  const { dir, logger } = options;
  makeDirDurably(dir);
  const lock = acquireDirLock(dir, logger);
  const parts: PartitionLog[] = [];
  try {
    const meta = readMeta(dir);
    if (!meta) {
      writeMeta(dir, { format: META_FORMAT, version: 1, partitionCount: options.partitionCount });
    } else if (meta.partitionCount !== options.partitionCount) {
      throw LogErrors.create(
        'LOG_INVALID_OPTIONS',
        `Event log ${dir} has ${meta.partitionCount} partitions, not ${options.partitionCount}; keys would move`,
        { details: { field: 'partitionCount', value: options.partitionCount, onDisk: meta.partitionCount } },
      );
    }
    const pool = new ChunkPool();
    for (let p = 0; p < options.partitionCount; p++) parts.push(await openPartition(dir, p, pool, logger));
    // New partition directories are entries of the log directory: make them durable too.
    fsyncPath(dir);
    return new EmbeddedEventLogWriter(options, lock, parts, pool);
  } catch (err) {
    for (const part of parts) {
      await part.file.close().catch(() => undefined);
      await part.dirHandle.close().catch(() => undefined);
    }
    lock.release();
    throw err;
  }
}

/**
 * The writer. Offsets are assigned synchronously in `append` call order; frames are encoded into
 * per-partition pending buffers; one flush at a time writes every partition's pending bytes and
 * fdatasyncs each touched file (concurrently), then resolves every append of that flush. Appends that
 * arrive meanwhile wait for the next flush — that is the group commit.
 */
class EmbeddedEventLogWriter implements EmbeddedEventLog {
  readonly kind = 'embedded';
  readonly mode = 'writer';
  readonly dir: string;
  readonly partitionCount: number;
  private readonly offsetsView: SharedOffsets;
  private readonly durableFile: DurableFileWriter;
  private state: 'open' | 'closing' | 'closed' = 'open';
  private closing: Promise<void> | undefined;
  private queued: AppendWaiter[] = [];
  private flushing = false;
  private flushScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly retentionTimer: NodeJS.Timeout | undefined;
  /** The last retention pass scheduled, and the one not started yet (if any). */
  private retentionTail: Promise<void> = Promise.resolve();
  private retentionQueued: Promise<void> | undefined;
  private consecutiveFailures = 0;
  private backlogBytes = 0;
  private readonly readers = new Set<EmbeddedLogReader>();
  private readonly counters = {
    appends: 0,
    appendedRecords: 0,
    appendedBytes: 0,
    rejectedBackpressure: 0,
    rejectedUnavailable: 0,
    flushes: 0,
    flushFailures: 0,
    fsyncs: 0,
    segmentsDeleted: 0,
    flushRecords: 0,
    flushRecordsMax: 0,
  };
  private readonly fsyncMs = new Histogram();
  private readonly flushMs = new Histogram();

  constructor(
    private readonly options: ResolvedEmbeddedEventLogOptions,
    private readonly lock: DirLock,
    private readonly parts: readonly PartitionLog[],
    private readonly pool: ChunkPool,
  ) {
    this.dir = options.dir;
    this.partitionCount = options.partitionCount;
    this.offsetsView = SharedOffsets.create(this.partitionCount);
    for (const part of parts) this.offsetsView.publish(part.partition, part.start, part.durableEnd);
    this.durableFile = new DurableFileWriter(this.dir);
    this.durableFile.write(this.offsetsView);
    if (Number.isFinite(options.retentionMs) || Number.isFinite(options.retentionBytes)) {
      this.retentionTimer = setInterval(() => void this.enforceRetention(), options.retentionCheckIntervalMs);
      this.retentionTimer.unref();
      void this.enforceRetention();
    }
  }

  get shared(): SharedArrayBuffer {
    return this.offsetsView.buffer;
  }

  partitionOf(key: string): number {
    return partitionFor(key, this.partitionCount);
  }

  append(entries: readonly LogEntry[]): Promise<LogPosition[]> {
    if (this.state !== 'open') return Promise.reject(LogErrors.create('LOG_CLOSED'));
    if (entries.length === 0) return Promise.resolve([]);
    const { maxRecordBytes, maxPendingBytes } = this.options;
    const keyBytes = new Array<number>(entries.length);
    let bytes = 0;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const kb = Buffer.byteLength(entry.key, 'utf8');
      if (kb + entry.value.byteLength > maxRecordBytes) {
        return Promise.reject(
          LogErrors.create('LOG_RECORD_TOO_LARGE', undefined, {
            details: { index: i, bytes: kb + entry.value.byteLength, maxRecordBytes },
          }),
        );
      }
      keyBytes[i] = kb;
      bytes += FRAME_HEADER_BYTES + kb + entry.value.byteLength;
    }
    if (this.backlogBytes > 0 && this.backlogBytes + bytes > maxPendingBytes) {
      this.counters.rejectedBackpressure++;
      return Promise.reject(
        LogErrors.create('LOG_BACKPRESSURE', undefined, {
          details: { pendingBytes: this.backlogBytes, maxPendingBytes },
        }),
      );
    }
    const positions = new Array<LogPosition>(entries.length);
    const touched: number[] = [];
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const partition = partitionFor(entry.key, this.partitionCount);
      const part = this.parts[partition]!;
      const offset = part.nextOffset++;
      const kb = keyBytes[i]!;
      part.pending.push(offset, entry, kb, FRAME_HEADER_BYTES + kb + entry.value.byteLength);
      positions[i] = { partition, offset };
      if (!touched.includes(partition)) touched.push(partition);
    }
    this.backlogBytes += bytes;
    this.counters.appends++;
    this.counters.appendedRecords += entries.length;
    this.counters.appendedBytes += bytes;
    return new Promise<LogPosition[]>((resolve, reject) => {
      this.queued.push({ positions, partitions: touched, resolve, reject });
      this.scheduleFlush();
    });
  }

  offsets(partition: number): Promise<PartitionOffsets> {
    if (!isPartition(partition, this.partitionCount))
      return Promise.reject(invalidPartition(partition, this.partitionCount));
    const part = this.parts[partition]!;
    return Promise.resolve({ start: part.start, end: part.durableEnd });
  }

  openReader(partition: number, fromOffset: number): Promise<LogReader> {
    if (!isPartition(partition, this.partitionCount))
      return Promise.reject(invalidPartition(partition, this.partitionCount));
    if (this.state === 'closed') return Promise.reject(LogErrors.create('LOG_CLOSED'));
    const part = this.parts[partition]!;
    const source: ReaderSource = {
      partition,
      offsets: this.offsetsView,
      segments: () => part.segments,
      refreshSegments: () => undefined,
      isClosed: () => this.state === 'closed',
      readerClosed: (reader) => this.readers.delete(reader),
    };
    const reader = new EmbeddedLogReader(source, Math.max(Math.floor(fromOffset), part.start));
    this.readers.add(reader);
    return Promise.resolve(reader);
  }

  stats(): EmbeddedLogStats {
    const c = this.counters;
    return {
      appends: c.appends,
      appendedRecords: c.appendedRecords,
      appendedBytes: c.appendedBytes,
      rejectedBackpressure: c.rejectedBackpressure,
      rejectedUnavailable: c.rejectedUnavailable,
      flushes: c.flushes,
      flushFailures: c.flushFailures,
      fsyncs: c.fsyncs,
      fsyncMs: this.fsyncMs.snapshot(),
      flushMs: this.flushMs.snapshot(),
      recordsPerFlush: { count: c.flushes, sum: c.flushRecords, max: c.flushRecordsMax },
      pendingBytes: this.backlogBytes,
      segmentsDeleted: c.segmentsDeleted,
      partitions: this.parts.map((part): EmbeddedPartitionStats => ({
        partition: part.partition,
        start: part.start,
        end: part.durableEnd,
        segments: part.segments.length,
        bytes: part.segments.reduce((sum, s) => sum + (s === part.active ? part.durableBytes : s.bytes), 0),
      })),
    };
  }

  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /** Resolves after a retention pass that started after this call (calls made meanwhile share it). */
  enforceRetention(): Promise<void> {
    if (this.state !== 'open') return Promise.resolve();
    if (this.retentionQueued) return this.retentionQueued;
    const run = this.retentionTail.then(() => {
      this.retentionQueued = undefined;
      return this.applyRetention().catch((err: unknown) =>
        this.options.logger.error({ err }, 'event log: retention failed'),
      );
    });
    this.retentionQueued = run;
    this.retentionTail = run;
    return run;
  }

  // --- group commit ---------------------------------------------------------------------------------

  private scheduleFlush(): void {
    if (this.flushing || this.flushScheduled) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: appends made by every I/O callback of this loop turn share the flush.
    setImmediate(() => void this.runFlushes());
  }

  private async runFlushes(): Promise<void> {
    this.flushScheduled = false;
    if (this.flushing) return;
    this.flushing = true;
    try {
      for (;;) {
        const waiters = this.queued;
        this.queued = [];
        const jobs: FlushJob[] = [];
        for (const part of this.parts) if (part.pending.count > 0) jobs.push({ part, batch: part.pending.take() });
        if (jobs.length === 0) {
          for (const waiter of waiters) waiter.resolve(waiter.positions);
          break;
        }
        const failed = await this.flush(jobs);
        for (const waiter of waiters) {
          const cause = waiter.partitions.map((p) => failed.get(p)).find((err) => err !== undefined);
          if (cause === undefined) waiter.resolve(waiter.positions);
          else {
            this.counters.rejectedUnavailable++;
            waiter.reject(LogErrors.create('LOG_UNAVAILABLE', 'The event log could not write to disk', { cause }));
          }
        }
        if (this.queued.length === 0) {
          if (failed.size > 0) this.scheduleRetry();
          break;
        }
      }
    } finally {
      this.flushing = false;
      for (const idle of this.idleWaiters.splice(0)) idle();
    }
  }

  /** Writes and syncs every job concurrently; returns the partitions that failed (their frames are kept). */
  private async flush(jobs: readonly FlushJob[]): Promise<Map<number, unknown>> {
    const started = performance.now();
    const outcomes = await Promise.all(
      jobs.map((job) =>
        this.writeJob(job).then(
          (rolled) => ({ ok: true as const, rolled }),
          (error: unknown) => ({ ok: false as const, error: error ?? new Error('write failed') }),
        ),
      ),
    );
    const failed = new Map<number, unknown>();
    let records = 0;
    let rolled = false;
    for (let i = 0; i < jobs.length; i++) {
      const { part, batch } = jobs[i]!;
      const outcome = outcomes[i]!;
      if (outcome.ok) {
        rolled ||= outcome.rolled;
        this.backlogBytes -= batch.bytes;
        records += batch.frameLengths.length;
        this.pool.give(batch.owners);
      } else {
        failed.set(part.partition, outcome.error);
        part.pending.restore(batch);
        part.broken = true;
        this.options.logger.error(
          { err: outcome.error, partition: part.partition, records: batch.frameLengths.length },
          'event log: write or fsync failed; the records are kept for a retry and their appends rejected',
        );
      }
    }
    if (failed.size < jobs.length) this.writeDurableFile();
    const c = this.counters;
    c.flushes++;
    c.flushRecords += records;
    c.flushRecordsMax = Math.max(c.flushRecordsMax, records);
    this.flushMs.observe(performance.now() - started);
    if (failed.size > 0) {
      c.flushFailures++;
      this.consecutiveFailures++;
    } else this.consecutiveFailures = 0;
    if (rolled && (Number.isFinite(this.options.retentionBytes) || Number.isFinite(this.options.retentionMs))) {
      void this.enforceRetention();
    }
    return failed;
  }

  /** One partition's part of a flush: repair if needed, roll if full, write, fdatasync, publish. */
  /** Resolves true when it started a new segment. */
  private async writeJob({ part, batch }: FlushJob): Promise<boolean> {
    if (part.broken) {
      // Drop whatever a failed write left past the durable end before writing the same frames again.
      await part.file.truncate(part.durableBytes);
      part.broken = false;
    }
    let file = part.file;
    let segment = part.active;
    let position = part.durableBytes;
    let views = batch.views;
    // Roll only at a flush boundary, when everything in the old segment is durable: a crash can then
    // leave a torn tail in the last segment only.
    const roll = part.durableBytes >= this.options.segmentBytes && part.durableEnd > segment.base;
    if (roll) {
      segment = Segment.at(part.dir, batch.firstOffset, 0);
      file = await open(segment.path, 'w+');
      views = [encodeSegmentHeader(batch.firstOffset), ...views];
      position = 0;
    }
    try {
      await writeAll(file, views, position);
      const syncStarted = performance.now();
      await file.datasync();
      this.fsyncMs.observe(performance.now() - syncStarted);
      this.counters.fsyncs++;
      if (roll) await part.dirHandle.sync();
    } catch (err) {
      if (roll) await file.close().catch(() => undefined);
      throw err;
    }
    let framePos = roll ? SEGMENT_HEADER_BYTES : part.durableBytes;
    let offset = batch.firstOffset;
    for (const length of batch.frameLengths) {
      segment.noteFrame(offset, framePos);
      framePos += length;
      offset++;
    }
    segment.noteBoundary(offset, framePos);
    segment.noteTimestamp(batch.maxTimestampMs);
    segment.bytes = framePos;
    if (roll) {
      const previous = part.file;
      part.active.bytes = part.durableBytes;
      part.segments.push(segment);
      part.file = file;
      await previous.close().catch(() => undefined);
    }
    part.durableBytes = framePos;
    part.durableEnd = offset;
    this.offsetsView.publish(part.partition, part.start, part.durableEnd);
    return roll;
  }

  /** The DURABLE file is only a hint for readers in other processes: failing to update it fails no append. */
  private writeDurableFile(): void {
    try {
      this.durableFile.write(this.offsetsView);
    } catch (err) {
      this.options.logger.warn({ err }, 'event log: could not update the DURABLE file');
    }
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.state !== 'open') return;
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(this.consecutiveFailures, 10));
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.scheduleFlush();
    }, delay);
    this.retryTimer.unref();
  }

  private whenIdle(): Promise<void> {
    if (!this.flushing && !this.flushScheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private hasUnflushed(): boolean {
    return this.queued.length > 0 || this.parts.some((part) => part.pending.count > 0);
  }

  // --- retention ------------------------------------------------------------------------------------

  private async applyRetention(): Promise<void> {
    const { retentionBytes, retentionMs, clock } = this.options;
    const cutoffMs = clock.now() - retentionMs;
    let changed = false;
    for (const part of this.parts) {
      if (this.state !== 'open') return;
      const size = (s: Segment) => (s === part.active ? part.durableBytes : s.bytes);
      let total = part.segments.reduce((sum, s) => sum + size(s), 0);
      let expiredCount = 0;
      while (expiredCount < part.segments.length - 1) {
        const candidate = part.segments[expiredCount]!;
        let expired = total > retentionBytes;
        if (!expired && Number.isFinite(retentionMs)) {
          const newest = candidate.maxTimestampMs ?? (await this.learnMaxTimestamp(candidate));
          expired = newest !== undefined && newest < cutoffMs;
        }
        if (!expired) break;
        total -= size(candidate);
        expiredCount++;
      }
      if (expiredCount === 0) continue;
      const expired = part.segments.slice(0, expiredCount);
      for (const segment of expired) await unlink(segment.path).catch(ignoreMissing);
      // The deletion is made durable before `start` moves, so a crash can never move `start` back.
      await part.dirHandle.sync();
      part.segments.splice(0, expiredCount);
      this.offsetsView.publish(part.partition, part.start, part.durableEnd);
      this.counters.segmentsDeleted += expiredCount;
      changed = true;
    }
    if (changed && this.state === 'open') this.writeDurableFile();
  }

  private async learnMaxTimestamp(segment: Segment): Promise<number | undefined> {
    const file = await open(segment.path, 'r');
    try {
      return await segment.learnMaxTimestamp(file);
    } finally {
      await file.close();
    }
  }

  // --- close ----------------------------------------------------------------------------------------

  private async shutdown(): Promise<void> {
    this.state = 'closing';
    clearInterval(this.retentionTimer);
    await this.retentionTail;
    for (let attempt = 0; attempt < 3; attempt++) {
      await this.whenIdle();
      if (!this.hasUnflushed()) break;
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      await this.runFlushes();
    }
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (this.hasUnflushed()) {
      this.options.logger.error(
        { pendingBytes: this.backlogBytes },
        'event log: closed with records that could not be written (none of them was acknowledged)',
      );
      for (const waiter of this.queued.splice(0)) waiter.reject(LogErrors.create('LOG_CLOSED'));
    }
    this.state = 'closed';
    this.offsetsView.wakeAll();
    for (const reader of [...this.readers]) await reader.close();
    for (const part of this.parts) {
      await part.file.close().catch(() => undefined);
      await part.dirHandle.close().catch(() => undefined);
    }
    this.writeDurableFile();
    this.durableFile.close();
    this.lock.release();
  }
}

// ---------------------------------------------------------------------------------------------------
// Reader mode

class ReaderPartition {
  segments: Segment[] = [];

  constructor(readonly dir: string) {}

  refresh(): void {
    let bases: number[];
    try {
      bases = listSegmentBases(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    const known = new Map(this.segments.map((s) => [s.base, s]));
    this.segments = bases.map((base) => known.get(base) ?? Segment.at(this.dir, base, 0));
  }
}

async function openReaderLog(options: ResolvedEmbeddedEventLogOptions): Promise<EmbeddedEventLog> {
  const meta = readMeta(options.dir);
  if (!meta) {
    throw LogErrors.create('LOG_UNAVAILABLE', `No event log in ${options.dir} yet (its writer creates it)`, {
      details: { dir: options.dir },
    });
  }
  let view: OffsetsView;
  if (options.shared) {
    if (options.shared.byteLength !== SharedOffsets.bytesFor(meta.partitionCount)) {
      throw LogErrors.create('LOG_INVALID_OPTIONS', 'shared does not belong to this log (partition count differs)', {
        details: { field: 'shared' },
      });
    }
    view = new SharedOffsets(options.shared, meta.partitionCount);
  } else {
    view = new PolledOffsets(options.dir, meta.partitionCount, options.pollIntervalMs);
  }
  return Promise.resolve(new EmbeddedEventLogReaderMode(options, meta.partitionCount, view));
}

/** Reads a directory another thread or process writes; never locks, repairs or deletes. */
class EmbeddedEventLogReaderMode implements EmbeddedEventLog {
  readonly kind = 'embedded';
  readonly mode = 'reader';
  readonly dir: string;
  private readonly partitions: ReaderPartition[];
  private readonly readers = new Set<EmbeddedLogReader>();
  private closed = false;

  constructor(
    private readonly options: ResolvedEmbeddedEventLogOptions,
    readonly partitionCount: number,
    private readonly view: OffsetsView,
  ) {
    this.dir = options.dir;
    this.partitions = Array.from(
      { length: partitionCount },
      (_, p) => new ReaderPartition(join(options.dir, partitionDirName(p))),
    );
  }

  get shared(): SharedArrayBuffer | undefined {
    return this.options.shared;
  }

  partitionOf(key: string): number {
    return partitionFor(key, this.partitionCount);
  }

  append(): Promise<LogPosition[]> {
    return Promise.reject(LogErrors.create('LOG_READ_ONLY'));
  }

  offsets(partition: number): Promise<PartitionOffsets> {
    if (!isPartition(partition, this.partitionCount))
      return Promise.reject(invalidPartition(partition, this.partitionCount));
    return Promise.resolve({ start: this.view.start(partition), end: this.view.end(partition) });
  }

  openReader(partition: number, fromOffset: number): Promise<LogReader> {
    if (!isPartition(partition, this.partitionCount))
      return Promise.reject(invalidPartition(partition, this.partitionCount));
    if (this.closed) return Promise.reject(LogErrors.create('LOG_CLOSED'));
    const part = this.partitions[partition]!;
    const source: ReaderSource = {
      partition,
      offsets: this.view,
      segments: () => part.segments,
      refreshSegments: () => part.refresh(),
      isClosed: () => this.closed,
      readerClosed: (reader) => this.readers.delete(reader),
    };
    const reader = new EmbeddedLogReader(source, Math.max(Math.floor(fromOffset), this.view.start(partition)));
    this.readers.add(reader);
    return Promise.resolve(reader);
  }

  stats(): EmbeddedLogStats {
    const empty = { count: 0, sumMs: 0, maxMs: 0, buckets: [] };
    return {
      appends: 0,
      appendedRecords: 0,
      appendedBytes: 0,
      rejectedBackpressure: 0,
      rejectedUnavailable: 0,
      flushes: 0,
      flushFailures: 0,
      fsyncs: 0,
      fsyncMs: empty,
      flushMs: empty,
      recordsPerFlush: { count: 0, sum: 0, max: 0 },
      pendingBytes: 0,
      segmentsDeleted: 0,
      partitions: this.partitions.map((part, partition) => ({
        partition,
        start: this.view.start(partition),
        end: this.view.end(partition),
        segments: part.segments.length,
        bytes: 0,
      })),
    };
  }

  enforceRetention(): Promise<void> {
    return Promise.reject(LogErrors.create('LOG_READ_ONLY', 'Retention is applied by the writer'));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.view.wakeAll();
    for (const reader of [...this.readers]) await reader.close();
  }
}
