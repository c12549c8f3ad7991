import { anonymousKey, userKey } from '../core/index.js';
import type { StateStore } from '../store/index.js';
import { stateKey, type KeyState } from '../stream/index.js';
import { sessionCount } from './features.js';
import { PROFILE_OPERATOR } from './operator.js';
import type { ProfileState, ProfileView, SegmentMembershipView } from './types.js';

export interface ProfileLookup {
  readonly userId?: string;
  readonly anonymousId?: string;
}

/** The profile key a lookup names, before the identity map: `u:<userId>`, else `a:<anonymousId>`. */
export function lookupKey(lookup: ProfileLookup): string | undefined {
  if (lookup.userId !== undefined) return userKey(lookup.userId);
  if (lookup.anonymousId !== undefined) return anonymousKey(lookup.anonymousId);
  return undefined;
}

export interface ProfileReaderDeps {
  readonly store: StateStore;
  /** The collector's identity map: the canonical profile key for a key (follows links). */
  readonly resolveKey?: (key: string) => string;
  /** Segment memberships of a stored key state (provided by the segments capability). */
  readonly segmentsOf?: (state: KeyState) => SegmentMembershipView[];
}

/**
 * Reads profiles for the API (it never drives the stream). A key sealed into another profile is
 * followed to the survivor, so a lookup by an old anonymousId finds the merged profile even before
 * the identity map is consulted.
 */
export class ProfileReader {
  constructor(private readonly deps: ProfileReaderDeps) {}

  /** The canonical key for a lookup. */
  keyFor(lookup: ProfileLookup): string | undefined {
    const raw = lookupKey(lookup);
    if (raw === undefined) return undefined;
    return this.deps.resolveKey ? this.deps.resolveKey(raw) : raw;
  }

  /** The stored state of a profile, following seals; undefined when the profile has no state. */
  async state(lookup: ProfileLookup): Promise<{ key: string; state: KeyState } | undefined> {
    let key = this.keyFor(lookup);
    for (let hops = 0; key !== undefined && hops < 8; hops++) {
      const state = (await this.deps.store.get(stateKey(key))) as KeyState | undefined;
      if (!state) return undefined;
      if (state.sealedInto === undefined) return { key, state };
      key = state.sealedInto;
    }
    return undefined;
  }

  async get(lookup: ProfileLookup): Promise<ProfileView | undefined> {
    const found = await this.state(lookup);
    if (!found) return undefined;
    return toView(found.key, found.state, this.deps.segmentsOf?.(found.state) ?? []);
  }
}

export function toView(key: string, keyState: KeyState, segments: SegmentMembershipView[]): ProfileView {
  const p = keyState.ops[PROFILE_OPERATOR] as ProfileState | undefined;
  const iso = (ms: number | undefined) => (ms === undefined || ms === 0 ? null : new Date(ms).toISOString());
  return {
    profileId: key,
    userId: p?.u ?? (key.startsWith('u:') ? key.slice(2) : null),
    anonymousIds: p?.a ?? (key.startsWith('a:') ? [key.slice(2)] : []),
    traits: p?.tr ?? {},
    segments,
    features: {
      eventCount: p?.n ?? 0,
      eventCounts: p?.c ?? {},
      firstSeen: p && p.n > 0 ? iso(p.f) : null,
      lastSeen: p && p.n > 0 ? iso(p.l) : null,
      sessionCount: p ? sessionCount(p) : 0,
      recentItems: (p?.ri ?? []).map(([itemId]) => itemId),
      purchasedItems: (p?.pu ?? []).map(([itemId]) => itemId),
      categoryViews: p?.cv ?? {},
    },
    updatedAt: iso(p?.up),
  };
}
