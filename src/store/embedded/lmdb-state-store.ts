import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type Database, type RootDatabase } from 'lmdb';
import { StoreErrors } from '../errors.js';
import type {
  Checkpoint,
  KeyValue,
  OutboxRecord,
  PartitionState,
  ScanOptions,
  StateCommit,
  StateStore,
} from '../state-port.js';
import {
  clearOutboxRestart,
  clearUnflushed,
  currentBootId,
  guardUnflushed,
  markUnflushed,
  outboxRestartPending,
} from './unflushed-marker.js';

export interface LmdbStateStoreOptions {
  /** Directory of the lmdb environment (created when missing). */
  readonly dir: string;
  /** Map size upper bound in bytes (lmdb grows the file up to it). @default 64 GiB */
  readonly mapSizeBytes?: number;
  /**
   * How long a commit may stay in the OS page cache before it is flushed to disk (ms). Either way a
   * resolved commit is visible and survives a crash of the process (`kill -9`): the page cache outlives
   * it. What a crash of the machine could take is bounded by this interval — and after one the store is
   * not trusted but rebuilt from the event log, which flushes every append before it is acknowledged
   * (`unflushed-marker.ts`, docs/stream.md). 0 flushes every commit before it resolves (about 10 % more
   * CPU per event in the engine, measured in docs/stream.md).
   * @default 1000 (0 where the kernel gives no boot id to recognise a crash of the machine by)
   */
  readonly flushIntervalMs?: number;
  /**
   * The opener that guards the directory and runs the flush timer: one per process (the engine's main
   * thread). Other openers in the same process (worker threads) pass false and the same
   * `flushIntervalMs` (lmdb's flags are per environment).
   * @default true
   */
  readonly primary?: boolean;
  /** Told when a flush fails (the engine logs it). */
  readonly onFlushError?: (error: Error) => void;
}

/** The files of the lmdb environment (moved aside together when the store cannot be trusted). */
const ENV_FILES = ['state.mdb', 'state.mdb-lock'];

interface Fence {
  token: number;
  owner: string;
  acquiredAt: number;
}

type OutboxKey = [number, number];

/** Sorts after every key that starts with a given prefix. */
const HIGH = '\uffff';

/**
 * StateStore on lmdb: one environment with three databases — `state` (keyed operator state),
 * `control` (checkpoints, fences, outbox sequence numbers) and `outbox`. Every commit is one lmdb
 * write transaction, so state, checkpoint and outbox move together; lmdb's copy-on-write pages mean a
 * `kill -9` leaves the last committed transaction. Several threads (stream workers, the API thread) open
 * the same environment; lmdb serialises writers and gives readers consistent snapshots.
 */
export class LmdbStateStore implements StateStore {
  readonly kind = 'embedded';
  private readonly root: RootDatabase;
  private readonly state: Database<unknown, string>;
  private readonly control: Database<unknown, string>;
  private readonly outbox: Database<unknown, OutboxKey>;
  private closed = false;
  private readonly dir: string;
  private readonly primary: boolean;
  readonly flushIntervalMs: number;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /**
   * The last flush failed. Commits go on (the event log, flushed on every append, stays the source of
   * truth); the marker stays until a flush succeeds, so a crash of the machine meanwhile rebuilds.
   */
  private flushError: Error | undefined;
  private readonly onFlushError: ((error: Error) => void) | undefined;
  /**
   * Set when this open found the store left unflushed by a crash of the machine and moved it here: the
   * store started empty, and everything derived from it (outbox cursors) must start over.
   */
  readonly movedAsideTo: string | undefined;
  /**
   * The store started over (this open or an earlier one that crashed before the step was done): outbox
   * sequence numbers begin again at 1, so every position kept elsewhere in the old outbox must be
   * forgotten, then `outboxRestartHandled()` called.
   */
  readonly outboxRestarted: boolean;

  constructor(options: LmdbStateStoreOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.dir = options.dir;
    this.primary = options.primary ?? true;
    this.onFlushError = options.onFlushError;
    const bootId = currentBootId();
    this.flushIntervalMs = options.flushIntervalMs ?? (bootId === undefined ? 0 : 1000);
    let found = false;
    if (this.primary) {
      const guard = guardUnflushed(options.dir, ENV_FILES, bootId, Date.now());
      this.movedAsideTo = guard.movedTo;
      found = guard.found && guard.movedTo === undefined;
      if (this.flushIntervalMs > 0 && bootId !== undefined) markUnflushed(options.dir, bootId, Date.now());
    }
    this.outboxRestarted = this.primary && outboxRestartPending(options.dir);
    this.root = open({
      path: join(options.dir, 'state.mdb'),
      maxDbs: 8,
      mapSize: options.mapSizeBytes ?? 64 * 1024 ** 3,
      compression: false,
      // Deferred flush: lmdb writes each commit to the page cache only; the timer below flushes. (Not
      // `useWritemap`, though cheaper still: a full disk would then kill the process with SIGBUS
      // instead of failing a commit.)
      ...(this.flushIntervalMs > 0 ? { noSync: true } : {}),
    });
    // Plain msgpack maps, not msgpackr records: profile state is full of maps keyed by data (event
    // names, categories, item ids), and without shared structures every value would carry its record
    // definitions inline (measured on 59k Taobao profiles: 14 µs → 6–12 µs per encode, 257 → 248 bytes).
    // Stores written with records read back the same (checked on a 64k-key store). Set per database:
    // a root `encoder` option does not reach the named databases (lmdb's types omit `encoder` here).
    const plainMaps = (name: string) => ({ name, encoder: { useRecords: false } });
    this.state = this.root.openDB<unknown, string>(plainMaps('state'));
    this.control = this.root.openDB<unknown, string>(plainMaps('control'));
    this.outbox = this.root.openDB<unknown, OutboxKey>(plainMaps('outbox'));
    if (this.primary && this.flushIntervalMs > 0) {
      this.flushTimer = setInterval(() => void this.flush(), this.flushIntervalMs);
      this.flushTimer.unref();
    } else if (found) {
      // A marker of this boot, and commits are flushed from now on: flush what the last run left in
      // the page cache, then the marker can go.
      void this.flush().then(() => {
        if (this.flushError === undefined) clearUnflushed(this.dir);
      });
    }
  }

  /** Positions in the old outbox are forgotten (see `outboxRestarted`). */
  outboxRestartHandled(): void {
    clearOutboxRestart(this.dir);
  }

  private flushFailed(error: unknown): void {
    this.flushError = error as Error;
    this.onFlushError?.(error as Error);
  }

  /** Flushes every commit made so far to disk (the timer's work; also the last step of `close`). */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const flushing = this.sync().then(
      () => {
        this.flushError = undefined;
      },
      (error: unknown) => this.flushFailed(error),
    );
    this.flushing = flushing.finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private sync(): Promise<void> {
    const root = this.root as unknown as { sync(callback: (error?: Error | null) => void): void };
    return new Promise((resolve, reject) => root.sync((error) => (error ? reject(error) : resolve())));
  }

  async acquire(partition: number, owner: string): Promise<PartitionState> {
    this.assertOpen();
    const fenceKey = `fence/${partition}`;
    const token = await this.root.transaction(() => {
      const previous = this.control.get(fenceKey) as Fence | undefined;
      const next = (previous?.token ?? 0) + 1;
      void this.control.put(fenceKey, { token: next, owner, acquiredAt: Date.now() } satisfies Fence);
      return next;
    });
    return new LmdbPartitionState(this, partition, token);
  }

  get(key: string): Promise<unknown> {
    this.assertOpen();
    return Promise.resolve(this.state.get(key));
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    this.assertOpen();
    return Promise.resolve(keys.map((key) => this.state.get(key)));
  }

  scan(prefix: string, options: ScanOptions = {}): Promise<KeyValue[]> {
    this.assertOpen();
    return Promise.resolve(this.scanSync(prefix, options));
  }

  checkpoint(partition: number): Promise<Checkpoint | undefined> {
    this.assertOpen();
    return Promise.resolve(this.control.get(`checkpoint/${partition}`) as Checkpoint | undefined);
  }

  readOutbox(partition: number, afterSeq: number, limit: number): Promise<OutboxRecord[]> {
    this.assertOpen();
    const records: OutboxRecord[] = [];
    for (const { key, value } of this.outbox.getRange({
      start: [partition, afterSeq + 1],
      end: [partition, Number.MAX_SAFE_INTEGER],
      limit,
    })) {
      records.push({ partition, seq: key[1], value });
    }
    return Promise.resolve(records);
  }

  async trimOutbox(partition: number, uptoSeq: number): Promise<void> {
    this.assertOpen();
    await this.root.transaction(() => {
      for (const key of this.outbox.getKeys({ start: [partition, 0], end: [partition, uptoSeq + 1] })) {
        void this.outbox.remove(key);
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.flushTimer) clearInterval(this.flushTimer);
    const deferred = this.primary && this.flushIntervalMs > 0;
    if (deferred) await this.flush();
    else if (this.flushing) await this.flushing;
    await this.root.close();
    // Everything is on disk: a later open after a crash of the machine can trust the store.
    if (deferred && this.flushError === undefined) clearUnflushed(this.dir);
  }

  /** @internal */
  scanSync(prefix: string, options: ScanOptions): KeyValue[] {
    const out: KeyValue[] = [];
    const start = options.after !== undefined && options.after >= prefix ? `${options.after}\u0000` : prefix;
    for (const { key, value } of this.state.getRange({ start, end: prefix + HIGH, limit: options.limit ?? 1000 })) {
      out.push({ key, value });
    }
    return out;
  }

  /** @internal One atomic write transaction, refused when `token` is no longer the partition's fence. */
  commitSync(partition: number, token: number, commit: StateCommit): Promise<void> {
    this.assertOpen();
    const fenceKey = `fence/${partition}`;
    const seqKey = `outbox-seq/${partition}`;
    return this.root.transaction(() => {
      const fence = this.control.get(fenceKey) as Fence | undefined;
      if (fence?.token !== token) {
        throw StoreErrors.create('STORE_FENCED', `partition ${partition} is owned by token ${fence?.token ?? 'none'}`, {
          details: { partition, token, current: fence?.token },
        });
      }
      for (const [key, value] of commit.puts) void this.state.put(key, value);
      for (const key of commit.deletes) void this.state.remove(key);
      if (commit.outbox.length > 0) {
        let seq = (this.control.get(seqKey) as number | undefined) ?? 0;
        for (const value of commit.outbox) void this.outbox.put([partition, ++seq], value);
        void this.control.put(seqKey, seq);
      }
      void this.control.put(`checkpoint/${partition}`, commit.checkpoint);
    });
  }

  /** @internal */
  readControl(key: string): unknown {
    return this.control.get(key);
  }

  /** @internal */
  async releaseFence(partition: number, token: number): Promise<void> {
    const fenceKey = `fence/${partition}`;
    await this.root.transaction(() => {
      const fence = this.control.get(fenceKey) as Fence | undefined;
      // Bump the token (it only grows): the released handle can no longer commit.
      if (fence?.token === token) void this.control.put(fenceKey, { ...fence, token: token + 1, owner: '' });
    });
  }

  private assertOpen(): void {
    if (this.closed) throw StoreErrors.create('STORE_CLOSED');
  }
}

class LmdbPartitionState implements PartitionState {
  constructor(
    private readonly store: LmdbStateStore,
    readonly partition: number,
    readonly token: number,
  ) {}

  checkpoint(): Promise<Checkpoint | undefined> {
    return this.store.checkpoint(this.partition);
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    return this.store.getMany(keys);
  }

  scan(prefix: string, options?: ScanOptions): Promise<KeyValue[]> {
    return this.store.scan(prefix, options);
  }

  outboxSeq(): Promise<number> {
    return Promise.resolve((this.store.readControl(`outbox-seq/${this.partition}`) as number | undefined) ?? 0);
  }

  commit(commit: StateCommit): Promise<void> {
    return this.store.commitSync(this.partition, this.token, commit);
  }

  release(): Promise<void> {
    return this.store.releaseFence(this.partition, this.token);
  }
}

export function createLmdbStateStore(options: LmdbStateStoreOptions): StateStore {
  return new LmdbStateStore(options);
}
