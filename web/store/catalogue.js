// The demo catalogue: 300 products in 12 categories, generated from a seeded PRNG so every visitor,
// every server and every test sees the same ids, names and prices. Nothing here is real data:
// the brands are invented, the pictures are drawn (tiles.js).

/**
 * @typedef {{ name: string, hex: string }} Colour
 * @typedef {{ id: string, name: string, shape: string, nouns: string[], brands: string[],
 *   price: [number, number], complements: string[] }} Category
 * @typedef {{ product_id: string, sku: string, category: string, categoryId: string, name: string,
 *   brand: string, variant: string, price: number, colour: Colour, popularity: number,
 *   rating: number }} Product
 */

/**
 * mulberry32: a tiny, well-mixed 32-bit PRNG; the same seed gives the same catalogue everywhere.
 * @param {number} seed
 * @returns {() => number} uniform in [0, 1)
 */
export function createRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const CATALOGUE_SEED = 20261128;
export const PRODUCTS_PER_CATEGORY = 25;
export const CURRENCY = 'USD';

/** @type {readonly Colour[]} */
export const COLOURS = [
  { name: 'Crimson', hex: '#c0392b' },
  { name: 'Tangerine', hex: '#e67e22' },
  { name: 'Mustard', hex: '#d4a017' },
  { name: 'Olive', hex: '#6b8e23' },
  { name: 'Forest', hex: '#2e7d4f' },
  { name: 'Teal', hex: '#16a085' },
  { name: 'Sky', hex: '#3498db' },
  { name: 'Navy', hex: '#2c3e70' },
  { name: 'Plum', hex: '#8e44ad' },
  { name: 'Rose', hex: '#d9668f' },
  { name: 'Sand', hex: '#c2a878' },
  { name: 'Graphite', hex: '#4a4f55' },
  { name: 'Chalk', hex: '#d9d6cf' },
  { name: 'Ink', hex: '#1f2328' },
];

const ADJECTIVES = [
  'Aero',
  'Nova',
  'Drift',
  'Summit',
  'Urban',
  'Coast',
  'Ember',
  'Glacier',
  'Metro',
  'Orbit',
  'Pioneer',
  'Quartz',
  'Ridge',
  'Solstice',
  'Tundra',
  'Vivid',
  'Willow',
  'Zephyr',
  'Harbor',
  'Lumen',
];

/**
 * The 12 categories. `complements` feeds the cart fallback panel ("goes well with"); `shape` picks
 * the drawing in tiles.js; prices are in dollars.
 * @type {readonly Category[]}
 */
export const CATEGORIES = [
  {
    id: 'sneakers',
    name: 'Sneakers',
    shape: 'shoe',
    nouns: ['Runner', 'Court', 'Trail', 'Racer', 'Slip-on'],
    brands: ['Strideloft', 'Kinetiq', 'Paceworks'],
    price: [49, 189],
    complements: ['bottles', 'backpacks'],
  },
  {
    id: 'jackets',
    name: 'Jackets',
    shape: 'jacket',
    nouns: ['Parka', 'Shell', 'Bomber', 'Windbreaker', 'Puffer'],
    brands: ['Northfold', 'Cirrus & Co', 'Thermline'],
    price: [79, 349],
    complements: ['t-shirts', 'backpacks'],
  },
  {
    id: 't-shirts',
    name: 'T-shirts',
    shape: 'tee',
    nouns: ['Tee', 'Crew', 'Pocket Tee', 'V-neck', 'Long Sleeve'],
    brands: ['Plainweave', 'Cottonry', 'Loomhouse'],
    price: [14, 49],
    complements: ['jackets', 'sunglasses'],
  },
  {
    id: 'backpacks',
    name: 'Backpacks',
    shape: 'bag',
    nouns: ['Daypack', 'Rolltop', 'Commuter', 'Trekker', 'Sling'],
    brands: ['Carryall', 'Packwell', 'Northfold'],
    price: [39, 179],
    complements: ['bottles', 'notebooks'],
  },
  {
    id: 'watches',
    name: 'Watches',
    shape: 'watch',
    nouns: ['Chrono', 'Diver', 'Field Watch', 'Dress Watch', 'Pilot'],
    brands: ['Tempora', 'Halcyon', 'Minutiae'],
    price: [89, 499],
    complements: ['sunglasses', 'notebooks'],
  },
  {
    id: 'headphones',
    name: 'Headphones',
    shape: 'headphones',
    nouns: ['Over-ear', 'On-ear', 'Studio', 'Wireless', 'Noise Cancelling'],
    brands: ['Resona', 'Quietline', 'Bassfield'],
    price: [29, 349],
    complements: ['backpacks', 'notebooks'],
  },
  {
    id: 'lamps',
    name: 'Lamps',
    shape: 'lamp',
    nouns: ['Desk Lamp', 'Floor Lamp', 'Reading Light', 'Task Lamp', 'Pendant'],
    brands: ['Lumencraft', 'Glowhaus', 'Arcform'],
    price: [24, 229],
    complements: ['notebooks', 'plants'],
  },
  {
    id: 'mugs',
    name: 'Mugs',
    shape: 'mug',
    nouns: ['Mug', 'Travel Mug', 'Espresso Cup', 'Stoneware Mug', 'Tumbler'],
    brands: ['Kilnworks', 'Morning Co', 'Claybird'],
    price: [9, 39],
    complements: ['notebooks', 'lamps'],
  },
  {
    id: 'sunglasses',
    name: 'Sunglasses',
    shape: 'glasses',
    nouns: ['Aviator', 'Wayfarer', 'Round Frame', 'Sport Shades', 'Cat-eye'],
    brands: ['Solaris', 'Brightside', 'Halcyon'],
    price: [19, 259],
    complements: ['t-shirts', 'watches'],
  },
  {
    id: 'plants',
    name: 'Plants',
    shape: 'plant',
    nouns: ['Fern', 'Monstera', 'Snake Plant', 'Succulent Set', 'Pothos'],
    brands: ['Greenroom', 'Leafline', 'Terrafolk'],
    price: [12, 89],
    complements: ['lamps', 'mugs'],
  },
  {
    id: 'notebooks',
    name: 'Notebooks',
    shape: 'book',
    nouns: ['Notebook', 'Journal', 'Sketchbook', 'Planner', 'Field Notes'],
    brands: ['Paperfold', 'Inkwell', 'Quillstone'],
    price: [6, 42],
    complements: ['mugs', 'lamps'],
  },
  {
    id: 'bottles',
    name: 'Bottles',
    shape: 'bottle',
    nouns: ['Bottle', 'Flask', 'Sport Bottle', 'Insulated Bottle', 'Canteen'],
    brands: ['Hydrant', 'Coolwell', 'Packwell'],
    price: [11, 59],
    complements: ['sneakers', 'backpacks'],
  },
];

/**
 * @template T
 * @param {() => number} random
 * @param {readonly T[]} list
 * @returns {T}
 */
const pick = (random, list) => /** @type {T} */ (list[Math.floor(random() * list.length)]);

/**
 * Prices end in .99 or .49, like a shop's; `random` decides where in the category's range.
 * @param {() => number} random
 * @param {[number, number]} range
 */
function priceIn(random, [low, high]) {
  const whole = Math.floor(low + random() * (high - low));
  return whole + (random() < 0.7 ? 0.99 : 0.49);
}

function generate() {
  const random = createRandom(CATALOGUE_SEED);
  /** @type {Product[]} */
  const products = [];
  let n = 0;
  for (const category of CATEGORIES) {
    const usedNames = new Set();
    for (let i = 0; i < PRODUCTS_PER_CATEGORY; i++) {
      n++;
      const colour = pick(random, COLOURS);
      const brand = pick(random, category.brands);
      let name;
      do name = `${pick(random, ADJECTIVES)} ${pick(random, category.nouns)}`;
      while (usedNames.has(name) && usedNames.size < ADJECTIVES.length * category.nouns.length);
      usedNames.add(name);
      const id = String(n).padStart(4, '0');
      products.push(
        Object.freeze({
          product_id: `p-${id}`,
          sku: `${category.id.slice(0, 3).toUpperCase()}-${id}-${colour.name.slice(0, 3).toUpperCase()}`,
          category: category.name,
          categoryId: category.id,
          name,
          brand,
          variant: colour.name,
          price: priceIn(random, category.price),
          colour,
          // A skewed draw, so a few products are much more popular than the rest (like real shops).
          popularity: Math.round(1000 * random() ** 3),
          rating: Math.round((3 + 2 * random()) * 10) / 10,
        }),
      );
    }
  }
  return products;
}

export const PRODUCTS = Object.freeze(generate());

const byId = new Map(PRODUCTS.map((p) => [p.product_id, p]));

/** @param {string} id */
export function productById(id) {
  return byId.get(id);
}

/** @param {string} id */
export function categoryById(id) {
  return CATEGORIES.find((c) => c.id === id);
}

/**
 * Most popular first; ties by id, so the order never depends on anything but the seed.
 * @param {Product} a
 * @param {Product} b
 */
export function byPopularity(a, b) {
  return b.popularity - a.popularity || (a.product_id < b.product_id ? -1 : 1);
}

/** @param {string} categoryId */
export function productsIn(categoryId) {
  return PRODUCTS.filter((p) => p.categoryId === categoryId);
}

/**
 * The deterministic fallback when no recommendation can be had: the most popular products of a
 * category, minus the ones to leave out (the product on screen, what is in the cart).
 * @param {string} categoryId
 * @param {number} n
 * @param {readonly string[]} [exclude] product ids
 */
export function popularIn(categoryId, n, exclude = []) {
  const skip = new Set(exclude);
  return productsIn(categoryId)
    .filter((p) => !skip.has(p.product_id))
    .sort(byPopularity)
    .slice(0, n);
}

/**
 * Case-insensitive match on name, brand, category and colour; every word must match.
 * @param {string} query
 */
export function search(query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return [];
  return PRODUCTS.filter((p) => {
    const text = `${p.name} ${p.brand} ${p.category} ${p.variant}`.toLowerCase();
    return words.every((w) => text.includes(w));
  }).sort(byPopularity);
}

/**
 * The Segment e-commerce product fields of a product (what every product event carries).
 * @param {Product} product
 */
export function productFields(product) {
  return {
    product_id: product.product_id,
    sku: product.sku,
    category: product.category,
    name: product.name,
    brand: product.brand,
    variant: product.variant,
    price: product.price,
  };
}
