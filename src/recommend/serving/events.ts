import type { KairosEvent } from '../../core/index.js';
import { itemIdOf } from '../../profiles/index.js';
import { eventWeight } from '../datasets.js';

/**
 * Event names beyond EVENT_WEIGHTS that are interaction signals: the Taobao replay sends favourites
 * as "Product Added to Wishlist" (Segment's wishlist event), weighted like Taobao's `fav`.
 */
const EXTRA_WEIGHTS: Readonly<Record<string, number>> = Object.freeze({
  'Product Added to Wishlist': 2,
});

/** An event's interaction signals: (item, weight) pairs. */
export interface EventInteraction {
  readonly itemId: string;
  readonly weight: number;
}

/** What a product object says about the item (the catalogue learned from events). */
export interface ProductFacts {
  readonly itemId: string;
  readonly category?: string;
  readonly price?: number;
  readonly name?: string;
  /** false when the event says the item is out of stock, true when in stock, undefined when silent. */
  readonly available?: boolean;
}

function productObjects(event: KairosEvent): Record<string, unknown>[] {
  const props = event.properties;
  if (!props) return [];
  const out: Record<string, unknown>[] = [];
  if (itemIdOf(props) !== undefined) out.push(props);
  const products = props.products;
  if (Array.isArray(products)) {
    for (const p of products)
      if (p !== null && typeof p === 'object' && itemIdOf(p as Record<string, unknown>) !== undefined)
        out.push(p as Record<string, unknown>);
  }
  return out;
}

/**
 * Interactions of a track event: e-commerce events weighted view < add-to-cart < purchase
 * (EVENT_WEIGHTS, the offline weights), `Item Rated` weighted by `properties.rating`. An order
 * counts for every item of `products[]`. Other events say nothing.
 */
export function interactionsOf(event: KairosEvent): EventInteraction[] {
  if (event.type !== 'track' || event.event === undefined) return [];
  const name = event.event;
  if (name === 'Item Rated') {
    const itemId = itemIdOf(event.properties);
    const rating = Number(event.properties?.rating);
    return itemId !== undefined && Number.isFinite(rating) && rating > 0 ? [{ itemId, weight: rating }] : [];
  }
  const weight = eventWeight(name) ?? EXTRA_WEIGHTS[name];
  if (weight === undefined) return [];
  const out: EventInteraction[] = [];
  for (const product of productObjects(event)) {
    const itemId = itemIdOf(product)!;
    if (!out.some((o) => o.itemId === itemId)) out.push({ itemId, weight });
  }
  return out;
}

function finiteNumber(value: unknown): number | undefined {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}

function availability(p: Record<string, unknown>): boolean | undefined {
  if (typeof p.in_stock === 'boolean') return p.in_stock;
  if (typeof p.inStock === 'boolean') return p.inStock;
  const stock = finiteNumber(p.stock ?? p.inventory);
  return stock === undefined ? undefined : stock > 0;
}

/** Catalogue facts carried by any track event's product objects (category, price, name, stock). */
export function productFactsOf(event: KairosEvent): ProductFacts[] {
  if (event.type !== 'track') return [];
  const out: ProductFacts[] = [];
  for (const p of productObjects(event)) {
    const category =
      typeof p.category === 'string' && p.category !== ''
        ? p.category
        : typeof p.category === 'number'
          ? String(p.category)
          : undefined;
    const price = finiteNumber(p.price);
    const name = typeof p.name === 'string' && p.name !== '' ? p.name.slice(0, 200) : undefined;
    const available = availability(p);
    if (category === undefined && price === undefined && name === undefined && available === undefined) continue;
    out.push({
      itemId: itemIdOf(p)!,
      ...(category !== undefined ? { category } : {}),
      ...(price !== undefined ? { price } : {}),
      ...(name !== undefined ? { name } : {}),
      ...(available !== undefined ? { available } : {}),
    });
  }
  return out;
}

/** The recommendation an event is attributed to (`properties.recommendation_id`), if any. */
export function recommendationIdOf(event: KairosEvent): string | undefined {
  const id = event.properties?.recommendation_id ?? event.properties?.recommendationId;
  return typeof id === 'string' && id !== '' ? id : undefined;
}

/** Revenue of an order event (`revenue`, else `total`, else Σ price·quantity of its products). */
export function revenueOf(event: KairosEvent): number {
  const props = event.properties ?? {};
  const direct = finiteNumber(props.revenue) ?? finiteNumber(props.total);
  if (direct !== undefined) return direct;
  let sum = 0;
  if (Array.isArray(props.products)) {
    for (const p of props.products as Record<string, unknown>[]) {
      sum += (finiteNumber(p?.price) ?? 0) * (finiteNumber(p?.quantity) ?? 1);
    }
  }
  return sum;
}
