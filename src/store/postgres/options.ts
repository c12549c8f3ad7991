import { parseDuration, silentLogger } from '../../core/index.js';
import type { Duration, Logger } from '../../core/index.js';
import { StoreErrors } from '../errors.js';

/** Options of the PostgreSQL MetadataStore. Every field but `url` has a default. */
export interface PostgresMetadataStoreOptions {
  /** `postgres://user[:password]@host:port/database` (libpq-style parameters such as `sslmode` allowed). */
  readonly url: string;
  /**
   * Schema holding this deployment's tables (created, with its migrations, at open). One schema per
   * namespace, so several deployments share a database. Letters, digits and `_`, at most 63.
   * @default 'kairos'
   */
  readonly schema?: string;
  /** Connections in the pool. @default 10 */
  readonly poolSize?: number;
  /** Giving up on getting a connection (connect, or waiting for a free one in the pool). @default '5s' */
  readonly connectTimeoutMs?: Duration;
  /** Server-side `statement_timeout`; the client also gives up 2 s after it. @default '30s' */
  readonly statementTimeoutMs?: Duration;
  /** Idle connections are closed after this. @default '30s' */
  readonly idleTimeoutMs?: Duration;
  /** `application_name` of the connections (shown by `pg_stat_activity`). @default 'kairos-metadata' */
  readonly applicationName?: string;
  /** Errors of idle pooled connections. @default silentLogger() */
  readonly logger?: Logger;
}

export interface ResolvedPostgresMetadataStoreOptions {
  readonly url: string;
  readonly schema: string;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly statementTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly applicationName: string;
  readonly logger: Logger;
}

export const POSTGRES_METADATA_STORE_DEFAULTS = Object.freeze({
  schema: 'kairos',
  poolSize: 10,
  connectTimeoutMs: 5_000,
  statementTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  applicationName: 'kairos-metadata',
});

const SCHEMA_RE = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

function invalid(field: string, value: unknown, why: string): never {
  throw StoreErrors.create('STORE_INVALID_OPTIONS', `Invalid PostgreSQL metadata store option ${field}: ${why}`, {
    details: { field, value: typeof value === 'number' || typeof value === 'string' ? value : typeof value },
  });
}

function positiveDuration(field: string, value: Duration | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  let ms: number;
  try {
    ms = parseDuration(value, field);
  } catch (err) {
    throw StoreErrors.create(
      'STORE_INVALID_OPTIONS',
      `Invalid PostgreSQL metadata store option ${field}: not a duration`,
      {
        cause: err,
        details: { field },
      },
    );
  }
  if (ms <= 0) invalid(field, value, 'must be longer than 0');
  return ms;
}

/** Fills defaults, validates, freezes. Throws STORE_INVALID_OPTIONS naming the field. */
export function resolvePostgresMetadataStoreOptions(
  options: PostgresMetadataStoreOptions,
): ResolvedPostgresMetadataStoreOptions {
  if (typeof options.url !== 'string' || !/^postgres(ql)?:\/\//.test(options.url))
    invalid('url', options.url, 'must be a postgres:// or postgresql:// URL');
  const schema = options.schema ?? POSTGRES_METADATA_STORE_DEFAULTS.schema;
  if (typeof schema !== 'string' || !SCHEMA_RE.test(schema))
    invalid('schema', schema, 'must start with a letter or _ and hold at most 63 of A-Z a-z 0-9 _');
  const poolSize = options.poolSize ?? POSTGRES_METADATA_STORE_DEFAULTS.poolSize;
  if (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000)
    invalid('poolSize', poolSize, 'must be an integer in 1..1000');
  const applicationName = options.applicationName ?? POSTGRES_METADATA_STORE_DEFAULTS.applicationName;
  if (typeof applicationName !== 'string' || applicationName.length > 63)
    invalid('applicationName', applicationName, 'must be a string of at most 63 characters');
  const defaults = POSTGRES_METADATA_STORE_DEFAULTS;
  return Object.freeze({
    url: options.url,
    schema,
    poolSize,
    connectTimeoutMs: positiveDuration('connectTimeoutMs', options.connectTimeoutMs, defaults.connectTimeoutMs),
    statementTimeoutMs: positiveDuration('statementTimeoutMs', options.statementTimeoutMs, defaults.statementTimeoutMs),
    idleTimeoutMs: positiveDuration('idleTimeoutMs', options.idleTimeoutMs, defaults.idleTimeoutMs),
    applicationName,
    logger: options.logger ?? silentLogger(),
  });
}
