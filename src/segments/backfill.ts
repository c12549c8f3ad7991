import { silentLogger, systemClock, type Clock, type Logger } from '../core/index.js';
import type { EventLog, LogReader, LogRecord } from '../log/index.js';
import { createProfileOperator } from '../profiles/index.js';
import type { PartitionState, StateStore } from '../store/index.js';
import {
  PartitionTask,
  counterKey,
  indexKey,
  stateKey,
  timerKey,
  type KeyState,
  type KeyedContext,
  type ResolvedStreamOptions,
  type TimeDomain,
} from '../stream/index.js';
import { compileDefinitions, membershipKey, type CompiledDefinitions } from './compile.js';
import { memberCounterName, memberIndexKey, memberIndexPrefix } from './membership.js';
import {
  SEGMENTS_OPERATOR,
  createSegmentsOperator,
  decodeSegmentsState,
  reconcileStoredProfile,
  type SegmentsState,
} from './operator.js';
import {
  resolveSegmentsOperatorOptions,
  type ResolvedSegmentsOperatorOptions,
  type SegmentsOperatorOptions,
} from './options.js';
import type { SegmentService } from './service.js';
import type { ActiveSegmentVersion, BackfillLauncher, BackfillStatus } from './types.js';
import { references } from './validate.js';

/**
 * Stops and restarts the live stream tasks of partitions (the engine implements it over its workers).
 * `pause` resolves once no live task will commit for those partitions; `resume` restarts them with the
 * definitions current at that moment.
 */
export interface PartitionPauser {
  pause(partitions: readonly number[]): Promise<void>;
  resume(partitions: readonly number[]): Promise<void>;
}

export interface BackfillDeps {
  readonly service: SegmentService;
  readonly log: EventLog;
  /** The live stream's store (the switch writes into it while the partitions are paused). */
  readonly liveStore: StateStore;
  /** A fresh, empty store: the backfill's own state namespace. It is closed when the backfill ends. */
  readonly createScratchStore: () => Promise<StateStore>;
  readonly pauser: PartitionPauser;
  /** The live stream's options (same out-of-orderness and idleness, so the computation matches). */
  readonly stream: ResolvedStreamOptions;
  readonly operator?: SegmentsOperatorOptions;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** How often progress is saved. @default 500 */
  readonly progressIntervalMs?: number;
}

const SWITCH_CHUNK = 500;

/**
 * Computes a segment version from the retained log, then switches it in.
 *
 * 1. The version (with the active versions it references) runs in its own PartitionTasks over a
 *    separate, empty state store — [profile, segments], emitting nothing — from each partition's oldest
 *    retained offset up to the live task's checkpoint (never past it), chasing it while the live stream
 *    moves on. Progress (offset / target per partition) is saved under `segment-backfills/<id>`.
 * 2. Switch: the live partitions are paused; each backfill task finishes exactly at its live
 *    checkpoint; then, for every profile the backfill saw and every member of the previous active
 *    version, the new version's leaf states and membership are copied into the live state and the
 *    profile is reconciled as if its next event came (retired version → handover or exit; new members
 *    → enter), committed with the partition's unchanged checkpoint, with the enter/exit records in the
 *    outbox and the member index, counters and wake-up timers.
 * 3. The version becomes active (one metadata write), and the partitions resume.
 *
 * Trade-off: the retained log bounds the history (profiles whose events were all removed by retention
 * join at their next event; traits come from the live profile at the switch), and the live stream is
 * paused during the switch (proportional to the profiles of the retained log, not to the log).
 */
export async function runBackfill(deps: BackfillDeps, segmentId: string, version: number): Promise<BackfillStatus> {
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? silentLogger();
  const opts = resolveSegmentsOperatorOptions(deps.operator);
  const partitions = Array.from({ length: deps.log.partitionCount }, (_, p) => p);
  const status: BackfillStatus = {
    segmentId,
    version,
    state: 'running',
    startedAt: new Date(clock.now()).toISOString(),
    fraction: 0,
    partitions: partitions.map((partition) => ({ partition, offset: 0, target: 0 })),
  };
  await deps.service.saveBackfillStatus(status);
  const previousActive = (await deps.service.get(segmentId).catch(() => undefined))?.activeVersion ?? null;
  const after = await deps.service.definitionsAfterActivation(segmentId, version);
  const scratchDefinitions = closure(after, segmentId, version);
  const scratch = await deps.createScratchStore();
  const bounded = new BoundedLog(deps.log);
  const pipeline = [
    createProfileOperator(),
    createSegmentsOperator(scratchDefinitions, { ...deps.operator, emit: false }),
  ];
  const tasks = partitions.map(
    (partition) =>
      new PartitionTask({
        partition,
        log: bounded,
        store: scratch,
        pipeline,
        options: deps.stream,
        owner: `backfill-${segmentId}`,
      }),
  );
  const starts = new Map<number, number>();
  let lastSave = clock.now();
  const report = async (force = false) => {
    let done = 0;
    let total = 0;
    for (const progress of status.partitions) {
      const start = starts.get(progress.partition) ?? 0;
      progress.offset = tasks[progress.partition]!.position;
      progress.target = bounded.limitOf(progress.partition);
      done += Math.max(0, progress.offset - start);
      total += Math.max(0, progress.target - start);
    }
    status.fraction = total === 0 ? 1 : Math.min(1, done / total);
    if (force || clock.now() - lastSave >= (deps.progressIntervalMs ?? 500)) {
      lastSave = clock.now();
      await deps.service.saveBackfillStatus(status);
    }
  };
  let paused = false;
  try {
    for (const partition of partitions) {
      starts.set(partition, (await deps.log.offsets(partition)).start);
      bounded.setLimit(partition, (await deps.liveStore.checkpoint(partition))?.offset ?? 0);
      await tasks[partition]!.start();
    }
    // 1. Catch up with the live tasks (never past their checkpoints), chasing them a few rounds.
    for (let round = 0; round < 20; round++) {
      let lag = 0;
      for (const partition of partitions) {
        bounded.setLimit(partition, (await deps.liveStore.checkpoint(partition))?.offset ?? 0);
        lag += bounded.limitOf(partition) - tasks[partition]!.position;
      }
      if (lag <= deps.stream.maxBatchRecords * partitions.length && round > 0) break;
      await Promise.all(partitions.map((p) => runTo(tasks[p]!, bounded.limitOf(p), report)));
    }
    await report(true);
    // 2. Switch, with the live partitions paused.
    status.state = 'switching';
    await deps.service.saveBackfillStatus(status);
    await deps.pauser.pause(partitions);
    paused = true;
    const compiledAfter = compileDefinitions(after, opts);
    const compiledScratch = compileDefinitions(scratchDefinitions, opts);
    const switched = { profiles: 0, enters: 0, exits: 0 };
    for (const partition of partitions) {
      const checkpoint = await deps.liveStore.checkpoint(partition);
      bounded.setLimit(partition, checkpoint?.offset ?? 0);
      await runTo(tasks[partition]!, bounded.limitOf(partition), report);
      const handle = await deps.liveStore.acquire(partition, `backfill-${segmentId}`);
      try {
        const result = await switchPartition({
          handle,
          partition,
          log: deps.log,
          scratch,
          segmentId,
          version,
          previousActive,
          compiledAfter,
          compiledScratch,
          opts,
          clock,
        });
        switched.profiles += result.profiles;
        switched.enters += result.enters;
        switched.exits += result.exits;
      } finally {
        await handle.release();
      }
    }
    await deps.service.completeBackfill(segmentId, version);
    await report(true);
    status.state = 'done';
    status.fraction = 1;
    status.switched = switched;
    status.finishedAt = new Date(clock.now()).toISOString();
    await deps.service.saveBackfillStatus(status);
    return status;
  } catch (error) {
    logger.error({ err: error, segmentId, version }, 'segment backfill failed');
    status.state = 'failed';
    status.error = (error as Error).message;
    status.finishedAt = new Date(clock.now()).toISOString();
    await deps.service.failBackfill(segmentId, version).catch(() => undefined);
    await deps.service.saveBackfillStatus(status).catch(() => undefined);
    return status;
  } finally {
    for (const task of tasks) await task.stop().catch(() => undefined);
    if (paused) await deps.pauser.resume(partitions);
    await scratch.close().catch(() => undefined);
  }
}

/** Runs backfills in the background, one per segment at a time. */
export function createBackfillRunner(deps: BackfillDeps): BackfillLauncher & { idle(): Promise<void> } {
  const running = new Map<string, Promise<BackfillStatus>>();
  return {
    async start(segmentId, version) {
      const run = runBackfill(deps, segmentId, version).finally(() => running.delete(segmentId));
      running.set(segmentId, run);
      // The first status is saved synchronously at the start of the run.
      await new Promise((resolve) => setImmediate(resolve));
      return (
        (await deps.service.backfillStatus(segmentId)) ?? {
          segmentId,
          version,
          state: 'running',
          startedAt: new Date((deps.clock ?? systemClock).now()).toISOString(),
          fraction: 0,
          partitions: [],
        }
      );
    },
    async idle() {
      await Promise.all([...running.values()]);
    },
  };
}

/** The version to compute and the active versions it references, transitively (all as `active`). */
function closure(
  definitions: readonly ActiveSegmentVersion[],
  segmentId: string,
  version: number,
): ActiveSegmentVersion[] {
  const target = definitions.find((d) => d.id === segmentId && d.version === version);
  if (!target) throw new Error(`version ${version} of ${segmentId} is not in the definitions`);
  const out = new Map<string, ActiveSegmentVersion>([[segmentId, target]]);
  const queue = [target];
  while (queue.length > 0) {
    const next = queue.pop()!;
    for (const ref of references(next.condition)) {
      if (out.has(ref.id)) continue;
      const dep = definitions.find((d) => d.id === ref.id && d.state === 'active');
      if (!dep) continue;
      out.set(ref.id, dep);
      queue.push(dep);
    }
  }
  return [...out.values()];
}

async function runTo(task: PartitionTask, limit: number, report: () => Promise<void>): Promise<void> {
  while (task.position < limit) {
    await task.step();
    await report();
  }
  // One more step commits what is due at the end (timers of the last records).
  await task.step();
}

interface SwitchInput {
  handle: PartitionState;
  partition: number;
  log: EventLog;
  scratch: StateStore;
  segmentId: string;
  version: number;
  previousActive: number | null;
  compiledAfter: CompiledDefinitions;
  compiledScratch: CompiledDefinitions;
  opts: ResolvedSegmentsOperatorOptions;
  clock: Clock;
}

/** Copies the computed version into the live states of one paused partition and reconciles them. */
async function switchPartition(input: SwitchInput): Promise<{ profiles: number; enters: number; exits: number }> {
  const { handle, partition, log, scratch, segmentId, version } = input;
  const checkpoint = await handle.checkpoint();
  const watermarkMs = typeof checkpoint?.meta.watermarkMs === 'number' ? checkpoint.meta.watermarkMs : -8.64e15;
  const key = membershipKey(segmentId, version);
  const leafIds = input.compiledScratch.byKey.get(key)?.leaves.map((l) => l.id) ?? [];
  // The profiles to touch: every one the backfill saw, and every member of the previous active version.
  const profiles = new Set<string>();
  for (const { key: storeKey } of await scanAll((after) =>
    scratch.scan('s/', after === undefined ? { limit: 2000 } : { after, limit: 2000 }),
  )) {
    const profileKey = storeKey.slice(2);
    if (log.partitionOf(profileKey) === partition) profiles.add(profileKey);
  }
  if (input.previousActive !== null) {
    const prefix = memberIndexPrefix(segmentId, input.previousActive);
    for (const { key: storeKey } of await scanAll((after) =>
      handle.scan(prefix, after === undefined ? { limit: 2000 } : { after, limit: 2000 }),
    )) {
      const profileKey = storeKey.slice(prefix.length);
      if (log.partitionOf(profileKey) === partition) profiles.add(profileKey);
    }
  }
  const keys = [...profiles].sort();
  let enters = 0;
  let exits = 0;
  for (let i = 0; i < keys.length; i += SWITCH_CHUNK) {
    const chunk = keys.slice(i, i + SWITCH_CHUNK);
    const [live, computed] = await Promise.all([
      handle.getMany(chunk.map(stateKey)),
      scratch.getMany(chunk.map(stateKey)),
    ]);
    const ctx = new SwitchContext(partition, watermarkMs, input.clock.now());
    chunk.forEach((profileKey, j) => {
      const keyState = (live[j] as KeyState | undefined) ?? { ops: {} };
      if (keyState.sealedInto !== undefined) return;
      // Both states are read in their stored form (times relative to their clocks): decode them first.
      const storedFrom = (computed[j] as KeyState | undefined)?.ops[SEGMENTS_OPERATOR] as SegmentsState | undefined;
      const from = storedFrom ? decodeSegmentsState(input.compiledScratch, storedFrom) : undefined;
      const existing = keyState.ops[SEGMENTS_OPERATOR] as SegmentsState | undefined;
      const state: SegmentsState = existing
        ? decodeSegmentsState(input.compiledAfter, existing)
        : { e: from?.e ?? watermarkMs, l: {}, m: {} };
      ctx.bind(profileKey, keyState);
      if (from) {
        for (const id of leafIds) if (state.l[id] === undefined && from.l[id] !== undefined) state.l[id] = from.l[id];
        const slot = from.m[key];
        if (slot && (slot[0] & 1) !== 0) {
          // A member of the computed version: enters the live index and counts now; announced by the reconcile.
          state.m[key] = [1, slot[1], slot[2]];
          ctx.putIndex(memberIndexKey(segmentId, version, profileKey), slot[1]);
          ctx.addToCounter(memberCounterName(segmentId, version), 1);
        }
        state.e = Math.max(state.e, from.e);
      }
      keyState.ops[SEGMENTS_OPERATOR] = state;
      reconcileStoredProfile(input.compiledAfter, input.opts, ctx, state, Math.max(state.e, watermarkMs), false);
    });
    const counterKeys = [...ctx.counterDeltas.keys()];
    const current = counterKeys.length > 0 ? await handle.getMany(counterKeys) : [];
    const puts: [string, unknown][] = [...ctx.states].map(([profileKey, value]) => [stateKey(profileKey), value]);
    const deletes: string[] = [];
    for (const [storeKey, value] of ctx.writes) {
      if (value === null) deletes.push(storeKey);
      else puts.push([storeKey, value]);
    }
    counterKeys.forEach((storeKey, k) =>
      puts.push([storeKey, ((current[k] as number | undefined) ?? 0) + ctx.counterDeltas.get(storeKey)!]),
    );
    for (const record of ctx.outbox as { type?: string }[]) {
      if (record.type === 'enter') enters++;
      else if (record.type === 'exit') exits++;
    }
    await handle.commit({ puts, deletes, checkpoint: checkpoint ?? { offset: 0, meta: {} }, outbox: ctx.outbox });
  }
  return { profiles: keys.length, enters, exits };
}

async function scanAll(
  page: (after: string | undefined) => Promise<{ key: string; value: unknown }[]>,
): Promise<{ key: string; value: unknown }[]> {
  const out: { key: string; value: unknown }[] = [];
  let after: string | undefined;
  for (;;) {
    const rows = await page(after);
    out.push(...rows);
    if (rows.length < 2000) return out;
    after = rows.at(-1)!.key;
  }
}

/** The operator context of a switch: collects what a task commit would write. */
class SwitchContext implements KeyedContext {
  key = '';
  private keyState: KeyState = { ops: {} };
  readonly states = new Map<string, KeyState>();
  /** Store key → value (null deletes): index entries and timers. */
  readonly writes = new Map<string, unknown>();
  readonly counterDeltas = new Map<string, number>();
  readonly outbox: unknown[] = [];

  constructor(
    readonly partition: number,
    readonly watermarkMs: number,
    readonly processingTimeMs: number,
  ) {}

  bind(key: string, keyState: KeyState): void {
    this.key = key;
    this.keyState = keyState;
  }
  getState<T>(): T | undefined {
    return this.keyState.ops[SEGMENTS_OPERATOR] as T | undefined;
  }
  setState<T>(value: T | undefined): void {
    if (value === undefined) delete this.keyState.ops[SEGMENTS_OPERATOR];
    else this.keyState.ops[SEGMENTS_OPERATOR] = value;
    this.states.set(this.key, this.keyState);
  }
  readState<T>(operator: string): T | undefined {
    return this.keyState.ops[operator] as T | undefined;
  }
  registerTimer(timeMs: number, domain: TimeDomain, tag: string): void {
    this.writes.set(timerKey(this.partition, domain, timeMs, this.key, SEGMENTS_OPERATOR, tag), 1);
  }
  deleteTimer(timeMs: number, domain: TimeDomain, tag: string): void {
    this.writes.set(timerKey(this.partition, domain, timeMs, this.key, SEGMENTS_OPERATOR, tag), null);
  }
  emit(record: unknown): void {
    this.outbox.push(record);
  }
  late(): void {
    // A switch processes no events.
  }
  putIndex(key: string, value: unknown): void {
    this.writes.set(indexKey(SEGMENTS_OPERATOR, key), value === undefined ? null : value);
  }
  addToCounter(name: string, delta: number): void {
    const storeKey = counterKey(this.partition, SEGMENTS_OPERATOR, name);
    this.counterDeltas.set(storeKey, (this.counterDeltas.get(storeKey) ?? 0) + delta);
  }
}

/** The live log seen up to a per-partition limit (the backfill must never pass the live checkpoint). */
class BoundedLog implements EventLog {
  readonly kind: string;
  readonly partitionCount: number;
  private readonly limits = new Map<number, number>();

  constructor(private readonly inner: EventLog) {
    this.kind = `${inner.kind}-bounded`;
    this.partitionCount = inner.partitionCount;
  }

  setLimit(partition: number, offset: number): void {
    this.limits.set(partition, offset);
  }

  limitOf(partition: number): number {
    return this.limits.get(partition) ?? 0;
  }

  partitionOf(key: string): number {
    return this.inner.partitionOf(key);
  }

  append(): Promise<never> {
    return Promise.reject(new Error('a backfill never writes the log'));
  }

  async offsets(partition: number) {
    const offsets = await this.inner.offsets(partition);
    return { start: offsets.start, end: Math.min(offsets.end, this.limitOf(partition)) };
  }

  async openReader(partition: number, fromOffset: number): Promise<LogReader> {
    const reader = await this.inner.openReader(partition, fromOffset);
    const limitOf = () => this.limitOf(partition);
    return {
      partition,
      get position() {
        return reader.position;
      },
      async read({ maxRecords, waitMs }): Promise<LogRecord[]> {
        const room = limitOf() - reader.position;
        if (room <= 0) {
          if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, 10)));
          return [];
        }
        return reader.read({ maxRecords: Math.min(maxRecords, room), waitMs });
      },
      close: () => reader.close(),
    };
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
