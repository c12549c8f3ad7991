import { randomBytes } from 'node:crypto';
import type { Clock, EventType, JsonObject } from '../core/index.js';
import type { MetadataStore } from '../store/index.js';
import type { MessageErrorCode } from './errors.js';
import type { DeadLetter, DeadLetterPage, DeadLetterQuery } from './types.js';

/** Metadata collections: the dead letters (time-ordered ids) and messageId → dead-letter id. */
export const DEAD_LETTER_COLLECTION = 'dead-letters';
export const DEAD_LETTER_INDEX_COLLECTION = 'dead-letter-ids';

const MAX_PAGE = 1000;

/** A rejection to keep, already serialised (it holds no parsed message object). */
export interface DeadLetterInput {
  readonly messageId: string;
  /** Client-given ids deduplicate dead letters: a retried invalid message updates its dead letter. */
  readonly clientMessageId: boolean;
  readonly code: MessageErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** The message as JSON text (null when it cannot be serialised). */
  readonly raw: string | null;
  readonly type?: string;
  readonly event?: string;
  readonly receivedAtMs: number;
  readonly batch?: { readonly sentAt?: unknown; readonly context?: JsonObject; readonly impliedType?: EventType };
}

export function deadLetterInput(
  rejection: {
    readonly messageId: string;
    readonly clientMessageId: boolean;
    readonly code: MessageErrorCode;
    readonly message: string;
    readonly details: Readonly<Record<string, unknown>>;
  },
  raw: unknown,
  receivedAtMs: number,
  batch: DeadLetterInput['batch'],
): DeadLetterInput {
  const type = shortString(field(raw, 'type'));
  const event = shortString(field(raw, 'event'));
  return {
    messageId: rejection.messageId,
    clientMessageId: rejection.clientMessageId,
    code: rejection.code,
    message: rejection.message,
    details: rejection.details,
    raw: serialise(raw),
    ...(type !== undefined ? { type } : {}),
    ...(event !== undefined ? { event } : {}),
    receivedAtMs,
    ...(batch ? { batch } : {}),
  };
}

/** The message as JSON text; null when it cannot be serialised (nested beyond the engine's stack). */
function serialise(raw: unknown): string | null {
  try {
    return JSON.stringify(raw) ?? null;
  } catch {
    return null;
  }
}

function shortString(value: unknown): string | undefined {
  return typeof value === 'string' ? value.slice(0, 256) : undefined;
}

function field(raw: unknown, name: string): unknown {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw)
    ? (raw as Record<string, unknown>)[name]
    : undefined;
}

export function matchesFilter(doc: DeadLetter, filter: { readonly code?: string; readonly event?: string }): boolean {
  return (
    (filter.code === undefined || doc.code === filter.code) &&
    (filter.event === undefined || doc.event === filter.event)
  );
}

/**
 * The dead-letter store over the metadata store. Documents hold the raw message as JSON text (so
 * nothing in it is interpreted by the store's encoder) and the batch envelope needed to normalise it
 * again on replay. Ids sort by arrival: `<ms, 15 digits>-<process>-<sequence>`.
 */
export class DeadLetterStore {
  private readonly instance = randomBytes(4).toString('hex');
  private sequence = 0;
  private approximateCount = 0;
  evicted = 0;

  constructor(
    private readonly metadata: MetadataStore,
    private readonly clock: Clock,
    private readonly maxEntries: number,
  ) {}

  async start(): Promise<void> {
    this.approximateCount = await this.metadata.count(DEAD_LETTER_COLLECTION);
  }

  private nextId(nowMs: number): string {
    this.sequence = (this.sequence + 1) % 2_176_782_336;
    return `${String(nowMs).padStart(15, '0')}-${this.instance}-${this.sequence.toString(36).padStart(6, '0')}`;
  }

  /** Stores rejections durably (resolves once written). Returns how many new dead letters were created. */
  async add(inputs: readonly DeadLetterInput[]): Promise<number> {
    const nowMs = this.clock.now();
    const now = new Date(nowMs).toISOString();
    const existing = await Promise.all(
      inputs.map(async (input) => {
        if (!input.clientMessageId) return undefined;
        const ref = await this.metadata.get<{ id: string }>(DEAD_LETTER_INDEX_COLLECTION, input.messageId);
        return ref ? this.metadata.get<DeadLetter>(DEAD_LETTER_COLLECTION, ref.id) : undefined;
      }),
    );
    const writes: Promise<unknown>[] = [];
    let created = 0;
    inputs.forEach((input, i) => {
      const previous = existing[i];
      const doc: DeadLetter = {
        id: previous?.id ?? this.nextId(nowMs),
        messageId: input.messageId,
        code: input.code,
        message: input.message,
        ...(input.details ? { details: input.details } : {}),
        ...(input.type !== undefined ? { type: input.type } : {}),
        ...(input.event !== undefined ? { event: input.event } : {}),
        receivedAt: new Date(input.receivedAtMs).toISOString(),
        receivedAtMs: input.receivedAtMs,
        lastRejectedAt: now,
        attempts: (previous?.attempts ?? 0) + 1,
        raw: input.raw,
        ...(input.batch ? { batch: input.batch } : {}),
      };
      writes.push(this.metadata.put(DEAD_LETTER_COLLECTION, doc.id, doc));
      if (!previous) {
        created++;
        if (input.clientMessageId)
          writes.push(this.metadata.put(DEAD_LETTER_INDEX_COLLECTION, input.messageId, { id: doc.id }));
      }
    });
    await Promise.all(writes);
    this.approximateCount += created;
    if (this.approximateCount > this.maxEntries) await this.evictOldest(this.approximateCount - this.maxEntries);
    return created;
  }

  /** Rewrites a dead letter after a replay that still failed. */
  async update(doc: DeadLetter): Promise<void> {
    await this.metadata.put(DEAD_LETTER_COLLECTION, doc.id, doc);
  }

  async remove(doc: DeadLetter): Promise<void> {
    const removed = await this.metadata.delete(DEAD_LETTER_COLLECTION, doc.id);
    if (removed) this.approximateCount = Math.max(0, this.approximateCount - 1);
    const ref = await this.metadata.get<{ id: string }>(DEAD_LETTER_INDEX_COLLECTION, doc.messageId);
    if (ref?.id === doc.id) await this.metadata.delete(DEAD_LETTER_INDEX_COLLECTION, doc.messageId);
  }

  get(id: string): Promise<DeadLetter | undefined> {
    return this.metadata.get<DeadLetter>(DEAD_LETTER_COLLECTION, id);
  }

  count(): Promise<number> {
    return this.metadata.count(DEAD_LETTER_COLLECTION);
  }

  /**
   * A page of dead letters matching the filter. Filters scan (there is no secondary index): one call
   * looks at most at max(1000, 20 × limit) documents and returns a cursor to continue from.
   */
  async list(query: DeadLetterQuery = {}): Promise<DeadLetterPage> {
    const limit = Math.min(Math.max(1, Math.floor(query.limit ?? 100)), MAX_PAGE);
    const reverse = (query.order ?? 'desc') === 'desc';
    const scanBudget = Math.max(1000, limit * 20);
    const items: DeadLetter[] = [];
    let after = query.cursor;
    let scanned = 0;
    let exhausted = false;
    scan: for (;;) {
      const page = await this.metadata.list<DeadLetter>(DEAD_LETTER_COLLECTION, {
        reverse,
        limit: Math.min(500, scanBudget - scanned),
        ...(after !== undefined ? { after } : {}),
      });
      for (let i = 0; i < page.items.length; i++) {
        const { id, doc } = page.items[i]!;
        scanned++;
        after = id;
        if (!matchesFilter(doc, query)) continue;
        items.push(doc);
        if (items.length === limit) {
          exhausted = i === page.items.length - 1 && page.next === undefined;
          break scan;
        }
      }
      if (page.next === undefined) {
        exhausted = true;
        break;
      }
      if (scanned >= scanBudget) break;
    }
    const next = exhausted ? undefined : after;
    return { items, ...(next !== undefined ? { next } : {}), total: await this.metadata.count(DEAD_LETTER_COLLECTION) };
  }

  /** Dead letters matching `filter`, oldest first, up to `limit` (for replay). */
  async scan(filter: { readonly code?: string; readonly event?: string }, limit: number): Promise<DeadLetter[]> {
    const out: DeadLetter[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.metadata.list<DeadLetter>(DEAD_LETTER_COLLECTION, {
        limit: 500,
        ...(after !== undefined ? { after } : {}),
      });
      for (const { doc } of page.items) {
        if (matchesFilter(doc, filter)) out.push(doc);
        if (out.length >= limit) return out;
      }
      if (page.next === undefined) return out;
      after = page.next;
    }
  }

  private async evictOldest(count: number): Promise<void> {
    const page = await this.metadata.list<DeadLetter>(DEAD_LETTER_COLLECTION, { limit: Math.min(count, 10_000) });
    await Promise.all(page.items.map(({ doc }) => this.remove(doc)));
    this.evicted += page.items.length;
  }
}
