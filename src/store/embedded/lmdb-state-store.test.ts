import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbStateStore } from './lmdb-state-store.js';
import { UNFLUSHED_MARKER, currentBootId } from './unflushed-marker.js';

const CRASH_CHILD = fileURLToPath(new URL('../state-crash-child.ts', import.meta.url));
const FACTORY = fileURLToPath(new URL('./lmdb-state-store.factory.ts', import.meta.url));

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

describe('LmdbStateStore deferred flush', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });
  const newDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'kairos-lmdb-flush-'));
    dirs.push(dir);
    return dir;
  };
  const marker = (dir: string) => join(dir, UNFLUSHED_MARKER);

  /** Runs the crash child (commits forever over a store with the default, deferred flush) and kills it with SIGKILL. */
  async function crashAfterCommits(dir: string, commits: number): Promise<number> {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', CRASH_CHILD, FACTORY, JSON.stringify({ dir, flushIntervalMs: 60_000 })],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let acked = 0;
    let buffer = '';
    child.stdout.setEncoding('utf8');
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: string) => {
        buffer += chunk;
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) if (line.startsWith('ok ')) acked = Math.max(acked, Number(line.slice(3)));
        if (acked >= commits) resolve();
      });
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    return acked;
  }

  it('keeps every resolved commit through a kill -9 of its process (the page cache outlives it), same boot', async () => {
    const dir = newDir();
    // The interval is far longer than the run: nothing is flushed by the timer before the kill.
    const acked = await crashAfterCommits(dir, 50);
    expect(JSON.parse(readFileSync(marker(dir), 'utf8'))).toMatchObject({ bootId: currentBootId() });
    const store = new LmdbStateStore({ dir });
    expect(store.movedAsideTo).toBeUndefined();
    const handle = await store.acquire(7, 'test');
    const checkpoint = await handle.checkpoint();
    expect(checkpoint!.offset).toBeGreaterThanOrEqual(acked);
    expect(await store.get('crash/0')).toBe(checkpoint!.offset);
    await store.close();
    // A clean close flushed everything: no marker is left.
    expect(existsSync(marker(dir))).toBe(false);
  }, 60_000);

  it('does not trust a store the machine went down with (marker of an earlier boot): moves it aside and starts empty', async () => {
    const dir = newDir();
    const acked = await crashAfterCommits(dir, 20);
    // What a reboot changes: the boot the marker names is no longer the current one.
    const left = JSON.parse(readFileSync(marker(dir), 'utf8')) as { bootId: string };
    writeFileSync(marker(dir), JSON.stringify({ ...left, bootId: 'an-earlier-boot' }));

    const store = new LmdbStateStore({ dir });
    expect(store.movedAsideTo).toBeDefined();
    expect(basename(store.movedAsideTo!)).toMatch(/^torn-/);
    expect(await store.checkpoint(7)).toBeUndefined();
    expect(await store.get('crash/0')).toBeUndefined();
    expect(await store.readOutbox(7, 0, 10)).toEqual([]);
    // This open marked the directory again (its own commits are deferred too).
    expect(JSON.parse(readFileSync(marker(dir), 'utf8'))).toMatchObject({ bootId: currentBootId() });
    // Its outbox starts over: positions kept elsewhere must be forgotten, and that stays asked until done
    // (a crash before it is handled leaves it pending for the next open).
    expect(store.outboxRestarted).toBe(true);
    await store.close();
    expect(existsSync(marker(dir))).toBe(false);
    const pending = new LmdbStateStore({ dir });
    expect(pending.movedAsideTo).toBeUndefined();
    expect(pending.outboxRestarted).toBe(true);
    pending.outboxRestartHandled();
    await pending.close();

    // The moved store is kept for inspection, whole as far as this boot knows.
    const aside = new LmdbStateStore({ dir: store.movedAsideTo!, flushIntervalMs: 0 });
    expect((await aside.checkpoint(7))!.offset).toBeGreaterThanOrEqual(acked);
    await aside.close();
    // And a reopen of the rebuilt directory does not move anything again.
    const again = new LmdbStateStore({ dir });
    expect(again.movedAsideTo).toBeUndefined();
    expect(again.outboxRestarted).toBe(false);
    await again.close();
  }, 60_000);

  it('flushes every commit with flushIntervalMs 0: no marker, and a marker left by a deferred run is cleared after a flush', async () => {
    const dir = newDir();
    await crashAfterCommits(dir, 5);
    expect(existsSync(marker(dir))).toBe(true);
    const store = new LmdbStateStore({ dir, flushIntervalMs: 0 });
    expect(store.flushIntervalMs).toBe(0);
    expect(store.movedAsideTo).toBeUndefined();
    const handle = await store.acquire(7, 'test');
    await handle.commit({ puts: [['k', 1]], deletes: [], checkpoint: { offset: 1000, meta: {} }, outbox: [] });
    await store.close();
    expect(existsSync(marker(dir))).toBe(false);

    const other = newDir();
    const synced = new LmdbStateStore({ dir: other, flushIntervalMs: 0 });
    expect(existsSync(marker(other))).toBe(false);
    await synced.close();
  }, 60_000);
});
