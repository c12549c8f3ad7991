/**
 * Compact per-profile state kept by the `profile` operator (short field names: it is stored once per
 * visitor and read on every API call; target ≤ 1 KiB per profile, see bench/profile-size).
 */
export interface ProfileState {
  /** userId, when the profile is a user's. */
  u?: string;
  /** anonymousIds seen on (or merged into) this profile, newest last, at most MAX_ANONYMOUS_IDS. */
  a?: string[];
  /** traits (identify), last-writer-wins per trait by event time. */
  tr?: Record<string, unknown>;
  /** event time of each trait's current value. */
  tt?: Record<string, number>;
  /** eventCount. */
  n: number;
  /** eventCounts by event name (track) or `$page`, `$screen`, `$identify`, `$group`, `$alias`. */
  c: Record<string, number>;
  /** firstSeen / lastSeen (event time, ms). */
  f: number;
  l: number;
  /** Recent sessions as [start, end] event-time intervals, ascending, at most MAX_SESSIONS. */
  s: [number, number][];
  /** Sessions older than the kept intervals (counted, no longer stored). */
  sc: number;
  /** Latest end of the sessions counted in `sc` (event time, ms): where the dropped history stops. */
  sd?: number;
  /** Recent items [itemId, event time], newest first, distinct, at most MAX_RECENT_ITEMS. */
  ri: [string, number][];
  /** Recently purchased items [itemId, event time] (Order Completed), newest first, at most MAX_PURCHASED_ITEMS. */
  pu?: [string, number][];
  /** Product views by category (at most MAX_CATEGORIES categories). */
  cv: Record<string, number>;
  /** Latest receive time of an event of this profile (ms). */
  up: number;
}

/** Features as the API shows them (DESIGN.md §4, issue: streaming core). */
export interface ProfileFeatures {
  eventCount: number;
  eventCounts: Record<string, number>;
  firstSeen: string | null;
  lastSeen: string | null;
  sessionCount: number;
  recentItems: string[];
  purchasedItems: string[];
  categoryViews: Record<string, number>;
}

export interface SegmentMembershipView {
  id: string;
  version: number;
  since: string;
}

/** `GET /v1/profiles/{id}` body. */
export interface ProfileView {
  profileId: string;
  userId: string | null;
  anonymousIds: string[];
  traits: Record<string, unknown>;
  segments: SegmentMembershipView[];
  features: ProfileFeatures;
  updatedAt: string | null;
}
