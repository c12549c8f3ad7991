import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createLogger, type Logger } from '../../core/index.js';
import { createCollector, type Collector } from '../../collect/index.js';
import type { RabbitMqEventLog } from '../../log/index.js';
import {
  collectRoutes,
  createHttpServer,
  deadLetterRoutes,
  healthRoutes,
  profileRoutes,
  schemaRoutes,
  SseHub,
  staticRoutes,
  webRoutes,
  type KeyRing,
  type RouteModule,
} from '../../serve/index.js';
import type { PostgresMetadataStore, RedisStateStore } from '../../store/index.js';
import { TaskGroup, resolveStreamOptions } from '../../stream/index.js';
import { createStreamMetrics } from '../engine.js';
import type { EngineContext } from '../extension.js';
import { OutboxRelay } from '../outbox-relay.js';
import { createPipeline, type PipelineConfig } from '../pipeline.js';
import { loadSegmentsPipeline, startSegments } from '../segments.js';
import { createSegmentService } from '../../segments/index.js';
import { PartitionCoordinator } from './coordinator.js';
import { withOwnershipLog } from './fencing-log.js';
import { ReadGate, gatedLog } from './read-gate.js';
import { DistributedProfileReader, MetadataIdentityResolver } from './identity.js';
import { MEMBERS_COLLECTION, Membership, type MemberDoc } from './membership.js';
import {
  resolveDistributedOptions,
  ROLES,
  type DistributedOptions,
  type ResolvedDistributedOptions,
  type Role,
} from './options.js';
import { OutboxFeed } from './outbox-feed.js';
import { deploymentKeys, openLog, openMetadata, openState } from './services.js';

export interface RunningRoles {
  readonly roles: readonly Role[];
  readonly url: string;
  readonly port: number;
  readonly namespace: string;
  readonly writeKey: string;
  readonly secretKey: string;
  /** True when this start generated the deployment's keys (stored in the metadata store). */
  readonly keysGenerated: boolean;
  /** The worker's member id (worker role only). */
  readonly memberId: string | undefined;
  readonly logger: Logger;
  stop(): Promise<void>;
}

/** What the parts of one process share: one metadata store, one Redis client, one log, one registry. */
interface Shared {
  readonly options: ResolvedDistributedOptions;
  readonly logger: Logger;
  readonly metadata: PostgresMetadataStore;
  readonly keys: KeyRing;
  readonly metrics: Registry;
  readonly closers: (() => Promise<void>)[];
  readonly signal: AbortSignal;
  state(): Promise<RedisStateStore>;
  /** The collector's writer when this process runs one (it reads too), else a reader. */
  log(): Promise<RabbitMqEventLog>;
}

/** One role's contribution to the process. */
interface Part {
  readonly routes: readonly RouteModule[];
  readiness(): Record<string, unknown>;
  /** Called once the HTTP server listens (its URL is known). */
  started?(url: string): void;
}

/** The collector's log settings: answer 503 within seconds of a broker outage rather than hold requests. */
const COLLECTOR_LOG_DEFAULTS = { connectTimeoutMs: 3_000, publishTimeoutMs: 5_000 };

/** Longest a takeover holds the running tasks' reads (it normally takes well under a second). */
const TAKEOVER_MAX_HOLD_MS = 3_000;

/**
 * Runs one or more roles of the distributed topology in this process (docs/distributed.md), over
 * RabbitMQ (log), Redis (state) and PostgreSQL (metadata). Each role builds only what it needs;
 * every process serves /healthz, /readyz and /metrics on its port.
 */
export async function startRoles(roles: readonly Role[], input: DistributedOptions): Promise<RunningRoles> {
  const unique = ROLES.filter((r) => roles.includes(r));
  const options = resolveDistributedOptions(input);
  const logger = options.logger ?? createLogger({ level: options.logLevel });
  const closers: (() => Promise<void>)[] = [];
  const abort = new AbortController();
  const closeAll = async () => {
    abort.abort();
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
    }
  };
  try {
    const metadata = await openMetadata(options, logger);
    closers.push(() => metadata.close());
    const keys = await deploymentKeys(metadata, { writeKey: options.writeKey, secretKey: options.secretKey });
    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics, prefix: 'kairos_process_' });
    let statePromise: Promise<RedisStateStore> | undefined;
    let logPromise: Promise<RabbitMqEventLog> | undefined;
    const shared: Shared = {
      options,
      logger,
      metadata,
      keys,
      metrics,
      closers,
      signal: abort.signal,
      state: () =>
        (statePromise ??= openState(options, logger, unique.join('+')).then((state) => {
          closers.push(() => state.close());
          return state;
        })),
      log: () =>
        (logPromise ??= openLog(
          options,
          unique.includes('collector') ? 'writer' : 'reader',
          logger,
          unique.includes('collector') ? COLLECTOR_LOG_DEFAULTS : {},
          abort.signal,
        ).then((log) => {
          closers.push(() => log.close());
          return log;
        })),
    };

    const parts = new Map<Role, Part>();
    let memberId: string | undefined;
    for (const role of unique) {
      const roleLogger = logger.child({ role });
      if (role === 'collector') parts.set(role, await collectorPart(shared, roleLogger));
      else if (role === 'worker') {
        const part = await workerPart(shared, roleLogger);
        memberId = part.memberId;
        parts.set(role, part);
      } else if (role === 'api') parts.set(role, await apiPart(shared, roleLogger));
      else parts.set(role, await trainerPart(shared, roleLogger));
    }

    let ready = false;
    const routes: RouteModule[] = [
      healthRoutes({
        isReady: () => ready,
        readiness: () => ({
          roles: unique,
          namespace: options.namespace,
          ...Object.fromEntries([...parts].map(([role, part]) => [role, part.readiness()])),
        }),
      }),
      ...[...parts.values()].flatMap((part) => part.routes),
    ];
    const app = await createHttpServer({ keys, logger, metrics, routes, version: '0.1.0' });
    closers.push(() => app.close());
    await app.listen({ host: options.host, port: options.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
    for (const part of parts.values()) part.started?.(url);
    ready = true;
    return {
      roles: unique,
      url,
      port,
      namespace: options.namespace,
      writeKey: keys.writeKeys[0]!,
      secretKey: keys.secretKeys[0]!,
      keysGenerated: keys.generated,
      memberId,
      logger,
      stop: async () => {
        ready = false;
        await closeAll();
      },
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

// ---- collector ----------------------------------------------------------------------------------

/**
 * Collection: the Segment-compatible routes over the RabbitMQ log (writer), dead letters and schemas
 * in the metadata store, and the outbox relay — it re-appends events forwarded to merged profiles, and
 * runs here because the collector holds the namespace's only writer.
 */
async function collectorPart(shared: Shared, logger: Logger): Promise<Part> {
  const { options, metadata } = shared;
  const log = await shared.log();
  const collector: Collector = createCollector({
    log,
    metadata,
    clock: options.clock,
    logger: logger.child({ component: 'collect' }),
    options: options.collector,
  });
  await collector.start();
  shared.closers.push(() => collector.close());
  const state = await shared.state();
  const relay = new OutboxRelay({
    log,
    state,
    metadata,
    partitionCount: log.partitionCount,
    logger: logger.child({ component: 'relay' }),
  });
  await relay.start();
  shared.closers.push(() => relay.stop());
  return {
    routes: [
      collectRoutes({ collector, clock: options.clock }),
      schemaRoutes({ collector }),
      deadLetterRoutes({ collector }),
      staticRoutes({ sdkDir: fileURLToPath(new URL('../../../dist/sdk', import.meta.url)) }),
    ],
    readiness: () => ({ log: log.stats(), collector: collector.stats(), relayed: relay.relayed }),
  };
}

// ---- worker -------------------------------------------------------------------------------------

/**
 * Stream processing: a TaskGroup over the RabbitMQ readers and the Redis StateStore whose partitions
 * the coordinator assigns (heartbeats in the metadata store, fencing through the StateStore).
 */
async function workerPart(shared: Shared, logger: Logger): Promise<Part & { memberId: string }> {
  const { options, metadata, metrics } = shared;
  const state = await shared.state();
  const log = await shared.log();
  const streamMetrics = createStreamMetrics(metrics);
  const streamOptions = resolveStreamOptions({
    maxBatchRecords: 500,
    ...options.stream,
    clock: options.clock,
    logger: logger.child({ component: 'stream' }),
  });
  // The segment definitions in the metadata store (PostgreSQL) are the pipeline; polled for changes.
  const segmentService = createSegmentService({ metadata, clock: options.clock });
  const loadPipeline = options.loadPipeline ?? (() => loadSegmentsPipeline(segmentService));
  let pipelineConfig: PipelineConfig = await loadPipeline();
  let coordinator: PartitionCoordinator | undefined;
  const gate = new ReadGate();
  const group = new TaskGroup({
    partitions: [],
    log: gatedLog(log, gate),
    store: withOwnershipLog(state, options.memberId, logger.child({ component: 'ownership' })),
    options: streamOptions,
    owner: options.memberId,
    pipeline: createPipeline(pipelineConfig),
    onCommit: (report) => streamMetrics.record(report),
    onFenced: (partition) => coordinator?.onFenced(partition),
  });
  shared.closers.push(() => group.stop());
  // A new definitions revision rebuilds the tasks' pipelines.
  const pipelineTimer = setInterval(() => {
    loadPipeline()
      .then((config) => {
        if (config.version === pipelineConfig.version) return;
        pipelineConfig = config;
        group.setPipeline(createPipeline(config));
        logger.info({ version: config.version }, 'pipeline updated');
      })
      .catch((error: unknown) => logger.warn({ err: error }, 'could not load the pipeline definition'));
  }, options.pipelinePollMs);
  pipelineTimer.unref();
  shared.closers.push(() => Promise.resolve(clearInterval(pipelineTimer)));
  const startedAtMs = options.clock.now();
  const newCoordinator = (url: string | undefined) =>
    new PartitionCoordinator({
      membership: new Membership({
        metadata,
        memberId: options.memberId,
        clock: options.clock,
        ttlMs: options.memberTtlMs,
        info: { host: hostname(), pid: process.pid, startedAtMs, ...(url !== undefined ? { url } : {}) },
      }),
      runner: {
        // Taking partitions over goes first: the running tasks' reads wait meanwhile (see ReadGate).
        add: async (partition) => {
          const release = gate.hold(TAKEOVER_MAX_HOLD_MS);
          try {
            await group.add(partition);
          } finally {
            release();
          }
        },
        remove: (partition) => group.remove(partition),
        get partitions() {
          return group.partitions;
        },
      },
      partitionCount: log.partitionCount,
      clock: options.clock,
      logger: logger.child({ component: 'ownership' }),
      heartbeatMs: options.heartbeatMs,
      ttlMs: options.memberTtlMs,
      handoffTimeoutMs: options.handoffTimeoutMs,
    });
  // Registered now so it stops before the group (release, then leave the membership); started with the URL.
  shared.closers.push(() => coordinator?.stop() ?? Promise.resolve());
  return {
    memberId: options.memberId,
    routes: [],
    started: (url) => {
      coordinator = newCoordinator(url);
      coordinator.start();
    },
    readiness: () => ({
      member: options.memberId,
      assigned: coordinator?.assignment ?? [],
      owned: coordinator?.owned ?? [],
      live: coordinator?.view?.live.map((m) => m.id) ?? [],
      partitions: group.positions().map((p) => ({
        partition: p.partition,
        offset: p.offset,
        watermark: p.watermarkMs > -8e15 ? new Date(p.watermarkMs).toISOString() : null,
      })),
      ownership: coordinator?.events.slice(-50) ?? [],
      pipelineVersion: pipelineConfig.version,
    }),
  };
}

// ---- api ----------------------------------------------------------------------------------------

interface PartitionLag {
  partition: number;
  logEnd: number | null;
  offset: number | null;
  lag: number | null;
  owner: string | null;
}

/**
 * Serving: profiles from Redis (identity through the metadata store), the SSE stream fed by the
 * partitions' outboxes, the web apps, and per-partition lag for operators.
 */
async function apiPart(shared: Shared, logger: Logger): Promise<Part> {
  const { options, metadata } = shared;
  const state = await shared.state();
  const identity = new MetadataIdentityResolver(metadata, options.clock);
  // Segments: admin routes, members, destinations and the webhook dispatcher (one API process per
  // deployment dispatches; backfill needs the embedded engine's stream pause and is unavailable here).
  const segments = await startSegments({
    dataDir: options.dataDir,
    state,
    metadata,
    partitionCount: options.partitions,
    clock: options.clock,
    logger: logger.child({ component: 'segments' }),
  });
  shared.closers.push(() => segments.stop());
  const profiles = new DistributedProfileReader(
    { store: state, segmentsOf: (keyState) => segments.segmentsOf(keyState) },
    identity,
  );
  const hub = new SseHub();
  shared.closers.push(() => Promise.resolve(hub.close()));
  const feed = new OutboxFeed({
    state,
    partitionCount: options.partitions,
    publish: (record) => hub.publish(record),
    active: () => hub.size > 0,
    logger: logger.child({ component: 'sse' }),
  });
  feed.start();
  shared.closers.push(() => feed.stop());

  // The log is only needed for lag: the API answers before any collector created it.
  let log: RabbitMqEventLog | undefined;
  shared.log().then(
    (opened) => (log = opened),
    (error: unknown) => {
      if (!shared.signal.aborted) logger.error({ err: error }, 'event log unavailable; lag unknown');
    },
  );
  let lags: PartitionLag[] = [];
  let lagAtMs = 0;
  let refreshing: Promise<void> | undefined;
  const refreshLag = async () => {
    const owners = new Map<number, string>();
    const members = await metadata.list<MemberDoc>(MEMBERS_COLLECTION, { limit: 1000 });
    for (const { doc } of members.items) for (const p of doc.owned) owners.set(p, doc.id);
    lags = await Promise.all(
      Array.from({ length: options.partitions }, async (_, partition) => {
        const [end, checkpoint] = await Promise.all([
          log ? log.offsets(partition).then((o) => o.end) : Promise.resolve(null),
          state.checkpoint(partition),
        ]);
        const offset = checkpoint?.offset ?? 0;
        return {
          partition,
          logEnd: end,
          offset,
          lag: end === null ? null : Math.max(0, end - offset),
          owner: owners.get(partition) ?? null,
        };
      }),
    );
    lagAtMs = options.clock.now();
  };
  return {
    routes: [
      profileRoutes({ profiles, hub }),
      ...segments.routes,
      staticRoutes({ sdkDir: fileURLToPath(new URL('../../../dist/sdk', import.meta.url)) }),
      webRoutes({}),
    ],
    readiness: () => {
      // Computed lazily (a log end is a broker scan): at most once a second, while someone asks.
      if (!refreshing && options.clock.now() - lagAtMs > 1_000) {
        refreshing = refreshLag()
          .catch((error: unknown) => logger.warn({ err: error }, 'lag refresh failed'))
          .finally(() => (refreshing = undefined));
      }
      return {
        partitions: lags,
        lagMeasuredAt: lagAtMs > 0 ? new Date(lagAtMs).toISOString() : null,
        sseSubscribers: hub.size,
        ssePublished: feed.published,
      };
    },
  };
}

// ---- trainer ------------------------------------------------------------------------------------

/**
 * Recommendations: runs the extensions it is given (the CLI passes the recommendation extension, which
 * tails the log, trains in a worker thread, keeps model artifacts in this process's data dir and serves
 * `/v1/recommendations`). Without extensions it only answers health checks.
 */
async function trainerPart(shared: Shared, logger: Logger): Promise<Part> {
  const { options, metadata, keys, metrics } = shared;
  if (options.extensions.length === 0) {
    logger.warn('trainer role: no extension to run (nothing to do)');
    return { routes: [], readiness: () => ({ extensions: [] }) };
  }
  const state = await shared.state();
  const log = await shared.log();
  const context: EngineContext = {
    dataDir: options.dataDir,
    log,
    state,
    metadata,
    profiles: new DistributedProfileReader({ store: state }, new MetadataIdentityResolver(metadata, options.clock)),
    keys,
    metrics,
    clock: options.clock,
    logger,
    partitionCount: log.partitionCount,
  };
  const routes: RouteModule[] = [];
  for (const extension of options.extensions) {
    const started = await extension.start({ ...context, logger: logger.child({ component: extension.name }) });
    if (started.routes) routes.push(...started.routes);
    // No commit reports cross processes: extensions re-read profile state (their caches compare it).
    if (started.stop) shared.closers.push(started.stop);
  }
  return { routes, readiness: () => ({ extensions: options.extensions.map((e) => e.name) }) };
}
