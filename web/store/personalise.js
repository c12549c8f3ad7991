// Personalisation panels: recommendation rails (with a deterministic fallback when the engine cannot
// recommend yet) and the live segment banners. Everything goes through the SDK.

import { categoryById, popularIn, productById } from './catalogue.js';

/** @typedef {import('./catalogue.js').Product} Product */

/**
 * @typedef {object} RailRequest
 * @property {'home' | 'product' | 'cart'} placement
 * @property {string} [itemId] the product the rail is about (product page), or the cart's items comma-separated
 * @property {number} n
 * @property {string} title heading when the engine recommends ("Recommended for you")
 * @property {string} fallbackCategory category id of the fallback ("Popular in <category>")
 * @property {readonly string[]} exclude product ids never to show (on screen, in the cart)
 */

/**
 * @typedef {object} Rail
 * @property {'kairos' | 'fallback'} source
 * @property {string} title
 * @property {Product[]} products
 * @property {string} [recommendationId]
 * @property {string} [model] name@version of the model that answered
 * @property {string} [reason] why the fallback was used
 */

/**
 * Asks the engine for a placement's items; on any failure (the API not served yet: 404, an error:
 * 5xx, the network), or an answer with no product this store knows, falls back to the most popular
 * products of a category, so the page always has something to show.
 * @param {RailRequest} request
 * @returns {Promise<Rail>}
 */
export async function loadRail(request) {
  const skip = new Set(request.exclude);
  /** @type {string} */
  let reason;
  try {
    const sdk = /** @type {NonNullable<typeof globalThis.kairos>} */ (globalThis.kairos);
    const answer = await sdk.getRecommendations({
      placement: request.placement,
      n: request.n,
      ...(request.itemId ? { itemId: request.itemId } : {}),
    });
    const products = answer.items
      .map((item) => productById(item.itemId))
      .filter(/** @returns {p is Product} */ (p) => p !== undefined && !skip.has(p.product_id))
      .slice(0, request.n);
    if (products.length) {
      return {
        source: 'kairos',
        title: request.title,
        products,
        recommendationId: answer.recommendationId,
        model: answer.model ? `${answer.model.name}@${answer.model.version}` : undefined,
      };
    }
    reason = 'no known product in the answer';
  } catch (error) {
    const e = /** @type {{ code?: string, status?: number }} */ (error);
    reason = `${e.code ?? 'error'}${e.status ? ` (HTTP ${e.status})` : ''}`;
  }
  const category = categoryById(request.fallbackCategory);
  return {
    source: 'fallback',
    title: `Popular in ${category?.name ?? request.fallbackCategory}`,
    products: popularIn(request.fallbackCategory, request.n, request.exclude),
    reason,
  };
}

// ---- live segments -------------------------------------------------------------------------------

/**
 * Segments this page has seen the visitor enter (and not exit) since it loaded.
 * @type {Set<string>}
 */
const memberships = new Set();
/** @type {Set<(segments: ReadonlySet<string>) => void>} */
const listeners = new Set();

/**
 * Follows the visitor's segment changes (SSE through the SDK). Membership is known from the
 * `enter`/`exit` records this page receives: the browser holds the write key only, which cannot
 * read profiles, so a reload starts with no known membership until the next change.
 */
export function followSegments() {
  const sdk = /** @type {NonNullable<typeof globalThis.kairos>} */ (globalThis.kairos);
  return sdk.onSegmentChange((change) => {
    if (change.type === 'enter') memberships.add(change.segmentId);
    else memberships.delete(change.segmentId);
    for (const listener of listeners) listener(memberships);
  });
}

/** @param {(segments: ReadonlySet<string>) => void} listener */
export function onMembership(listener) {
  listeners.add(listener);
  listener(memberships);
  return () => listeners.delete(listener);
}

/** Segment memberships known to this page (a copy). */
export function knownSegments() {
  return [...memberships];
}
