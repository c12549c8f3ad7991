import type { StateStore } from '../store/index.js';
import { counterKey, indexKey, type KeyState } from '../stream/index.js';
import { SegmentsErrors } from './errors.js';
import type { MembersPage, MembershipChange, SegmentMembership } from './types.js';

const OPERATOR = 'segments';

/**
 * The member index: one key per (segment version, member), written by the operator in the same commit
 * as the profile's state, so it is exactly as current as the profiles. Listing is a prefix range scan
 * (O(page) per page, whatever the segment's size); the count is a per-partition counter maintained in
 * the same commits (O(partitions) per read), not a scan.
 */
export function memberIndexKey(segmentId: string, version: number, profileKey: string): string {
  return `m/${segmentId}/${version}/${profileKey}`;
}

export function memberCounterName(segmentId: string, version: number): string {
  return `${segmentId}@${version}`;
}

/**
 * The idempotency id of a membership change (stable across replays of the same log): 106 bits of two
 * seeded 53-bit hashes of (segment, version, profile, type, event time, change number) — unique in
 * practice, and far cheaper than a cryptographic digest on the hot path (nothing here is secret).
 */
export function changeId(
  segmentId: string,
  version: number,
  profileKey: string,
  type: 'enter' | 'exit',
  eventTimeMs: number,
  n: number,
): string {
  return changeIdAfter(changeIdSeed(segmentId, version), profileKey, type, eventTimeMs, n);
}

/**
 * The hash state after `<segmentId>@<version>\0`, the part of a change id that depends on the
 * segment version only: computed once per compiled segment, so the hot path hashes the rest alone.
 */
export function changeIdSeed(segmentId: string, version: number): Int32Array {
  const h = new Int32Array([
    0xdeadbeef ^ 0x9e3779b9,
    0x41c6ce57 ^ 0x9e3779b9,
    0xdeadbeef ^ 0x85ebca6b,
    0x41c6ce57 ^ 0x85ebca6b,
  ]);
  feed(h, `${segmentId}@${version}\u0000`);
  return h;
}

const work = new Int32Array(4);

/** `changeId` from a segment's seed: the same id, without building the whole text. */
export function changeIdAfter(
  seed: Int32Array,
  profileKey: string,
  type: 'enter' | 'exit',
  eventTimeMs: number,
  n: number,
): string {
  work.set(seed);
  feed(work, `${profileKey}\u0000${type}\u0000${eventTimeMs}\u0000${n}`);
  return base36(finish53(work[0]!, work[1]!)) + base36(finish53(work[2]!, work[3]!));
}

/** Two differently seeded cyrb53 hashes (a public-domain 53-bit string hash) in one pass: [a1, a2, b1, b2]. */
function feed(h: Int32Array, text: string): void {
  let a1 = h[0]!;
  let a2 = h[1]!;
  let b1 = h[2]!;
  let b2 = h[3]!;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    a1 = Math.imul(a1 ^ ch, 2654435761);
    a2 = Math.imul(a2 ^ ch, 1597334677);
    b1 = Math.imul(b1 ^ ch, 2654435761);
    b2 = Math.imul(b2 ^ ch, 1597334677);
  }
  h[0] = a1;
  h[1] = a2;
  h[2] = b1;
  h[3] = b2;
}

/** `n.toString(36).padStart(11, '0')` for 0 ≤ n < 2^53, without the slow radix conversion of a double. */
function base36(n: number): string {
  // 36^5 < 2^31: the low five digits and the rest are small integers, converted fast.
  const low = n % 60466176;
  const high = (n - low) / 60466176;
  return high.toString(36).padStart(6, '0') + low.toString(36).padStart(5, '0');
}

function finish53(h1: number, h2: number): number {
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
  h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
  h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return 4294967296 * (2097151 & h2) + (h1 >>> 0);
}

export function isMembershipChange(value: unknown): value is MembershipChange {
  const v = value as Partial<MembershipChange> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    v.kind === 'segment' &&
    (v.type === 'enter' || v.type === 'exit') &&
    typeof v.segmentId === 'string'
  );
}

/**
 * The segment memberships of a stored profile state, for `GET /v1/profiles/{id}` and
 * `/v1/profiles/{id}/segments`. With `activeVersions` (segment id → active version), exactly the
 * active versions' memberships; without it, the memberships whose enter was announced.
 */
export function segmentsOf(keyState: KeyState, activeVersions?: ReadonlyMap<string, number>): SegmentMembership[] {
  const state = keyState.ops[OPERATOR] as { e?: number; m?: Record<string, number[]> } | undefined;
  if (!state?.m || keyState.sealedInto !== undefined) return [];
  const out: SegmentMembership[] = [];
  for (const [key, slot] of Object.entries(state.m)) {
    const flags = slot[0] ?? 0;
    if ((flags & 1) === 0) continue;
    const at = key.lastIndexOf('@');
    const id = key.slice(0, at);
    const version = Number(key.slice(at + 1));
    if (activeVersions ? activeVersions.get(id) !== version : (flags & 2) === 0) continue;
    // Stored times are relative to the profile's clock `e`.
    out.push({ id, version, since: new Date((state.e ?? 0) + (slot[1] ?? 0)).toISOString() });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

export interface MembershipReaderDeps {
  readonly store: StateStore;
  readonly partitionCount: number;
}

/** Reads members and counts of segment versions from the stream's store (the API never drives the stream). */
export class MembershipReader {
  constructor(private readonly deps: MembershipReaderDeps) {}

  async count(segmentId: string, version: number): Promise<number> {
    const name = memberCounterName(segmentId, version);
    const keys = Array.from({ length: this.deps.partitionCount }, (_, p) => counterKey(p, OPERATOR, name));
    const values = await this.deps.store.getMany(keys);
    return values.reduce<number>((sum, v) => sum + (typeof v === 'number' ? v : 0), 0);
  }

  async page(
    segmentId: string,
    version: number,
    options: { cursor?: string; limit?: number } = {},
  ): Promise<MembersPage> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
    const prefix = indexKey(OPERATOR, `m/${segmentId}/${version}/`);
    const after = options.cursor === undefined ? undefined : prefix + decodeCursor(options.cursor);
    const [rows, count] = await Promise.all([
      this.deps.store.scan(prefix, after === undefined ? { limit: limit + 1 } : { after, limit: limit + 1 }),
      this.count(segmentId, version),
    ]);
    const members = rows.slice(0, limit).map(({ key, value }) => ({
      profileId: key.slice(prefix.length),
      since: new Date(typeof value === 'number' ? value : 0).toISOString(),
    }));
    const page: MembersPage = { segmentId, version, count, members };
    const last = members.at(-1);
    if (rows.length > limit && last) page.next = encodeCursor(last.profileId);
    return page;
  }
}

/** Every member-index key of the operator (for maintenance and tests). */
export function memberIndexPrefix(segmentId: string, version: number): string {
  return indexKey(OPERATOR, `m/${segmentId}/${version}/`);
}

function encodeCursor(profileKey: string): string {
  return Buffer.from(profileKey, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor) || cursor.length === 0) throw SegmentsErrors.create('SEGMENTS_INVALID_CURSOR');
  return Buffer.from(cursor, 'base64url').toString('utf8');
}
