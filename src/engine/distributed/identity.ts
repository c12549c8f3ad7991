import { parseProfileKey, type Clock } from '../../core/index.js';
import { IDENTITY_COLLECTION } from '../../collect/index.js';
import { ProfileReader, lookupKey, type ProfileLookup, type ProfileReaderDeps } from '../../profiles/index.js';
import type { KeyState } from '../../stream/index.js';
import type { MetadataStore } from '../../store/index.js';

/** Upper bound on the identity edges followed (edges never form cycles; this guards a corrupt map). */
const MAX_HOPS = 32;

/**
 * The identity map as a process without a collector sees it: the edges the collector persists in the
 * metadata store (collection `identity`, id = linked key, `{into}`), read on demand and cached for
 * `cacheMs` (hits and misses alike). A link is visible here at most `cacheMs` after the collector
 * answered the request that made it.
 */
export class MetadataIdentityResolver {
  private readonly cache = new Map<string, { into: string | null; atMs: number }>();

  constructor(
    private readonly metadata: MetadataStore,
    private readonly clock: Clock,
    private readonly cacheMs = 5_000,
    private readonly maxEntries = 100_000,
  ) {}

  /** The root profile key `key` routes to (itself when unlinked). */
  async resolve(key: string): Promise<string> {
    let current = key;
    for (let hops = 0; hops < MAX_HOPS; hops++) {
      const next = await this.edge(current);
      if (next === null || next === key) return current;
      current = next;
    }
    return current;
  }

  private async edge(key: string): Promise<string | null> {
    const now = this.clock.now();
    const hit = this.cache.get(key);
    if (hit && now - hit.atMs <= this.cacheMs) return hit.into;
    const doc = await this.metadata.get<{ into: string }>(IDENTITY_COLLECTION, key);
    const into = typeof doc?.into === 'string' ? doc.into : null;
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(key, { into, atMs: now });
    return into;
  }
}

/**
 * Profile reads for the API role: the lookup key is first resolved through the persisted identity map
 * (so an anonymousId that was identified before it had any event finds the user's profile), then the
 * stored state is read from the StateStore, following seals as the embedded reader does.
 */
export class DistributedProfileReader extends ProfileReader {
  constructor(
    deps: ProfileReaderDeps,
    private readonly identity: MetadataIdentityResolver,
  ) {
    super(deps);
  }

  override async state(lookup: ProfileLookup): Promise<{ key: string; state: KeyState } | undefined> {
    const raw = lookupKey(lookup);
    if (raw === undefined) return undefined;
    const root = await this.identity.resolve(raw);
    const { kind, id } = parseProfileKey(root);
    return super.state(kind === 'user' ? { userId: id } : { anonymousId: id });
  }
}
