/**
 * StateStore — the stream's keyed state, its checkpoints and its outbox, committed together.
 *
 * Contract every adapter honours (checked by `state-conformance.ts`):
 * - A partition has at most one live owner. `acquire` makes the caller the owner and fences off every
 *   earlier owner: their later `commit`s reject with `STORE_FENCED` and write nothing (a paused or
 *   partitioned zombie can never overwrite a newer owner's state).
 * - `commit` is atomic: the puts, deletes, the partition's checkpoint (next log offset + operator
 *   metadata such as the watermark) and the outbox records become visible together or not at all.
 *   After a crash the store holds exactly some earlier committed state, never a mix.
 * - Reads through the store (`get`, `getMany`, `scan`) see committed data only; a partition owner
 *   reads its own partition's committed data through its handle.
 * - Outbox records get a dense, increasing `seq` per partition (from 1), in commit order.
 * - Values are JSON-compatible (objects, arrays, strings, finite numbers, booleans, null).
 */
export interface Checkpoint {
  /** The next log offset to process. */
  readonly offset: number;
  /** Operator metadata committed with the offset (watermark, max event time, …). */
  readonly meta: Readonly<Record<string, unknown>>;
}

export interface StateCommit {
  readonly puts: ReadonlyArray<readonly [key: string, value: unknown]>;
  readonly deletes: readonly string[];
  readonly checkpoint: Checkpoint;
  /** Records appended to the partition's outbox (segment enter/exit, …). */
  readonly outbox: readonly unknown[];
}

export interface OutboxRecord {
  readonly partition: number;
  readonly seq: number;
  readonly value: unknown;
}

export interface KeyValue {
  readonly key: string;
  readonly value: unknown;
}

export interface ScanOptions {
  /** Only keys strictly greater than this one. */
  readonly after?: string;
  /** @default 1000 */
  readonly limit?: number;
}

/** The owner's handle on one partition. */
export interface PartitionState {
  readonly partition: number;
  /** The fencing token of this ownership (strictly greater than every earlier owner's). */
  readonly token: number;
  checkpoint(): Promise<Checkpoint | undefined>;
  getMany(keys: readonly string[]): Promise<unknown[]>;
  scan(prefix: string, options?: ScanOptions): Promise<KeyValue[]>;
  /** The last committed outbox seq of this partition (0 when none). */
  outboxSeq(): Promise<number>;
  commit(commit: StateCommit): Promise<void>;
  /** Gives ownership up (a later `acquire` by anyone succeeds without waiting). */
  release(): Promise<void>;
}

export interface StateStore {
  readonly kind: string;
  acquire(partition: number, owner: string): Promise<PartitionState>;
  get(key: string): Promise<unknown>;
  getMany(keys: readonly string[]): Promise<unknown[]>;
  scan(prefix: string, options?: ScanOptions): Promise<KeyValue[]>;
  /** Committed checkpoint of any partition (for lag metrics and cross-partition waits). */
  checkpoint(partition: number): Promise<Checkpoint | undefined>;
  /** Outbox records of `partition` with seq > `afterSeq`, ascending, at most `limit`. */
  readOutbox(partition: number, afterSeq: number, limit: number): Promise<OutboxRecord[]>;
  /** Deletes the outbox records of `partition` with seq ≤ `uptoSeq`. */
  trimOutbox(partition: number, uptoSeq: number): Promise<void>;
  close(): Promise<void>;
}
