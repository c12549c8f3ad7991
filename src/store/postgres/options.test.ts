import { describe, expect, it } from 'vitest';
import { isKairosError } from '../../core/index.js';
import { toStoreError } from './failures.js';
import { METADATA_MIGRATIONS, migrationChecksum } from './migrations.js';
import {
  POSTGRES_METADATA_STORE_DEFAULTS,
  resolvePostgresMetadataStoreOptions,
  type PostgresMetadataStoreOptions,
} from './options.js';
import { prefixSuccessor } from './postgres-metadata-store.js';

function codeAndField(fn: () => unknown): [string, unknown] | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return isKairosError(error) ? [error.code, error.details?.field] : [String(error), undefined];
  }
}

describe('resolvePostgresMetadataStoreOptions', () => {
  it('fills the defaults and freezes', () => {
    const resolved = resolvePostgresMetadataStoreOptions({ url: 'postgres://u@h/db' });
    expect(resolved).toMatchObject(POSTGRES_METADATA_STORE_DEFAULTS);
    expect(Object.isFrozen(resolved)).toBe(true);
    expect(
      resolvePostgresMetadataStoreOptions({ url: 'postgresql://h/db', statementTimeoutMs: '1m' }).statementTimeoutMs,
    ).toBe(60_000);
  });

  it.each([
    [{ url: 'mysql://x' }, 'url'],
    [{ url: 'postgres://x', schema: '1abc' }, 'schema'],
    [{ url: 'postgres://x', schema: 'a-b' }, 'schema'],
    [{ url: 'postgres://x', schema: 'x'.repeat(64) }, 'schema'],
    [{ url: 'postgres://x', poolSize: 0 }, 'poolSize'],
    [{ url: 'postgres://x', connectTimeoutMs: -1 }, 'connectTimeoutMs'],
    [{ url: 'postgres://x', applicationName: 'x'.repeat(64) }, 'applicationName'],
  ] as [PostgresMetadataStoreOptions, string][])(
    'rejects %j with STORE_INVALID_OPTIONS naming the field',
    (options, field) => {
      expect(codeAndField(() => resolvePostgresMetadataStoreOptions(options))).toEqual([
        'STORE_INVALID_OPTIONS',
        field,
      ]);
    },
  );
});

describe('PostgreSQL helpers', () => {
  it('the prefix successor bounds exactly the ids with the prefix', () => {
    expect(prefixSuccessor('ab')).toBe('ac');
    expect(prefixSuccessor('a/')).toBe('a0');
    expect(prefixSuccessor('a\u{10ffff}')).toBe('b');
    expect(prefixSuccessor('\u{10ffff}\u{10ffff}')).toBeUndefined();
    expect(prefixSuccessor('\ud7ff')).toBe('\ue000');
    expect(prefixSuccessor('😀')).toBe('😁');
  });

  it('maps connection failures to STORE_UNAVAILABLE, credentials to STORE_INVALID_OPTIONS, the rest through', () => {
    const sql = (code: string) => Object.assign(new Error(code), { code });
    expect(
      codeAndField(() => {
        throw toStoreError(sql('57P01'), 'get');
      })?.[0],
    ).toBe('STORE_UNAVAILABLE');
    expect(
      codeAndField(() => {
        throw toStoreError(sql('08006'), 'get');
      })?.[0],
    ).toBe('STORE_UNAVAILABLE');
    expect(
      codeAndField(() => {
        throw toStoreError(sql('ECONNREFUSED'), 'get');
      })?.[0],
    ).toBe('STORE_UNAVAILABLE');
    expect(
      codeAndField(() => {
        throw toStoreError(new Error('Connection terminated unexpectedly'), 'get');
      })?.[0],
    ).toBe('STORE_UNAVAILABLE');
    expect(
      codeAndField(() => {
        throw toStoreError(sql('28P01'), 'open');
      })?.[0],
    ).toBe('STORE_INVALID_OPTIONS');
    const unique = sql('23505');
    expect(toStoreError(unique, 'put')).toBe(unique);
  });

  it('migrations have increasing versions, and released steps are never edited', () => {
    const versions = METADATA_MIGRATIONS.map((m) => m.version);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    expect(new Set(versions).size).toBe(versions.length);
    // Databases out there recorded these checksums and refuse a build whose step differs: add a new
    // step instead of editing one (and add its checksum here).
    expect(METADATA_MIGRATIONS.map(migrationChecksum).slice(0, 1)).toEqual(['76704e604ea33fdb']);
  });
});
