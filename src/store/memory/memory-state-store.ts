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

interface Shared {
  state: Map<string, unknown>;
  checkpoints: Map<number, Checkpoint>;
  fences: Map<number, number>;
  outbox: Map<number, OutboxRecord[]>;
  outboxSeq: Map<number, number>;
}

/**
 * An in-process, NON-durable StateStore (maps in memory), for fast unit tests of operators and tasks.
 * Values are deep-copied on the way in and out, like a real store, so tests catch aliasing bugs.
 * `another()` returns a second client over the same maps.
 */
export class MemoryStateStore implements StateStore {
  readonly kind = 'memory';
  private closed = false;

  constructor(private readonly shared: Shared = emptyShared()) {}

  another(): MemoryStateStore {
    return new MemoryStateStore(this.shared);
  }

  acquire(partition: number, _owner: string): Promise<PartitionState> {
    this.assertOpen();
    const token = (this.shared.fences.get(partition) ?? 0) + 1;
    this.shared.fences.set(partition, token);
    const handle: PartitionState = {
      partition,
      token,
      checkpoint: () => this.checkpoint(partition),
      getMany: (keys) => this.getMany(keys),
      scan: (prefix, options) => this.scan(prefix, options),
      outboxSeq: () => Promise.resolve(this.shared.outboxSeq.get(partition) ?? 0),
      commit: (commit) => this.commit(partition, token, commit),
      release: () => {
        if (this.shared.fences.get(partition) === token) this.shared.fences.set(partition, token + 1);
        return Promise.resolve();
      },
    };
    return Promise.resolve(handle);
  }

  get(key: string): Promise<unknown> {
    this.assertOpen();
    return Promise.resolve(copy(this.shared.state.get(key)));
  }

  getMany(keys: readonly string[]): Promise<unknown[]> {
    this.assertOpen();
    return Promise.resolve(keys.map((key) => copy(this.shared.state.get(key))));
  }

  scan(prefix: string, options: ScanOptions = {}): Promise<KeyValue[]> {
    this.assertOpen();
    const keys = [...this.shared.state.keys()]
      .filter((key) => key.startsWith(prefix) && (options.after === undefined || key > options.after))
      .sort()
      .slice(0, options.limit ?? 1000);
    return Promise.resolve(keys.map((key) => ({ key, value: copy(this.shared.state.get(key)) })));
  }

  checkpoint(partition: number): Promise<Checkpoint | undefined> {
    this.assertOpen();
    return Promise.resolve(copy(this.shared.checkpoints.get(partition)));
  }

  readOutbox(partition: number, afterSeq: number, limit: number): Promise<OutboxRecord[]> {
    this.assertOpen();
    const records = (this.shared.outbox.get(partition) ?? []).filter((r) => r.seq > afterSeq).slice(0, limit);
    return Promise.resolve(records.map((r) => ({ ...r, value: copy(r.value) })));
  }

  trimOutbox(partition: number, uptoSeq: number): Promise<void> {
    const records = this.shared.outbox.get(partition) ?? [];
    this.shared.outbox.set(
      partition,
      records.filter((r) => r.seq > uptoSeq),
    );
    return Promise.resolve();
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private commit(partition: number, token: number, commit: StateCommit): Promise<void> {
    this.assertOpen();
    if (this.shared.fences.get(partition) !== token) {
      return Promise.reject(StoreErrors.create('STORE_FENCED', `partition ${partition} has a newer owner`));
    }
    for (const [key, value] of commit.puts) this.shared.state.set(key, copy(value));
    for (const key of commit.deletes) this.shared.state.delete(key);
    let seq = this.shared.outboxSeq.get(partition) ?? 0;
    const records = this.shared.outbox.get(partition) ?? [];
    for (const value of commit.outbox) records.push({ partition, seq: ++seq, value: copy(value) });
    this.shared.outbox.set(partition, records);
    this.shared.outboxSeq.set(partition, seq);
    this.shared.checkpoints.set(partition, copy(commit.checkpoint));
    return Promise.resolve();
  }

  private assertOpen(): void {
    if (this.closed) throw StoreErrors.create('STORE_CLOSED');
  }
}

function emptyShared(): Shared {
  return { state: new Map(), checkpoints: new Map(), fences: new Map(), outbox: new Map(), outboxSeq: new Map() };
}

function copy<T>(value: T): T {
  return value === undefined ? value : structuredClone(value);
}

export function createMemoryStateStore(): MemoryStateStore {
  return new MemoryStateStore();
}
