// Product pictures drawn as inline SVG: one simple shape per category, in the product's colour, on a
// tint of it. No image files, no external requests, nothing licensed.

/**
 * Mixes a hex colour with white (amount 0..1), for the tile background.
 * @param {string} hex
 * @param {number} amount
 */
function tint(hex, amount) {
  const n = Number.parseInt(hex.slice(1), 16);
  const mix = (/** @type {number} */ c) => Math.round(c + (255 - c) * amount);
  const r = mix((n >> 16) & 255);
  const g = mix((n >> 8) & 255);
  const b = mix(n & 255);
  return `rgb(${r} ${g} ${b})`;
}

/**
 * Shapes on a 100×100 canvas; `c` is the product colour, `a` an accent (dark or light).
 * @type {Record<string, (c: string, a: string) => string>}
 */
const SHAPES = {
  shoe: (c, a) =>
    `<path d="M12 66 Q13 47 29 48 L42 41 Q50 54 66 54 L85 59 Q92 62 90 70 L12 70 Z" fill="${c}"/>` +
    `<rect x="11" y="70" width="80" height="7" rx="3" fill="${a}"/>` +
    `<path d="M46 50 L52 46 M52 53 L58 49 M58 55 L63 51" stroke="${a}" stroke-width="2"/>`,
  jacket: (c, a) =>
    `<path d="M36 20 L50 26 L64 20 L82 30 L90 62 L78 65 L74 44 L74 84 L26 84 L26 44 L22 65 L10 62 L18 30 Z" fill="${c}"/>` +
    `<path d="M50 26 L50 84" stroke="${a}" stroke-width="2.5"/>` +
    `<path d="M36 20 L50 36 L64 20" fill="none" stroke="${a}" stroke-width="2.5"/>`,
  tee: (c, a) =>
    `<path d="M36 18 Q50 28 64 18 L88 30 L80 46 L70 42 L70 84 L30 84 L30 42 L20 46 L12 30 Z" fill="${c}"/>` +
    `<path d="M38 19 Q50 30 62 19" fill="none" stroke="${a}" stroke-width="2.5"/>`,
  bag: (c, a) =>
    `<path d="M38 24 Q38 12 50 12 Q62 12 62 24" fill="none" stroke="${a}" stroke-width="4"/>` +
    `<rect x="24" y="22" width="52" height="64" rx="10" fill="${c}"/>` +
    `<path d="M24 42 Q50 54 76 42 L76 36 Q50 46 24 36 Z" fill="${a}" opacity="0.6"/>` +
    `<rect x="38" y="60" width="24" height="14" rx="3" fill="${a}" opacity="0.5"/>`,
  watch: (c, a) =>
    `<rect x="38" y="8" width="24" height="84" rx="6" fill="${c}"/>` +
    `<circle cx="50" cy="50" r="24" fill="${a}"/>` +
    `<circle cx="50" cy="50" r="19" fill="#fff"/>` +
    `<path d="M50 50 L50 36 M50 50 L60 55" stroke="${a}" stroke-width="3" stroke-linecap="round"/>`,
  headphones: (c, a) =>
    `<path d="M20 60 Q20 18 50 18 Q80 18 80 60" fill="none" stroke="${c}" stroke-width="7"/>` +
    `<rect x="12" y="54" width="18" height="30" rx="7" fill="${c}"/>` +
    `<rect x="70" y="54" width="18" height="30" rx="7" fill="${c}"/>` +
    `<rect x="17" y="60" width="8" height="18" rx="3" fill="${a}"/>` +
    `<rect x="75" y="60" width="8" height="18" rx="3" fill="${a}"/>`,
  lamp: (c, a) =>
    `<path d="M30 40 L42 14 L66 14 L78 40 Z" fill="${c}"/>` +
    `<rect x="51" y="40" width="5" height="38" fill="${a}"/>` +
    `<rect x="32" y="78" width="44" height="8" rx="3" fill="${a}"/>` +
    `<ellipse cx="54" cy="44" rx="10" ry="3" fill="#fff7c2"/>`,
  mug: (c, a) =>
    `<path d="M66 38 Q86 38 86 54 Q86 70 66 70" fill="none" stroke="${c}" stroke-width="7"/>` +
    `<rect x="20" y="28" width="50" height="56" rx="6" fill="${c}"/>` +
    `<rect x="20" y="28" width="50" height="8" rx="3" fill="${a}" opacity="0.5"/>` +
    `<path d="M36 20 Q40 14 36 8 M48 20 Q52 14 48 8" fill="none" stroke="${a}" stroke-width="2" opacity="0.6"/>`,
  glasses: (c, a) =>
    `<circle cx="30" cy="52" r="17" fill="${c}"/>` +
    `<circle cx="70" cy="52" r="17" fill="${c}"/>` +
    `<path d="M47 50 Q50 44 53 50" fill="none" stroke="${a}" stroke-width="4"/>` +
    `<path d="M13 48 L4 40 M87 48 L96 40" stroke="${a}" stroke-width="4" stroke-linecap="round"/>` +
    `<path d="M22 44 L30 40" stroke="#fff" stroke-width="3" opacity="0.6" stroke-linecap="round"/>`,
  plant: (c, a) =>
    `<ellipse cx="38" cy="36" rx="10" ry="22" transform="rotate(-25 38 36)" fill="${c}"/>` +
    `<ellipse cx="62" cy="36" rx="10" ry="22" transform="rotate(25 62 36)" fill="${c}"/>` +
    `<ellipse cx="50" cy="30" rx="9" ry="24" fill="${c}"/>` +
    `<path d="M30 60 L70 60 L64 88 L36 88 Z" fill="${a}"/>`,
  book: (c, a) =>
    `<rect x="24" y="14" width="54" height="72" rx="4" fill="${c}"/>` +
    `<rect x="24" y="14" width="9" height="72" rx="3" fill="${a}" opacity="0.6"/>` +
    `<rect x="42" y="30" width="28" height="12" rx="2" fill="#fff" opacity="0.8"/>` +
    `<rect x="68" y="14" width="5" height="30" fill="${a}"/>`,
  bottle: (c, a) =>
    `<rect x="42" y="8" width="16" height="10" rx="3" fill="${a}"/>` +
    `<path d="M40 18 L60 18 L62 28 Q70 32 70 42 L70 84 Q70 90 64 90 L36 90 Q30 90 30 84 L30 42 Q30 32 38 28 Z" fill="${c}"/>` +
    `<rect x="30" y="50" width="40" height="16" fill="${a}" opacity="0.35"/>`,
};

/** @param {string} text */
const escapeXml = (text) => text.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * An SVG picture of the product (markup; the product name is its accessible name).
 * @param {import('./catalogue.js').Product} product
 * @param {string} shape a category's `shape`
 */
export function productTile(product, shape) {
  const draw = SHAPES[shape] ?? /** @type {(c: string, a: string) => string} */ (SHAPES.bag);
  const dark = product.colour.name === 'Ink' || product.colour.name === 'Graphite' || product.colour.name === 'Navy';
  const accent = dark ? '#e8e4da' : '#2b2b2b';
  return (
    `<svg class="tile" viewBox="0 0 100 100" role="img" aria-label="${escapeXml(product.name)}">` +
    `<rect width="100" height="100" fill="${tint(product.colour.hex, 0.82)}"/>` +
    draw(product.colour.hex, accent) +
    `</svg>`
  );
}
