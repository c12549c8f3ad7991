import { describe, expect, it } from 'vitest';
import { makeEvent } from '../../../test/helpers/events.js';
import { silentLogger, type KairosEvent } from '../../core/index.js';
import { createMemoryEventLog } from '../../log/index.js';
import { CartTracker } from './carts.js';
import { Catalogue } from './catalogue.js';
import { Dictionary } from './dictionary.js';
import { DeltaBuffer } from './interaction-table.js';
import { InteractionTail } from './tail.js';

function tail() {
  const deps = {
    log: createMemoryEventLog({ partitionCount: 1 }),
    users: new Dictionary(),
    items: new Dictionary(),
    catalogue: new Catalogue(),
    carts: new CartTracker(),
    buffer: new DeltaBuffer(),
    aliases: new Map<string, string>(),
    logger: silentLogger(),
    readBatch: 10,
    pollIntervalMs: 10,
    attributed: [] as [string, string][],
    cartChanges: [] as string[],
    onAttribution: (event: KairosEvent, id: string) => deps.attributed.push([event.event ?? '', id]),
    onCartChanged: (key: string) => deps.cartChanges.push(key),
  };
  return { deps, tail: new InteractionTail(deps) };
}

const T = Date.UTC(2026, 0, 1);

describe('InteractionTail', () => {
  it('turns events into rows, catalogue facts, carts and attribution signals', () => {
    const { deps, tail: t } = tail();
    t.consumeEvent(
      makeEvent({
        anonymousId: 'a1',
        eventTimeMs: T,
        event: 'Product Viewed',
        properties: { product_id: 'p1', category: 'shoes' },
      }),
    );
    t.consumeEvent(
      makeEvent({ anonymousId: 'a1', eventTimeMs: T + 1000, event: 'Product Added', properties: { product_id: 'p2' } }),
    );
    t.consumeEvent(
      makeEvent({
        anonymousId: 'a1',
        eventTimeMs: T + 2000,
        event: 'Product Clicked',
        properties: { product_id: 'p3', recommendation_id: 'rec_x' },
      }),
    );
    t.consumeEvent(makeEvent({ anonymousId: 'a1', eventTimeMs: T + 3000, type: 'page', name: 'Home' }));
    expect(deps.buffer.length).toBe(3);
    expect(deps.users.ids).toEqual(['a:a1']);
    expect(deps.items.ids).toEqual(['p1', 'p2', 'p3']);
    expect(deps.catalogue.categoryOf(0)).toBe(deps.catalogue.categories.get('shoes'));
    expect(deps.carts.get('a:a1')).toEqual(['p2']);
    expect(deps.cartChanges).toEqual(['a:a1']);
    expect(deps.attributed).toEqual([['Product Clicked', 'rec_x']]);
    const delta = deps.buffer.take(deps.users, 0, deps.items, 0, deps.catalogue.takeDelta(), [4]);
    expect([...delta.weights]).toEqual([1, 3, 1]);
    expect([...delta.times]).toEqual([T / 1000, T / 1000 + 1, T / 1000 + 2]);
  });

  it("makes a linked anonymous profile's interactions and cart count for the user", () => {
    const { deps, tail: t } = tail();
    t.consumeEvent(
      makeEvent({ anonymousId: 'anon', eventTimeMs: T, event: 'Product Added', properties: { product_id: 'p1' } }),
    );
    t.consumeEvent(
      makeEvent({
        userId: 'bob',
        anonymousId: 'anon',
        eventTimeMs: T + 1,
        type: 'identify',
        traits: {},
        links: [{ fromKey: 'a:anon' }],
      }),
    );
    expect(deps.aliases.get('a:anon')).toBe('u:bob');
    expect(deps.carts.get('u:bob')).toEqual(['p1']);
    expect(deps.carts.get('a:anon')).toEqual([]);
    const delta = deps.buffer.take(deps.users, 0, deps.items, 0, deps.catalogue.takeDelta(), [2]);
    expect([...delta.merges]).toEqual([deps.users.get('a:anon'), deps.users.get('u:bob')]);
  });

  it('empties the cart on an order and removes a removed product', () => {
    const { deps, tail: t } = tail();
    for (const id of ['p1', 'p2', 'p3'])
      t.consumeEvent(
        makeEvent({ userId: 'u', eventTimeMs: T, event: 'Product Added', properties: { product_id: id } }),
      );
    t.consumeEvent(
      makeEvent({ userId: 'u', eventTimeMs: T, event: 'Product Removed', properties: { product_id: 'p2' } }),
    );
    expect(deps.carts.get('u:u')).toEqual(['p1', 'p3']);
    t.consumeEvent(
      makeEvent({
        userId: 'u',
        eventTimeMs: T,
        event: 'Order Completed',
        properties: { products: [{ product_id: 'p1' }] },
      }),
    );
    expect(deps.carts.get('u:u')).toEqual([]);
  });

  it('reads the log from its cursors and catches up', async () => {
    const { deps, tail: t } = tail();
    const { appendPayloads } = await import('../../../test/helpers/events.js');
    await appendPayloads(deps.log, [
      makeEvent({ userId: 'u', eventTimeMs: T, event: 'Product Viewed', properties: { product_id: 'p1' } }),
      makeEvent({ userId: 'u', eventTimeMs: T, event: 'Product Viewed', properties: { product_id: 'p2' } }),
    ]);
    t.start([1]);
    expect(await t.catchUp(5_000)).toBe(true);
    await t.stop();
    expect(t.positions).toEqual([2]);
    expect(deps.items.ids).toEqual(['p2']);
  });
});
