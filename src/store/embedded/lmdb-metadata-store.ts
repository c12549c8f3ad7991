import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { open, type RootDatabase } from 'lmdb';
import type { ListOptions, MetadataDoc, MetadataPage, MetadataStore } from '../metadata-port.js';

/** Keys are `[collection, id]` tuples: lmdb orders them element by element, so scans stay in a collection. */
type Key = [string, string];
/** Sorts after every id that starts with a given prefix. */
const HIGH = '\uffff';

export interface LmdbMetadataStoreOptions {
  /** Directory of the store (created when missing). */
  readonly dir: string;
}

/**
 * MetadataStore on lmdb (one environment file in `dir`). Writes commit with fsync before the promise
 * resolves; lmdb's copy-on-write B-tree means a `kill -9` leaves the last committed state.
 */
export class LmdbMetadataStore implements MetadataStore {
  readonly kind = 'embedded';
  private readonly db: RootDatabase<unknown, Key>;

  constructor(options: LmdbMetadataStoreOptions) {
    mkdirSync(options.dir, { recursive: true });
    this.db = open<unknown, Key>({ path: join(options.dir, 'metadata.mdb'), compression: false });
  }

  get<T>(collection: string, id: string): Promise<T | undefined> {
    return Promise.resolve(this.db.get(key(collection, id)) as T | undefined);
  }

  async put<T>(collection: string, id: string, doc: T): Promise<void> {
    await this.db.put(key(collection, id), doc);
  }

  putIfAbsent<T>(collection: string, id: string, doc: T): Promise<boolean> {
    const k = key(collection, id);
    return this.db.transaction(() => {
      if (this.db.doesExist(k)) return false;
      void this.db.put(k, doc);
      return true;
    });
  }

  delete(collection: string, id: string): Promise<boolean> {
    const k = key(collection, id);
    return this.db.transaction(() => {
      if (!this.db.doesExist(k)) return false;
      void this.db.remove(k);
      return true;
    });
  }

  list<T>(collection: string, options: ListOptions = {}): Promise<MetadataPage<T>> {
    const limit = options.limit ?? 100;
    const base = key(collection, options.prefix ?? '');
    const upper = key(collection, (options.prefix ?? '') + HIGH);
    const range = options.reverse
      ? {
          start: options.after !== undefined ? key(collection, options.after) : upper,
          end: base,
          reverse: true,
          limit: limit + 1,
        }
      : {
          start: options.after !== undefined ? key(collection, options.after + '\u0000') : base,
          end: upper,
          limit: limit + 1,
        };
    const items: MetadataDoc<T>[] = [];
    for (const { key: k, value } of this.db.getRange(range)) {
      const id = k[1];
      if (options.reverse && options.after !== undefined && id === options.after) continue;
      items.push({ id, doc: value as T });
    }
    const page = items.slice(0, limit);
    const last = page.at(-1);
    return Promise.resolve(items.length > limit && last ? { items: page, next: last.id } : { items: page });
  }

  count(collection: string, prefix = ''): Promise<number> {
    return Promise.resolve(
      this.db.getKeysCount({ start: key(collection, prefix), end: key(collection, prefix + HIGH) }),
    );
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function key(collection: string, id: string): Key {
  return [collection, id];
}

export function createLmdbMetadataStore(options: LmdbMetadataStoreOptions): MetadataStore {
  return new LmdbMetadataStore(options);
}
