/** Limits that keep a profile compact (DESIGN.md §8: ≤ 1 KiB per profile). */
export const PROFILE_LIMITS = Object.freeze({
  /** Inactivity gap that ends a session. */
  sessionGapMs: 30 * 60_000,
  maxSessions: 12,
  maxRecentItems: 20,
  maxPurchasedItems: 10,
  maxCategories: 48,
  maxAnonymousIds: 10,
  maxTraits: 64,
});
