/** Dotted paths into events and traits: `properties.product_id`, `context.page.path`, `products.0.sku`. */

const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

export function isValidPath(path: string): boolean {
  if (path.length === 0 || path.length > 200) return false;
  for (const part of path.split('.')) if (part === '' || FORBIDDEN.has(part)) return false;
  return true;
}

export function splitPath(path: string): readonly string[] {
  return path.split('.');
}

/** The value at `parts` inside `root` (own properties and array indexes only), or undefined. */
export function valueAt(root: unknown, parts: readonly string[]): unknown {
  let current = root;
  for (const part of parts) {
    if (current === null || typeof current !== 'object') return undefined;
    if (Array.isArray(current)) {
      const index = Number(part);
      if (!Number.isInteger(index) || index < 0 || index >= current.length) return undefined;
      current = current[index] as unknown;
    } else {
      if (!Object.prototype.hasOwnProperty.call(current, part)) return undefined;
      current = (current as Record<string, unknown>)[part];
    }
  }
  return current;
}

/** RFC 6901 escaping of one reference token. */
export function pointerToken(token: string | number): string {
  return String(token).replace(/~/g, '~0').replace(/\//g, '~1');
}

export function pointer(base: string, ...tokens: (string | number)[]): string {
  let out = base;
  for (const token of tokens) out += `/${pointerToken(token)}`;
  return out;
}
