import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Registry } from 'prom-client';
import { anonymousKey, userKey, type Clock, type KairosEvent, type Logger } from '../../core/index.js';
import type { EventLog } from '../../log/index.js';
import { PROFILE_OPERATOR, type ProfileReader, type ProfileState } from '../../profiles/index.js';
import { createSegmentService, isMembershipChange, memberIndexPrefix, segmentsOf } from '../../segments/index.js';
import type { MetadataStore, StateStore } from '../../store/index.js';
import type { CommitReport } from '../../stream/index.js';
import type { ModelArtifact } from '../types.js';
import type { SegmentMembers } from './build-serving.js';
import { RecommendationCache } from './cache.js';
import { CartTracker } from './carts.js';
import { Catalogue } from './catalogue.js';
import { Dictionary } from './dictionary.js';
import { RecommendServingErrors } from './errors.js';
import { revenueOf } from './events.js';
import { ImpressionLog } from './impressions.js';
import { DeltaBuffer } from './interaction-table.js';
import { LiveScorer, type ScoreInput, type ScoreWeights } from './live-scorer.js';
import { MembershipTracker } from './membership.js';
import { RecommendMetrics } from './metrics.js';
import { ModelRegistry } from './model-registry.js';
import type { ResolvedRecommendationOptions } from './options.js';
import { ServingModel } from './serving-model.js';
import { InteractionTail } from './tail.js';
import { TrainerClient, type ReadyReply } from './trainer-client.js';
import type {
  ModelRecord,
  ModelsView,
  RecommendQuery,
  RecommendSource,
  ResolvedQuery,
  TrainerStatus,
} from './types.js';

export interface RecommendationServiceDeps {
  readonly dataDir: string;
  readonly log: EventLog;
  readonly state: StateStore;
  readonly metadata: MetadataStore;
  readonly profiles: ProfileReader;
  readonly metrics: Registry;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly partitionCount: number;
  readonly options: ResolvedRecommendationOptions;
}

/** The model being served and its scorer: swapped together, as one reference. */
interface Active {
  readonly model: ServingModel;
  readonly scorer: LiveScorer;
}

const MAX_CONTEXT_ITEMS = 50;
const CATCH_UP_MS = 5_000;
const RETRY_AFTER_FAILURE_MS = 30_000;

function round(score: number): number {
  return Math.round(score * 1e6) / 1e6;
}

/**
 * Live recommendations inside the engine: tails the log into an interaction table, retrains in a
 * worker thread (interval and/or interaction count, or on request), versions models in the
 * registry, swaps them atomically, and scores every request with the visitor's live profile.
 */
/** Growth trigger: retrain once new interactions reach this fraction of the model's (and at least the minimum). */
const GROWTH_FACTOR = 0.5;
const GROWTH_MIN_INTERACTIONS = 20;

export class RecommendationService {
  private active: Active;
  private readonly users = new Dictionary();
  private readonly items = new Dictionary();
  private readonly catalogue = new Catalogue();
  private readonly aliases = new Map<string, string>();
  private readonly buffer = new DeltaBuffer();
  private readonly carts = new CartTracker();
  private readonly cache: RecommendationCache;
  private readonly impressions: ImpressionLog;
  private readonly memberships: MembershipTracker | undefined;
  private readonly metrics: RecommendMetrics;
  private readonly registry: ModelRegistry;
  private readonly tail: InteractionTail;
  private readonly trainer: TrainerClient;
  private readonly weights: ScoreWeights;
  private readonly modelsDir: string;
  private sentUsers = 0;
  private sentItems = 0;
  private knownInteractions = 0;
  private interactionsSinceTraining = 0;
  /** Interactions the active model was trained on (for the growth trigger). */
  private modelInteractions = 0;
  private eventsConsumed = 0;
  private lastTrainingAtMs = 0;
  /** Wall time of the last training (catch-up to artifact); spaces the count and growth triggers. */
  private lastTrainingTookMs = 0;
  private lastFailureAtMs = -Infinity;
  private lastSnapshotAtMs = 0;
  private snapshotPositions: readonly number[] = [];
  private training = false;
  private trainingChain: Promise<unknown> = Promise.resolve();
  private queuedTraining: Promise<ModelRecord> | undefined;
  private snapshotting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopping = false;
  private restarting: Promise<void> | undefined;
  private isoMs = -1;
  private iso = '';

  constructor(private readonly deps: RecommendationServiceDeps) {
    const o = deps.options;
    this.weights = {
      sessionWeight: o.sessionWeight,
      contextSessionWeight: o.contextSessionWeight,
      cartSimilarWeight: o.cartSimilarWeight,
      segmentPopularityWeight: o.segmentPopularityWeight,
      popularityWeight: o.popularityWeight,
      categoryBoost: o.categoryBoost,
    };
    const empty = ServingModel.empty();
    this.active = { model: empty, scorer: new LiveScorer(empty, this.weights, o.maxN) };
    this.cache = new RecommendationCache(o.cacheMaxEntries, o.cacheTtlMs);
    this.impressions = new ImpressionLog(o.impressionsKept, `rec_${randomBytes(6).toString('hex')}`);
    this.metrics = new RecommendMetrics(deps.metrics);
    this.modelsDir = join(deps.dataDir, 'models');
    this.registry = new ModelRegistry(deps.metadata, deps.dataDir, o.keepVersions, deps.logger);
    this.memberships = o.segmentPopularity ? new MembershipTracker() : undefined;
    this.tail = new InteractionTail({
      log: deps.log,
      users: this.users,
      items: this.items,
      catalogue: this.catalogue,
      carts: this.carts,
      buffer: this.buffer,
      aliases: this.aliases,
      logger: deps.logger,
      readBatch: o.readBatch,
      pollIntervalMs: o.pollIntervalMs,
      onAttribution: (event, id) => this.attribute(event, id),
      onCartChanged: (key) => this.cache.invalidate(key),
    });
    this.trainer = new TrainerClient(
      { dataDir: deps.dataDir, modelsDir: this.modelsDir, partitionCount: deps.partitionCount, settings: o.trainer },
      deps.logger,
      (code) => void this.restartTrainer(code),
    );
  }

  /** The version being served (0 before the first training). */
  get version(): number {
    return this.active.model.version;
  }

  async start(): Promise<void> {
    mkdirSync(this.modelsDir, { recursive: true });
    await this.registry.init();
    const ready = await this.trainer.start();
    this.adopt(ready);
    const cursor = await this.registry.loadCursor();
    if (ready.snapshotProblem)
      this.deps.logger.warn(
        { problem: ready.snapshotProblem },
        'interaction snapshot unreadable; rebuilding from the log',
      );
    else if (cursor && ready.snapshotId !== cursor.snapshotId) {
      this.deps.logger.warn(
        { recorded: cursor.snapshotId, found: ready.snapshotId },
        'interaction snapshot differs from the recorded cursor; resuming from the snapshot',
      );
    }
    const latest = await this.registry.loadLatest((artifact) => this.matchesDictionaries(artifact));
    if (latest) {
      const model = ServingModel.fromArtifact(latest.artifact);
      this.install(model, latest.record.interactions);
      this.lastTrainingAtMs = model.trainedAtMs;
    }
    await this.seedMemberships();
    this.lastSnapshotAtMs = this.deps.clock.now();
    this.snapshotPositions = [...ready.positions];
    this.tail.start(ready.positions);
    this.timer = setInterval(() => this.tick(), this.deps.options.tickIntervalMs);
    this.timer.unref();
    this.deps.logger.info(
      {
        version: this.version,
        interactions: ready.rows,
        users: this.users.size,
        items: this.items.size,
        positions: ready.positions,
      },
      'recommendations started',
    );
  }

  /**
   * The members of every active segment version as the stream's member index holds them: the tracker
   * starts from them, then follows the enter/exit records of the commits (the embedded engine starts
   * extensions before the stream, so no change slips between the two).
   */
  private async seedMemberships(): Promise<void> {
    const tracker = this.memberships;
    if (!tracker) return;
    const active = await createSegmentService({ metadata: this.deps.metadata }).activeVersions();
    for (const [segmentId, version] of active) {
      const prefix = memberIndexPrefix(segmentId, version);
      let after: string | undefined;
      for (;;) {
        const page = await this.deps.state.scan(prefix, after === undefined ? { limit: 5000 } : { after, limit: 5000 });
        for (const { key } of page) tracker.apply(key.slice(prefix.length), segmentId, true);
        if (page.length < 5000) break;
        after = page.at(-1)!.key;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.restarting;
    await this.tail.stop();
    if (this.trainer.running) {
      try {
        this.flushDelta();
        await this.trainingChain.catch(() => undefined);
        await this.snapshot();
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'could not save the interaction snapshot at stop');
      }
    }
    await this.trainer.stop();
  }

  /** After every stream commit: lists of changed profiles are stale; segment enters and exits move memberships. */
  onCommit(report: CommitReport): void {
    for (const key of report.changedKeys) this.cache.invalidate(key);
    if (this.memberships) {
      for (const { value } of report.outbox) {
        if (isMembershipChange(value))
          this.memberships.apply(value.profileKey, value.segmentId, value.type === 'enter');
      }
    }
  }

  // ---- serving -----------------------------------------------------------------------------------

  /** `GET /v1/recommendations`: the response body (JSON text). */
  async recommend(query: RecommendQuery): Promise<string> {
    const q = this.resolveQuery(query);
    const { model, scorer } = this.active;
    model.inFlight++;
    try {
      const requestKey = q.lookup ? (this.deps.profiles.keyFor(q.lookup) ?? rawKey(q.lookup)) : undefined;
      const found = q.lookup ? await this.deps.profiles.state(q.lookup) : undefined;
      const nowMs = this.deps.clock.now();
      const profile = found?.state.ops[PROFILE_OPERATOR] as ProfileState | undefined;
      // The cached list must have been computed from this very profile state: commits become
      // visible to readers a moment before onCommit reports them, and a list one click behind
      // must never be served once the profile shows the click.
      const stateKey = found?.key ?? '';
      const stateEvents = profile?.n ?? -1;
      const stateUpdatedMs = profile?.up ?? -1;
      const cacheProfile = requestKey ?? '';
      if (this.cache.enabled) {
        const hit = this.cache.get(cacheProfile, q.cacheKey, model.version, nowMs);
        const fresh =
          hit !== undefined &&
          hit.stateEvents === stateEvents &&
          hit.stateUpdatedMs === stateUpdatedMs &&
          hit.stateKey === stateKey;
        this.metrics.cache(fresh);
        if (fresh) return this.respond(hit.itemsJson, hit.count, hit.source, q, model, nowMs);
      }
      const key = found?.key ?? (requestKey !== undefined ? this.resolveAlias(requestKey) : undefined);
      const segments = found && found.state.sealedInto === undefined ? segmentsOf(found.state).map((s) => s.id) : [];
      if (found) this.memberships?.observe(found.key, segments);
      const out = scorer.score(this.scoreInput(q, model, key, profile, segments));
      const ids = this.items.ids;
      let itemsJson = '[';
      for (let k = 0; k < out.count; k++) {
        const id = ids[out.items[k]!]!;
        itemsJson += `${k > 0 ? ',' : ''}{"itemId":${JSON.stringify(id)},"score":${round(out.scores[k]!)}}`;
      }
      itemsJson += ']';
      this.cache.set(cacheProfile, key, q.cacheKey, {
        version: model.version,
        stateKey,
        stateEvents,
        stateUpdatedMs,
        itemsJson,
        count: out.count,
        placement: q.placementName,
        source: out.source,
        expiresAtMs: nowMs + this.cache.ttlMs,
      });
      return this.respond(itemsJson, out.count, out.source, q, model, nowMs);
    } finally {
      this.release(model);
    }
  }

  private respond(
    itemsJson: string,
    count: number,
    source: RecommendSource,
    q: ResolvedQuery,
    model: ServingModel,
    nowMs: number,
  ): string {
    const id = this.impressions.record(q.placementName, model.version);
    this.metrics.request(q.placementName, source, count);
    if (nowMs !== this.isoMs) {
      this.isoMs = nowMs;
      this.iso = new Date(nowMs).toISOString();
    }
    return `{"items":${itemsJson},"recommendationId":"${id}","model":${model.json},"generatedAt":"${this.iso}"}`;
  }

  private release(model: ServingModel): void {
    model.inFlight--;
    if (model.retired && model.inFlight === 0)
      this.deps.logger.debug({ version: model.version }, 'retired model released');
  }

  private resolveQuery(query: RecommendQuery): ResolvedQuery {
    const o = this.deps.options;
    const placementName = query.placement ?? o.defaultPlacement;
    const placement = Object.hasOwn(o.placements, placementName) ? o.placements[placementName] : undefined;
    if (placement === undefined) {
      throw RecommendServingErrors.create(
        'RECOMMEND_UNKNOWN_PLACEMENT',
        `Unknown placement ${JSON.stringify(placementName)}`,
        {
          details: { placement: placementName, known: Object.keys(o.placements) },
        },
      );
    }
    const n = query.n ?? o.defaultN;
    if (!Number.isInteger(n) || n < 1 || n > o.maxN) {
      throw RecommendServingErrors.create('RECOMMEND_INVALID_REQUEST', `n must be an integer in [1, ${o.maxN}]`, {
        details: { n, max: o.maxN },
      });
    }
    const lookup =
      query.userId !== undefined && query.userId !== ''
        ? { userId: query.userId }
        : query.anonymousId !== undefined && query.anonymousId !== ''
          ? { anonymousId: query.anonymousId }
          : undefined;
    let contextItemIds: string[] = [];
    if (placement !== 'home' && query.itemId !== undefined) {
      contextItemIds = [
        ...new Set(
          query.itemId
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== ''),
        ),
      ];
      if (contextItemIds.length > MAX_CONTEXT_ITEMS) {
        throw RecommendServingErrors.create(
          'RECOMMEND_INVALID_REQUEST',
          `At most ${MAX_CONTEXT_ITEMS} items in itemId`,
          {
            details: { items: contextItemIds.length, max: MAX_CONTEXT_ITEMS },
          },
        );
      }
      if (placement === 'product') contextItemIds = contextItemIds.slice(0, 1);
    }
    if (placement === 'product' && contextItemIds.length === 0) {
      throw RecommendServingErrors.create('RECOMMEND_ITEM_REQUIRED', `Placement ${placementName} needs itemId`, {
        details: { placement: placementName },
      });
    }
    return {
      placementName,
      placement,
      n,
      lookup,
      contextItemIds,
      cacheKey: `${placementName}\u0000${contextItemIds.join(',')}\u0000${n}`,
    };
  }

  private resolveAlias(key: string): string {
    let k = key;
    for (let hops = 0; hops < 8; hops++) {
      const next = this.aliases.get(k);
      if (next === undefined) return k;
      k = next;
    }
    return k;
  }

  private scoreInput(
    q: ResolvedQuery,
    model: ServingModel,
    key: string | undefined,
    profile: ProfileState | undefined,
    segments: readonly string[],
  ): ScoreInput {
    const o = this.deps.options;
    const { items, catalogue } = this;
    const recent = profile?.ri ?? [];
    const sessionItems: number[] = [];
    const sessionWeights: number[] = [];
    const exclude: number[] = [];
    const newest = recent[0]?.[1] ?? 0;
    for (let k = 0; k < recent.length; k++) {
      const [itemId, t] = recent[k]!;
      const i = items.get(itemId);
      if (i < 0) continue;
      if (o.excludeSeen) exclude.push(i);
      if (sessionItems.length < o.sessionItems) {
        sessionItems.push(i);
        sessionWeights.push(o.sessionHalfLifeMs > 0 ? Math.pow(2, -(newest - t) / o.sessionHalfLifeMs) : 1);
      }
    }
    if (o.excludePurchased) for (const [itemId] of profile?.pu ?? []) exclude.push(items.get(itemId));
    const contextIds =
      q.placement === 'cart' && key !== undefined
        ? [...new Set([...q.contextItemIds, ...this.carts.get(key)])]
        : q.contextItemIds;
    const contextItems = contextIds.map((id) => items.get(id));
    const viewed = q.placement === 'product' ? (contextItems[0] ?? -1) : (sessionItems[0] ?? -1);
    const boosted = segments.some((s) => o.boostSegments.includes(s));
    const segmentIndices: number[] = [];
    for (const s of segments) {
      const index = model.segmentIndex.get(s);
      if (index !== undefined) segmentIndices.push(index);
    }
    return {
      placement: q.placement,
      n: q.n,
      user: key !== undefined ? this.users.get(key) : -1,
      sessionItems,
      sessionWeights,
      contextItems,
      contextCategory:
        q.placement === 'product' && contextItems[0] !== undefined && contextItems[0] >= 0
          ? catalogue.categoryOf(contextItems[0])
          : -1,
      exclude,
      excludeHistory: o.excludeSeen,
      segments: segmentIndices,
      boostCategory: boosted && viewed >= 0 ? catalogue.categoryOf(viewed) : -1,
      catalogue,
    };
  }

  private attribute(event: KairosEvent, recommendationId: string): void {
    const impression = this.impressions.get(recommendationId);
    const name = event.event ?? '';
    if (!impression) {
      this.metrics.unmatchedAttribution(name);
      return;
    }
    if (name === 'Product Clicked') this.metrics.click(impression.placement);
    else if (name === 'Order Completed') this.metrics.order(impression.placement, revenueOf(event));
  }

  // ---- training ----------------------------------------------------------------------------------

  /** Trains a new version now (queued behind a running training); resolves with its record. */
  train(): Promise<ModelRecord> {
    if (this.queuedTraining) return this.queuedTraining;
    const run = this.trainingChain
      .catch(() => undefined)
      .then(() => {
        this.queuedTraining = undefined;
        return this.runTraining();
      });
    this.queuedTraining = run;
    this.trainingChain = run;
    return run;
  }

  async models(limit = 50): Promise<ModelsView> {
    const { model } = this.active;
    return {
      active: model.version > 0 ? { name: model.name, version: model.version } : null,
      versions: await this.registry.list(limit),
      trainer: this.status(),
    };
  }

  async model(version: number): Promise<ModelRecord> {
    const record = Number.isInteger(version) && version > 0 ? await this.registry.get(version) : undefined;
    if (!record)
      throw RecommendServingErrors.create('RECOMMEND_UNKNOWN_VERSION', `No model version ${version}`, {
        details: { version },
      });
    return record;
  }

  status(): TrainerStatus {
    return {
      training: this.training,
      queued: this.queuedTraining !== undefined,
      interactionsSinceTraining: this.interactionsSinceTraining + this.buffer.length,
      eventsConsumed: this.eventsConsumed + this.buffer.records,
      positions: [...this.tail.positions],
      lastTrainingAt: this.lastTrainingAtMs > 0 ? new Date(this.lastTrainingAtMs).toISOString() : null,
      users: this.users.size,
      items: this.items.size,
    };
  }

  private async runTraining(): Promise<ModelRecord> {
    if (this.stopping) throw RecommendServingErrors.create('RECOMMEND_TRAINER_UNAVAILABLE', 'The engine is stopping');
    await this.restarting;
    const version = this.registry.nextVersion();
    const { options, clock } = this.deps;
    this.training = true;
    const started = clock.now();
    try {
      await this.tail.catchUp(CATCH_UP_MS);
      this.flushDelta();
      this.interactionsSinceTraining = 0;
      const reply = await this.trainer.train(version, this.segmentMembers(), clock.now());
      const result = reply.result;
      const model = ServingModel.fromResult(result);
      const previous = this.active.model;
      this.install(model, result.interactions);
      this.lastTrainingAtMs = clock.now();
      const record: ModelRecord = {
        version,
        model: result.model,
        state: 'active',
        createdAt: new Date(this.lastTrainingAtMs).toISOString(),
        trainMs: Math.round(result.trainMs),
        file: reply.file,
        bytes: reply.bytes,
        interactions: result.interactions,
        users: result.userCount,
        items: result.itemCount,
        logPositions: result.positions,
        metrics: result.metrics,
        options: result.options,
      };
      await this.registry.put(record);
      if (previous.version > 0) await this.registry.retire(previous.version);
      await this.registry.saveCursor({
        snapshotId: reply.snapshotId,
        positions: result.positions,
        savedAt: record.createdAt,
      });
      this.snapshotPositions = [...result.positions];
      this.lastSnapshotAtMs = clock.now();
      await this.registry.retain(version);
      this.lastTrainingTookMs = clock.now() - started;
      this.metrics.training(true, result.trainMs / 1000);
      this.deps.logger.info(
        {
          version,
          model: result.model,
          interactions: result.interactions,
          trainMs: Math.round(result.trainMs),
          metrics: result.metrics,
        },
        'model trained and swapped in',
      );
      return record;
    } catch (error) {
      this.lastFailureAtMs = clock.now();
      this.metrics.training(false);
      const code = (error as { code?: string }).code ?? 'RECOMMEND_TRAINING_FAILED';
      const message = (error as Error).message;
      this.deps.logger.error({ err: error, version }, 'model training failed; still serving the previous version');
      await this.registry
        .put({
          version,
          model: options.trainer.model,
          state: 'failed',
          createdAt: new Date(started).toISOString(),
          error: { code, message },
        })
        .catch(() => undefined);
      throw error;
    } finally {
      this.training = false;
    }
  }

  /** The atomic swap: one reference assignment between requests; in-flight requests keep theirs. */
  private install(model: ServingModel, interactions: number | undefined): void {
    const previous = this.active.model;
    if (interactions !== undefined) this.modelInteractions = interactions;
    this.active = { model, scorer: new LiveScorer(model, this.weights, this.deps.options.maxN) };
    previous.retired = true;
    this.cache.clear();
    this.metrics.swapped(model.version, interactions, model.metrics);
  }

  private segmentMembers(): SegmentMembers[] {
    if (!this.memberships) return [];
    const out: SegmentMembers[] = [];
    for (const [id, keys] of this.memberships.bySegment()) {
      const users: number[] = [];
      for (const key of keys) {
        const u = this.users.get(this.resolveAlias(key));
        if (u >= 0) users.push(u);
      }
      if (users.length > 0) out.push({ id, users: Int32Array.from(users) });
    }
    return out;
  }

  private flushDelta(): void {
    if (this.buffer.empty && this.sentUsers === this.users.size && this.sentItems === this.items.size) return;
    if (!this.trainer.running) return;
    const records = this.buffer.records;
    const delta = this.buffer.take(
      this.users,
      this.sentUsers,
      this.items,
      this.sentItems,
      this.catalogue.takeDelta(),
      this.tail.positions,
    );
    this.sentUsers = this.users.size;
    this.sentItems = this.items.size;
    this.knownInteractions += delta.users.length;
    this.interactionsSinceTraining += delta.users.length;
    this.eventsConsumed += records;
    this.metrics.consumed(records);
    this.trainer.send(delta);
  }

  private tick(): void {
    if (this.stopping || this.restarting) return;
    try {
      this.flushDelta();
    } catch (error) {
      this.deps.logger.error({ err: error }, 'could not hand interactions to the trainer');
      return;
    }
    const o = this.deps.options;
    const now = this.deps.clock.now();
    if (this.training || this.queuedTraining) return;
    if (now - this.lastFailureAtMs < RETRY_AFTER_FAILURE_MS) return;
    const since = this.interactionsSinceTraining;
    // The count and growth triggers keep the trainer busy at most `trainerShare` of the time.
    const rested = now - this.lastTrainingAtMs >= this.lastTrainingTookMs * (1 / o.trainerShare - 1);
    const due =
      (this.version === 0 && this.knownInteractions >= o.minInteractions && since > 0) ||
      (this.version > 0 && rested && o.retrainEveryInteractions > 0 && since >= o.retrainEveryInteractions) ||
      // Young data: retrain when it has grown by half since the model (a first model on a handful of
      // interactions must not serve for a whole retrain interval).
      (this.version > 0 &&
        rested &&
        since >= Math.max(GROWTH_MIN_INTERACTIONS, GROWTH_FACTOR * this.modelInteractions)) ||
      (this.version > 0 && o.retrainIntervalMs > 0 && since > 0 && now - this.lastTrainingAtMs >= o.retrainIntervalMs);
    if (due && this.knownInteractions >= o.minInteractions) {
      this.train().catch(() => undefined);
      return;
    }
    const moved = this.tail.positions.some((position, p) => position !== this.snapshotPositions[p]);
    if (
      o.snapshotIntervalMs > 0 &&
      moved &&
      now - this.lastSnapshotAtMs >= o.snapshotIntervalMs &&
      !this.snapshotting
    ) {
      this.lastSnapshotAtMs = now;
      this.snapshotting = this.snapshot()
        .catch((error: unknown) => this.deps.logger.warn({ err: error }, 'interaction snapshot failed'))
        .finally(() => {
          this.snapshotting = undefined;
        });
    }
  }

  private async snapshot(): Promise<void> {
    const written = await this.trainer.snapshot();
    this.snapshotPositions = [...written.positions];
    await this.registry.saveCursor({
      snapshotId: written.snapshotId,
      positions: written.positions,
      savedAt: new Date(this.deps.clock.now()).toISOString(),
    });
  }

  /** Takes the trainer's table (restored from its snapshot) as the starting point. */
  private adopt(ready: ReadyReply): void {
    for (let k = 0; k < ready.userIds.length; k++) {
      const at = this.users.intern(ready.userIds[k]!);
      if (at !== k) throw new Error('user dictionary out of step with the trainer snapshot');
    }
    for (let k = 0; k < ready.itemIds.length; k++) {
      const at = this.items.intern(ready.itemIds[k]!);
      if (at !== k) throw new Error('item dictionary out of step with the trainer snapshot');
    }
    this.catalogue.applyDelta(ready.catalogue);
    this.catalogue.markSent();
    this.sentUsers = ready.userIds.length;
    this.sentItems = ready.itemIds.length;
    this.knownInteractions = ready.rows;
    this.eventsConsumed = ready.records;
  }

  /** A restored artifact must index the same ids the dictionaries give (they only ever grow). */
  private matchesDictionaries(artifact: ModelArtifact): boolean {
    const check = (ids: readonly string[], dict: Dictionary) =>
      ids.length <= dict.size &&
      (ids.length === 0 || (dict.ids[ids.length - 1] === ids[ids.length - 1] && dict.ids[0] === ids[0]));
    return check(artifact.itemIds, this.items) && check(artifact.userIds, this.users);
  }

  /**
   * The trainer thread died: start a new one from its last snapshot and re-read the log from the
   * snapshot's cursors. The dictionaries are kept (they only grow; re-read ids keep their index).
   * Serving goes on with the current version meanwhile.
   */
  private restartTrainer(code: number): Promise<void> {
    if (this.stopping || this.restarting) return this.restarting ?? Promise.resolve();
    this.deps.logger.error({ code }, 'trainer thread exited; restarting it from its snapshot');
    this.restarting = (async () => {
      await this.tail.stop();
      this.buffer.take(
        this.users,
        this.users.size,
        this.items,
        this.items.size,
        this.catalogue.takeDelta(),
        this.tail.positions,
      );
      const ready = await this.trainer.start();
      if (this.stopping) return;
      this.sentUsers = ready.userIds.length;
      this.sentItems = ready.itemIds.length;
      // The restarted trainer knows the catalogue of its snapshot; send everything we know since.
      const catalogue = this.catalogue.fullDelta(this.items.size);
      this.trainer.send(
        this.buffer.take(this.users, this.sentUsers, this.items, this.sentItems, catalogue, ready.positions),
      );
      this.sentUsers = this.users.size;
      this.sentItems = this.items.size;
      this.tail.start(ready.positions);
    })()
      .catch((error: unknown) => this.deps.logger.error({ err: error }, 'trainer restart failed'))
      .finally(() => {
        this.restarting = undefined;
      });
    return this.restarting;
  }
}

function rawKey(lookup: { readonly userId: string } | { readonly anonymousId: string }): string {
  return 'userId' in lookup ? userKey(lookup.userId) : anonymousKey(lookup.anonymousId);
}
