/**
 * MetadataStore — the small, durable, document-shaped data the engine is configured by: segment
 * definitions, event schemas, keys, destinations, the identity map, dead letters, the model registry.
 * Low volume, read often, written rarely. Embedded (lmdb) by default; PostgreSQL when distributed.
 *
 * Contract (checked by `metadata-conformance.ts`):
 * - Documents are JSON values, grouped in named collections, addressed by string id.
 * - A resolved `put`/`delete`/`putIfAbsent` is durable and visible to every later read, in any process.
 * - `list` returns documents in ascending id order (byte order of the UTF-8 id), paged by `after`.
 */
export interface MetadataDoc<T> {
  readonly id: string;
  readonly doc: T;
}

export interface ListOptions {
  /** Only ids starting with this prefix. */
  readonly prefix?: string;
  /** Only ids strictly greater than this one (the previous page's `next`). */
  readonly after?: string;
  /** @default 100 */
  readonly limit?: number;
  /** Descending id order (newest first for time-ordered ids). @default false */
  readonly reverse?: boolean;
}

export interface MetadataPage<T> {
  readonly items: MetadataDoc<T>[];
  /** Cursor for the next page; absent on the last page. */
  readonly next?: string;
}

export interface MetadataStore {
  readonly kind: string;
  get<T>(collection: string, id: string): Promise<T | undefined>;
  put<T>(collection: string, id: string, doc: T): Promise<void>;
  /** Writes only when `id` is absent; resolves true when it wrote. Atomic against concurrent writers. */
  putIfAbsent<T>(collection: string, id: string, doc: T): Promise<boolean>;
  delete(collection: string, id: string): Promise<boolean>;
  list<T>(collection: string, options?: ListOptions): Promise<MetadataPage<T>>;
  count(collection: string, prefix?: string): Promise<number>;
  close(): Promise<void>;
}

/** Deletes every document of `collection` (whose id starts with `prefix`, when given), page by page. */
export async function deleteAll(metadata: MetadataStore, collection: string, prefix?: string): Promise<void> {
  for (;;) {
    const page = await metadata.list(collection, { ...(prefix === undefined ? {} : { prefix }), limit: 500 });
    if (page.items.length === 0) return;
    await Promise.all(page.items.map((item) => metadata.delete(collection, item.id)));
  }
}
