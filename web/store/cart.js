// The cart lives in the browser (localStorage), like a shop's guest cart: it survives reloads and
// log-in, and the engine learns about it only through the events the store sends.
/* global localStorage, crypto -- browser code */

const CART_KEY = 'kairos-store.cart';

/** @typedef {{ product_id: string, quantity: number }} CartLine */
/** @typedef {{ cartId: string, lines: CartLine[] }} Cart */

/** @returns {Cart} */
export function loadCart() {
  /** @type {unknown} */
  let parsed;
  try {
    parsed = JSON.parse(localStorage.getItem(CART_KEY) ?? 'null');
  } catch {
    // A corrupt cart is replaced by an empty one.
  }
  const cart = /** @type {Partial<Cart> | null | undefined} */ (parsed);
  if (cart && typeof cart.cartId === 'string' && Array.isArray(cart.lines))
    return { cartId: cart.cartId, lines: cart.lines };
  return { cartId: `cart-${crypto.randomUUID()}`, lines: [] };
}

/** @param {Cart} cart */
function saveCart(cart) {
  localStorage.setItem(CART_KEY, JSON.stringify(cart));
}

/** Adds `quantity` of a product; returns the new cart. @param {string} productId @param {number} quantity */
export function addToCart(productId, quantity) {
  const cart = loadCart();
  const line = cart.lines.find((l) => l.product_id === productId);
  if (line) line.quantity += quantity;
  else cart.lines.push({ product_id: productId, quantity });
  saveCart(cart);
  return cart;
}

/** Removes a product's line; returns the removed line (undefined when absent). @param {string} productId */
export function removeFromCart(productId) {
  const cart = loadCart();
  const line = cart.lines.find((l) => l.product_id === productId);
  cart.lines = cart.lines.filter((l) => l.product_id !== productId);
  saveCart(cart);
  return line;
}

/** Empties the cart after an order; the next cart gets a new id. */
export function clearCart() {
  localStorage.removeItem(CART_KEY);
}

/** @returns {number} */
export function cartCount() {
  return loadCart().lines.reduce((n, l) => n + l.quantity, 0);
}
