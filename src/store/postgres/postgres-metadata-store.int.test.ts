import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isKairosError } from '../../core/index.js';
import { applyMigrations, METADATA_MIGRATIONS, type Migration } from './migrations.js';
import { createPostgresMetadataStore, prefixSuccessor, type PostgresMetadataStore } from './postgres-metadata-store.js';
import { ensurePostgres, TEST_POSTGRES_URL, uniqueSchema } from './testing.js';

const schemas: string[] = [];
const open: PostgresMetadataStore[] = [];
let admin: pg.Pool;

async function store(
  options: { schema?: string; poolSize?: number; statementTimeoutMs?: number; applicationName?: string } = {},
) {
  const schema = options.schema ?? uniqueSchema('int');
  if (!schemas.includes(schema)) schemas.push(schema);
  const s = await createPostgresMetadataStore({ url: TEST_POSTGRES_URL, ...options, schema });
  open.push(s);
  return s;
}

const codeOf = (error: unknown) => (isKairosError(error) ? error.code : String(error));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(() => {
  ensurePostgres();
  admin = new pg.Pool({ connectionString: TEST_POSTGRES_URL, max: 4 });
});
afterEach(async () => {
  for (const s of open.splice(0)) await s.close();
});
afterAll(async () => {
  for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await admin.end();
});

describe('PostgreSQL MetadataStore: migrations', () => {
  it('concurrent opens of a new schema apply each migration exactly once', async () => {
    const schema = uniqueSchema('race');
    const stores = await Promise.all(Array.from({ length: 8 }, () => store({ schema, poolSize: 2 })));
    const appliedBy = stores.map((s) => s.appliedMigrations);
    expect(appliedBy.flat().sort()).toEqual(METADATA_MIGRATIONS.map((m) => m.version));
    expect(appliedBy.filter((a) => a.length > 0)).toHaveLength(1);
    const { rows } = await admin.query(
      `SELECT version FROM ${pg.escapeIdentifier(schema)}.migrations ORDER BY version`,
    );
    expect(rows.map((r) => r.version)).toEqual(METADATA_MIGRATIONS.map((m) => m.version));
    await Promise.all(stores.map((s, i) => s.put('c', `id-${i}`, i)));
    expect(await stores[0]!.count('c')).toBe(8);
    expect((await store({ schema })).appliedMigrations).toEqual([]);
  });

  it('a later build applies only the new steps, in order', async () => {
    const schema = uniqueSchema('upgrade');
    schemas.push(schema);
    const v2: Migration = { version: 2, name: 'extra', sql: 'CREATE TABLE IF NOT EXISTS extra (k text PRIMARY KEY)' };
    const v3: Migration = {
      version: 3,
      name: 'extra-column',
      sql: 'ALTER TABLE extra ADD COLUMN IF NOT EXISTS v integer',
    };
    const client = await admin.connect();
    try {
      expect(await applyMigrations(client, schema, METADATA_MIGRATIONS)).toEqual([1]);
      expect(await applyMigrations(client, schema, [...METADATA_MIGRATIONS, v3, v2])).toEqual([2, 3]);
      expect(await applyMigrations(client, schema, [...METADATA_MIGRATIONS, v2, v3])).toEqual([]);
      await client.query(`INSERT INTO ${pg.escapeIdentifier(schema)}.extra (k, v) VALUES ('a', 1)`);
    } finally {
      client.release();
    }
  });

  it('a failing step rolls the whole migration back: no schema is left half made', async () => {
    const schema = uniqueSchema('broken');
    schemas.push(schema);
    const bad: Migration = { version: 2, name: 'bad', sql: 'CREATE TABLE documents (x int)' };
    const client = await admin.connect();
    try {
      await expect(applyMigrations(client, schema, [...METADATA_MIGRATIONS, bad])).rejects.toMatchObject({
        code: '42P07',
      });
    } finally {
      client.release();
    }
    const { rowCount } = await admin.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    expect(rowCount).toBe(0);
  });

  it('refuses a schema migrated by a newer build, or whose applied step differs', async () => {
    const schema = uniqueSchema('newer');
    await store({ schema });
    const q = pg.escapeIdentifier(schema);
    await admin.query(`INSERT INTO ${q}.migrations (version, name, checksum) VALUES (99, 'future', 'x')`);
    await expect(store({ schema })).rejects.toMatchObject({ code: 'STORE_INVALID_OPTIONS' });
    await admin.query(`DELETE FROM ${q}.migrations WHERE version = 99`);
    await admin.query(`UPDATE ${q}.migrations SET checksum = 'edited' WHERE version = 1`);
    await expect(store({ schema })).rejects.toMatchObject({ code: 'STORE_INVALID_OPTIONS' });
  });
});

describe('PostgreSQL MetadataStore: documents', () => {
  it('returns documents exactly as written: key order, \\u0000 in strings, unicode, nesting', async () => {
    const s = await store();
    const doc = { z: 1, a: [1, 'x', null, { y: true }], m: 'nul\u0000inside', e: 'é😀', n: -1.5e-7, big: 2 ** 53 - 1 };
    await s.put('docs', 'one', doc);
    const back = await s.get<typeof doc>('docs', 'one');
    expect(back).toEqual(doc);
    expect(Object.keys(back!)).toEqual(Object.keys(doc));
    await s.put('docs', 'null', null);
    expect(await s.get('docs', 'null')).toBeNull();
    expect(await s.get('docs', 'absent')).toBeUndefined();
  });

  it('lists ids in UTF-8 byte order; prefixes are literal (no LIKE wildcards) and end exactly', async () => {
    const s = await store();
    const ids = ['a_b', 'ab', 'a%', 'a', 'é', 'z', '😀', '\uffee', 'a/\u{10ffff}', 'a/\u{10ffff}x', 'b'];
    for (const id of ids) await s.put('u', id, id);
    const bytewise = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect((await s.list<string>('u', { limit: 100 })).items.map((i) => i.id)).toEqual(bytewise);
    expect((await s.list<string>('u', { prefix: 'a_' })).items.map((i) => i.id)).toEqual(['a_b']);
    expect((await s.list<string>('u', { prefix: 'a%' })).items.map((i) => i.id)).toEqual(['a%']);
    expect((await s.list<string>('u', { prefix: 'a/\u{10ffff}' })).items.map((i) => i.id)).toEqual([
      'a/\u{10ffff}',
      'a/\u{10ffff}x',
    ]);
    expect(await s.count('u', 'a')).toBe(6);
    const reversed = await s.list<string>('u', { reverse: true, limit: 3, prefix: 'a' });
    expect(reversed.items.map((i) => i.id)).toEqual(
      bytewise
        .filter((id) => id.startsWith('a'))
        .reverse()
        .slice(0, 3),
    );
    expect(prefixSuccessor('a\u{10ffff}')).toBe('b');
    expect(prefixSuccessor('\u{10ffff}')).toBeUndefined();
    expect(prefixSuccessor('x\ud7ff')).toBe('x\ue000');
  });

  it('schemas do not see each other', async () => {
    const a = await store();
    const b = await store();
    await a.put('c', 'k', 'a');
    expect(await b.get('c', 'k')).toBeUndefined();
    expect(await b.count('c')).toBe(0);
  });

  it('keeps to its pool size under concurrency', async () => {
    const applicationName = `kairos-pool-${process.pid}`;
    const s = await store({ poolSize: 2, applicationName });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => s.putIfAbsent('p', `k${i % 10}`, i)));
    expect(results.filter(Boolean)).toHaveLength(10);
    const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]);
    expect(rows[0].n).toBeGreaterThanOrEqual(1);
    expect(rows[0].n).toBeLessThanOrEqual(2);
  });
});

describe('PostgreSQL MetadataStore: failures', () => {
  it('opening against a port nobody listens on fails with STORE_UNAVAILABLE', async () => {
    const error = await createPostgresMetadataStore({
      url: 'postgres://postgres@127.0.0.1:1/test',
      connectTimeoutMs: 1000,
    }).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('STORE_UNAVAILABLE');
  });

  it('a wrong database is a configuration error, not an outage', async () => {
    const error = await createPostgresMetadataStore({
      url: 'postgres://postgres@127.0.0.1:5432/kairos_no_such_db',
    }).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('STORE_INVALID_OPTIONS');
  });

  it('a connection killed mid-query gives STORE_UNAVAILABLE; a statement timeout too; the pool recovers', async () => {
    const applicationName = `kairos-kill-${process.pid}`;
    const schema = uniqueSchema('kill');
    const s = await store({ schema, applicationName, poolSize: 1, statementTimeoutMs: 60_000 });
    await s.put('c', 'k', 1);
    // Hold a lock so the store's next query waits inside the server, then kill its backend.
    const locker = await admin.connect();
    try {
      await locker.query('BEGIN');
      await locker.query(`LOCK TABLE ${pg.escapeIdentifier(schema)}.documents IN ACCESS EXCLUSIVE MODE`);
      const pending = s.get('c', 'k').catch((e: unknown) => e);
      for (let i = 0; i < 100; i++) {
        const { rows } = await admin.query(
          "SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [applicationName],
        );
        if (rows.length > 0) {
          await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]);
          break;
        }
        await sleep(20);
      }
      const error = await pending;
      expect(codeOf(error)).toBe('STORE_UNAVAILABLE');
      expect((error as { retryable: boolean }).retryable).toBe(true);
    } finally {
      await locker.query('ROLLBACK');
      locker.release();
    }
    expect(await s.get('c', 'k')).toBe(1);

    const slow = await store({ schema, statementTimeoutMs: 300 });
    const again = await admin.connect();
    try {
      await again.query('BEGIN');
      await again.query(`LOCK TABLE ${pg.escapeIdentifier(schema)}.documents IN ACCESS EXCLUSIVE MODE`);
      expect(codeOf(await slow.get('c', 'k').catch((e: unknown) => e))).toBe('STORE_UNAVAILABLE');
    } finally {
      await again.query('ROLLBACK');
      again.release();
    }
    expect(await slow.get('c', 'k')).toBe(1);
  });

  it('rejects calls after close with STORE_CLOSED and invalid options with STORE_INVALID_OPTIONS', async () => {
    const s = await createPostgresMetadataStore({ url: TEST_POSTGRES_URL, schema: uniqueSchema('closed') });
    schemas.push(s.options.schema);
    await s.close();
    await expect(s.get('a', 'b')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
    await expect(createPostgresMetadataStore({ url: TEST_POSTGRES_URL, schema: 'bad-name' })).rejects.toMatchObject({
      code: 'STORE_INVALID_OPTIONS',
    });
  });
});
