import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isKairosError } from '../core/index.js';
import type { StateStore } from './state-port.js';

/**
 * The StateStore conformance suite, run by every adapter's `*.conformance.test.ts`.
 * `create` returns a fresh, empty namespace; `another` a second client over the same data (another
 * process would see the same); `crash`, when given, names a module whose default export builds the
 * store in a child process from JSON options, for the kill -9 atomicity test.
 */
export interface StateConformanceOptions {
  readonly name: string;
  readonly create: () => Promise<{
    store: StateStore;
    another: () => Promise<StateStore>;
    crash?: { module: string; options: unknown };
  }>;
  readonly skip?: readonly { reason: string; tests: readonly string[] }[];
}

const childScript = fileURLToPath(new URL('./state-crash-child.ts', import.meta.url));

export function runStateStoreConformance(options: StateConformanceOptions): void {
  const skipped = new Set((options.skip ?? []).flatMap((s) => s.tests));
  const test = (title: string, fn: () => Promise<void>, timeoutMs?: number) =>
    (skipped.has(title) ? it.skip : it)(title, fn, timeoutMs);

  describe(`StateStore conformance: ${options.name}`, () => {
    let store: StateStore;
    let another: () => Promise<StateStore>;
    let crash: { module: string; options: unknown } | undefined;
    const opened: StateStore[] = [];

    beforeEach(async () => {
      ({ store, another, crash } = await options.create());
    });
    afterEach(async () => {
      for (const s of opened.splice(0)) await s.close();
      await store.close();
    });
    const open = async () => {
      const s = await another();
      opened.push(s);
      return s;
    };

    test('a commit makes puts, deletes, checkpoint and outbox visible together', async () => {
      const p = await store.acquire(0, 'w1');
      expect(await p.checkpoint()).toBeUndefined();
      await p.commit({
        puts: [
          ['a', { n: 1, list: [1, 2, { x: 'y' }] }],
          ['b', 'two'],
        ],
        deletes: [],
        checkpoint: { offset: 10, meta: { watermarkMs: 5 } },
        outbox: [{ kind: 'enter' }, { kind: 'exit' }],
      });
      await p.commit({ puts: [['c', 3]], deletes: ['b'], checkpoint: { offset: 12, meta: {} }, outbox: [] });
      expect(await store.getMany(['a', 'b', 'c', 'missing'])).toEqual([
        { n: 1, list: [1, 2, { x: 'y' }] },
        undefined,
        3,
        undefined,
      ]);
      expect(await p.checkpoint()).toEqual({ offset: 12, meta: {} });
      expect(await store.checkpoint(0)).toEqual({ offset: 12, meta: {} });
      expect(await store.checkpoint(1)).toBeUndefined();
      expect(await p.outboxSeq()).toBe(2);
      const other = await open();
      expect(await other.get('a')).toEqual({ n: 1, list: [1, 2, { x: 'y' }] });
      expect((await other.readOutbox(0, 0, 10)).map((r) => [r.seq, r.value])).toEqual([
        [1, { kind: 'enter' }],
        [2, { kind: 'exit' }],
      ]);
    });

    test('a newer owner fences off the older one', async () => {
      const first = await store.acquire(3, 'w1');
      const second = await store.acquire(3, 'w2');
      expect(second.token).toBeGreaterThan(first.token);
      const error = await first
        .commit({ puts: [['zombie', 1]], deletes: [], checkpoint: { offset: 99, meta: {} }, outbox: [{ z: 1 }] })
        .catch((e: unknown) => e);
      expect(isKairosError(error, 'STORE_FENCED')).toBe(true);
      expect(await store.get('zombie')).toBeUndefined();
      expect(await store.checkpoint(3)).toBeUndefined();
      expect(await store.readOutbox(3, 0, 10)).toEqual([]);
      await second.commit({ puts: [['owner', 2]], deletes: [], checkpoint: { offset: 1, meta: {} }, outbox: [] });
      expect(await store.get('owner')).toBe(2);
    });

    test('fencing holds across clients', async () => {
      const other = await open();
      const first = await store.acquire(5, 'w1');
      await other.acquire(5, 'w2');
      await expect(
        first.commit({ puts: [['k', 1]], deletes: [], checkpoint: { offset: 1, meta: {} }, outbox: [] }),
      ).rejects.toMatchObject({ code: 'STORE_FENCED' });
    });

    test('a released handle cannot commit', async () => {
      const handle = await store.acquire(2, 'w1');
      await handle.release();
      await expect(
        handle.commit({ puts: [['after-release', 1]], deletes: [], checkpoint: { offset: 1, meta: {} }, outbox: [] }),
      ).rejects.toMatchObject({ code: 'STORE_FENCED' });
      expect(await store.get('after-release')).toBeUndefined();
    });

    test('tokens keep growing after release', async () => {
      const a = await store.acquire(1, 'w1');
      await a.release();
      const b = await store.acquire(1, 'w2');
      expect(b.token).toBeGreaterThan(a.token);
    });

    test('scan returns a prefix in key order, paged by after', async () => {
      const p = await store.acquire(0, 'w');
      const keys = ['p/b', 'p/a', 'q/a', 'p/c', 'p/aa'];
      await p.commit({ puts: keys.map((k) => [k, k]), deletes: [], checkpoint: { offset: 1, meta: {} }, outbox: [] });
      expect((await store.scan('p/')).map((kv) => kv.key)).toEqual(['p/a', 'p/aa', 'p/b', 'p/c']);
      expect((await store.scan('p/', { limit: 2 })).map((kv) => kv.key)).toEqual(['p/a', 'p/aa']);
      expect((await store.scan('p/', { after: 'p/aa' })).map((kv) => kv.key)).toEqual(['p/b', 'p/c']);
      expect((await p.scan('q/')).map((kv) => kv.value)).toEqual(['q/a']);
    });

    test('outbox seqs are dense per partition; trim removes a prefix', async () => {
      const p0 = await store.acquire(0, 'w');
      const p1 = await store.acquire(1, 'w');
      for (let i = 0; i < 5; i++) {
        await p0.commit({ puts: [], deletes: [], checkpoint: { offset: i + 1, meta: {} }, outbox: [i, i + 100] });
      }
      await p1.commit({ puts: [], deletes: [], checkpoint: { offset: 1, meta: {} }, outbox: ['x'] });
      const all = await store.readOutbox(0, 0, 100);
      expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect((await store.readOutbox(0, 8, 100)).map((r) => r.value)).toEqual([4, 104]);
      expect((await store.readOutbox(0, 2, 3)).map((r) => r.seq)).toEqual([3, 4, 5]);
      await store.trimOutbox(0, 6);
      expect((await store.readOutbox(0, 0, 100)).map((r) => r.seq)).toEqual([7, 8, 9, 10]);
      expect((await store.readOutbox(1, 0, 100)).map((r) => r.value)).toEqual(['x']);
      await p0.commit({ puts: [], deletes: [], checkpoint: { offset: 9, meta: {} }, outbox: ['next'] });
      expect((await store.readOutbox(0, 10, 10)).map((r) => r.seq)).toEqual([11]);
    });

    test('concurrent commits of different partitions do not interfere', async () => {
      const handles = await Promise.all([0, 1, 2, 3].map((p) => store.acquire(p, 'w')));
      await Promise.all(
        handles.flatMap((h) =>
          Array.from({ length: 25 }, (_, i) =>
            h.commit({
              puts: [[`c/${h.partition}/${i}`, i]],
              deletes: [],
              checkpoint: { offset: i, meta: {} },
              outbox: [i],
            }),
          ),
        ),
      );
      for (const h of handles) {
        expect((await store.scan(`c/${h.partition}/`)).length).toBe(25);
        expect(await h.outboxSeq()).toBe(25);
      }
    });

    test('a kill -9 during commits leaves the last committed state, never a mix', async () => {
      if (!crash) throw new Error('this adapter gave no crash module');
      for (let trial = 0; trial < 5; trial++) {
        const killAfterMs = 150 + Math.floor(Math.random() * 600);
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', childScript, crash.module, JSON.stringify(crash.options)],
          {
            stdio: ['ignore', 'pipe', 'inherit'],
          },
        );
        let acked = 0;
        let buffer = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (chunk: string) => {
          buffer += chunk;
          const lines = buffer.split('\n');
          buffer = lines.pop() ?? '';
          for (const line of lines) if (line.startsWith('ok ')) acked = Math.max(acked, Number(line.slice(3)));
        });
        const started = new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
        await started;
        await new Promise((r) => setTimeout(r, killAfterMs));
        child.kill('SIGKILL');
        await new Promise((r) => child.once('exit', r));
        const reader = await open();
        const checkpoint = await reader.checkpoint(7);
        const n = checkpoint?.offset ?? 0;
        // Every commit n writes keys crash/0..9 = n and one outbox record n: all must agree.
        expect(n).toBeGreaterThanOrEqual(acked);
        const values = await reader.getMany(Array.from({ length: 10 }, (_, i) => `crash/${i}`));
        expect(new Set(values)).toEqual(new Set([n === 0 ? undefined : n]));
        const outbox = await reader.readOutbox(7, 0, 100_000);
        expect(outbox.length).toBe(n);
        expect(outbox.at(-1)?.value ?? 0).toBe(n);
      }
    }, 120_000);
  });
}
