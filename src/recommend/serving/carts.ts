/**
 * Live carts learned from the log: `Product Added` adds, `Product Removed` removes, `Order
 * Completed` empties. Bounded: at most `maxItems` per cart and `maxCarts` carts (the least
 * recently changed cart is forgotten first).
 */
export class CartTracker {
  private readonly carts = new Map<string, string[]>();

  constructor(
    private readonly maxCarts = 100_000,
    private readonly maxItems = 50,
  ) {}

  add(profileKey: string, itemId: string): void {
    const cart = this.take(profileKey) ?? [];
    const at = cart.indexOf(itemId);
    if (at !== -1) cart.splice(at, 1);
    cart.push(itemId);
    if (cart.length > this.maxItems) cart.shift();
    this.put(profileKey, cart);
  }

  remove(profileKey: string, itemId: string): void {
    const cart = this.carts.get(profileKey);
    if (!cart) return;
    const at = cart.indexOf(itemId);
    if (at !== -1) cart.splice(at, 1);
    if (cart.length === 0) this.carts.delete(profileKey);
  }

  clear(profileKey: string): void {
    this.carts.delete(profileKey);
  }

  /** An identity merge: the merged profile's cart joins the survivor's. */
  merge(fromKey: string, intoKey: string): void {
    const from = this.carts.get(fromKey);
    if (!from) return;
    this.carts.delete(fromKey);
    for (const itemId of from) this.add(intoKey, itemId);
  }

  get(profileKey: string): readonly string[] {
    return this.carts.get(profileKey) ?? [];
  }

  get size(): number {
    return this.carts.size;
  }

  private take(key: string): string[] | undefined {
    const cart = this.carts.get(key);
    if (cart) this.carts.delete(key);
    return cart;
  }

  private put(key: string, cart: string[]): void {
    this.carts.set(key, cart);
    while (this.carts.size > this.maxCarts) {
      const oldest = this.carts.keys().next();
      if (oldest.done) break;
      this.carts.delete(oldest.value);
    }
  }
}
