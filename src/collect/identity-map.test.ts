import { describe, expect, it } from 'vitest';
import { IdentityMap } from './identity-map.js';

describe('IdentityMap', () => {
  it('resolves unlinked keys to themselves and linked keys to their root', () => {
    const map = new IdentityMap();
    expect(map.resolve('a:1')).toBe('a:1');
    expect(map.link('a:1', 'u:1')).toEqual({ kind: 'link', fromKey: 'a:1', toKey: 'u:1', previous: undefined });
    expect(map.resolve('a:1')).toBe('u:1');
    // A chain: u:1 merged into u:2 later (alias); a:1 follows.
    expect(map.link('u:1', 'u:2')).toMatchObject({ kind: 'link' });
    expect(map.resolve('a:1')).toBe('u:2');
    expect(map.link('u:2', 'u:3')).toMatchObject({ kind: 'link' });
    expect(map.resolve('a:1')).toBe('u:3');
    expect(map.resolve('a:1')).toBe('u:3');
  });

  it('ignores links that would make a cycle, including self links', () => {
    const map = new IdentityMap();
    map.link('u:1', 'u:2');
    expect(map.link('u:2', 'u:1')).toBe('cycle');
    expect(map.link('u:3', 'u:3')).toBe('cycle');
    expect(map.resolve('u:2')).toBe('u:2');
    expect(map.resolve('u:1')).toBe('u:2');
  });

  it('re-points an already linked key without a merge, and never into its own subtree', () => {
    const map = new IdentityMap();
    map.link('a:x', 'u:1');
    expect(map.link('a:x', 'u:1')).toBe('unchanged');
    expect(map.link('a:x', 'u:2')).toEqual({ kind: 'relink', fromKey: 'a:x', toKey: 'u:2', previous: 'u:1' });
    expect(map.resolve('a:x')).toBe('u:2');
    map.link('u:9', 'u:8');
    map.link('u:8', 'u:7');
    // u:8 is linked; re-pointing it to u:9 would loop (u:9 → u:8).
    expect(map.link('u:8', 'u:9')).toBe('cycle');
  });

  it('keeps the compression cache consistent when an edge changes', () => {
    const map = new IdentityMap();
    map.link('a:1', 'u:1');
    map.link('u:1', 'u:2');
    map.link('u:2', 'u:3');
    expect(map.resolve('a:1')).toBe('u:3'); // cached
    map.link('u:1', 'u:9'); // relink in the middle of the path
    expect(map.resolve('a:1')).toBe('u:9');
    expect(map.resolve('u:2')).toBe('u:3');
  });

  it('undoes a change (failed append) unless the edge moved since', () => {
    const map = new IdentityMap();
    const link = map.link('a:1', 'u:1');
    if (typeof link !== 'object') throw new Error('expected a link');
    map.undo(link);
    expect(map.isLinked('a:1')).toBe(false);
    expect(map.resolve('a:1')).toBe('a:1');
    map.link('a:2', 'u:1');
    const relink = map.link('a:2', 'u:2');
    if (typeof relink !== 'object') throw new Error('expected a relink');
    map.undo(relink);
    expect(map.resolve('a:2')).toBe('u:1');
    expect(map.size).toBe(1);
  });
});
