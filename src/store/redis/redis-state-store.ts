import { randomUUID } from 'node:crypto';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
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
import { decodeValue, encodeValue } from './codec.js';
import { toStoreError } from './failures.js';
import { LAYOUT_VERSION, lexRange, redisKeys, type RedisKeys } from './keys.js';
import { resolveRedisStateStoreOptions } from './options.js';
import type { RedisStateStoreOptions, ResolvedRedisStateStoreOptions } from './options.js';
import { ACQUIRE_LUA, COMMIT_LUA, RELEASE_LUA, SCAN_LUA } from './scripts.js';

type Arg = string | Buffer | number;

/** The scripts, registered with `defineCommand` (EVALSHA, falling back to EVAL after a server restart). */
interface ScriptCommands {
  kairosCommit(numKeys: number, ...args: Arg[]): Promise<[number, number | string]>;
  kairosAcquire(numKeys: number, ...args: Arg[]): Promise<[number, string]>;
  kairosRelease(numKeys: number, ...args: Arg[]): Promise<number>;
  kairosScanBuffer(numKeys: number, ...args: Arg[]): Promise<Buffer[]>;
}
type Client = RedisClient & ScriptCommands;

/** Redis 7.0 brought script shebangs and flags, which the commit script relies on (see scripts.ts). */
const MIN_REDIS_MAJOR = 7;
/** Eviction policies that may drop keys without a TTL — state, fences, checkpoints — silently. */
const UNSAFE_EVICTION = /^allkeys-/;

/**
 * StateStore on Redis. Each commit is ONE Lua script: it checks the partition's fencing token and
 * writes nothing when it is not the current one (STORE_FENCED), else applies puts, deletes, outbox
 * appends (dense seqs) and the checkpoint. A script runs atomically on the server, so a client killed
 * mid-commit leaves either the whole commit or nothing. Prefix scans go through a lexicographic index
 * (one sorted set of every key, scored 0) maintained by the same script. Key layout: `keys.ts`; design
 * and failure behaviour: `docs/distributed-stores.md`.
 *
 * Durability is Redis's: with `appendonly yes` + `appendfsync always` a resolved commit survives a
 * server crash; with the defaults of this repo's test server (no persistence) it does not.
 */
export class RedisStateStore implements StateStore {
  readonly kind = 'redis';
  private closed = false;
  /**
   * Bumped when a reconnect lands on another Redis process (restart, failover) or cannot tell. Handles
   * acquired under an earlier generation are fenced locally: a restarted or promoted server may have
   * lost the last fencing INCRs (AOF `everysec`, async replication), so their tokens prove nothing.
   */
  private generation = 0;
  /** Settles once the server behind the current connection is identified; acquire and commit wait. */
  private identified: Promise<void> = Promise.resolve();

  private constructor(
    private readonly redis: Client,
    readonly options: ResolvedRedisStateStoreOptions,
    /** @internal */ readonly keys: RedisKeys,
    private runId: string,
  ) {
    redis.on('ready', () => {
      this.identified = this.identifyServer();
    });
  }

  /** Connects, checks the server (version, eviction policy, layout) and registers the scripts. */
  static async open(options: RedisStateStoreOptions): Promise<RedisStateStore> {
    const resolved = resolveRedisStateStoreOptions(options);
    let Redis: typeof RedisClient;
    try {
      ({ Redis } = await import('ioredis'));
    } catch (error) {
      throw StoreErrors.create('STORE_INVALID_OPTIONS', 'The Redis state store needs the optional dependency ioredis', {
        cause: error,
        details: { field: 'url' },
      });
    }
    const { logger } = resolved;
    const clientOptions: RedisOptions = {
      lazyConnect: true,
      // Fail fast instead of queueing: a command during an outage rejects with STORE_UNAVAILABLE at
      // once, and nothing sent before a disconnect is ever resent behind the caller's back (a resent
      // commit could apply twice).
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: resolved.commandTimeoutMs,
      connectTimeout: resolved.connectTimeoutMs,
      retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), resolved.maxReconnectDelayMs),
      enableAutoPipelining: resolved.autoPipelining,
      connectionName: resolved.connectionName,
    };
    const redis = new Redis(resolved.url, clientOptions) as Client;
    let lastError = '';
    redis.on('error', (error: Error) => {
      // ioredis reports every failed reconnect; log each distinct cause once per outage.
      if (error.message !== lastError)
        logger.warn({ err: error, namespace: resolved.namespace }, 'redis state store connection error');
      lastError = error.message;
    });
    redis.on('ready', () => {
      if (lastError !== '') logger.info({ namespace: resolved.namespace }, 'redis state store reconnected');
      lastError = '';
    });
    redis.defineCommand('kairosCommit', { lua: COMMIT_LUA });
    redis.defineCommand('kairosAcquire', { lua: ACQUIRE_LUA });
    redis.defineCommand('kairosRelease', { lua: RELEASE_LUA });
    redis.defineCommand('kairosScan', { lua: SCAN_LUA, readOnly: true });
    const keys = redisKeys(resolved.namespace);
    let runId: string;
    try {
      await redis.connect();
      runId = await checkServer(redis, keys);
    } catch (error) {
      redis.disconnect();
      throw toStoreError(error, 'connect', false);
    }
    return new RedisStateStore(redis, resolved, keys, runId);
  }

  async acquire(partition: number, owner: string): Promise<PartitionState> {
    this.assertOpen();
    await this.identified;
    const generation = this.generation;
    const k = this.keys;
    const [token, epoch] = await this.run('acquire', true, () =>
      this.redis.kairosAcquire(3, k.fence(partition), k.owner(partition), k.epoch, owner, randomUUID()),
    );
    return new RedisPartitionState(this, partition, Number(token), String(epoch), generation);
  }

  async get(key: string): Promise<unknown> {
    this.assertOpen();
    return decodeValue(await this.run('get', false, () => this.redis.getBuffer(this.keys.value(key))));
  }

  async getMany(keys: readonly string[]): Promise<unknown[]> {
    this.assertOpen();
    if (keys.length === 0) return [];
    const chunk = this.options.getManyChunkSize;
    const names = keys.map((key) => this.keys.value(key));
    if (names.length <= chunk) {
      const values = await this.run('getMany', false, () => this.redis.mgetBuffer(names));
      return values.map(decodeValue);
    }
    const parts: Promise<(Buffer | null)[]>[] = [];
    for (let i = 0; i < names.length; i += chunk) {
      const slice = names.slice(i, i + chunk);
      parts.push(this.run('getMany', false, () => this.redis.mgetBuffer(slice)));
    }
    return (await Promise.all(parts)).flat().map(decodeValue);
  }

  async scan(prefix: string, options: ScanOptions = {}): Promise<KeyValue[]> {
    this.assertOpen();
    const limit = options.limit ?? 1000;
    if (limit <= 0) return [];
    const { min, max } = lexRange(prefix, options.after);
    const flat = await this.run('scan', false, () =>
      this.redis.kairosScanBuffer(1, this.keys.index, min, max, limit, this.keys.valuePrefix),
    );
    const out: KeyValue[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.push({ key: flat[i]!.toString('utf8'), value: decodeValue(flat[i + 1]) });
    }
    return out;
  }

  async checkpoint(partition: number): Promise<Checkpoint | undefined> {
    this.assertOpen();
    const bytes = await this.run('checkpoint', false, () => this.redis.getBuffer(this.keys.checkpoint(partition)));
    return decodeValue(bytes) as Checkpoint | undefined;
  }

  async readOutbox(partition: number, afterSeq: number, limit: number): Promise<OutboxRecord[]> {
    this.assertOpen();
    if (limit <= 0) return [];
    const entries = await this.run('readOutbox', false, () =>
      this.redis.xrangeBuffer(
        this.keys.outbox(partition),
        `${Math.max(0, Math.floor(afterSeq)) + 1}-0`,
        '+',
        'COUNT',
        limit,
      ),
    );
    const records: OutboxRecord[] = [];
    for (const [id, fields] of entries) {
      const seq = Number(id.toString('latin1').split('-', 1)[0]);
      // One field per entry: fields = ['v', value].
      records.push({ partition, seq, value: decodeValue(fields[1]) });
    }
    return records;
  }

  async trimOutbox(partition: number, uptoSeq: number): Promise<void> {
    this.assertOpen();
    if (uptoSeq < 1) return;
    // MINID without `~` trims exactly: every entry with an id below <uptoSeq+1>-0.
    await this.run('trimOutbox', true, () =>
      this.redis.xtrim(this.keys.outbox(partition), 'MINID', `${Math.floor(uptoSeq) + 1}-0`),
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.redis.status === 'ready') {
      await this.redis.quit().catch(() => this.redis.disconnect());
    } else {
      this.redis.disconnect();
    }
  }

  /**
   * Deletes every key of this store's namespace (SCAN + UNLINK), for tests and decommissioning. Not
   * atomic: run it only when no worker uses the namespace.
   */
  async drop(): Promise<number> {
    this.assertOpen();
    let cursor = '0';
    let removed = 0;
    do {
      const [next, found] = await this.run('drop', true, () =>
        this.redis.scan(cursor, 'MATCH', this.keys.pattern, 'COUNT', 1000),
      );
      cursor = next;
      if (found.length > 0) removed += await this.run('drop', true, () => this.redis.unlink(...found));
    } while (cursor !== '0');
    return removed;
  }

  /** @internal The outbox seq of `partition` as committed. */
  async lastOutboxSeq(partition: number): Promise<number> {
    this.assertOpen();
    const value = await this.run('outboxSeq', false, () => this.redis.get(this.keys.outboxSeq(partition)));
    return value === null ? 0 : Number(value);
  }

  /** @internal One commit script; STORE_FENCED when `token` is no longer the partition's fence. */
  async commitAs(
    partition: number,
    token: number,
    epoch: string,
    generation: number,
    commit: StateCommit,
  ): Promise<void> {
    this.assertOpen();
    await this.identified;
    if (generation !== this.generation) {
      throw StoreErrors.create('STORE_FENCED', `partition ${partition}: Redis restarted or failed over since acquire`, {
        details: { partition, token, reason: 'server-changed' },
      });
    }
    const k = this.keys;
    const np = commit.puts.length;
    const nd = commit.deletes.length;
    const no = commit.outbox.length;
    const keys: string[] = [
      k.fence(partition),
      k.checkpoint(partition),
      k.outboxSeq(partition),
      k.outbox(partition),
      k.index,
      k.epoch,
    ];
    const args: Arg[] = [String(token), np, nd, no, k.valuePrefixBytes, encodeValue(commit.checkpoint), epoch];
    for (const [key, value] of commit.puts) {
      keys.push(k.value(key));
      args.push(encodeValue(value));
    }
    for (const key of commit.deletes) keys.push(k.value(key));
    for (const record of commit.outbox) args.push(encodeValue(record));
    const [applied, current] = await this.run('commit', true, () =>
      this.redis.kairosCommit(keys.length, ...keys, ...args),
    );
    if (applied !== 1) {
      throw StoreErrors.create('STORE_FENCED', `partition ${partition} is owned by token ${current}`, {
        details: { partition, token, current: Number(current) },
      });
    }
  }

  /** @internal */
  async releaseAs(partition: number, token: number, epoch: string): Promise<void> {
    this.assertOpen();
    const k = this.keys;
    await this.run('release', true, () =>
      this.redis.kairosRelease(3, k.fence(partition), k.owner(partition), k.epoch, String(token), epoch),
    );
  }

  private async identifyServer(): Promise<void> {
    let runId = '';
    try {
      runId = runIdOf(await this.redis.info('server'));
    } catch {
      // Cannot tell: assume another server, the safe side (handles re-acquire).
    }
    if (runId === '' || runId !== this.runId) {
      this.generation++;
      this.options.logger.warn(
        { namespace: this.options.namespace, previous: this.runId, current: runId },
        'redis server changed (restart or failover): partition handles acquired before are fenced',
      );
    }
    this.runId = runId;
  }

  private async run<T>(operation: string, write: boolean, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toStoreError(error, operation, write);
    }
  }

  private assertOpen(): void {
    if (this.closed) throw StoreErrors.create('STORE_CLOSED');
  }
}

class RedisPartitionState implements PartitionState {
  constructor(
    private readonly store: RedisStateStore,
    readonly partition: number,
    readonly token: number,
    private readonly epoch: string,
    private readonly generation: number,
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
    return this.store.lastOutboxSeq(this.partition);
  }

  commit(commit: StateCommit): Promise<void> {
    return this.store.commitAs(this.partition, this.token, this.epoch, this.generation, commit);
  }

  release(): Promise<void> {
    return this.store.releaseAs(this.partition, this.token, this.epoch);
  }
}

function runIdOf(info: string): string {
  return /run_id:([0-9a-f]+)/.exec(info)?.[1] ?? '';
}

/** Checks version, eviction policy and layout; returns the server's run_id. */
async function checkServer(redis: Client, keys: RedisKeys): Promise<string> {
  const info = await redis.info('server');
  const version = /redis_version:(\d+)\.(\d+)/.exec(info);
  if (!version || Number(version[1]) < MIN_REDIS_MAJOR) {
    throw StoreErrors.create('STORE_INVALID_OPTIONS', `The Redis state store needs Redis >= ${MIN_REDIS_MAJOR}.0`, {
      details: { field: 'url', redisVersion: version ? `${version[1]}.${version[2]}` : 'unknown' },
    });
  }
  // Managed Redis may forbid CONFIG; then the operator vouches for the policy.
  const policy = await redis.config('GET', 'maxmemory-policy').catch(() => undefined);
  const value = Array.isArray(policy) ? policy[1] : undefined;
  if (typeof value === 'string' && UNSAFE_EVICTION.test(value)) {
    throw StoreErrors.create(
      'STORE_INVALID_OPTIONS',
      `Redis evicts keys (maxmemory-policy ${value}): state, checkpoints and fencing tokens could vanish; use noeviction`,
      { details: { field: 'url', maxmemoryPolicy: value } },
    );
  }
  await redis.set(keys.layout, LAYOUT_VERSION, 'NX');
  const layout = await redis.get(keys.layout);
  if (layout !== LAYOUT_VERSION) {
    throw StoreErrors.create(
      'STORE_INVALID_OPTIONS',
      `Namespace has key layout ${layout}, this build knows ${LAYOUT_VERSION}`,
      {
        details: { field: 'namespace', layout },
      },
    );
  }
  return runIdOf(info);
}

/** Opens a Redis StateStore (connects and checks the server first). */
export function createRedisStateStore(options: RedisStateStoreOptions): Promise<RedisStateStore> {
  return RedisStateStore.open(options);
}
