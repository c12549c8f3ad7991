import { systemClock, type Clock } from '../core/index.js';
import type { MetadataStore } from '../store/index.js';
import { SegmentsErrors } from './errors.js';
import type { MembershipReader } from './membership.js';
import type {
  ActiveSegmentVersion,
  BackfillStatus,
  Condition,
  SegmentDefinition,
  SegmentVersionView,
  SegmentView,
  VersionState,
} from './types.js';
import { findCycle, references, validateDefinition } from './validate.js';

export const SEGMENTS_COLLECTION = 'segments';
export const SEGMENTS_META_COLLECTION = 'segments-meta';
export const BACKFILL_COLLECTION = 'segment-backfills';

interface StoredVersion {
  version: number;
  state: VersionState;
  name: string;
  description?: string;
  condition: Condition;
  createdAt: string;
  activatedAt?: string;
  retiredAt?: string;
}

interface StoredSegment {
  id: string;
  name: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
  deletedAt?: string;
  nextVersion: number;
  versions: StoredVersion[];
}

/** Versions kept per segment (older retired versions are dropped from the document). */
const MAX_VERSIONS = 50;

export interface SegmentServiceDeps {
  readonly metadata: MetadataStore;
  readonly clock?: Clock;
  /** For member counts in views (active and shadow versions). */
  readonly members?: MembershipReader;
}

export type DefinitionsListener = (definitions: ActiveSegmentVersion[]) => void;

/** Allowed lifecycle moves (backfilling → active happens only through a backfill switch). */
const TRANSITIONS: Readonly<Record<VersionState, readonly VersionState[]>> = {
  draft: ['shadow', 'active', 'retired'],
  shadow: ['active', 'retired', 'draft'],
  backfilling: ['draft'],
  active: ['retired'],
  retired: [],
};

/**
 * Segment definitions, their versions and lifecycle, in the MetadataStore (collection `segments`,
 * one document per segment holding its versions, so a switch of the active version is one atomic
 * write). Every change bumps a revision (collection `segments-meta`, id `revision`) and notifies
 * local listeners with the new set of computed versions (active + shadow), which the engine turns
 * into worker pipelines; other processes poll `revision()`.
 *
 * Writes are serialised in this process; run one admin API writer per deployment (or accept that two
 * concurrent writers of the same segment may lose one version).
 */
export class SegmentService {
  private readonly clock: Clock;
  private readonly listeners = new Set<DefinitionsListener>();
  private lock: Promise<unknown> = Promise.resolve();
  private cache: { revision: number; definitions: ActiveSegmentVersion[] } | undefined;

  constructor(private readonly deps: SegmentServiceDeps) {
    this.clock = deps.clock ?? systemClock;
  }

  /** Creates a new version from a PUT body. `state` (body or option) is draft, shadow or active (default). */
  put(pathId: string, body: unknown): Promise<{ view: SegmentView; version: number; created: boolean }> {
    return this.exclusive(async () => {
      const requested = (body as { state?: unknown } | null)?.state ?? 'active';
      if (!['draft', 'shadow', 'active'].includes(requested as string)) {
        throw SegmentsErrors.create('SEGMENTS_RULE_INVALID', '/state: expected draft, shadow or active', {
          details: { pointer: '/state', expected: 'draft, shadow or active', found: requested },
        });
      }
      const definition = validateDefinition(body, pathId);
      const state = requested as 'draft' | 'shadow' | 'active';
      const all = await this.loadAll();
      if (state !== 'draft') this.checkReferences(definition.id, definition.condition, all);
      const now = this.nowIso();
      const existing = all.get(definition.id);
      const created = existing === undefined || existing.deletedAt !== undefined;
      const segment: StoredSegment = existing ?? {
        id: definition.id,
        name: definition.name,
        createdAt: now,
        updatedAt: now,
        nextVersion: 1,
        versions: [],
      };
      if (segment.deletedAt !== undefined) {
        delete segment.deletedAt;
        segment.createdAt = now;
      }
      const version: StoredVersion = {
        version: segment.nextVersion++,
        state: 'draft',
        name: definition.name,
        condition: definition.condition,
        createdAt: now,
      };
      if (definition.description !== undefined) version.description = definition.description;
      segment.versions.push(version);
      segment.name = definition.name;
      if (definition.description !== undefined) segment.description = definition.description;
      else delete segment.description;
      this.moveTo(segment, version, state, now);
      await this.save(segment);
      return { view: await this.view(segment), version: version.version, created };
    });
  }

  async get(id: string): Promise<SegmentView> {
    return this.view(await this.require(id));
  }

  async list(options: { after?: string; limit?: number } = {}): Promise<{ items: SegmentView[]; next?: string }> {
    const limit = Math.min(Math.max(options.limit ?? 100, 1), 500);
    const items: SegmentView[] = [];
    let after = options.after;
    for (;;) {
      const page = await this.deps.metadata.list<StoredSegment>(SEGMENTS_COLLECTION, {
        limit,
        ...(after !== undefined ? { after } : {}),
      });
      for (const { doc } of page.items) {
        after = doc.id;
        if (doc.deletedAt !== undefined) continue;
        items.push(await this.view(doc));
        // A full page may be followed by an empty one: a cursor is cheaper than a look-ahead.
        if (items.length === limit)
          return page.next !== undefined || page.items.at(-1)?.id !== doc.id ? { items, next: doc.id } : { items };
      }
      if (page.next === undefined) return { items };
    }
  }

  /** Retires every version and hides the segment (its version numbers continue if it is PUT again). */
  delete(id: string): Promise<void> {
    return this.exclusive(async () => {
      const all = await this.loadAll();
      const segment = all.get(id);
      if (!segment || segment.deletedAt !== undefined)
        throw SegmentsErrors.create('SEGMENTS_NOT_FOUND', `No segment "${id}"`, { details: { id } });
      this.checkNotReferenced(id, all);
      const now = this.nowIso();
      for (const version of segment.versions) {
        if (version.state !== 'retired') {
          version.state = 'retired';
          version.retiredAt = now;
        }
      }
      segment.deletedAt = now;
      await this.save(segment);
    });
  }

  /** Moves one version through its lifecycle (activating one retires the previous active version). */
  setVersionState(id: string, versionNumber: number, state: VersionState): Promise<SegmentView> {
    return this.exclusive(async () => {
      const all = await this.loadAll();
      const segment = all.get(id);
      if (!segment || segment.deletedAt !== undefined)
        throw SegmentsErrors.create('SEGMENTS_NOT_FOUND', `No segment "${id}"`, { details: { id } });
      const version = segment.versions.find((v) => v.version === versionNumber);
      if (!version)
        throw SegmentsErrors.create('SEGMENTS_VERSION_NOT_FOUND', `Segment "${id}" has no version ${versionNumber}`, {
          details: { id, version: versionNumber },
        });
      if (version.state === state) return this.view(segment);
      if (!TRANSITIONS[version.state].includes(state)) {
        throw SegmentsErrors.create(
          'SEGMENTS_INVALID_TRANSITION',
          `Version ${versionNumber} is ${version.state}; it cannot become ${state}`,
          {
            details: {
              id,
              version: versionNumber,
              from: version.state,
              to: state,
              allowed: TRANSITIONS[version.state],
            },
          },
        );
      }
      if (state === 'shadow' || state === 'active') this.checkReferences(id, version.condition, all);
      if (version.state === 'active' && state === 'retired') this.checkNotReferenced(id, all);
      this.moveTo(segment, version, state, this.nowIso());
      await this.save(segment);
      return this.view(segment);
    });
  }

  /**
   * Starts a backfill: a new version from `body` (or, without a body, the newest draft or shadow
   * version) enters `backfilling`. Fails while another version of the segment is backfilling.
   */
  beginBackfill(id: string, body?: unknown): Promise<{ version: number; definitionsAfter: ActiveSegmentVersion[] }> {
    return this.exclusive(async () => {
      const all = await this.loadAll();
      let segment = all.get(id);
      if (segment?.versions.some((v) => v.state === 'backfilling')) {
        throw SegmentsErrors.create('SEGMENTS_BACKFILL_RUNNING', `A version of "${id}" is already backfilling`, {
          details: { id },
        });
      }
      const now = this.nowIso();
      let version: StoredVersion | undefined;
      if (body !== undefined && body !== null && Object.keys(body).length > 0) {
        const definition = validateDefinition(body, id);
        this.checkReferences(id, definition.condition, all);
        segment ??= { id, name: definition.name, createdAt: now, updatedAt: now, nextVersion: 1, versions: [] };
        if (segment.deletedAt !== undefined) delete segment.deletedAt;
        version = {
          version: segment.nextVersion++,
          state: 'draft',
          name: definition.name,
          condition: definition.condition,
          createdAt: now,
        };
        if (definition.description !== undefined) version.description = definition.description;
        segment.versions.push(version);
        segment.name = definition.name;
      } else {
        if (!segment || segment.deletedAt !== undefined)
          throw SegmentsErrors.create('SEGMENTS_NOT_FOUND', `No segment "${id}"`, { details: { id } });
        version = [...segment.versions].reverse().find((v) => v.state === 'draft' || v.state === 'shadow');
        if (!version) {
          throw SegmentsErrors.create(
            'SEGMENTS_INVALID_TRANSITION',
            `Segment "${id}" has no draft or shadow version to backfill; send a definition`,
            {
              details: { id },
            },
          );
        }
        this.checkReferences(id, version.condition, all);
      }
      version.state = 'backfilling';
      segment.updatedAt = now;
      await this.save(segment);
      all.set(id, segment);
      return { version: version.version, definitionsAfter: this.computed(all, { id, version: version.version }) };
    });
  }

  /** The backfill caught up and every partition switched: the version becomes active, atomically. */
  completeBackfill(id: string, versionNumber: number): Promise<void> {
    return this.exclusive(async () => {
      const segment = await this.require(id);
      const version = segment.versions.find((v) => v.version === versionNumber);
      if (!version || version.state !== 'backfilling') {
        throw SegmentsErrors.create(
          'SEGMENTS_INVALID_TRANSITION',
          `Version ${versionNumber} of "${id}" is not backfilling`,
          { details: { id, version: versionNumber } },
        );
      }
      this.moveTo(segment, version, 'active', this.nowIso());
      await this.save(segment);
    });
  }

  /** The backfill failed: the version goes back to draft. */
  failBackfill(id: string, versionNumber: number): Promise<void> {
    return this.exclusive(async () => {
      const segment = await this.require(id);
      const version = segment.versions.find((v) => v.version === versionNumber);
      if (!version || version.state !== 'backfilling') return;
      version.state = 'draft';
      segment.updatedAt = this.nowIso();
      await this.save(segment);
    });
  }

  async backfillStatus(id: string): Promise<BackfillStatus | undefined> {
    return this.deps.metadata.get<BackfillStatus>(BACKFILL_COLLECTION, id);
  }

  async saveBackfillStatus(status: BackfillStatus): Promise<void> {
    await this.deps.metadata.put(BACKFILL_COLLECTION, status.segmentId, status);
  }

  /** The versions workers compute: every active and shadow version, in a stable order. */
  async definitions(): Promise<ActiveSegmentVersion[]> {
    const revision = await this.revision();
    if (this.cache?.revision === revision) return this.cache.definitions;
    const definitions = this.computed(await this.loadAll());
    this.cache = { revision, definitions };
    return definitions;
  }

  /** The computed versions as they will be once `version` of `id` is active (its previous active version retired). */
  async definitionsAfterActivation(id: string, version: number): Promise<ActiveSegmentVersion[]> {
    return this.computed(await this.loadAll(), { id, version });
  }

  /** Segment id → active version (for the profile API's `segments`). */
  async activeVersions(): Promise<Map<string, number>> {
    return new Map((await this.definitions()).filter((d) => d.state === 'active').map((d) => [d.id, d.version]));
  }

  /** Bumped by every change of definitions (poll it from other processes). */
  async revision(): Promise<number> {
    return (await this.deps.metadata.get<{ revision: number }>(SEGMENTS_META_COLLECTION, 'revision'))?.revision ?? 0;
  }

  /** Called (in this process) after every change with the new computed versions. Returns an unsubscribe function. */
  onChange(listener: DefinitionsListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- internals ----------------------------------------------------------------------------------

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lock.then(fn, fn);
    this.lock = run.catch(() => undefined);
    return run;
  }

  private nowIso(): string {
    return new Date(this.clock.now()).toISOString();
  }

  private async require(id: string): Promise<StoredSegment> {
    const segment = await this.deps.metadata.get<StoredSegment>(SEGMENTS_COLLECTION, id);
    if (!segment || segment.deletedAt !== undefined)
      throw SegmentsErrors.create('SEGMENTS_NOT_FOUND', `No segment "${id}"`, { details: { id } });
    return segment;
  }

  private async loadAll(): Promise<Map<string, StoredSegment>> {
    const all = new Map<string, StoredSegment>();
    let after: string | undefined;
    for (;;) {
      const page = await this.deps.metadata.list<StoredSegment>(SEGMENTS_COLLECTION, {
        limit: 500,
        ...(after !== undefined ? { after } : {}),
      });
      for (const { doc } of page.items) all.set(doc.id, doc);
      if (page.next === undefined) return all;
      after = page.next;
    }
  }

  private moveTo(segment: StoredSegment, version: StoredVersion, state: VersionState, now: string): void {
    if (state === 'active') {
      for (const other of segment.versions) {
        if (other !== version && other.state === 'active') {
          other.state = 'retired';
          other.retiredAt = now;
        }
      }
      version.activatedAt = now;
    }
    if (state === 'retired') version.retiredAt = now;
    version.state = state;
    segment.updatedAt = now;
  }

  private async save(segment: StoredSegment): Promise<void> {
    // Keep the document bounded: drop the oldest retired versions beyond MAX_VERSIONS.
    while (segment.versions.length > MAX_VERSIONS) {
      const index = segment.versions.findIndex((v) => v.state === 'retired' || v.state === 'draft');
      if (index === -1) break;
      segment.versions.splice(index, 1);
    }
    await this.deps.metadata.put(SEGMENTS_COLLECTION, segment.id, segment);
    const revision = (await this.revision()) + 1;
    await this.deps.metadata.put(SEGMENTS_META_COLLECTION, 'revision', { revision, updatedAt: this.nowIso() });
    this.cache = undefined;
    if (this.listeners.size > 0) {
      const definitions = await this.definitions();
      for (const listener of this.listeners) listener(definitions);
    }
  }

  /**
   * The computed versions of a set of segments; with `activate`, as they will be once that version
   * is active (the previous active version retired).
   */
  private computed(
    all: ReadonlyMap<string, StoredSegment>,
    activate?: { id: string; version: number },
  ): ActiveSegmentVersion[] {
    const out: ActiveSegmentVersion[] = [];
    for (const segment of [...all.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
      if (segment.deletedAt !== undefined) continue;
      for (const v of segment.versions) {
        let state: VersionState = v.state;
        if (activate && segment.id === activate.id) {
          if (v.version === activate.version) state = 'active';
          else if (state === 'active') state = 'retired';
        }
        if (state === 'active' || state === 'shadow')
          out.push({ id: segment.id, version: v.version, state, condition: v.condition });
      }
    }
    return out;
  }

  /** Every inSegment reference must name a segment with an active version, and no cycle may form. */
  private checkReferences(id: string, condition: Condition, all: ReadonlyMap<string, StoredSegment>): void {
    const refs = references(condition);
    for (const ref of refs) {
      if (ref.id === id) {
        throw SegmentsErrors.create('SEGMENTS_CYCLE', `Segment "${id}" references itself`, {
          details: { pointer: ref.pointer, cycle: [id, id] },
        });
      }
      const target = all.get(ref.id);
      if (!target || target.deletedAt !== undefined || !target.versions.some((v) => v.state === 'active')) {
        throw SegmentsErrors.create(
          'SEGMENTS_REFERENCE_UNKNOWN',
          `${ref.pointer}: segment "${ref.id}" has no active version`,
          {
            details: { pointer: ref.pointer, segment: ref.id },
          },
        );
      }
    }
    const graph = new Map<string, string[]>();
    for (const segment of all.values()) {
      if (segment.deletedAt !== undefined) continue;
      const deps = segment.versions
        .filter((v) => v.state === 'active' || v.state === 'shadow')
        .flatMap((v) => references(v.condition).map((r) => r.id));
      graph.set(segment.id, deps);
    }
    graph.set(id, [...(graph.get(id) ?? []), ...refs.map((r) => r.id)]);
    const cycle = findCycle(graph);
    if (cycle && cycle.includes(id)) {
      const start = cycle.indexOf(id);
      const next = cycle[start + 1];
      const ref = refs.find((r) => r.id === next) ?? refs[0]!;
      throw SegmentsErrors.create(
        'SEGMENTS_CYCLE',
        `${ref.pointer}: inSegment references form a cycle: ${cycle.join(' → ')}`,
        {
          details: { pointer: ref.pointer, cycle },
        },
      );
    }
  }

  private checkNotReferenced(id: string, all: ReadonlyMap<string, StoredSegment>): void {
    const users: string[] = [];
    for (const segment of all.values()) {
      if (segment.id === id || segment.deletedAt !== undefined) continue;
      const live = segment.versions.filter(
        (v) => v.state === 'active' || v.state === 'shadow' || v.state === 'backfilling',
      );
      if (live.some((v) => references(v.condition).some((r) => r.id === id))) users.push(segment.id);
    }
    if (users.length > 0) {
      throw SegmentsErrors.create('SEGMENTS_IN_USE', `Segments ${users.join(', ')} reference "${id}"`, {
        details: { id, referencedBy: users },
      });
    }
  }

  private async view(segment: StoredSegment): Promise<SegmentView> {
    const active = segment.versions.find((v) => v.state === 'active');
    const versions: SegmentVersionView[] = [];
    for (const v of [...segment.versions].reverse()) {
      const view: SegmentVersionView = {
        version: v.version,
        state: v.state,
        name: v.name,
        condition: v.condition,
        createdAt: v.createdAt,
      };
      if (v.description !== undefined) view.description = v.description;
      if (v.activatedAt !== undefined) view.activatedAt = v.activatedAt;
      if (v.retiredAt !== undefined) view.retiredAt = v.retiredAt;
      if (this.deps.members && (v.state === 'active' || v.state === 'shadow'))
        view.members = await this.deps.members.count(segment.id, v.version);
      versions.push(view);
    }
    const out: SegmentView = {
      id: segment.id,
      name: segment.name,
      activeVersion: active?.version ?? null,
      condition: active?.condition ?? null,
      createdAt: segment.createdAt,
      updatedAt: segment.updatedAt,
      versions,
    };
    if (segment.description !== undefined) out.description = segment.description;
    return out;
  }
}

export function createSegmentService(deps: SegmentServiceDeps): SegmentService {
  return new SegmentService(deps);
}

/** For tests and tools: the plain definition of a stored version. */
export function definitionOf(view: SegmentView, version?: number): SegmentDefinition | undefined {
  const v =
    version === undefined
      ? view.versions.find((x) => x.state === 'active')
      : view.versions.find((x) => x.version === version);
  if (!v) return undefined;
  return {
    id: view.id,
    name: v.name,
    condition: v.condition,
    ...(v.description !== undefined ? { description: v.description } : {}),
  };
}
