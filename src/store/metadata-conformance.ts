import { describe, expect, it, beforeEach, afterEach } from 'vitest';
import type { MetadataStore } from './metadata-port.js';

/**
 * The MetadataStore conformance suite. Every adapter's `*.conformance.test.ts` calls this with a
 * factory; `reopen` (when given) must return a new store over the same data, as a restart would.
 */
export interface MetadataConformanceOptions {
  readonly name: string;
  /** A fresh, empty store (per test; the suite closes it). */
  readonly create: () => Promise<{ store: MetadataStore; reopen: () => Promise<MetadataStore> }>;
  readonly skip?: readonly { reason: string; tests: readonly string[] }[];
}

export function runMetadataStoreConformance(options: MetadataConformanceOptions): void {
  const skipped = new Set((options.skip ?? []).flatMap((s) => s.tests));
  const test = (title: string, fn: () => Promise<void>) => (skipped.has(title) ? it.skip : it)(title, fn);

  describe(`MetadataStore conformance: ${options.name}`, () => {
    let store: MetadataStore;
    let reopen: () => Promise<MetadataStore>;
    const extra: MetadataStore[] = [];

    beforeEach(async () => {
      ({ store, reopen } = await options.create());
    });
    afterEach(async () => {
      await store.close();
      for (const s of extra.splice(0)) await s.close();
    });

    test('get returns what put wrote, undefined when absent', async () => {
      expect(await store.get('things', 'a')).toBeUndefined();
      await store.put('things', 'a', { n: 1, nested: { list: [1, 'x', null] } });
      expect(await store.get('things', 'a')).toEqual({ n: 1, nested: { list: [1, 'x', null] } });
      await store.put('things', 'a', { n: 2 });
      expect(await store.get('things', 'a')).toEqual({ n: 2 });
    });

    test('collections are separate', async () => {
      await store.put('a', 'id', 1);
      await store.put('b', 'id', 2);
      expect(await store.get('a', 'id')).toBe(1);
      expect(await store.get('b', 'id')).toBe(2);
      expect(await store.count('a')).toBe(1);
    });

    test('delete reports whether it removed something', async () => {
      await store.put('things', 'x', true);
      expect(await store.delete('things', 'x')).toBe(true);
      expect(await store.delete('things', 'x')).toBe(false);
      expect(await store.get('things', 'x')).toBeUndefined();
    });

    test('putIfAbsent writes once, also under concurrency', async () => {
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => store.putIfAbsent('v', 'k', i)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await store.get('v', 'k')).toBe(winner);
      expect(await store.putIfAbsent('v', 'k', 99)).toBe(false);
    });

    test('list pages in ascending id order with prefix and cursor', async () => {
      for (const id of ['b/2', 'a/1', 'b/1', 'b/10', 'c/1']) await store.put('l', id, id);
      await store.put('other', 'b/3', 'no');
      const first = await store.list<string>('l', { prefix: 'b/', limit: 2 });
      expect(first.items.map((i) => i.id)).toEqual(['b/1', 'b/10']);
      expect(first.next).toBe('b/10');
      const second = await store.list<string>('l', { prefix: 'b/', limit: 2, after: first.next! });
      expect(second.items.map((i) => i.id)).toEqual(['b/2']);
      expect(second.next).toBeUndefined();
      const all = await store.list<string>('l');
      expect(all.items.map((i) => i.doc)).toEqual(['a/1', 'b/1', 'b/10', 'b/2', 'c/1']);
      expect(await store.count('l', 'b/')).toBe(3);
    });

    test('list in reverse order', async () => {
      for (const id of ['1', '2', '3', '4']) await store.put('r', id, Number(id));
      const page = await store.list<number>('r', { reverse: true, limit: 3 });
      expect(page.items.map((i) => i.doc)).toEqual([4, 3, 2]);
      const rest = await store.list<number>('r', { reverse: true, limit: 3, after: page.next! });
      expect(rest.items.map((i) => i.doc)).toEqual([1]);
    });

    test('writes survive a reopen', async () => {
      await store.put('d', 'k', { kept: true });
      await store.close();
      store = await reopen();
      expect(await store.get('d', 'k')).toEqual({ kept: true });
    });
  });
}
