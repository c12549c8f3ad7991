// The demo store: a single-page app under /store/ (history routing; the engine answers every
// /store/… path with index.html). Each view sends a page call; product, cart and order actions send
// Segment e-commerce events; the rails and banners are personalised live. It talks to the engine
// only through the SDK.
/* global document, window, location, history, localStorage, sessionStorage, crypto, HTMLElement, HTMLFormElement, HTMLDialogElement, HTMLButtonElement, Element, FormData, URL, URLSearchParams, MouseEvent, SubmitEvent -- browser code */

import { CATEGORIES, PRODUCTS, byPopularity, categoryById, productById, productsIn, search } from './catalogue.js';
import { addToCart, cartCount, clearCart, loadCart, removeFromCart } from './cart.js';
import {
  orderSummary,
  shippingFor,
  subtotal,
  trackCartViewed,
  trackCheckoutStarted,
  trackOrderCompleted,
  trackPage,
  trackProductAdded,
  trackProductClicked,
  trackProductRemoved,
  trackProductViewed,
  trackProductsSearched,
} from './events.js';
import { followSegments, knownSegments, loadRail, onMembership } from './personalise.js';
import { productTile } from './tiles.js';

/** @typedef {import('./catalogue.js').Product} Product */
/** @typedef {import('./personalise.js').RailRequest} RailRequest */

const BASE = '/store';
const RECENT_CATEGORY_KEY = 'kairos-store.recent-category';
const CHECKOUT_KEY = 'kairos-store.checkout';
const LAST_ORDER_KEY = 'kairos-store.last-order';
const DEFAULT_CATEGORY = 'sneakers';

// ---- helpers -------------------------------------------------------------------------------------

/** @param {unknown} value */
const esc = (value) => String(value).replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * JSON.parse typed as unknown (callers check what they got).
 * @param {string | null} text
 * @returns {unknown}
 */
function parseJson(text) {
  try {
    return text === null ? null : JSON.parse(text);
  } catch {
    return null;
  }
}

/** A text field of a submitted form, trimmed ('' when absent). @param {FormData} data @param {string} key */
function formText(data, key) {
  const value = data.get(key);
  return typeof value === 'string' ? value.trim() : '';
}

/** @param {number} amount */
const money = (amount) => `$${amount.toFixed(2)}`;

/** @param {string} selector @returns {HTMLElement} */
function element(selector) {
  const found = document.querySelector(selector);
  if (!(found instanceof HTMLElement)) throw new Error(`missing element ${selector}`);
  return found;
}

const sdk = () => /** @type {NonNullable<typeof globalThis.kairos>} */ (globalThis.kairos);

/** @param {Product} product */
const shapeOf = (product) => categoryById(product.categoryId)?.shape ?? 'bag';

/**
 * A product card: a link to the product page. Clicks are tracked from these data attributes.
 * @param {Product} product
 * @param {{ list: string, position: number, testid?: string, recommendationId?: string }} where
 */
function productCard(product, where) {
  const id = esc(product.product_id);
  return `<a class="card" href="${BASE}/p/${id}" data-testid="${where.testid ?? 'product-card'}" data-item-id="${id}"
      data-product-id="${id}" data-list="${esc(where.list)}" data-position="${where.position}"${
        where.recommendationId ? ` data-recommendation-id="${esc(where.recommendationId)}"` : ''
      }>
      ${productTile(product, shapeOf(product))}
      <span class="card-brand">${esc(product.brand)}</span>
      <span class="card-name">${esc(product.name)}</span>
      <span class="card-meta"><span class="card-price">${money(product.price)}</span><span class="card-colour">${esc(product.variant)}</span></span>
    </a>`;
}

/** @param {readonly Product[]} products @param {string} list */
const grid = (products, list) =>
  `<div class="grid">${products.map((p, i) => productCard(p, { list, position: i + 1 })).join('')}</div>`;

// ---- routing -------------------------------------------------------------------------------------

/** Increases on every render: async work of a view that is gone must not touch the page. */
let renderToken = 0;

/** @param {string} url */
function navigate(url) {
  if (url !== location.pathname + location.search) history.pushState(null, '', url);
  render();
  window.scrollTo(0, 0);
}

/** @type {[RegExp, (match: RegExpMatchArray) => void][]} */
const ROUTES = [
  [/^\/?$/, () => homeView()],
  [/^\/c\/([\w-]+)\/?$/, (m) => categoryView(m[1] ?? '')],
  [/^\/p\/([\w-]+)\/?$/, (m) => productView(m[1] ?? '')],
  [/^\/cart\/?$/, () => cartView()],
  [/^\/checkout\/?$/, () => checkoutView()],
  [/^\/order\/([\w-]+)\/?$/, (m) => orderView(m[1] ?? '')],
  [/^\/search\/?$/, () => searchView(new URLSearchParams(location.search).get('q') ?? '')],
];

function render() {
  renderToken++;
  const path = location.pathname.startsWith(BASE) ? location.pathname.slice(BASE.length) : location.pathname;
  renderHeader();
  for (const [pattern, view] of ROUTES) {
    const match = path.match(pattern);
    if (match) return view(match);
  }
  return notFoundView();
}

/**
 * Sets the view's markup and title, then sends the page call (after the URL and title are final:
 * the SDK reads them into the message's context).
 * @param {string} view
 * @param {string} title
 * @param {string} html
 * @param {Record<string, unknown> | null} [pageProperties] null: a redraw of the same view, no page call
 */
function show(view, title, html, pageProperties = {}) {
  const main = element('#view');
  main.dataset.view = view;
  main.innerHTML = html;
  document.title = `${title} · Kairos Goods`;
  if (pageProperties) trackPage(title, pageProperties);
}

/**
 * Fills a rail placeholder when the recommendation (or its fallback) arrives.
 * @param {string} selector the placeholder
 * @param {RailRequest} request
 * @param {string} testid `recs` for personalised rails
 */
async function mountRail(selector, request, testid = 'recs') {
  const token = renderToken;
  const rail = await loadRail(request);
  const target = document.querySelector(selector);
  if (token !== renderToken || !(target instanceof HTMLElement)) return;
  const list = `rec-${request.placement}`;
  target.outerHTML = `<section class="rail" data-testid="${testid}" data-placement="${request.placement}"
      data-source="${rail.source}"${rail.recommendationId ? ` data-recommendation-id="${esc(rail.recommendationId)}"` : ''}
      ${rail.reason ? ` data-fallback-reason="${esc(rail.reason)}"` : ''}>
      <h2>${esc(rail.title)}${rail.source === 'kairos' && rail.model ? ` <small title="model">${esc(rail.model)}</small>` : ''}</h2>
      <div class="rail-items">${rail.products
        .map((p, i) =>
          productCard(p, {
            list,
            position: i + 1,
            testid: 'rec-item',
            ...(rail.recommendationId ? { recommendationId: rail.recommendationId } : {}),
          }),
        )
        .join('')}</div>
    </section>`;
}

/** @param {string} id */
const railPlaceholder = (id) =>
  `<section class="rail rail-loading" id="${id}" aria-busy="true"><h2>&nbsp;</h2><div class="rail-items"></div></section>`;

// ---- views ---------------------------------------------------------------------------------------

function homeView() {
  const cart = loadCart();
  const recentCategory = localStorage.getItem(RECENT_CATEGORY_KEY) ?? DEFAULT_CATEGORY;
  const trending = [...PRODUCTS].sort(byPopularity).slice(0, 8);
  show(
    'home',
    'Home',
    `<section class="hero">
        <h1>Everyday things, picked for you</h1>
        <p>A demo shop for <strong>Kairos</strong>: every click is an event, and the shelves below react to them live.</p>
      </section>
      ${railPlaceholder('rail-home')}
      <h2 class="section-title">Shop by category</h2>
      <div class="categories">${CATEGORIES.map((c) => {
        const hero = [...productsIn(c.id)].sort(byPopularity)[0];
        return `<a class="category" href="${BASE}/c/${c.id}" data-testid="category-link">${hero ? productTile(hero, c.shape) : ''}<span>${esc(c.name)}</span></a>`;
      }).join('')}</div>
      <h2 class="section-title">Trending now</h2>
      ${grid(trending, 'trending')}`,
  );
  void mountRail('#rail-home', {
    placement: 'home',
    n: 8,
    title: 'Recommended for you',
    fallbackCategory: categoryById(recentCategory) ? recentCategory : DEFAULT_CATEGORY,
    exclude: cart.lines.map((l) => l.product_id),
  });
}

/** @param {string} id */
function categoryView(id) {
  const category = categoryById(id);
  if (!category) return notFoundView();
  const products = [...productsIn(id)].sort(byPopularity);
  show(
    'category',
    category.name,
    `<nav class="crumbs"><a href="${BASE}/">Home</a> › ${esc(category.name)}</nav>
      <h1>${esc(category.name)} <small>${products.length} products</small></h1>
      ${grid(products, `category-${id}`)}`,
    { category: category.name },
  );
}

/** @param {string} id */
function productView(id) {
  const product = productById(id);
  if (!product) return notFoundView();
  localStorage.setItem(RECENT_CATEGORY_KEY, product.categoryId);
  const cart = loadCart();
  show(
    'product',
    product.name,
    `<nav class="crumbs"><a href="${BASE}/">Home</a> › <a href="${BASE}/c/${product.categoryId}">${esc(product.category)}</a> › ${esc(product.name)}</nav>
      <article class="product" data-product-id="${esc(product.product_id)}">
        <div class="product-picture">${productTile(product, shapeOf(product))}</div>
        <div class="product-info">
          <p class="product-brand">${esc(product.brand)}</p>
          <h1>${esc(product.name)}</h1>
          <p class="product-price">${money(product.price)}</p>
          <p>Colour: <strong>${esc(product.variant)}</strong> · Rated ${product.rating} / 5 · SKU ${esc(product.sku)}</p>
          <p class="product-blurb">A ${esc(product.variant.toLowerCase())} ${esc(product.name.toLowerCase())} by ${esc(product.brand)}. Free shipping from $75.</p>
          <button class="primary" data-testid="add-to-cart" data-product-id="${esc(product.product_id)}">Add to cart</button>
          <span class="added" data-testid="added-note" hidden>Added to your cart ✓</span>
        </div>
      </article>
      ${railPlaceholder('rail-product')}`,
    { category: product.category, product_id: product.product_id },
  );
  trackProductViewed(product);
  void mountRail('#rail-product', {
    placement: 'product',
    itemId: product.product_id,
    n: 8,
    title: 'Similar items',
    fallbackCategory: product.categoryId,
    exclude: [product.product_id, ...cart.lines.map((l) => l.product_id)],
  });
}

/** @param {{ redraw?: boolean }} [how] redraw: the cart changed under the visitor's eyes (no new view events) */
function cartView(how = {}) {
  const cart = loadCart();
  const lines = cart.lines.flatMap((line) => {
    const product = productById(line.product_id);
    return product ? [{ line, product }] : [];
  });
  const sub = subtotal(cart.lines);
  const shipping = shippingFor(sub);
  const first = lines[0]?.product;
  const complementCategory = first
    ? (categoryById(first.categoryId)?.complements[0] ?? first.categoryId)
    : DEFAULT_CATEGORY;
  show(
    'cart',
    'Cart',
    `<h1>Your cart</h1>
      ${
        lines.length
          ? `<ul class="cart-lines">${lines
              .map(
                ({
                  line,
                  product,
                }) => `<li class="cart-line" data-testid="cart-line" data-product-id="${esc(product.product_id)}">
                  <a href="${BASE}/p/${esc(product.product_id)}" class="thumb">${productTile(product, shapeOf(product))}</a>
                  <span class="cart-name"><strong>${esc(product.name)}</strong><br>${esc(product.brand)} · ${esc(product.variant)}</span>
                  <span>× ${line.quantity}</span>
                  <span class="cart-amount">${money(product.price * line.quantity)}</span>
                  <button class="link" data-testid="remove-from-cart" data-product-id="${esc(product.product_id)}">Remove</button>
                </li>`,
              )
              .join('')}</ul>
            <div class="cart-summary">
              <p>Subtotal <strong>${money(sub)}</strong></p>
              <p>Shipping <strong>${shipping ? money(shipping) : 'free'}</strong></p>
              <a class="button primary" href="${BASE}/checkout" data-testid="checkout">Checkout</a>
            </div>`
          : `<p class="empty" data-testid="cart-empty">Your cart is empty. <a href="${BASE}/">Keep shopping</a>.</p>`
      }
      ${railPlaceholder('rail-cart')}`,
    how.redraw ? null : {},
  );
  if (how.redraw) renderHeader();
  if (!how.redraw) trackCartViewed(cart.cartId, cart.lines);
  void mountRail('#rail-cart', {
    placement: 'cart',
    // The cart placement takes every cart item, comma-separated (GET /v1/recommendations itemId).
    ...(cart.lines.length ? { itemId: cart.lines.map((l) => l.product_id).join(',') } : {}),
    n: 6,
    title: 'Goes well with your cart',
    fallbackCategory: complementCategory,
    exclude: cart.lines.map((l) => l.product_id),
  });
}

/**
 * The checkout in progress: one order id from "Checkout Started" to "Order Completed", kept for the
 * tab (a reload of the checkout page continues the same checkout).
 * @returns {{ checkoutId: string, orderId: string }}
 */
function currentCheckout() {
  const stored = /** @type {{ checkoutId?: unknown, orderId?: unknown } | null} */ (
    parseJson(sessionStorage.getItem(CHECKOUT_KEY))
  );
  if (stored && typeof stored.checkoutId === 'string' && typeof stored.orderId === 'string') {
    return { checkoutId: stored.checkoutId, orderId: stored.orderId };
  }
  const checkout = { checkoutId: `chk-${crypto.randomUUID()}`, orderId: `o-${crypto.randomUUID().slice(0, 13)}` };
  sessionStorage.setItem(CHECKOUT_KEY, JSON.stringify(checkout));
  return checkout;
}

function checkoutView() {
  const cart = loadCart();
  if (!cart.lines.length) {
    show(
      'checkout',
      'Checkout',
      `<h1>Checkout</h1><p class="empty">Your cart is empty. <a href="${BASE}/">Keep shopping</a>.</p>`,
    );
    return;
  }
  const { checkoutId, orderId } = currentCheckout();
  const order = orderSummary(orderId, cart.lines);
  const traits = sdk().user().traits;
  const trait = (/** @type {string} */ key) => (typeof traits[key] === 'string' ? esc(traits[key]) : '');
  show(
    'checkout',
    'Checkout',
    `<h1>Checkout</h1>
      <form class="checkout" id="checkout-form">
        <fieldset>
          <legend>Delivery</legend>
          <label>Name <input name="name" autocomplete="name" value="${trait('name')}" required></label>
          <label>Email <input name="email" type="email" autocomplete="email" value="${trait('email')}" required></label>
          <label>Address <input name="address" autocomplete="street-address" value="1 Demo Street" required></label>
        </fieldset>
        <div class="cart-summary">
          <p>${order.products.length} product(s)</p>
          <p>Subtotal <strong>${money(order.subtotal)}</strong></p>
          <p>Shipping <strong>${order.shipping ? money(order.shipping) : 'free'}</strong></p>
          <p>Total <strong data-testid="order-total">${money(order.total)}</strong></p>
          <button class="primary" type="submit" data-testid="place-order">Place order</button>
        </div>
      </form>`,
  );
  trackCheckoutStarted(order);
  element('#checkout-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const placed = orderSummary(orderId, loadCart().lines);
    trackOrderCompleted(placed, checkoutId);
    // The order is the event that matters most: send it now rather than at the next flush tick.
    void sdk().flush();
    sessionStorage.setItem(LAST_ORDER_KEY, JSON.stringify(placed));
    sessionStorage.removeItem(CHECKOUT_KEY);
    clearCart();
    navigate(`${BASE}/order/${encodeURIComponent(orderId)}`);
  });
}

/** @param {string} orderId */
function orderView(orderId) {
  const order = /** @type {{ order_id?: string, total?: number, products?: unknown[] } | null} */ (
    parseJson(sessionStorage.getItem(LAST_ORDER_KEY))
  );
  const known = order?.order_id === orderId;
  show(
    'order',
    'Order confirmed',
    `<section class="confirmation" data-testid="order-confirmation" data-order-id="${esc(orderId)}">
        <h1>Thank you!</h1>
        <p>Order <strong>${esc(orderId)}</strong> is confirmed${
          known && order ? ` — ${order.products?.length ?? 0} product(s), ${money(order.total ?? 0)}` : ''
        }.</p>
        <p><a href="${BASE}/">Back to the shop</a></p>
      </section>`,
    { order_id: orderId },
  );
}

/** @param {string} query */
function searchView(query) {
  const results = search(query);
  show(
    'search',
    'Search',
    `<h1>Results for “${esc(query)}” <small data-testid="search-count">${results.length} products</small></h1>
      ${results.length ? grid(results.slice(0, 48), 'search') : '<p class="empty">Nothing matches. Try a colour, a brand or a category.</p>'}`,
    { query },
  );
}

function notFoundView() {
  show('not-found', 'Not found', `<h1>Not found</h1><p><a href="${BASE}/">Back to the shop</a></p>`);
}

// ---- header, banners, log-in ---------------------------------------------------------------------

function renderHeader() {
  const count = cartCount();
  element('#cart-count').textContent = String(count);
  const { userId, anonymousId, traits } = sdk().user();
  const name = typeof traits.name === 'string' && traits.name ? traits.name : userId;
  element('#account').innerHTML = userId
    ? `<span data-testid="signed-in-as">Hi, ${esc(name)}</span> <button class="link" data-testid="logout" id="logout">Log out</button>`
    : `<button class="link" data-testid="login" id="login">Log in</button>`;
  const profileId = userId ?? anonymousId;
  const profileQuery = userId
    ? `profile=${encodeURIComponent(userId)}`
    : `anonymousId=${encodeURIComponent(anonymousId)}`;
  element('#visitor').innerHTML = `Visitor <code data-testid="visitor-id" data-anonymous-id="${esc(anonymousId)}"${
    userId ? ` data-user-id="${esc(userId)}"` : ''
  }>${esc(profileId)}</code> · <a href="/dashboard/#${profileQuery}">see this profile in the dashboard</a>`;
  // The cart reminder shows the cart's size, which changes without a segment change.
  renderBanners(new Set(knownSegments()));
}

/** @param {ReadonlySet<string>} segments */
function renderBanners(segments) {
  const banners = [];
  if (segments.has('high-intent')) {
    banners.push(`<div class="banner banner-offer" data-testid="high-intent-banner" role="status">
      <strong>Still deciding?</strong> Take 10% off today with code <code>DECIDE10</code>.</div>`);
  }
  const count = cartCount();
  if (segments.has('cart-abandoner') && count) {
    banners.push(`<div class="banner banner-cart" data-testid="cart-reminder" role="status">
      You left ${count} item${count === 1 ? '' : 's'} in your cart. <a href="${BASE}/cart">Finish your order</a></div>`);
  }
  element('#banners').innerHTML = banners.join('');
}

function openLogin() {
  const dialog = /** @type {HTMLDialogElement} */ (element('#login-dialog'));
  dialog.showModal();
}

/** @param {SubmitEvent} event */
function onLogin(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const data = new FormData(form);
  const field = (/** @type {string} */ key) => formText(data, key);
  const userId = field('userId');
  if (!userId) return;
  // identify links this browser's anonymous id to the user: the engine merges the anonymous
  // profile (views, cart) into the user's.
  sdk().identify(userId, {
    ...(field('name') ? { name: field('name') } : {}),
    ...(field('email') ? { email: field('email') } : {}),
    plan: field('plan') || 'free',
  });
  /** @type {HTMLDialogElement} */ (element('#login-dialog')).close();
  renderHeader();
}

/** @param {MouseEvent} event */
function onClick(event) {
  if (!(event.target instanceof Element)) return;
  const button = event.target.closest('button');
  if (button?.id === 'login') return openLogin();
  if (button?.id === 'logout') {
    sdk().reset();
    return render();
  }
  if (button?.dataset.testid === 'add-to-cart') return onAddToCart(button);
  if (button?.dataset.testid === 'remove-from-cart') return onRemoveFromCart(button);
  if (button?.id === 'login-cancel') return /** @type {HTMLDialogElement} */ (element('#login-dialog')).close();

  const link = event.target.closest('a');
  if (
    !link ||
    event.defaultPrevented ||
    event.button !== 0 ||
    event.metaKey ||
    event.ctrlKey ||
    event.shiftKey ||
    event.altKey
  )
    return;
  const url = new URL(link.href, location.href);
  const productId = link.dataset.productId;
  if (productId && link.dataset.list) {
    const product = productById(productId);
    if (product) {
      trackProductClicked(product, {
        list: link.dataset.list,
        position: Number(link.dataset.position) || 0,
        ...(link.dataset.recommendationId ? { recommendationId: link.dataset.recommendationId } : {}),
      });
    }
  }
  if (url.origin !== location.origin || !url.pathname.startsWith(`${BASE}/`) || link.target) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
}

/** @param {HTMLButtonElement} button */
function onAddToCart(button) {
  const product = productById(button.dataset.productId ?? '');
  if (!product) return;
  const cart = addToCart(product.product_id, 1);
  trackProductAdded(product, 1, cart.cartId);
  renderHeader();
  const note = document.querySelector('[data-testid="added-note"]');
  if (note instanceof HTMLElement) note.hidden = false;
}

/** @param {HTMLButtonElement} button */
function onRemoveFromCart(button) {
  const product = productById(button.dataset.productId ?? '');
  if (!product) return;
  const line = removeFromCart(product.product_id);
  if (line) trackProductRemoved(product, line.quantity, loadCart().cartId);
  renderToken++;
  cartView({ redraw: true });
}

/** @param {SubmitEvent} event */
function onSearch(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const query = formText(new FormData(form), 'q');
  if (!query) return;
  trackProductsSearched(query);
  navigate(`${BASE}/search?q=${encodeURIComponent(query)}`);
}

// ---- boot ----------------------------------------------------------------------------------------

function boot() {
  const config = globalThis.KAIROS_CONFIG;
  if (!globalThis.kairos || !config) {
    element('#view').innerHTML = `<section class="error"><h1>The store cannot start</h1>
      <p>${globalThis.kairos ? 'The store configuration (/store/config.js) did not load.' : 'The Kairos SDK (/sdk/kairos.min.js) did not load: build it with <code>npm run build:sdk</code>.'}</p></section>`;
    return;
  }
  globalThis.kairos.load({ writeKey: config.writeKey, host: config.host });
  element('#category-nav').innerHTML = CATEGORIES.map((c) => `<a href="${BASE}/c/${c.id}">${esc(c.name)}</a>`).join('');
  document.addEventListener('click', onClick);
  element('#search-form').addEventListener('submit', onSearch);
  element('#login-form').addEventListener('submit', onLogin);
  window.addEventListener('popstate', render);
  followSegments();
  onMembership(renderBanners);
  render();
  document.documentElement.dataset.storeReady = 'true';
}

boot();
