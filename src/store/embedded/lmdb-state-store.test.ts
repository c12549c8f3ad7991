import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbStateStore } from './lmdb-state-store.js';

describe('LmdbStateStore encoding', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('stores state as plain msgpack maps (no record definitions inside values)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-lmdb-enc-'));
    dirs.push(dir);
    const store = new LmdbStateStore({ dir });
    const value = { ops: { profile: { n: 2, c: { 'Product Viewed': 2 }, cv: { '3206451': 1 } } } };
    const handle = await store.acquire(0, 'test');
    await handle.commit({ puts: [['s/u:1', value]], deletes: [], checkpoint: { offset: 1, meta: {} }, outbox: [] });
    const raw = (store as unknown as { state: { getBinary(key: string): Buffer } }).state.getBinary('s/u:1');
    // A standard msgpack decoder (no record extension) reads it back whole.
    expect(new Packr({ useRecords: false }).unpack(raw)).toEqual(value);
    expect(raw.includes(Buffer.from([0xd4, 0x72]))).toBe(false); // msgpackr's record-definition extension
    expect(await store.get('s/u:1')).toEqual(value);
    await store.close();
  });
});
