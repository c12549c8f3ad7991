import { randomBytes } from 'node:crypto';
import { systemClock, type Clock } from '../core/index.js';
import { deleteAll, type MetadataStore } from '../store/index.js';
import { SegmentsErrors } from './errors.js';
import { SEGMENT_ID_PATTERN } from './options.js';
import type { DeadLetter, Destination } from './types.js';

export const DESTINATIONS_COLLECTION = 'destinations';
export const WEBHOOK_CURSORS_COLLECTION = 'webhook-cursors';
export const DEAD_LETTERS_COLLECTION = 'webhook-dead-letters';

/** A destination as the API shows it: the secret is never returned after it is set. */
export type DestinationView = Omit<Destination, 'secret'> & { secretHint: string };

export interface DestinationServiceDeps {
  readonly metadata: MetadataStore;
  readonly clock?: Clock;
}

function invalid(pointer: string, expected: string): never {
  throw SegmentsErrors.create('SEGMENTS_DESTINATION_INVALID', `${pointer}: expected ${expected}`, {
    details: { pointer, expected },
  });
}

/** Webhook destinations and their dead letters, in the MetadataStore. */
export class DestinationService {
  private readonly clock: Clock;

  constructor(private readonly deps: DestinationServiceDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /**
   * Creates or replaces a destination from a PUT body `{url, secret?, segments?, types?, enabled?}`.
   * Without a secret, a new destination gets a generated one, returned once in `secret`.
   */
  async put(id: string, body: unknown): Promise<{ view: DestinationView; created: boolean; secret?: string }> {
    if (!SEGMENT_ID_PATTERN.test(id)) invalid('/id', 'a destination id: letters, digits, ".", "_", "-"');
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      invalid('', 'a JSON object {url, secret?, segments?, types?, enabled?}');
    const input = body as Record<string, unknown>;
    for (const key of Object.keys(input)) {
      if (!['id', 'url', 'secret', 'segments', 'types', 'enabled'].includes(key))
        invalid(`/${key}`, 'no such field (allowed: url, secret, segments, types, enabled)');
    }
    if (input.id !== undefined && input.id !== id) invalid('/id', `the id of the path ("${id}")`);
    let url: URL;
    try {
      url = new URL(String(input.url));
    } catch {
      invalid('/url', 'an absolute http(s) URL');
    }
    if (typeof input.url !== 'string' || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      invalid('/url', 'an absolute http(s) URL');
    if (
      input.secret !== undefined &&
      (typeof input.secret !== 'string' || input.secret.length < 16 || input.secret.length > 256)
    ) {
      invalid('/secret', 'a string of 16 to 256 characters');
    }
    if (input.segments !== undefined) {
      if (!Array.isArray(input.segments)) invalid('/segments', 'an array of segment ids');
      input.segments.forEach((s: unknown, i) => {
        if (typeof s !== 'string' || !SEGMENT_ID_PATTERN.test(s)) invalid(`/segments/${i}`, 'a segment id');
      });
    }
    if (input.types !== undefined) {
      if (!Array.isArray(input.types) || input.types.length === 0)
        invalid('/types', 'a non-empty array of "enter" and/or "exit"');
      input.types.forEach((t: unknown, i) => {
        if (t !== 'enter' && t !== 'exit') invalid(`/types/${i}`, '"enter" or "exit"');
      });
    }
    if (input.enabled !== undefined && typeof input.enabled !== 'boolean') invalid('/enabled', 'true or false');
    const existing = await this.deps.metadata.get<Destination>(DESTINATIONS_COLLECTION, id);
    const now = new Date(this.clock.now()).toISOString();
    const generated =
      input.secret === undefined && !existing ? `whsec_${randomBytes(24).toString('base64url')}` : undefined;
    const destination: Destination = {
      id,
      url: input.url,
      secret: input.secret ?? existing?.secret ?? generated!,
      enabled: input.enabled ?? true,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    if (input.segments !== undefined && (input.segments as string[]).length > 0)
      destination.segments = [...new Set(input.segments as string[])];
    if (input.types !== undefined) destination.types = [...new Set(input.types as ('enter' | 'exit')[])];
    await this.deps.metadata.put(DESTINATIONS_COLLECTION, id, destination);
    return { view: toView(destination), created: !existing, ...(generated ? { secret: generated } : {}) };
  }

  async get(id: string): Promise<DestinationView> {
    return toView(await this.require(id));
  }

  async require(id: string): Promise<Destination> {
    const destination = await this.deps.metadata.get<Destination>(DESTINATIONS_COLLECTION, id);
    if (!destination)
      throw SegmentsErrors.create('SEGMENTS_DESTINATION_NOT_FOUND', `No destination "${id}"`, { details: { id } });
    return destination;
  }

  /** Every destination, secrets included (for the dispatcher). */
  async all(): Promise<Destination[]> {
    const out: Destination[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.metadata.list<Destination>(DESTINATIONS_COLLECTION, {
        limit: 500,
        ...(after !== undefined ? { after } : {}),
      });
      out.push(...page.items.map((i) => i.doc));
      if (page.next === undefined) return out;
      after = page.next;
    }
  }

  async list(): Promise<DestinationView[]> {
    return (await this.all()).map(toView);
  }

  /** Deletes the destination, its delivery cursors and its dead letters. */
  async delete(id: string): Promise<void> {
    await this.require(id);
    await this.deps.metadata.delete(DESTINATIONS_COLLECTION, id);
    for (const collection of [WEBHOOK_CURSORS_COLLECTION, DEAD_LETTERS_COLLECTION]) {
      await deleteAll(this.deps.metadata, collection, `${id}/`);
    }
  }

  async deadLetters(
    id: string,
    options: { after?: string; limit?: number } = {},
  ): Promise<{ items: DeadLetter[]; next?: string }> {
    await this.require(id);
    const page = await this.deps.metadata.list<DeadLetter>(DEAD_LETTERS_COLLECTION, {
      prefix: `${id}/`,
      limit: Math.min(Math.max(options.limit ?? 100, 1), 500),
      ...(options.after !== undefined ? { after: `${id}/${options.after}` } : {}),
    });
    const items = page.items.map((i) => i.doc);
    return page.next !== undefined ? { items, next: page.next.slice(id.length + 1) } : { items };
  }

  async addDeadLetter(letter: DeadLetter): Promise<void> {
    await this.deps.metadata.put(DEAD_LETTERS_COLLECTION, `${letter.destinationId}/${letter.id}`, letter);
  }

  async removeDeadLetter(destinationId: string, id: string): Promise<void> {
    await this.deps.metadata.delete(DEAD_LETTERS_COLLECTION, `${destinationId}/${id}`);
  }
}

function toView(destination: Destination): DestinationView {
  const { secret, ...rest } = destination;
  return { ...rest, secretHint: `…${secret.slice(-4)}` };
}

export function createDestinationService(deps: DestinationServiceDeps): DestinationService {
  return new DestinationService(deps);
}
