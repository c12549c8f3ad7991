import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { StoreErrors } from '../errors.js';

/**
 * One schema change. `sql` runs with `search_path` set to the store's schema (so it names tables
 * unqualified) inside the migration transaction; write it idempotently (`IF NOT EXISTS`) anyway, so a
 * half-understood database can be repaired by hand and the step re-run. Never edit a released step:
 * its checksum is recorded and a store refuses to open over a database whose applied steps differ.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

/**
 * The metadata schema, in order. `documents` is the whole store: one row per document, keyed by
 * (collection, id).
 * - `id` and `collection` use `COLLATE "C"`: byte order, which the port requires for `list`, and which
 *   lets the primary-key index serve both the order and prefix ranges.
 * - `doc` is `json`, not `jsonb`: `json` keeps the exact text, so a document comes back as written —
 *   key order, `\u0000` in strings (jsonb rejects it, and dead letters hold arbitrary client payloads),
 *   duplicate keys. Nothing queries inside documents; a generated jsonb column and a GIN index can be
 *   added by a later step if that changes.
 */
export const METADATA_MIGRATIONS: readonly Migration[] = Object.freeze([
  {
    version: 1,
    name: 'documents',
    sql: `CREATE TABLE IF NOT EXISTS documents (
  collection text COLLATE "C" NOT NULL,
  id text COLLATE "C" NOT NULL,
  doc json NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (collection, id)
)`,
  },
]);

export function migrationChecksum(migration: Migration): string {
  return createHash('sha256').update(migration.sql.trim()).digest('hex').slice(0, 16);
}

/**
 * Brings `schema` up to date in ONE transaction: the schema, the `migrations` bookkeeping table and
 * every missing step, or nothing. A transaction-scoped advisory lock keyed by the schema name makes
 * concurrent opens (N workers starting together) wait for each other, so each step runs exactly once;
 * the losers then find it recorded. Returns the versions this call applied.
 */
export async function applyMigrations(
  client: PoolClient,
  schema: string,
  migrations: readonly Migration[] = METADATA_MIGRATIONS,
): Promise<number[]> {
  const quoted = client.escapeIdentifier(schema);
  const applied: number[] = [];
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`kairos.metadata.migrations:${schema}`]);
    // Check before CREATE: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when it exists.
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (exists.rowCount === 0) await client.query(`CREATE SCHEMA ${quoted}`);
    await client.query(`SET LOCAL search_path TO ${quoted}`);
    await client.query(`CREATE TABLE IF NOT EXISTS migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  checksum text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`);
    const { rows } = await client.query<{ version: number; checksum: string }>(
      'SELECT version, checksum FROM migrations ORDER BY version',
    );
    const known = new Map(migrations.map((m) => [m.version, m]));
    for (const row of rows) {
      const migration = known.get(row.version);
      if (!migration) {
        throw StoreErrors.create(
          'STORE_INVALID_OPTIONS',
          `Schema ${schema} has migration ${row.version}, newer than this build knows (${migrations.at(-1)?.version ?? 0})`,
          { details: { field: 'schema', schema, version: row.version } },
        );
      }
      if (migrationChecksum(migration) !== row.checksum) {
        throw StoreErrors.create(
          'STORE_INVALID_OPTIONS',
          `Schema ${schema}: migration ${row.version} differs from the one applied`,
          {
            details: { field: 'schema', schema, version: row.version },
          },
        );
      }
    }
    const done = new Set(rows.map((r) => r.version));
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (done.has(migration.version)) continue;
      await client.query(migration.sql);
      await client.query('INSERT INTO migrations (version, name, checksum) VALUES ($1, $2, $3)', [
        migration.version,
        migration.name,
        migrationChecksum(migration),
      ]);
      applied.push(migration.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
