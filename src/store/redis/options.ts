import { parseDuration, silentLogger } from '../../core/index.js';
import type { Duration, Logger } from '../../core/index.js';
import { StoreErrors } from '../errors.js';

/** Options of the Redis StateStore. Every field but `url` has a default. */
export interface RedisStateStoreOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  readonly url: string;
  /**
   * Prefix of every key this store touches, so several deployments (and test runs) share one Redis.
   * Letters, digits and `._:-` only; it becomes the hash tag `{namespace}` of every key, so a Redis
   * Cluster would keep a namespace in one slot (the commit script needs all its keys on one node).
   * @default 'kairos'
   */
  readonly namespace?: string;
  /**
   * A command without a reply after this long rejects with STORE_UNAVAILABLE (the server is stalled or
   * the network is partitioned). For a commit this is an ambiguous outcome (see `docs/distributed-stores.md`).
   * @default '5s'
   */
  readonly commandTimeoutMs?: Duration;
  /** Giving up on one TCP connect attempt. @default '5s' */
  readonly connectTimeoutMs?: Duration;
  /** Reconnect attempts back off exponentially from 50 ms up to this. @default '2s' */
  readonly maxReconnectDelayMs?: Duration;
  /** Keys per MGET when `getMany` is given more (the chunks are pipelined). @default 1000 */
  readonly getManyChunkSize?: number;
  /**
   * ioredis auto-pipelining: the commands issued in one event-loop tick go out in one socket write, at
   * the price of a tick's delay. On `bench/state-redis.ts` (Redis on localhost) it slowed a single
   * caller by about a fifth and did not reliably help 64 concurrent ones, so it is off; try it for an
   * API role with many concurrent readers over a real network. @default false
   */
  readonly autoPipelining?: boolean;
  /** Name shown by `CLIENT LIST`. @default 'kairos-state:<namespace>' */
  readonly connectionName?: string;
  /** Reconnects and refused configurations. @default silentLogger() */
  readonly logger?: Logger;
}

export interface ResolvedRedisStateStoreOptions {
  readonly url: string;
  readonly namespace: string;
  readonly commandTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly maxReconnectDelayMs: number;
  readonly getManyChunkSize: number;
  readonly autoPipelining: boolean;
  readonly connectionName: string;
  readonly logger: Logger;
}

export const REDIS_STATE_STORE_DEFAULTS = Object.freeze({
  namespace: 'kairos',
  commandTimeoutMs: 5_000,
  connectTimeoutMs: 5_000,
  maxReconnectDelayMs: 2_000,
  getManyChunkSize: 1_000,
  autoPipelining: false,
});

const NAMESPACE_RE = /^[A-Za-z0-9._:-]{1,100}$/;

function invalid(field: string, value: unknown, why: string): never {
  throw StoreErrors.create('STORE_INVALID_OPTIONS', `Invalid Redis state store option ${field}: ${why}`, {
    details: { field, value: typeof value === 'number' || typeof value === 'string' ? value : typeof value },
  });
}

function positiveDuration(field: string, value: Duration | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(value, field);
  } catch (err) {
    throw StoreErrors.create('STORE_INVALID_OPTIONS', `Invalid Redis state store option ${field}: not a duration`, {
      cause: err,
      details: { field },
    });
  }
  if (ms <= 0) invalid(field, value, 'must be longer than 0');
  return ms;
}

/** Fills defaults, validates, freezes. Throws STORE_INVALID_OPTIONS naming the field. */
export function resolveRedisStateStoreOptions(options: RedisStateStoreOptions): ResolvedRedisStateStoreOptions {
  if (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))
    invalid('url', options.url, 'must be a redis:// or rediss:// URL');
  const namespace = options.namespace ?? REDIS_STATE_STORE_DEFAULTS.namespace;
  if (typeof namespace !== 'string' || !NAMESPACE_RE.test(namespace))
    invalid('namespace', namespace, 'must be 1..100 of A-Z a-z 0-9 . _ : -');
  const chunk = options.getManyChunkSize ?? REDIS_STATE_STORE_DEFAULTS.getManyChunkSize;
  if (!Number.isInteger(chunk) || chunk < 1 || chunk > 100_000)
    invalid('getManyChunkSize', chunk, 'must be an integer in 1..100000');
  const autoPipelining = options.autoPipelining ?? REDIS_STATE_STORE_DEFAULTS.autoPipelining;
  if (typeof autoPipelining !== 'boolean') invalid('autoPipelining', autoPipelining, 'must be a boolean');
  return Object.freeze({
    url: options.url,
    namespace,
    commandTimeoutMs: positiveDuration(
      'commandTimeoutMs',
      options.commandTimeoutMs,
      REDIS_STATE_STORE_DEFAULTS.commandTimeoutMs,
    ),
    connectTimeoutMs: positiveDuration(
      'connectTimeoutMs',
      options.connectTimeoutMs,
      REDIS_STATE_STORE_DEFAULTS.connectTimeoutMs,
    ),
    maxReconnectDelayMs: positiveDuration(
      'maxReconnectDelayMs',
      options.maxReconnectDelayMs,
      REDIS_STATE_STORE_DEFAULTS.maxReconnectDelayMs,
    ),
    getManyChunkSize: chunk,
    autoPipelining,
    connectionName: options.connectionName ?? `kairos-state:${namespace}`,
    logger: options.logger ?? silentLogger(),
  });
}
