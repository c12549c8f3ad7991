import { describe, expect, it } from 'vitest';
import { isKairosError } from '../../core/index.js';
import { buildInteractionMatrix } from '../interactions.js';
import { Catalogue } from './catalogue.js';
import { Dictionary } from './dictionary.js';
import { DeltaBuffer, InteractionTable, type InteractionDelta } from './interaction-table.js';

/** The main-thread side: dictionaries, catalogue and a buffer producing deltas. */
function producer() {
  const users = new Dictionary();
  const items = new Dictionary();
  const catalogue = new Catalogue();
  const buffer = new DeltaBuffer();
  let sentUsers = 0;
  let sentItems = 0;
  return {
    users,
    items,
    catalogue,
    add(user: string, item: string, weight: number, t: number) {
      buffer.add(users.intern(user), items.intern(item), weight, t);
    },
    merge(from: string, into: string) {
      buffer.merge(users.get(from), users.intern(into));
    },
    take(positions: number[]): InteractionDelta {
      const delta = buffer.take(users, sentUsers, items, sentItems, catalogue.takeDelta(), positions);
      sentUsers = users.size;
      sentItems = items.size;
      return delta;
    },
  };
}

describe('InteractionTable', () => {
  it('merges repeated pairs (largest weight, latest time) and follows identity merges', () => {
    const p = producer();
    const table = new InteractionTable(2);
    p.add('a:anon', 'i1', 1, 10);
    p.add('a:anon', 'i1', 3, 11);
    p.add('u:bob', 'i2', 1, 12);
    table.apply(p.take([2, 0]));
    p.add('a:anon', 'i3', 5, 13);
    p.merge('a:anon', 'u:bob');
    p.catalogue.apply(p.items.get('i1'), { itemId: 'i1', category: 'shoes', price: 9.5, available: false });
    table.apply(p.take([3, 1]));
    expect(table.positions).toEqual([3, 1]);
    expect(table.canonical(p.users.get('a:anon'))).toBe(p.users.get('u:bob'));
    expect(table.catalogue.categoryOf(p.items.get('i1'))).toBe(0);
    expect(table.catalogue.isAvailable(p.items.get('i1'))).toBe(false);

    const m = buildInteractionMatrix(table.toLog());
    const bob = p.users.get('u:bob');
    const row = Array.from({ length: m.userPtr[bob + 1]! - m.userPtr[bob]! }, (_, k) => {
      const at = m.userPtr[bob]! + k;
      return [p.items.ids[m.userItems[at]!], m.userWeights[at], m.userTimes[at]];
    });
    expect(row).toEqual([
      ['i1', 3, 11],
      ['i2', 1, 12],
      ['i3', 5, 13],
    ]);
    expect(m.userPtr[p.users.get('a:anon') + 1]! - m.userPtr[p.users.get('a:anon')]!).toBe(0);

    table.compact(m, table.length);
    expect(table.length).toBe(3);
  });

  it('round-trips through its snapshot', () => {
    const p = producer();
    const table = new InteractionTable(3);
    p.add('u:1', 'x', 1, 1);
    p.add('u:2', 'y', 5, 2);
    p.add('u:3', 'x', 3, 3);
    p.merge('u:3', 'u:1');
    p.catalogue.apply(p.items.get('y'), { itemId: 'y', category: 'hats', name: 'Hat' });
    table.apply(p.take([1, 2, 3]));
    const { table: copy, snapshotId } = InteractionTable.decode(table.encode('snap-1'), 3);
    expect(snapshotId).toBe('snap-1');
    expect(copy.positions).toEqual([1, 2, 3]);
    expect(copy.users.ids).toEqual(table.users.ids);
    expect(copy.items.ids).toEqual(table.items.ids);
    expect(copy.catalogue.nameOf(p.items.get('y'))).toBe('Hat');
    expect(copy.toLog()).toEqual(table.toLog());
  });

  it('rejects a snapshot of another partition count and a corrupt one', () => {
    const table = new InteractionTable(2);
    const bytes = table.encode('s');
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return isKairosError(error) ? error.code : String(error);
      }
      return 'no error';
    };
    expect(code(() => InteractionTable.decode(bytes, 4))).toBe('RECOMMEND_INVALID_SNAPSHOT');
    expect(code(() => InteractionTable.decode(bytes.subarray(0, 10), 2))).toBe('RECOMMEND_INVALID_SNAPSHOT');
  });

  it('accepts ids re-sent to a restarted trainer and refuses ids out of step', () => {
    const p = producer();
    p.add('u:1', 'x', 1, 1);
    const first = p.take([1]);
    const table = new InteractionTable(1);
    table.apply(first);
    table.apply({ ...first, positions: [1] });
    expect(table.users.size).toBe(1);
    expect(() => table.apply({ ...first, newUsers: ['u:other'] })).toThrow(/out of step/);
    expect(() => table.apply({ ...first, userBase: 5 })).toThrow(/out of step/);
  });
});
