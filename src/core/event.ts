/**
 * The normalised event: what the collector appends to the log and what the stream consumes.
 * It is a Segment-spec message plus the fields the engine derives at collection time
 * (event time, receive time, the profile key the log is partitioned by, identity links).
 */
export const EVENT_TYPES = ['track', 'page', 'screen', 'identify', 'alias', 'group'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

export type JsonObject = { [key: string]: unknown };

/**
 * Identity merge protocol (docs/stream.md). When a message first links profile `fromKey` (e.g. an
 * anonymous visitor) to another profile, the collector appends, in ONE append call and in this order:
 * a SealRecord keyed by `fromKey` (so it lands after every earlier event of `fromKey` in that
 * partition) and the message itself keyed by the surviving profile, carrying `links: [{fromKey}]`.
 * From then on the collector routes `fromKey`'s events to the surviving profile. The stream task of
 * the surviving profile waits until the sealed profile's partition has processed the seal, then merges
 * the sealed state: deterministic, with no cross-partition writes.
 */
export interface IdentityLink {
  readonly fromKey: string;
}

export interface SealRecord {
  readonly control: 'seal';
  /** Derived from the linking message: `${messageId}:seal:${fromKey}` (deduplicated like any message). */
  readonly messageId: string;
  /** The sealed profile (the log partition key). */
  readonly profileKey: string;
  /** The profile it merges into. */
  readonly intoKey: string;
  readonly eventTimeMs: number;
  readonly receivedAtMs: number;
}

export interface KairosEvent {
  readonly messageId: string;
  readonly type: EventType;
  /** track: the event name, e.g. "Product Viewed". */
  readonly event?: string;
  /** page/screen: the page or screen name. */
  readonly name?: string;
  readonly userId?: string;
  readonly anonymousId?: string;
  /** alias: the id being linked to userId. */
  readonly previousId?: string;
  /** group: the account id. */
  readonly groupId?: string;
  readonly properties?: JsonObject;
  readonly traits?: JsonObject;
  readonly context?: JsonObject;
  /** Event time (ISO 8601), corrected for client clock skew: receivedAt − (sentAt − timestamp). */
  readonly timestamp: string;
  /** Event time in epoch milliseconds (same instant as `timestamp`). */
  readonly eventTimeMs: number;
  /** The timestamp the client sent (before skew correction), when it differs. */
  readonly originalTimestamp?: string;
  readonly sentAt?: string;
  readonly receivedAt: string;
  readonly receivedAtMs: number;
  /** Canonical profile key at collection time ("u:<userId>" or "a:<anonymousId>"); the log partition key. */
  readonly profileKey: string;
  /** Profiles this message links into `profileKey` (see IdentityLink). */
  readonly links?: readonly IdentityLink[];
}

/** What a log record of the event log holds. */
export type LogPayload = KairosEvent | SealRecord;

export function isSealRecord(payload: LogPayload): payload is SealRecord {
  return (payload as SealRecord).control === 'seal';
}

export function userKey(userId: string): string {
  return `u:${userId}`;
}
export function anonymousKey(anonymousId: string): string {
  return `a:${anonymousId}`;
}

/** Splits a profile key into its kind and raw id. */
export function parseProfileKey(key: string): { kind: 'user' | 'anonymous'; id: string } {
  return { kind: key.startsWith('u:') ? 'user' : 'anonymous', id: key.slice(2) };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Log record encoding. JSON: readable with any tool, and fast enough (see bench/). */
export function encodePayload(payload: LogPayload): Uint8Array {
  return encoder.encode(JSON.stringify(payload));
}

export function decodePayload(bytes: Uint8Array): LogPayload {
  return JSON.parse(decoder.decode(bytes)) as LogPayload;
}
