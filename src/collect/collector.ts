import { anonymousKey, isKairosError, isSealRecord, userKey, type Clock, type Logger } from '../core/index.js';
import type { EventLog, LogEntry } from '../log/index.js';
import type { MetadataStore } from '../store/index.js';
import { DeadLetterStore, deadLetterInput, type DeadLetterInput } from './dead-letters.js';
import { DedupeIndex, Flight, FlightState, doneFlight } from './dedupe-index.js';
import { CollectErrors } from './errors.js';
import { IdentityMap, type IdentityChange } from './identity-map.js';
import { resolveCollectorOptions, type ResolvedCollectorOptions } from './options.js';
import { scanLogTail } from './rebuild.js';
import { SchemaRegistry } from './schema-registry.js';
import { checkScannedMessage, RecordWriter, scannedEnvelope } from './raw-message.js';
import type { ScannedBody } from './scan.js';
import { formatIsoTimestamp } from './timestamp.js';
import type {
  Collector,
  CollectorDeps,
  CollectorStats,
  DeadLetter,
  DeadLetterApi,
  IngestContext,
  IngestResult,
  PreparedBatch,
  Rejection,
  ReplayRequest,
  ReplayResult,
} from './types.js';
import {
  checkMessage,
  parseEnvelopeContext,
  parseEnvelopeSentAt,
  type BatchEnvelope,
  type InvalidMessage,
  type ValidMessage,
} from './validate.js';

/** Metadata collection of the identity map: id = the linked key, doc = IdentityDoc. */
export const IDENTITY_COLLECTION = 'identity';

interface IdentityDoc {
  /** The key it routes to (the edge, not the resolved root). */
  readonly into: string;
  readonly kind: 'link' | 'relink';
  readonly messageId: string;
  readonly linkedAtMs: number;
}

interface PendingLink {
  readonly change: IdentityChange;
  readonly messageId: string;
  readonly atMs: number;
}

const REPLAY_CHUNK = 500;

/**
 * The log entries of one append, as JSON (text, or bytes from the fast path) until `encode()` writes
 * them all into one buffer (one allocation per append instead of one per record). A record is `head`
 * with its closing brace replaced by `tail` (the routing fields): written in place, so the serialised
 * event is never copied into a concatenated string first.
 */
class EntryBatch {
  private readonly keys: string[] = [];
  private readonly heads: (string | Uint8Array)[] = [];
  private readonly tails: string[] = [];
  private readonly times: number[] = [];

  get size(): number {
    return this.keys.length;
  }

  /** `tail` replaces the last character of `head` (its `}`); '' keeps `head` whole. */
  add(key: string, head: string | Uint8Array, tail: string, timestampMs: number): void {
    this.keys.push(key);
    this.heads.push(head);
    this.tails.push(tail);
    this.times.push(timestampMs);
  }

  encode(): LogEntry[] {
    const { heads, tails } = this;
    const n = heads.length;
    const tailBytes = new Array<number>(n);
    let total = 0;
    for (let i = 0; i < n; i++) {
      const tail = tails[i]!;
      const head = heads[i]!;
      tailBytes[i] = tail === '' ? 0 : Buffer.byteLength(tail);
      total += (typeof head === 'string' ? Buffer.byteLength(head) : head.length) + Math.max(0, tailBytes[i]! - 1);
    }
    const slab = Buffer.allocUnsafe(total);
    // Entries are plain Uint8Array views (cheaper to make than Buffer#subarray's).
    const view = new Uint8Array(slab.buffer, slab.byteOffset, slab.length);
    const entries = new Array<LogEntry>(n);
    let offset = 0;
    for (let i = 0; i < n; i++) {
      const tail = tails[i]!;
      const head = heads[i]!;
      let end: number;
      if (typeof head === 'string') end = offset + slab.write(head, offset, 'utf8');
      else {
        view.set(head, offset);
        end = offset + head.length;
      }
      if (tail !== '') {
        // The tail replaces the head's closing brace. ASCII tails (the usual profile keys) by a loop.
        if (tailBytes[i] === tail.length) {
          for (let k = 0, at = end - 1; k < tail.length; k++, at++) view[at] = tail.charCodeAt(k);
          end += tail.length - 1;
        } else end += slab.write(tail, end - 1, 'utf8') - 1;
      }
      entries[i] = {
        key: this.keys[i]!,
        value: new Uint8Array(slab.buffer, slab.byteOffset + offset, end - offset),
        timestampMs: this.times[i]!,
      };
      offset = end;
    }
    heads.length = 0;
    tails.length = 0;
    return entries;
  }
}

/** What `prepare()` returns: opaque to transports, which hand it back to `commit()`. */
class Prepared implements PreparedBatch {
  constructor(
    private valid: ValidMessage[],
    readonly invalid: readonly InvalidMessage[],
    readonly deadLetters: readonly DeadLetterInput[],
    readonly received: number,
    readonly bytes: number,
  ) {}

  get rejected(): Rejection[] {
    return this.invalid.map(toRejection);
  }

  /** Hands the validated events over once: after that this object no longer keeps them alive. */
  takeValid(): ValidMessage[] {
    const valid = this.valid;
    this.valid = [];
    return valid;
  }
}

class Counters {
  messagesReceived = 0;
  messagesAccepted = 0;
  messagesDuplicate = 0;
  messagesRejected = 0;
  recordsAppended = 0;
  sealsAppended = 0;
  linksCreated = 0;
  linksRelinked = 0;
  linksIgnored = 0;
  appendFailures = 0;
  overloaded = 0;
  deadLettersStored = 0;
  deadLettersReplayed = 0;
  readonly rejectedByCode = new Map<string, number>();
}

/** Turns whatever the log or the store threw into a retryable request-level error. */
function asRequestError(error: unknown): Error {
  if (isKairosError(error)) return error;
  return CollectErrors.create('COLLECT_UNAVAILABLE', undefined, { cause: error });
}

/**
 * The collector: decode is the transport's job; this is authenticate-free logic from a list of raw
 * messages to durable log records: validate → dedupe → route (identity) → append → answer.
 */
class KairosCollector implements Collector {
  readonly options: ResolvedCollectorOptions;
  private readonly log: EventLog;
  private readonly metadata: MetadataStore;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly identity = new IdentityMap();
  private readonly dedupe: DedupeIndex;
  private readonly registry: SchemaRegistry;
  private readonly store: DeadLetterStore;
  private readonly counters = new Counters();
  /** Links whose append is durable but whose metadata write failed: retried with the next write. */
  private unpersisted: PendingLink[] = [];
  private inFlightBytes = 0;
  private active = 0;
  private closed = false;
  private drained: (() => void) | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;

  readonly deadLetters: DeadLetterApi;

  constructor(deps: CollectorDeps) {
    this.options = resolveCollectorOptions(deps.options);
    this.log = deps.log;
    this.metadata = deps.metadata;
    this.clock = deps.clock;
    this.logger = deps.logger;
    this.dedupe = new DedupeIndex(this.options.dedupeWindowMs, this.options.dedupeMaxEntries);
    this.registry = new SchemaRegistry(deps.metadata, deps.clock, deps.logger, this.options.maxEventNameLength);
    this.store = new DeadLetterStore(deps.metadata, deps.clock, this.options.deadLetterMaxEntries);
    this.deadLetters = {
      list: (query) => this.store.list(query),
      get: (id) => this.store.get(id),
      count: () => this.store.count(),
      replay: (request) => this.replay(request),
    };
  }

  get schemas(): SchemaRegistry {
    return this.registry;
  }

  async start(): Promise<void> {
    let after: string | undefined;
    for (;;) {
      const page = await this.metadata.list<IdentityDoc>(IDENTITY_COLLECTION, {
        limit: 1000,
        ...(after !== undefined ? { after } : {}),
      });
      for (const { id, doc } of page.items) this.identity.load(id, doc.into);
      if (page.next === undefined) break;
      after = page.next;
    }
    await this.registry.load();
    await this.store.start();
    if (this.options.rebuildOnStart) await this.rebuild();
    if (this.options.schemaRefreshMs > 0) {
      this.refreshTimer = setInterval(() => {
        this.registry
          .load()
          .catch((error: unknown) => this.logger.warn({ err: error }, 'schema registry refresh failed'));
      }, this.options.schemaRefreshMs);
      this.refreshTimer.unref();
    }
  }

  /**
   * Rebuilds the dedupe index from the records appended within the dedupe window, and re-creates the
   * identity links of that window that the metadata store misses (a crash between a durable append
   * and the link write leaves exactly those).
   */
  private async rebuild(): Promise<void> {
    const now = this.clock.now();
    const since = now - this.options.dedupeWindowMs;
    const perPartition = Math.ceil((2 * this.options.dedupeMaxEntries) / this.log.partitionCount);
    const missing: PendingLink[] = [];
    const scanned = await scanLogTail(this.log, since, perPartition, (batch) => {
      const last = batch.at(-1);
      if (!last) return;
      const flight = doneFlight(last.record.timestampMs);
      for (const { payload } of batch) {
        if (isSealRecord(payload)) continue;
        const event = payload;
        // Records the collector did not write may share the log: skip what does not look like an event.
        if (typeof event.messageId !== 'string') continue;
        if (event.receivedAtMs >= since) this.dedupe.addDone(event.messageId, flight);
        if (event.links && event.userId !== undefined) {
          for (const { fromKey } of event.links) {
            if (this.identity.isLinked(fromKey)) continue;
            const outcome = this.identity.link(fromKey, userKey(event.userId));
            if (typeof outcome === 'object')
              missing.push({ change: outcome, messageId: event.messageId, atMs: event.receivedAtMs });
          }
        }
      }
    });
    if (missing.length > 0) await this.persistLinks(missing);
    this.dedupe.evict(now);
    this.logger.info(
      { records: scanned, dedupeEntries: this.dedupe.size, linksRestored: missing.length },
      'collector state rebuilt from the log tail',
    );
  }

  hasCapacity(bytes: number): boolean {
    return this.inFlightBytes === 0 || this.inFlightBytes + bytes <= this.options.maxInFlightBytes;
  }

  resolveProfileKey(ids: { readonly userId?: string; readonly anonymousId?: string }): string | undefined {
    if (ids.userId !== undefined && ids.userId !== '') return this.identity.resolve(userKey(ids.userId));
    if (ids.anonymousId !== undefined && ids.anonymousId !== '')
      return this.identity.resolve(anonymousKey(ids.anonymousId));
    return undefined;
  }

  ingest(messages: readonly unknown[], ctx: IngestContext): Promise<IngestResult> {
    let prepared: PreparedBatch;
    try {
      prepared = this.prepare(messages, ctx);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.commit(prepared);
  }

  prepare(messages: readonly unknown[], ctx: IngestContext): PreparedBatch {
    this.admit(messages.length, ctx);
    const checkKeys = ctx.mayContainForbiddenKeys ?? true;
    const sentAt = parseEnvelopeSentAt(ctx.sentAt);
    const context = parseEnvelopeContext(ctx.context, this.options.maxDepth, checkKeys);
    const env: BatchEnvelope = {
      receivedAtMs: ctx.receivedAtMs,
      receivedAt: formatIsoTimestamp(ctx.receivedAtMs),
      ...sentAt,
      ...(context !== undefined ? { context } : {}),
      ...(ctx.impliedType !== undefined ? { impliedType: ctx.impliedType } : {}),
      checkForbiddenKeys: checkKeys,
    };
    const schemas = this.registry.active ? this.registry : undefined;
    const valid: ValidMessage[] = [];
    let invalid: InvalidMessage[] | undefined;
    for (let i = 0; i < messages.length; i++) {
      const checked = checkMessage(messages[i], i, env, this.options, schemas);
      if (checked.ok) valid.push(checked);
      else (invalid ??= []).push(checked);
    }
    return new Prepared(
      valid,
      invalid ?? [],
      invalid ? this.deadLetterInputs(invalid, messages, env, sentAt.sentAt) : [],
      messages.length,
      ctx.bytes ?? 0,
    );
  }

  prepareScanned(body: ScannedBody, ctx: IngestContext): PreparedBatch | undefined {
    this.admit(body.messages, ctx);
    const env = scannedEnvelope(body, ctx);
    if (env === undefined) return undefined;
    const schemas = this.registry.active ? this.registry : undefined;
    const out = new RecordWriter(body.view, body.bytes.length + 256 * body.messages);
    const valid = new Array<ValidMessage>(body.messages);
    for (let i = 0; i < body.messages; i++) {
      const checked = checkScannedMessage(body, i, env, this.options, schemas, out);
      if (checked === undefined) return undefined;
      valid[i] = checked;
    }
    return new Prepared(valid, [], [], body.messages, ctx.bytes ?? 0);
  }

  /** Request-level checks shared by both ways of preparing (they throw). */
  private admit(messages: number, ctx: IngestContext): void {
    if (this.closed) throw CollectErrors.create('COLLECT_CLOSED');
    if (messages > this.options.maxBatchMessages) {
      throw CollectErrors.create(
        'COLLECT_INVALID_BATCH',
        `A request carries at most ${this.options.maxBatchMessages} messages`,
        {
          details: { maxBatchMessages: this.options.maxBatchMessages, got: messages },
        },
      );
    }
    if (!this.hasCapacity(ctx.bytes ?? 0)) {
      this.counters.overloaded++;
      throw CollectErrors.create('COLLECT_OVERLOADED', undefined, {
        details: { inFlightBytes: this.inFlightBytes, maxInFlightBytes: this.options.maxInFlightBytes },
      });
    }
  }

  async commit(batch: PreparedBatch): Promise<IngestResult> {
    if (!(batch instanceof Prepared))
      throw CollectErrors.create('COLLECT_INVALID_OPTIONS', 'commit() takes what prepare() returned');
    if (this.closed) throw CollectErrors.create('COLLECT_CLOSED');
    this.inFlightBytes += batch.bytes;
    this.active++;
    try {
      this.counters.messagesReceived += batch.received;
      const dead = batch.deadLetters.length > 0 ? this.storeDeadLetters(batch.invalid, batch.deadLetters) : undefined;
      let accepted: number;
      try {
        accepted = await this.append(batch.takeValid());
      } catch (error) {
        // Both writes settle before answering; the log's failure is the one the client must see.
        await dead?.catch(() => undefined);
        throw error;
      }
      if (dead) await dead;
      this.counters.messagesAccepted += accepted;
      return { accepted, rejected: batch.rejected };
    } finally {
      this.inFlightBytes -= batch.bytes;
      if (--this.active === 0) this.drained?.();
    }
  }

  /** Serialises the rejected messages now, so nothing keeps the parsed request alive while it is written. */
  private deadLetterInputs(
    invalid: readonly InvalidMessage[],
    messages: readonly unknown[],
    env: BatchEnvelope,
    sentAt: string | undefined,
  ): DeadLetterInput[] {
    const batch = {
      ...(sentAt !== undefined ? { sentAt } : {}),
      ...(env.context !== undefined ? { context: env.context } : {}),
      ...(env.impliedType !== undefined ? { impliedType: env.impliedType } : {}),
    };
    const hasBatch = Object.keys(batch).length > 0;
    return invalid.map((m) => deadLetterInput(m, messages[m.index], env.receivedAtMs, hasBatch ? batch : undefined));
  }

  private async storeDeadLetters(
    invalid: readonly InvalidMessage[],
    inputs: readonly DeadLetterInput[],
  ): Promise<void> {
    for (const m of invalid) {
      this.counters.messagesRejected++;
      this.counters.rejectedByCode.set(m.code, (this.counters.rejectedByCode.get(m.code) ?? 0) + 1);
    }
    try {
      this.counters.deadLettersStored += await this.store.add(inputs);
    } catch (error) {
      throw asRequestError(error);
    }
  }

  /**
   * Deduplicates, routes and appends valid messages; resolves with how many were accepted (appended
   * now or already appended). Everything between the dedupe check and the `append` call is synchronous,
   * so routing decisions and offsets follow the same order across concurrent requests.
   */
  private async append(messages: ValidMessage[]): Promise<number> {
    let accepted = 0;
    // Emptied as soon as the messages are encoded: the serialised events must not outlive the encode
    // while the append waits for the disk (they would survive young-generation collections).
    let pending: ValidMessage[] = messages.splice(0);
    while (pending.length > 0) {
      const nowMs = this.clock.now();
      this.dedupe.evict(nowMs);
      const flight = new Flight(nowMs);
      const batch = new EntryBatch();
      const links: PendingLink[] = [];
      let waiting: ValidMessage[] | undefined;
      let waitFor: Set<Flight> | undefined;
      let fresh = 0;
      for (const m of pending) {
        const seen = this.dedupe.claim(m.messageId, flight);
        if (seen !== undefined) {
          if (seen === flight || seen.state === FlightState.done) {
            accepted++;
            this.counters.messagesDuplicate++;
          } else {
            // The same messageId is being appended by another request: its outcome decides.
            (waiting ??= []).push(m);
            (waitFor ??= new Set()).add(seen);
          }
          continue;
        }
        this.route(m, batch, links);
        fresh++;
      }
      pending = [];
      if (batch.size > 0) {
        const entries = batch.encode();
        try {
          await this.log.append(entries);
        } catch (error) {
          for (let i = links.length - 1; i >= 0; i--) this.identity.undo(links[i]!.change);
          this.dedupe.forget(flight);
          flight.settle(FlightState.failed);
          this.counters.appendFailures++;
          throw asRequestError(error);
        }
        flight.settle(FlightState.done);
        accepted += fresh;
        this.counters.recordsAppended += entries.length;
        if (links.length > 0 || this.unpersisted.length > 0) await this.persistLinks(links);
      } else {
        flight.settle(FlightState.done);
      }
      if (waiting === undefined || waitFor === undefined) break;
      await Promise.all([...waitFor].map((f) => f.settled()));
      // Settled: done ones are now duplicates; failed ones were forgotten and are appended here.
      pending = waiting;
    }
    return accepted;
  }

  /** Decides the partition key (and identity links) of one message and adds its log entries. */
  private route(m: ValidMessage, entries: EntryBatch, links: PendingLink[]): void {
    const user = m.userId !== undefined ? userKey(m.userId) : undefined;
    let sealed: string[] | undefined;
    if (user !== undefined) {
      if (m.type === 'alias') {
        const previousId = m.previousId!;
        for (const from of [anonymousKey(previousId), userKey(previousId)]) {
          if (this.link(from, user, m, links)) (sealed ??= []).push(from);
        }
      } else if (m.anonymousId !== undefined) {
        const anonymous = anonymousKey(m.anonymousId);
        if (!this.identity.isLinked(anonymous) && this.link(anonymous, user, m, links)) sealed = [anonymous];
      }
    }
    const key = this.identity.resolve(user ?? anonymousKey(m.anonymousId!));
    let tail = ',"profileKey":' + JSON.stringify(key);
    if (sealed !== undefined) {
      for (const from of sealed) {
        // The seal goes first, keyed by the sealed profile: it lands after every earlier event of it.
        const seal = {
          control: 'seal',
          messageId: `${m.messageId}:seal:${from}`,
          profileKey: from,
          intoKey: key,
          eventTimeMs: m.eventTimeMs,
          receivedAtMs: m.receivedAtMs,
        };
        entries.add(from, JSON.stringify(seal), '', m.receivedAtMs);
        this.counters.sealsAppended++;
      }
      tail += ',"links":' + JSON.stringify(sealed.map((fromKey) => ({ fromKey })));
    }
    entries.add(key, m.json, tail + '}', m.receivedAtMs);
  }

  /** Applies one link; true when it is a new merge (a seal must be emitted). */
  private link(from: string, to: string, m: ValidMessage, links: PendingLink[]): boolean {
    const outcome = this.identity.link(from, to);
    if (outcome === 'unchanged') return false;
    if (outcome === 'cycle') {
      if (from !== to) this.counters.linksIgnored++;
      return false;
    }
    links.push({ change: outcome, messageId: m.messageId, atMs: m.receivedAtMs });
    if (outcome.kind === 'link') {
      this.counters.linksCreated++;
      return true;
    }
    this.counters.linksRelinked++;
    return false;
  }

  private async persistLinks(links: readonly PendingLink[]): Promise<void> {
    const all = this.unpersisted.length > 0 ? [...this.unpersisted, ...links] : links;
    this.unpersisted = [];
    try {
      await Promise.all(
        all.map(({ change, messageId, atMs }) =>
          this.metadata.put<IdentityDoc>(IDENTITY_COLLECTION, change.fromKey, {
            into: change.toKey,
            kind: change.kind,
            messageId,
            linkedAtMs: atMs,
          }),
        ),
      );
    } catch (error) {
      // The events are durable and the links live in memory; keep them for the next write.
      this.unpersisted = [...all];
      this.logger.error({ err: error, links: all.length }, 'identity links not persisted; will retry');
      throw asRequestError(error);
    }
  }

  private async replay(request: ReplayRequest): Promise<ReplayResult> {
    const modes = [request.ids !== undefined, request.filter !== undefined, request.all === true].filter(
      Boolean,
    ).length;
    if (modes !== 1) throw CollectErrors.create('COLLECT_INVALID_REPLAY');
    const limit = Math.max(
      1,
      Math.min(request.limit ?? this.options.replayMaxMessages, this.options.replayMaxMessages),
    );
    const notFound: string[] = [];
    let docs: DeadLetter[];
    let remaining = false;
    if (request.ids !== undefined) {
      docs = [];
      for (const id of request.ids.slice(0, limit)) {
        const doc = await this.store.get(id);
        if (doc) docs.push(doc);
        else notFound.push(id);
      }
      remaining = request.ids.length > limit;
    } else {
      docs = await this.store.scan(request.filter ?? {}, limit + 1);
      remaining = docs.length > limit;
      docs = docs.slice(0, limit);
    }
    const items: { id: string; outcome: 'accepted' | 'rejected'; code?: string }[] = [];
    let accepted = 0;
    let stillInvalid = 0;
    for (let i = 0; i < docs.length; i += REPLAY_CHUNK) {
      const chunk = docs.slice(i, i + REPLAY_CHUNK);
      const valid: ValidMessage[] = [];
      const validDocs: DeadLetter[] = [];
      const failed: { doc: DeadLetter; result: InvalidMessage | undefined }[] = [];
      const schemas = this.registry.active ? this.registry : undefined;
      for (const doc of chunk) {
        const result = this.recheck(doc, schemas);
        if (result?.ok) {
          valid.push(result);
          validDocs.push(doc);
        } else {
          failed.push({ doc, result });
        }
      }
      await this.append(valid);
      const nowIso = new Date(this.clock.now()).toISOString();
      await Promise.all([
        ...validDocs.map((doc) => this.store.remove(doc)),
        ...failed.map(({ doc, result }) =>
          this.store.update({
            ...doc,
            ...(result ? { code: result.code, message: result.message, details: result.details } : {}),
            attempts: doc.attempts + 1,
            lastRejectedAt: nowIso,
          }),
        ),
      ]);
      for (const doc of validDocs) items.push({ id: doc.id, outcome: 'accepted' });
      for (const { doc, result } of failed)
        items.push({ id: doc.id, outcome: 'rejected', code: result?.code ?? doc.code });
      accepted += validDocs.length;
      stillInvalid += failed.length;
    }
    this.counters.deadLettersReplayed += accepted;
    return { replayed: docs.length, accepted, stillInvalid, notFound, items, ...(remaining ? { remaining } : {}) };
  }

  /** Normalises a dead letter again as it arrived (same receive time, envelope and messageId). */
  private recheck(doc: DeadLetter, schemas: SchemaRegistry | undefined): ValidMessage | InvalidMessage | undefined {
    if (doc.raw === null) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse(doc.raw);
    } catch {
      return undefined;
    }
    let env: BatchEnvelope;
    try {
      const sentAt = parseEnvelopeSentAt(doc.batch?.sentAt);
      const context = parseEnvelopeContext(doc.batch?.context, this.options.maxDepth, true);
      env = {
        receivedAtMs: doc.receivedAtMs,
        receivedAt: new Date(doc.receivedAtMs).toISOString(),
        ...sentAt,
        ...(context !== undefined ? { context } : {}),
        ...(doc.batch?.impliedType !== undefined ? { impliedType: doc.batch.impliedType } : {}),
        checkForbiddenKeys: true,
      };
    } catch {
      return undefined;
    }
    return checkMessage(raw, 0, env, this.options, schemas, doc.messageId);
  }

  stats(): CollectorStats {
    const c = this.counters;
    return {
      messagesReceived: c.messagesReceived,
      messagesAccepted: c.messagesAccepted,
      messagesDuplicate: c.messagesDuplicate,
      messagesRejected: c.messagesRejected,
      rejectedByCode: Object.fromEntries(c.rejectedByCode),
      recordsAppended: c.recordsAppended,
      sealsAppended: c.sealsAppended,
      linksCreated: c.linksCreated,
      linksRelinked: c.linksRelinked,
      linksIgnored: c.linksIgnored,
      appendFailures: c.appendFailures,
      overloaded: c.overloaded,
      deadLettersStored: c.deadLettersStored,
      deadLettersEvicted: this.store.evicted,
      deadLettersReplayed: c.deadLettersReplayed,
      inFlightBytes: this.inFlightBytes,
      dedupeEntries: this.dedupe.size,
      identityLinks: this.identity.size,
      schemaSubjects: this.registry.size,
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.refreshTimer) clearInterval(this.refreshTimer);
    if (this.active > 0) {
      await new Promise<void>((resolve) => {
        this.drained = resolve;
      });
    }
  }
}

function toRejection(m: InvalidMessage): Rejection {
  return { index: m.index, messageId: m.messageId, code: m.code, message: m.message, details: m.details };
}

/** Creates the collector; call `start()` before `ingest()`. */
export function createCollector(deps: CollectorDeps): Collector {
  return new KairosCollector(deps);
}
