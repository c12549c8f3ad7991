import type { Clock, EventType, JsonObject, Logger } from '../core/index.js';
import type { EventLog } from '../log/index.js';
import type { MetadataStore } from '../store/index.js';
import type { MessageErrorCode } from './errors.js';
import type { CollectorOptions, ResolvedCollectorOptions } from './options.js';
import type { ScannedBody } from './scan.js';

/** What the transport knows about a request, besides its messages. */
export interface IngestContext {
  /** When the request arrived (epoch ms); event times are corrected against it. */
  readonly receivedAtMs: number;
  /** Batch-level `sentAt` (raw; a message's own `sentAt` wins). */
  readonly sentAt?: unknown;
  /** Batch-level `context` (raw; must be an object), merged under each message's own context (the message's keys win). */
  readonly context?: unknown;
  /** The type implied by the route (`/v1/track` → track); a message saying otherwise is rejected. */
  readonly impliedType?: EventType;
  /**
   * False when the transport has checked the raw text and no key can be `__proto__`, `constructor` or
   * `prototype` (the text contains none of these words and no `\u` escape): skips the deep key scan.
   * @default true
   */
  readonly mayContainForbiddenKeys?: boolean;
  /** Decoded bytes this request holds (charged to the in-flight budget while it is processed). @default 0 */
  readonly bytes?: number;
}

/** One message that was not accepted; it is in the dead-letter store with the same code. */
export interface Rejection {
  /** Position of the message in the request (`batch[index]`; 0 for single-message routes). */
  readonly index: number;
  /** The client's messageId, or the one the server generated for it. */
  readonly messageId: string;
  readonly code: MessageErrorCode;
  readonly message: string;
  /** JSON pointer (`pointer`), schema paths, limits: what a human needs to fix the message. */
  readonly details?: Readonly<Record<string, unknown>>;
}

/**
 * A request after `prepare()`: its accepted events serialised, its rejections, and no parsed message
 * object (so the parsed body can be garbage-collected while the append waits for the disk). Opaque:
 * hand it to `commit()`.
 */
export interface PreparedBatch {
  readonly rejected: readonly Rejection[];
  /** Messages in the request. */
  readonly received: number;
  /** Bytes charged to the in-flight budget while committing. */
  readonly bytes: number;
}

export interface IngestResult {
  /** Messages accepted: appended now, or duplicates of messages already appended. */
  readonly accepted: number;
  readonly rejected: readonly Rejection[];
}

/** A rejected message as kept in the dead-letter store. */
export interface DeadLetter {
  /** Time-ordered id (`<ms>-<instance>-<seq>`): ascending ids are arrival order. */
  readonly id: string;
  readonly messageId: string;
  readonly code: MessageErrorCode;
  readonly message: string;
  readonly details?: Readonly<Record<string, unknown>>;
  /** `type` and `event` of the message when they were readable strings (for filtering). */
  readonly type?: string;
  readonly event?: string;
  /** When the request carrying the message arrived (the event time is computed against it on replay). */
  readonly receivedAt: string;
  readonly receivedAtMs: number;
  /** When the message was last rejected (first arrival, a client retry or a replay). */
  readonly lastRejectedAt: string;
  /** How many times the message was rejected (client retries and replays included). */
  readonly attempts: number;
  /** The message as received, as JSON text; null when it could not be serialised (too deep). */
  readonly raw: string | null;
  /** The batch envelope the message came with (needed to normalise it again on replay). */
  readonly batch?: { readonly sentAt?: unknown; readonly context?: JsonObject; readonly impliedType?: EventType };
}

export interface DeadLetterQuery {
  readonly code?: string;
  readonly event?: string;
  /** The `next` of the previous page. */
  readonly cursor?: string;
  /** @default 100 (at most 1000) */
  readonly limit?: number;
  /** Newest first (`desc`, the default) or oldest first. */
  readonly order?: 'asc' | 'desc';
}

export interface DeadLetterPage {
  readonly items: readonly DeadLetter[];
  /** Cursor of the next page; absent on the last page. */
  readonly next?: string;
  /** Dead letters in the store (all of them, whatever the filter). */
  readonly total: number;
}

/** Which dead letters to replay: exactly one of `ids`, `filter`, `all`. */
export interface ReplayRequest {
  readonly ids?: readonly string[];
  readonly filter?: { readonly code?: string; readonly event?: string };
  readonly all?: boolean;
  /** At most this many (capped by `replayMaxMessages`). */
  readonly limit?: number;
}

export interface ReplayResult {
  /** Dead letters looked at. */
  readonly replayed: number;
  /** Now valid: ingested (or found to be duplicates of accepted messages) and removed from the store. */
  readonly accepted: number;
  /** Still invalid: kept, with the reason updated. */
  readonly stillInvalid: number;
  /** Requested ids that are not in the store. */
  readonly notFound: readonly string[];
  readonly items: readonly { readonly id: string; readonly outcome: 'accepted' | 'rejected'; readonly code?: string }[];
  /** Set when more dead letters match than one call replays: pass `limit` again to continue. */
  readonly remaining?: boolean;
}

export const COMPATIBILITY_MODES = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const;
export type CompatibilityMode = (typeof COMPATIBILITY_MODES)[number];

/**
 * Which differences count as compatible. `strict` is Confluent Schema Registry's default set;
 * `lenient` is Confluent's lenient set, which also accepts adding/removing properties of open content
 * models (what event tracking needs: new optional properties appear all the time).
 */
export const COMPATIBILITY_POLICIES = ['lenient', 'strict'] as const;
export type CompatibilityPolicy = (typeof COMPATIBILITY_POLICIES)[number];

export interface CompatibilityViolation {
  /** Confluent's name for the difference, e.g. `REQUIRED_ATTRIBUTE_ADDED`. */
  readonly type: string;
  /** Where in the schema (`#/properties/price`). */
  readonly path: string;
  /** BACKWARD: the new schema cannot read data of `version`; FORWARD: `version` cannot read data of the new one. */
  readonly direction: 'BACKWARD' | 'FORWARD';
  readonly version: number;
}

export interface SchemaVersionInfo {
  readonly event: string;
  readonly version: number;
  readonly schema: JsonObject;
  readonly registeredAt: string;
}

export interface SchemaSubject {
  readonly event: string;
  readonly compatibility: CompatibilityMode;
  readonly policy: CompatibilityPolicy;
  /** Absent when only a compatibility setting exists. */
  readonly latest?: SchemaVersionInfo;
  readonly versions: readonly number[];
}

export interface RegisterSchemaResult {
  readonly event: string;
  readonly version: number;
  /** False when the schema equals the latest version (nothing registered, like Confluent). */
  readonly created: boolean;
}

/** The schema registry: JSON Schemas for the `properties` of track events, per event name, versioned. */
export interface SchemaRegistryApi {
  register(event: string, schema: unknown): Promise<RegisterSchemaResult>;
  list(): readonly SchemaSubject[];
  get(event: string): SchemaSubject;
  getVersion(event: string, version: number | 'latest'): SchemaVersionInfo;
  setCompatibility(
    event: string,
    compatibility: CompatibilityMode,
    policy?: CompatibilityPolicy,
  ): Promise<SchemaSubject>;
  /** Deletes every version and the setting; later events of that name are not validated. */
  delete(event: string): Promise<{ readonly event: string; readonly versions: readonly number[] }>;
}

export interface DeadLetterApi {
  list(query?: DeadLetterQuery): Promise<DeadLetterPage>;
  get(id: string): Promise<DeadLetter | undefined>;
  /** Re-validates against the current schemas; now-valid messages are ingested (dedupe applies) and removed. */
  replay(request: ReplayRequest): Promise<ReplayResult>;
  count(): Promise<number>;
}

/** Counters for metrics (monotonic unless named as a current value). */
export interface CollectorStats {
  readonly messagesReceived: number;
  readonly messagesAccepted: number;
  readonly messagesDuplicate: number;
  readonly messagesRejected: number;
  readonly rejectedByCode: Readonly<Record<string, number>>;
  readonly recordsAppended: number;
  readonly sealsAppended: number;
  readonly linksCreated: number;
  readonly linksRelinked: number;
  readonly linksIgnored: number;
  readonly appendFailures: number;
  readonly overloaded: number;
  readonly deadLettersStored: number;
  readonly deadLettersEvicted: number;
  readonly deadLettersReplayed: number;
  /** Current values. */
  readonly inFlightBytes: number;
  readonly dedupeEntries: number;
  readonly identityLinks: number;
  readonly schemaSubjects: number;
}

export interface CollectorDeps {
  readonly log: EventLog;
  readonly metadata: MetadataStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly options?: CollectorOptions;
}

export interface Collector {
  /** The resolved limits (the transport applies `maxRequestBytes` before the collector sees a body). */
  readonly options: ResolvedCollectorOptions;
  /** Loads identity links and schemas, rebuilds the dedupe index from the log tail. Call once before ingest. */
  start(): Promise<void>;
  /**
   * Validates, deduplicates, routes and appends. Resolves once every accepted message is durable in the
   * log and every rejected one is durable in the dead-letter store. Throws a KairosError for the request
   * as a whole (COLLECT_OVERLOADED, LOG_BACKPRESSURE, …: retryable) — then nothing was acknowledged.
   */
  ingest(messages: readonly unknown[], ctx: IngestContext): Promise<IngestResult>;
  /**
   * `ingest` in two steps: `prepare` validates and serialises synchronously (request-level errors are
   * thrown here), `commit` appends and stores dead letters. A transport that calls them separately lets
   * the parsed request die before the append waits for the disk (less GC work under load).
   */
  prepare(messages: readonly unknown[], ctx: IngestContext): PreparedBatch;
  /**
   * `prepare` for a body read by `scanRequestBody` (the fast path: no JSON.parse, the client's bytes of
   * `properties`/`context`/ids copied into the stored events). Throws the same request-level errors as
   * `prepare`; answers undefined when any message needs the general path (an invalid one, say): the
   * transport then parses the body and calls `prepare`. Nothing has happened when it answers undefined.
   */
  prepareScanned(body: ScannedBody, ctx: IngestContext): PreparedBatch | undefined;
  commit(prepared: PreparedBatch): Promise<IngestResult>;
  /** The canonical profile key of an id (identity links followed), e.g. for the profile API. */
  resolveProfileKey(ids: { readonly userId?: string; readonly anonymousId?: string }): string | undefined;
  /** False when `bytes` more would exceed the in-flight budget (lets the transport shed load before reading a body). */
  hasCapacity(bytes: number): boolean;
  readonly deadLetters: DeadLetterApi;
  readonly schemas: SchemaRegistryApi;
  stats(): CollectorStats;
  /** Stops timers and waits for in-flight requests; does not close the log or the metadata store. */
  close(): Promise<void>;
}
