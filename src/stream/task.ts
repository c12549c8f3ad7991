import { decodePayload, isSealRecord, type KairosEvent, type LogPayload, type SealRecord } from '../core/index.js';
import type { EventLog, LogReader, LogRecord } from '../log/index.js';
import type { PartitionState, StateStore } from '../store/index.js';
import { StreamErrors } from './errors.js';
import {
  counterKey,
  counterPrefix,
  dedupeKey,
  dedupePrefix,
  indexKey,
  lateKey,
  latePrefix,
  parseTimerKey,
  stateKey,
  timerKey,
  timerPrefix,
} from './keys.js';
import type { ResolvedStreamOptions } from './options.js';
import { TimerQueue, timerId, type TimerEntry } from './timer-queue.js';
import type {
  CommitReport,
  FiredTimer,
  ForwardRecord,
  KeyedContext,
  LateRecord,
  Pipeline,
  TimeDomain,
} from './types.js';

/** The stored state of one key: every operator's slot, and the seal when the key was merged away. */
export interface KeyState {
  ops: Record<string, unknown>;
  /** Set when this profile was merged into another (identity merge); its state is then frozen. */
  sealedInto?: string;
}

interface CheckpointMeta {
  watermarkMs: number;
  maxEventTimeMs: number;
  batchSeq: number;
}

export interface PartitionTaskDeps {
  readonly partition: number;
  readonly log: EventLog;
  readonly store: StateStore;
  readonly pipeline: Pipeline;
  readonly options: ResolvedStreamOptions;
  /** Identifies this worker in fencing records. */
  readonly owner: string;
  readonly onCommit?: (report: CommitReport) => void;
}

const NO_TIME = -8.64e15;

/**
 * One partition's stream task: reads the log from its last committed offset, runs the keyed pipeline
 * over each record in order, advances the watermark, fires timers, and commits keyed state, timers,
 * dedupe ids, late records, outbox records and the next offset in ONE store transaction per step.
 * A crash between commits loses nothing: the next owner resumes from the last checkpoint and redoes
 * the same deterministic work (exactly-once state, at-least-once outbox delivery with stable ids).
 */
export class PartitionTask {
  readonly partition: number;
  private readonly opts: ResolvedStreamOptions;
  private handle!: PartitionState;
  private reader!: LogReader;
  private offset = 0;
  private watermarkMs = NO_TIME;
  private maxEventTimeMs = NO_TIME;
  private batchSeq = 0;
  private lastArrivalWallMs = 0;
  private outboxSeq = 0;
  private pending: LogRecord[] = [];
  private sealWaitSinceMs: number | undefined;

  private readonly cache = new Map<string, KeyState | null>();
  private readonly eventTimers = new TimerQueue();
  private readonly processingTimers = new TimerQueue();
  private readonly timersByKey = new Map<string, Set<string>>();
  private readonly dedupe = new Map<string, number>();
  private readonly dedupeBatches: { seq: number; ids: string[] }[] = [];
  private dedupeCount = 0;
  private readonly lateKeys: string[] = [];
  /** Committed per-partition operator counters (store key → value), mirrored from the store. */
  private readonly counters = new Map<string, number>();

  // Per-step buffers.
  private dirty = new Set<string>();
  private timerWrites = new Map<string, 1 | null>();
  private stepIds: string[] = [];
  private stepOutbox: unknown[] = [];
  private stepLate: [string, LateRecord][] = [];
  private stepDeletes: string[] = [];
  private indexWrites = new Map<string, unknown>();
  private counterDeltas = new Map<string, number>();
  private stepProcessed = 0;
  private stepDuplicates = 0;
  private stepForwarded = 0;
  private currentRecordOffset = 0;

  // The one context object handed to operators; its fields are set before each call.
  private readonly context: TaskContext;

  private pipeline: Pipeline;

  constructor(private readonly deps: PartitionTaskDeps) {
    this.pipeline = deps.pipeline;
    this.partition = deps.partition;
    this.opts = deps.options;
    this.context = new TaskContext(this);
  }

  get watermark(): number {
    return this.watermarkMs;
  }

  get position(): number {
    return this.offset;
  }

  /** Swaps the operators; takes effect from the next element. State slots are keyed by operator name. */
  setPipeline(pipeline: Pipeline): void {
    this.pipeline = pipeline;
  }

  /** True while records wait for a merge (the caller should back off briefly). */
  get hasPending(): boolean {
    return this.pending.length > 0;
  }

  async start(): Promise<void> {
    const { store, log, partition } = this.deps;
    this.handle = await store.acquire(partition, this.deps.owner);
    const checkpoint = await this.handle.checkpoint();
    this.offset = checkpoint?.offset ?? 0;
    const meta = checkpoint?.meta as Partial<CheckpointMeta> | undefined;
    this.watermarkMs = meta?.watermarkMs ?? NO_TIME;
    this.maxEventTimeMs = meta?.maxEventTimeMs ?? NO_TIME;
    this.batchSeq = meta?.batchSeq ?? 0;
    this.outboxSeq = await this.handle.outboxSeq();
    await this.loadTimers();
    await this.loadDedupe();
    for (const { key } of await this.scanAll(latePrefix(partition))) this.lateKeys.push(key);
    for (const { key, value } of await this.scanAll(counterPrefix(partition))) this.counters.set(key, value as number);
    this.reader = await log.openReader(partition, this.offset);
    this.lastArrivalWallMs = this.opts.clock.now();
  }

  async stop(): Promise<void> {
    await this.reader?.close();
  }

  async release(): Promise<void> {
    await this.handle?.release();
  }

  /**
   * One step: read (waiting up to pollMs), process, fire due timers, commit. Resolves true when it
   * did anything (so a caller can loop without sleeping).
   */
  async step(): Promise<boolean> {
    let records = this.pending;
    this.pending = [];
    if (records.length === 0) {
      records = await this.reader.read({ maxRecords: this.opts.maxBatchRecords, waitMs: this.opts.pollMs });
      if (records.length > 0) this.lastArrivalWallMs = this.opts.clock.now();
    }
    const startOffset = this.offset;
    if (records.length > 0) await this.processRecords(records);
    if (this.pending.length === 0 && records.length === 0) this.advanceIdleWatermark();
    await this.fireDue(this.eventTimers, this.watermarkMs);
    await this.fireDue(this.processingTimers, this.opts.clock.now());
    const changed = this.offset !== startOffset || this.hasStepWrites();
    if (changed) await this.commit();
    return records.length > 0 && this.pending.length < records.length;
  }

  // ---- processing -------------------------------------------------------------------------------

  private async processRecords(records: LogRecord[]): Promise<void> {
    const payloads = records.map((record) => decodePayload(record.value));
    await this.prefetch(payloads);
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const payload = payloads[i]!;
      this.currentRecordOffset = record.offset;
      if (this.dedupe.has(payload.messageId) || this.stepIdsSet.has(payload.messageId)) {
        this.stepDuplicates++;
        this.offset = record.offset + 1;
        continue;
      }
      if (isSealRecord(payload)) {
        this.seal(payload);
      } else {
        if (payload.links && payload.links.length > 0) {
          const ready = await this.mergeLinks(payload);
          if (!ready) {
            this.pending = records.slice(i);
            return;
          }
        }
        this.observeEventTime(payload.eventTimeMs);
        const sealedInto = this.cache.get(payload.profileKey)?.sealedInto;
        if (sealedInto !== undefined) this.forward(payload, sealedInto);
        else this.runElement(payload);
      }
      this.stepIds.push(payload.messageId);
      this.stepIdsSet.add(payload.messageId);
      this.stepProcessed++;
      this.offset = record.offset + 1;
      const firing = this.fireDue(this.eventTimers, this.watermarkMs);
      if (firing) await firing;
    }
  }

  private readonly stepIdsSet = new Set<string>();

  private async prefetch(payloads: LogPayload[]): Promise<void> {
    const missing: string[] = [];
    const seen = new Set<string>();
    for (const payload of payloads) {
      const key = payload.profileKey;
      if (!this.cache.has(key) && !seen.has(key)) {
        seen.add(key);
        missing.push(key);
      }
    }
    if (missing.length === 0) return;
    const values = await this.handle.getMany(missing.map(stateKey));
    for (let i = 0; i < missing.length; i++) this.cache.set(missing[i]!, (values[i] as KeyState | undefined) ?? null);
  }

  private observeEventTime(eventTimeMs: number): void {
    if (eventTimeMs > this.maxEventTimeMs) {
      this.maxEventTimeMs = eventTimeMs;
      const candidate = eventTimeMs - this.opts.outOfOrdernessMs;
      if (candidate > this.watermarkMs) this.watermarkMs = candidate;
    }
  }

  /** Idle partitions: event time is assumed to move with the wall clock since the last record. */
  private advanceIdleWatermark(): void {
    if (this.maxEventTimeMs === NO_TIME) return;
    const idleMs = this.opts.clock.now() - this.lastArrivalWallMs;
    if (idleMs < this.opts.idleTimeoutMs) return;
    const candidate = this.maxEventTimeMs - this.opts.outOfOrdernessMs + idleMs;
    if (candidate > this.watermarkMs) this.watermarkMs = candidate;
  }

  private runElement(event: KairosEvent): void {
    const state = this.stateFor(event.profileKey);
    const ctx = this.context;
    ctx.bind(event.profileKey, state);
    for (const op of this.pipeline) {
      ctx.operator = op.name;
      op.processElement(event, ctx);
    }
  }

  /**
   * An event for a profile that was already merged away (a collector routed it before it learnt the
   * link, or an append was retried): it is not lost but forwarded — an outbox record the engine's relay
   * appends to the log under the surviving profile, keeping its message id (so it counts once).
   */
  private forward(event: KairosEvent, intoKey: string): void {
    const record: ForwardRecord = { kind: 'forward', intoKey, event: { ...event, profileKey: intoKey } };
    this.stepOutbox.push(record);
    this.stepForwarded++;
  }

  private seal(record: SealRecord): void {
    const key = record.profileKey;
    const state = this.stateFor(key);
    const ctx = this.context;
    ctx.bind(key, state);
    for (const op of this.pipeline) {
      if (!op.onSeal) continue;
      ctx.operator = op.name;
      op.onSeal(ctx);
    }
    for (const id of [...(this.timersByKey.get(key) ?? [])]) this.removeTimerById(id);
    state.sealedInto = record.intoKey;
    this.dirty.add(key);
  }

  /**
   * Identity merge: the sealed profile's partition must have committed the seal first, so the state we
   * fold in is exactly its state as of the link. Same partition: the seal was processed earlier in this
   * log, so it is in our cache.
   */
  private async mergeLinks(event: KairosEvent): Promise<boolean> {
    const sealed: { key: string; state: KeyState | undefined }[] = [];
    for (const { fromKey } of event.links ?? []) {
      if (fromKey === event.profileKey) continue;
      let state: KeyState | undefined;
      if (this.deps.log.partitionOf(fromKey) === this.partition) {
        state =
          this.cache.get(fromKey) ?? ((await this.handle.getMany([stateKey(fromKey)]))[0] as KeyState | undefined);
      } else {
        state = (await this.deps.store.get(stateKey(fromKey))) as KeyState | undefined;
      }
      if (state?.sealedInto !== event.profileKey) {
        const now = this.opts.clock.now();
        this.sealWaitSinceMs ??= now;
        if (now - this.sealWaitSinceMs < this.opts.sealWaitTimeoutMs) return false;
        this.opts.logger.warn(
          { partition: this.partition, fromKey, into: event.profileKey },
          'seal wait timed out; merging what is known',
        );
      }
      sealed.push({ key: fromKey, state });
    }
    this.sealWaitSinceMs = undefined;
    const target = this.stateFor(event.profileKey);
    const ctx = this.context;
    ctx.bind(event.profileKey, target);
    for (const { state } of sealed) {
      if (!state) continue;
      for (const op of this.pipeline) {
        if (!op.merge) continue;
        ctx.operator = op.name;
        op.merge(state.ops[op.name], ctx);
      }
    }
    return true;
  }

  // ---- timers -----------------------------------------------------------------------------------

  /**
   * Fires every timer of `queue` due at `untilMs`, in time order. Synchronous while the keys are
   * cached (the common case); returns a promise only when a key's state must be loaded first.
   */
  private fireDue(queue: TimerQueue, untilMs: number): Promise<void> | undefined {
    for (;;) {
      const head = queue.peek();
      if (!head || head.timeMs > untilMs) return undefined;
      if (!this.cache.has(head.key)) return this.loadThenFire(queue, untilMs, head.key);
      queue.pollDue(untilMs);
      this.fire(head);
    }
  }

  private async loadThenFire(queue: TimerQueue, untilMs: number, key: string): Promise<void> {
    const [value] = await this.handle.getMany([stateKey(key)]);
    this.cache.set(key, (value as KeyState | undefined) ?? null);
    await this.fireDue(queue, untilMs);
  }

  private fire(entry: TimerEntry): void {
    this.forgetTimer(entry);
    const op = this.pipeline.find((o) => o.name === entry.operator);
    if (!op?.onTimer) return;
    const state = this.stateFor(entry.key);
    if (state.sealedInto !== undefined) return;
    const ctx = this.context;
    ctx.bind(entry.key, state);
    ctx.operator = op.name;
    const timer: FiredTimer = { timeMs: entry.timeMs, domain: entry.domain, tag: entry.tag };
    op.onTimer(timer, ctx);
  }

  /** @internal used by the context */
  registerTimer(key: string, operator: string, timeMs: number, domain: TimeDomain, tag: string): void {
    const id = timerId(domain, timeMs, key, operator, tag);
    const queue = domain === 'event' ? this.eventTimers : this.processingTimers;
    if (!queue.add({ timeMs, domain, key, operator, tag, id })) return;
    let ids = this.timersByKey.get(key);
    if (!ids) this.timersByKey.set(key, (ids = new Set()));
    ids.add(id);
    this.timerWrites.set(timerKey(this.partition, domain, timeMs, key, operator, tag), 1);
  }

  /** @internal used by the context */
  deleteTimer(key: string, operator: string, timeMs: number, domain: TimeDomain, tag: string): void {
    this.removeTimerById(timerId(domain, timeMs, key, operator, tag));
  }

  private removeTimerById(id: string): void {
    const entry = this.eventTimers.delete(id) ?? this.processingTimers.delete(id);
    if (entry) this.forgetTimer(entry);
  }

  private forgetTimer(entry: TimerEntry): void {
    const ids = this.timersByKey.get(entry.key);
    if (ids) {
      ids.delete(entry.id);
      if (ids.size === 0) this.timersByKey.delete(entry.key);
    }
    const storeKey = timerKey(this.partition, entry.domain, entry.timeMs, entry.key, entry.operator, entry.tag);
    this.timerWrites.set(storeKey, null);
  }

  private async loadTimers(): Promise<void> {
    for (const { key } of await this.scanAll(timerPrefix(this.partition))) {
      const t = parseTimerKey(key);
      const id = timerId(t.domain, t.timeMs, t.key, t.operator, t.tag);
      (t.domain === 'event' ? this.eventTimers : this.processingTimers).add({ ...t, id });
      let ids = this.timersByKey.get(t.key);
      if (!ids) this.timersByKey.set(t.key, (ids = new Set()));
      ids.add(id);
    }
  }

  // ---- dedupe, late side-output ------------------------------------------------------------------

  private async loadDedupe(): Promise<void> {
    for (const { key, value } of await this.scanAll(dedupePrefix(this.partition))) {
      const seq = Number(key.slice(key.lastIndexOf('/') + 1));
      const ids = value as string[];
      this.dedupeBatches.push({ seq, ids });
      for (const id of ids) this.dedupe.set(id, seq);
      this.dedupeCount += ids.length;
    }
  }

  /** @internal used by the context */
  recordLate(key: string, operator: string, record: unknown): void {
    const late: LateRecord = {
      partition: this.partition,
      offset: this.currentRecordOffset,
      key,
      operator,
      watermarkMs: this.watermarkMs,
      record,
    };
    const storeKey = lateKey(this.partition, this.currentRecordOffset, this.stepLate.length);
    this.stepLate.push([storeKey, late]);
  }

  // ---- state access -------------------------------------------------------------------------------

  /** @internal */
  stateFor(key: string): KeyState {
    let state = this.cache.get(key);
    if (!state) {
      state = { ops: {} };
      this.cache.set(key, state);
    }
    return state;
  }

  /** @internal */
  markDirty(key: string): void {
    this.dirty.add(key);
  }

  /** @internal */
  emit(record: unknown): void {
    this.stepOutbox.push(record);
  }

  /** @internal used by the context */
  putIndex(operator: string, key: string, value: unknown): void {
    this.indexWrites.set(indexKey(operator, key), value === undefined ? null : value);
  }

  /** @internal used by the context */
  addToCounter(operator: string, name: string, delta: number): void {
    const key = counterKey(this.partition, operator, name);
    this.counterDeltas.set(key, (this.counterDeltas.get(key) ?? 0) + delta);
  }

  /** @internal */
  get nowMs(): number {
    return this.opts.clock.now();
  }

  /** @internal */
  get currentWatermarkMs(): number {
    return this.watermarkMs;
  }

  // ---- commit -------------------------------------------------------------------------------------

  private hasStepWrites(): boolean {
    return (
      this.dirty.size > 0 ||
      this.timerWrites.size > 0 ||
      this.stepOutbox.length > 0 ||
      this.stepLate.length > 0 ||
      this.indexWrites.size > 0 ||
      this.counterDeltas.size > 0
    );
  }

  private async commit(): Promise<void> {
    const puts: [string, unknown][] = [];
    const deletes: string[] = this.stepDeletes;
    for (const key of this.dirty) {
      const state = this.cache.get(key);
      if (state) puts.push([stateKey(key), state]);
    }
    for (const [key, value] of this.timerWrites) {
      if (value === 1) puts.push([key, 1]);
      else deletes.push(key);
    }
    for (const [key, value] of this.indexWrites) {
      if (value === null) deletes.push(key);
      else puts.push([key, value]);
    }
    const counterValues: [string, number][] = [];
    for (const [key, delta] of this.counterDeltas) {
      if (delta === 0) continue;
      const value = (this.counters.get(key) ?? 0) + delta;
      counterValues.push([key, value]);
      puts.push([key, value]);
    }
    let newBatch: { seq: number; ids: string[] } | undefined;
    if (this.stepIds.length > 0) {
      newBatch = { seq: ++this.batchSeq, ids: this.stepIds };
      puts.push([dedupeKey(this.partition, newBatch.seq), newBatch.ids]);
    }
    const evictedBatches: { seq: number; ids: string[] }[] = [];
    let count = this.dedupeCount + (newBatch?.ids.length ?? 0);
    let i = 0;
    while (count > this.opts.dedupeCapacity && i < this.dedupeBatches.length) {
      const batch = this.dedupeBatches[i++]!;
      evictedBatches.push(batch);
      count -= batch.ids.length;
      deletes.push(dedupeKey(this.partition, batch.seq));
    }
    const lateEvicted: string[] = [];
    for (const [key, record] of this.stepLate) puts.push([key, record]);
    const lateTotal = this.lateKeys.length + this.stepLate.length;
    for (let j = 0; j < lateTotal - this.opts.lateRecordsKept && j < this.lateKeys.length; j++) {
      lateEvicted.push(this.lateKeys[j]!);
      deletes.push(this.lateKeys[j]!);
    }
    const meta: CheckpointMeta = {
      watermarkMs: this.watermarkMs,
      maxEventTimeMs: this.maxEventTimeMs,
      batchSeq: this.batchSeq,
    };
    const outbox = this.stepOutbox;
    const commitStarted = performance.now();
    try {
      await this.handle.commit({ puts, deletes, checkpoint: { offset: this.offset, meta: { ...meta } }, outbox });
    } catch (error) {
      throw (error as { code?: string }).code === 'STORE_FENCED'
        ? StreamErrors.create('STREAM_FENCED', `partition ${this.partition} was taken over`, { cause: error })
        : error;
    }
    // The commit is durable: now update the in-memory mirrors.
    if (newBatch) {
      this.dedupeBatches.push(newBatch);
      for (const id of newBatch.ids) this.dedupe.set(id, newBatch.seq);
      this.dedupeCount += newBatch.ids.length;
    }
    for (const batch of evictedBatches) {
      for (const id of batch.ids) if (this.dedupe.get(id) === batch.seq) this.dedupe.delete(id);
      this.dedupeCount -= batch.ids.length;
    }
    this.dedupeBatches.splice(0, evictedBatches.length);
    this.lateKeys.splice(0, lateEvicted.length);
    for (const [key, value] of counterValues) this.counters.set(key, value);
    for (const [key] of this.stepLate) this.lateKeys.push(key);
    const report: CommitReport = {
      partition: this.partition,
      offset: this.offset,
      watermarkMs: this.watermarkMs,
      outbox: outbox.map((value, k) => ({ seq: this.outboxSeq + k + 1, value })),
      processed: this.stepProcessed,
      late: this.stepLate.length,
      duplicates: this.stepDuplicates,
      forwarded: this.stepForwarded,
      changedKeys: [...this.dirty],
      commitMs: performance.now() - commitStarted,
    };
    this.outboxSeq += outbox.length;
    this.resetStep();
    this.evictCache();
    this.deps.onCommit?.(report);
  }

  private resetStep(): void {
    this.dirty = new Set();
    this.timerWrites = new Map();
    this.stepIds = [];
    this.stepIdsSet.clear();
    this.stepOutbox = [];
    this.stepLate = [];
    this.stepDeletes = [];
    this.indexWrites = new Map();
    this.counterDeltas = new Map();
    this.stepProcessed = 0;
    this.stepDuplicates = 0;
    this.stepForwarded = 0;
  }

  private evictCache(): void {
    const limit = this.opts.cacheEntries;
    if (this.cache.size <= limit) return;
    let toDrop = this.cache.size - Math.floor(limit / 2);
    for (const key of this.cache.keys()) {
      if (toDrop-- <= 0) break;
      this.cache.delete(key);
    }
  }

  private async scanAll(prefix: string): Promise<{ key: string; value: unknown }[]> {
    const out: { key: string; value: unknown }[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.handle.scan(prefix, after === undefined ? { limit: 5000 } : { after, limit: 5000 });
      out.push(...page);
      if (page.length < 5000) return out;
      after = page.at(-1)!.key;
    }
  }
}

/** The context handed to operators; one per task, re-bound for every call (no allocation per event). */
class TaskContext implements KeyedContext {
  key = '';
  operator = '';
  private state: KeyState = { ops: {} };

  constructor(private readonly task: PartitionTask) {}

  bind(key: string, state: KeyState): void {
    this.key = key;
    this.state = state;
  }

  get partition(): number {
    return this.task.partition;
  }
  get watermarkMs(): number {
    return this.task.currentWatermarkMs;
  }
  get processingTimeMs(): number {
    return this.task.nowMs;
  }
  getState<T>(): T | undefined {
    return this.state.ops[this.operator] as T | undefined;
  }
  setState<T>(value: T | undefined): void {
    if (value === undefined) delete this.state.ops[this.operator];
    else this.state.ops[this.operator] = value;
    this.task.markDirty(this.key);
  }
  readState<T>(operator: string): T | undefined {
    return this.state.ops[operator] as T | undefined;
  }
  registerTimer(timeMs: number, domain: TimeDomain, tag: string): void {
    this.task.registerTimer(this.key, this.operator, timeMs, domain, tag);
  }
  deleteTimer(timeMs: number, domain: TimeDomain, tag: string): void {
    this.task.deleteTimer(this.key, this.operator, timeMs, domain, tag);
  }
  emit(record: unknown): void {
    this.task.emit(record);
  }
  late(record: unknown): void {
    this.task.recordLate(this.key, this.operator, record);
  }
  putIndex(key: string, value: unknown): void {
    this.task.putIndex(this.operator, key, value);
  }
  addToCounter(name: string, delta: number): void {
    this.task.addToCounter(this.operator, name, delta);
  }
}
