/**
 * Segment rules (DESIGN.md §6). JSON is the canonical form: what users PUT is what is stored and
 * versioned; `validateDefinition` turns untrusted JSON into these types or fails with a JSON pointer.
 */

/** A path into an event (`properties.product_id`, `context.page.path`) or into traits (`plan`, `address.city`). */
export type Path = string;

export const COMPARISON_OPERATORS = ['eq', 'neq', 'gt', 'gte', 'lt', 'lte', 'in', 'contains', 'exists'] as const;
export type ComparisonOperator = (typeof COMPARISON_OPERATORS)[number];

/** One or more comparisons; all must hold. */
export interface Comparison {
  eq?: unknown;
  neq?: unknown;
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
  in?: unknown[];
  contains?: unknown;
  exists?: boolean;
}

export const FILTER_EVENT_TYPES = ['track', 'page', 'screen', 'identify', 'group', 'alias'] as const;
export type FilterEventType = (typeof FILTER_EVENT_TYPES)[number];

export interface Filter {
  /** Track event name(s); for `page`/`screen` filters, the page or screen name(s). */
  event?: string | string[];
  /** @default "track" when `event` is given */
  type?: FilterEventType;
  where?: Record<Path, Comparison>;
}

export type CountSpec = Filter & { within: string; by?: Path };
export type SumSpec = Filter & { of: Path; within: string };
export type DistinctSpec = Filter & { of: Path; within: string };
export type Step = Filter | { absent: Filter; for: string };

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  | ({ count: CountSpec } & Comparison)
  | ({ sum: SumSpec } & Comparison)
  | ({ distinct: DistinctSpec } & Comparison)
  | ({ trait: Path } & Comparison)
  | { sequence: Step[]; within?: string }
  | { inSegment: string };

/** The body of `PUT /v1/segments/{id}`. */
export interface SegmentDefinition {
  id: string;
  name: string;
  description?: string;
  condition: Condition;
}

export const VERSION_STATES = ['draft', 'shadow', 'backfilling', 'active', 'retired'] as const;
/**
 * draft: stored, not computed. shadow: computed, not exposed (counts only). backfilling: being
 * computed from the retained log, switched to active when caught up. active: computed and exposed
 * (profile API, members, webhooks, SSE); at most one per segment. retired: no longer computed.
 */
export type VersionState = (typeof VERSION_STATES)[number];

/**
 * What a stream worker needs to compute one version (plain JSON: it crosses the worker boundary).
 * Only `active` versions emit enter/exit records; `shadow` versions keep memberships and counts.
 */
export interface ActiveSegmentVersion {
  readonly id: string;
  readonly version: number;
  readonly state: 'active' | 'shadow';
  readonly condition: Condition;
}

/** The outbox / SSE record of one membership change. */
export interface MembershipChange {
  readonly kind: 'segment';
  readonly type: 'enter' | 'exit';
  readonly segmentId: string;
  readonly version: number;
  readonly profileKey: string;
  /** The event-time instant of the change (ms). */
  readonly eventTimeMs: number;
  /**
   * Stable idempotency id: a hash of (segment, version, profile, type, event time, the membership's
   * change number). A replay of the same log gives the same ids.
   */
  readonly id: string;
}

/** One membership as the profile API shows it. */
export interface SegmentMembership {
  id: string;
  version: number;
  since: string;
}

export interface SegmentVersionView {
  version: number;
  state: VersionState;
  name: string;
  description?: string;
  condition: Condition;
  createdAt: string;
  activatedAt?: string;
  retiredAt?: string;
  /** Current member count (active and shadow versions). */
  members?: number;
}

export interface SegmentView {
  id: string;
  name: string;
  description?: string;
  /** The active version number, when there is one. */
  activeVersion: number | null;
  condition: Condition | null;
  createdAt: string;
  updatedAt: string;
  versions: SegmentVersionView[];
}

export interface MemberEntry {
  profileId: string;
  since: string;
}

export interface MembersPage {
  segmentId: string;
  version: number;
  count: number;
  members: MemberEntry[];
  next?: string;
}

export interface BackfillPartitionProgress {
  partition: number;
  /** Next offset the backfill will process. */
  offset: number;
  /** The log end it is catching up to. */
  target: number;
}

export const BACKFILL_STATES = ['running', 'switching', 'done', 'failed'] as const;
export type BackfillState = (typeof BACKFILL_STATES)[number];

export interface BackfillStatus {
  segmentId: string;
  version: number;
  state: BackfillState;
  startedAt: string;
  finishedAt?: string;
  /** Records processed / records to process (0..1). */
  fraction: number;
  partitions: BackfillPartitionProgress[];
  /** Profiles whose state was switched, and the enter/exit records the switch produced. */
  switched?: { profiles: number; enters: number; exits: number };
  error?: string;
}

/** A webhook destination (`PUT /v1/destinations/{id}`). */
export interface Destination {
  id: string;
  url: string;
  /** HMAC-SHA256 key for the signature header. */
  secret: string;
  /** Only these segments (all when absent or empty). */
  segments?: string[];
  /** Only these change types. @default both */
  types?: ('enter' | 'exit')[];
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface DeadLetter {
  id: string;
  destinationId: string;
  partition: number;
  seq: number;
  change: MembershipChange;
  attempts: number;
  lastStatus?: number;
  lastError: string;
  failedAt: string;
}

/** Starts backfills (the engine provides one; see `createBackfillRunner`). */
export interface BackfillLauncher {
  /** Starts computing `version` of `segmentId` (in state `backfilling`) from the retained log; resolves with the first status. */
  start(segmentId: string, version: number): Promise<BackfillStatus>;
}
