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
 * An identity link made by this message (identify or alias): the profile `fromKey`, whose events
 * until `fromOffset` (exclusive) of partition `fromPartition` were appended before the link, is
 * merged into this message's profile. The stream waits until that partition has processed up to
 * `fromOffset`, so the merged state is complete and deterministic.
 */
export interface IdentityLink {
  readonly fromKey: string;
  readonly fromPartition: number;
  readonly fromOffset: number;
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
  /** Identity links this message created (identify/alias); see IdentityLink. */
  readonly links?: readonly IdentityLink[];
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

/** Log record encoding of an event. JSON: readable with any tool, and fast enough (see bench/). */
export function encodeEvent(event: KairosEvent): Uint8Array {
  return encoder.encode(JSON.stringify(event));
}

export function decodeEvent(bytes: Uint8Array): KairosEvent {
  return JSON.parse(decoder.decode(bytes)) as KairosEvent;
}
