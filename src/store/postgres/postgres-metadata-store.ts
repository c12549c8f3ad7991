import type PgModule from 'pg';
import type { Pool, PoolConfig, QueryResultRow } from 'pg';
import { StoreErrors } from '../errors.js';
import type { ListOptions, MetadataDoc, MetadataPage, MetadataStore } from '../metadata-port.js';
import { toStoreError } from './failures.js';
import { applyMigrations } from './migrations.js';
import { resolvePostgresMetadataStoreOptions } from './options.js';
import type { PostgresMetadataStoreOptions, ResolvedPostgresMetadataStoreOptions } from './options.js';

/**
 * MetadataStore on PostgreSQL: one `documents` table (see `migrations.ts`) in a schema per namespace,
 * migrated at open. Every write is one autocommitted statement, so a resolved `put` is durable (with
 * the server's default `synchronous_commit`) and visible to every later read on any connection.
 * `putIfAbsent` is `INSERT … ON CONFLICT DO NOTHING`, atomic against concurrent writers.
 */
export class PostgresMetadataStore implements MetadataStore {
  readonly kind = 'postgres';
  private closed = false;
  private readonly table: string;
  private readonly sql: {
    readonly get: string;
    readonly put: string;
    readonly putIfAbsent: string;
    readonly delete: string;
  };

  private constructor(
    private readonly pool: Pool,
    readonly options: ResolvedPostgresMetadataStoreOptions,
    /** The migration versions this open applied (empty when the schema was already current). */
    readonly appliedMigrations: readonly number[],
    private readonly quotedSchema: string,
  ) {
    this.table = `${quotedSchema}.documents`;
    this.sql = {
      get: `SELECT doc FROM ${this.table} WHERE collection = $1 AND id = $2`,
      put: `INSERT INTO ${this.table} (collection, id, doc, updated_at) VALUES ($1, $2, $3::json, now())
  ON CONFLICT (collection, id) DO UPDATE SET doc = EXCLUDED.doc, updated_at = EXCLUDED.updated_at`,
      putIfAbsent: `INSERT INTO ${this.table} (collection, id, doc, updated_at) VALUES ($1, $2, $3::json, now())
  ON CONFLICT (collection, id) DO NOTHING`,
      delete: `DELETE FROM ${this.table} WHERE collection = $1 AND id = $2`,
    };
  }

  /** Creates the pool, then creates/migrates the schema (see `applyMigrations`). */
  static async open(options: PostgresMetadataStoreOptions): Promise<PostgresMetadataStore> {
    const resolved = resolvePostgresMetadataStoreOptions(options);
    let pg: typeof PgModule;
    try {
      pg = (await import('pg')).default;
    } catch (error) {
      throw StoreErrors.create(
        'STORE_INVALID_OPTIONS',
        'The PostgreSQL metadata store needs the optional dependency pg',
        {
          cause: error,
          details: { field: 'url' },
        },
      );
    }
    const config: PoolConfig = {
      connectionString: resolved.url,
      max: resolved.poolSize,
      connectionTimeoutMillis: resolved.connectTimeoutMs,
      idleTimeoutMillis: resolved.idleTimeoutMs,
      statement_timeout: resolved.statementTimeoutMs,
      // The server normally cancels first (statement_timeout); this covers a server that went silent.
      query_timeout: resolved.statementTimeoutMs + 2_000,
      application_name: resolved.applicationName,
    };
    const pool = new pg.Pool(config);
    // An idle pooled connection that dies (server restart, pg_terminate_backend) emits here; without a
    // listener it would crash the process. The pool drops it and connects anew on the next query.
    pool.on('error', (error) =>
      resolved.logger.warn({ err: error, schema: resolved.schema }, 'idle PostgreSQL connection failed'),
    );
    let applied: number[];
    try {
      const client = await pool.connect();
      try {
        applied = await applyMigrations(client, resolved.schema);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw toStoreError(error, 'open');
    }
    return new PostgresMetadataStore(pool, resolved, applied, pg.escapeIdentifier(resolved.schema));
  }

  async get<T>(collection: string, id: string): Promise<T | undefined> {
    const { rows } = await this.query<{ doc: T }>('get', {
      name: this.statementName('get'),
      text: this.sql.get,
      values: [collection, id],
    });
    return rows[0]?.doc;
  }

  async put<T>(collection: string, id: string, doc: T): Promise<void> {
    await this.query('put', {
      name: this.statementName('put'),
      text: this.sql.put,
      values: [collection, id, encode(doc)],
    });
  }

  async putIfAbsent<T>(collection: string, id: string, doc: T): Promise<boolean> {
    const result = await this.query('putIfAbsent', {
      name: this.statementName('putIfAbsent'),
      text: this.sql.putIfAbsent,
      values: [collection, id, encode(doc)],
    });
    return result.rowCount === 1;
  }

  async delete(collection: string, id: string): Promise<boolean> {
    const result = await this.query('delete', {
      name: this.statementName('delete'),
      text: this.sql.delete,
      values: [collection, id],
    });
    return (result.rowCount ?? 0) > 0;
  }

  async list<T>(collection: string, options: ListOptions = {}): Promise<MetadataPage<T>> {
    const limit = options.limit ?? 100;
    const values: unknown[] = [collection];
    const where = ['collection = $1', ...prefixConditions(options.prefix, values)];
    if (options.after !== undefined) {
      values.push(options.after);
      where.push(`id ${options.reverse ? '<' : '>'} $${values.length}`);
    }
    values.push(limit + 1);
    const text = `SELECT id, doc FROM ${this.table} WHERE ${where.join(' AND ')} ORDER BY id ${options.reverse ? 'DESC' : 'ASC'} LIMIT $${values.length}`;
    const { rows } = await this.query<{ id: string; doc: T }>('list', { text, values });
    const items: MetadataDoc<T>[] = rows.slice(0, limit).map((row) => ({ id: row.id, doc: row.doc }));
    const last = items.at(-1);
    return rows.length > limit && last ? { items, next: last.id } : { items };
  }

  async count(collection: string, prefix?: string): Promise<number> {
    const values: unknown[] = [collection];
    const where = ['collection = $1', ...prefixConditions(prefix, values)];
    const { rows } = await this.query<{ n: string }>('count', {
      text: `SELECT count(*) AS n FROM ${this.table} WHERE ${where.join(' AND ')}`,
      values,
    });
    return Number(rows[0]?.n ?? 0);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** Drops this store's schema and everything in it (tests, decommissioning), then closes the store. */
  async drop(): Promise<void> {
    await this.query('drop', { text: `DROP SCHEMA IF EXISTS ${this.quotedSchema} CASCADE` });
    await this.close();
  }

  /** Prepared-statement names are per connection; the pool is this store's alone, so fixed names do. */
  private statementName(kind: string): string {
    return `kairos_metadata_${kind}`;
  }

  private async query<R extends QueryResultRow = QueryResultRow>(
    operation: string,
    config: { name?: string; text: string; values?: unknown[] },
  ) {
    if (this.closed) throw StoreErrors.create('STORE_CLOSED');
    try {
      return await this.pool.query<R>(config);
    } catch (error) {
      throw toStoreError(error, operation);
    }
  }
}

function encode(doc: unknown): string {
  const text = JSON.stringify(doc);
  // JSON.stringify(undefined) and functions give undefined; the port stores JSON values only.
  if (text === undefined) throw new TypeError('a metadata document must be a JSON value');
  return text;
}

/**
 * `id` range of a prefix: [prefix, successor) where the successor increments the last code point —
 * in the C collation (UTF-8 byte order = code point order) every id with the prefix lies inside, and
 * no other id does. The range is what lets the primary-key index answer it.
 */
function prefixConditions(prefix: string | undefined, values: unknown[]): string[] {
  if (prefix === undefined || prefix === '') return [];
  values.push(prefix);
  const conditions = [`id >= $${values.length}`];
  const upper = prefixSuccessor(prefix);
  if (upper !== undefined) {
    values.push(upper);
    conditions.push(`id < $${values.length}`);
  }
  return conditions;
}

/** The least string greater than every string starting with `prefix`; undefined when there is none. */
export function prefixSuccessor(prefix: string): string | undefined {
  const points = Array.from(prefix);
  while (points.length > 0) {
    const last = points.pop()!.codePointAt(0)!;
    let next = last + 1;
    if (next === 0xd800) next = 0xe000; // skip the surrogate range: not characters
    if (next <= 0x10ffff) return points.join('') + String.fromCodePoint(next);
  }
  return undefined;
}

/** Opens a PostgreSQL MetadataStore (connects and migrates its schema first). */
export function createPostgresMetadataStore(options: PostgresMetadataStoreOptions): Promise<PostgresMetadataStore> {
  return PostgresMetadataStore.open(options);
}
