// Every event the store sends, in one place, following Segment's e-commerce spec
// (https://segment.com/docs/connections/spec/ecommerce/v2/). The store talks to the engine only
// through the SDK (the `kairos` global).

import { CURRENCY, productById, productFields } from './catalogue.js';

/** @typedef {import('./catalogue.js').Product} Product */
/** @typedef {import('./cart.js').CartLine} CartLine */

/** The SDK, loaded by index.html before this module (app.js checks it is there). */
function sdk() {
  if (!globalThis.kairos) throw new Error('the Kairos SDK (/sdk/kairos.min.js) is not loaded');
  return globalThis.kairos;
}

/** Rounds to cents (float sums of prices drift). @param {number} amount */
export const cents = (amount) => Math.round(amount * 100) / 100;

/**
 * Cart lines as the spec's `products[]` (product fields, quantity, position).
 * @param {readonly CartLine[]} lines
 */
export function lineProducts(lines) {
  return lines.flatMap((line, index) => {
    const product = productById(line.product_id);
    return product ? [{ ...productFields(product), quantity: line.quantity, position: index + 1 }] : [];
  });
}

/** @param {readonly CartLine[]} lines */
export function subtotal(lines) {
  return cents(lines.reduce((sum, l) => sum + (productById(l.product_id)?.price ?? 0) * l.quantity, 0));
}

/** Shipping is free from $75 (a number the banners and the checkout page agree on). @param {number} amount */
export const shippingFor = (amount) => (amount >= 75 || amount === 0 ? 0 : 4.99);

/** @param {string} name @param {Record<string, unknown>} [properties] */
export function trackPage(name, properties = {}) {
  sdk().page(name, properties);
}

/** @param {Product} product */
export function trackProductViewed(product) {
  sdk().track('Product Viewed', { ...productFields(product), currency: CURRENCY });
}

/**
 * A click on a product card. From a recommendation list it carries that answer's
 * `recommendation_id` explicitly (the SDK would also attribute a click on any recommended item).
 * @param {Product} product
 * @param {{ list: string, position: number, recommendationId?: string }} where
 */
export function trackProductClicked(product, where) {
  sdk().track('Product Clicked', {
    ...productFields(product),
    position: where.position,
    list_id: where.list,
    ...(where.recommendationId ? { recommendation_id: where.recommendationId } : {}),
  });
}

/** @param {Product} product @param {number} quantity @param {string} cartId */
export function trackProductAdded(product, quantity, cartId) {
  sdk().track('Product Added', { ...productFields(product), quantity, cart_id: cartId, currency: CURRENCY });
}

/** @param {Product} product @param {number} quantity @param {string} cartId */
export function trackProductRemoved(product, quantity, cartId) {
  sdk().track('Product Removed', { ...productFields(product), quantity, cart_id: cartId, currency: CURRENCY });
}

/** @param {string} cartId @param {readonly CartLine[]} lines */
export function trackCartViewed(cartId, lines) {
  sdk().track('Cart Viewed', { cart_id: cartId, products: lineProducts(lines) });
}

/** @param {string} query */
export function trackProductsSearched(query) {
  sdk().track('Products Searched', { query });
}

/**
 * @typedef {{ order_id: string, subtotal: number, revenue: number, shipping: number, tax: number,
 *   total: number, currency: string, products: ReturnType<typeof lineProducts> }} OrderSummary
 */

/**
 * The amounts of an order. `revenue` is the spec's: the products' value, without shipping or tax.
 * @param {string} orderId
 * @param {readonly CartLine[]} lines
 * @returns {OrderSummary}
 */
export function orderSummary(orderId, lines) {
  const sub = subtotal(lines);
  const shipping = shippingFor(sub);
  return {
    order_id: orderId,
    subtotal: sub,
    revenue: sub,
    shipping,
    tax: 0,
    total: cents(sub + shipping),
    currency: CURRENCY,
    products: lineProducts(lines),
  };
}

/** @param {OrderSummary} order */
export function trackCheckoutStarted(order) {
  const { order_id, revenue, currency, products } = order;
  sdk().track('Checkout Started', { order_id, value: order.total, revenue, currency, products });
}

/** @param {OrderSummary} order @param {string} checkoutId */
export function trackOrderCompleted(order, checkoutId) {
  sdk().track('Order Completed', { ...order, checkout_id: checkoutId });
}
