import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock, Logger } from '../core/index.js';
import type { EventLog } from '../log/index.js';
import type { SegmentMembershipView } from '../profiles/index.js';
import {
  createBackfillRunner,
  createDestinationService,
  createSegmentService,
  createWebhookDispatcher,
  MembershipReader,
  segmentsOf,
  type ActiveSegmentVersion,
  type FetchFunction,
  type PartitionPauser,
  type SegmentDefinition,
  type SegmentService,
  type SegmentsOperatorOptions,
  type WebhookDispatcher,
  type WebhookDispatcherOptions,
} from '../segments/index.js';
import { destinationRoutes, segmentRoutes, type RouteModule } from '../serve/index.js';
import { LmdbStateStore, type MetadataStore, type StateStore } from '../store/index.js';
import type { CommitReport, KeyState, ResolvedStreamOptions } from '../stream/index.js';
import type { PipelineConfig } from './pipeline.js';

export interface SegmentsWiringDeps {
  readonly dataDir: string;
  /** The event log (backfills read it); without it, backfill is unavailable. */
  readonly log?: EventLog;
  readonly state: StateStore;
  readonly metadata: MetadataStore;
  readonly partitionCount: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly stream?: ResolvedStreamOptions;
  /** Pauses and resumes the live stream (backfill switch). Without it, backfill is unavailable. */
  readonly pauser?: PartitionPauser;
  /** Runs the webhook dispatcher in this process. @default true */
  readonly dispatch?: boolean;
  readonly operator?: SegmentsOperatorOptions;
  readonly webhooks?: WebhookDispatcherOptions;
  /** For tests (a receiver that fails on purpose is still reached over real HTTP). */
  readonly fetch?: FetchFunction;
  /** How often other processes' definition changes are picked up (distributed mode). @default 2000 */
  readonly pollMs?: number;
  /** Installed (active) when the metadata store has never held a segment (first start). */
  readonly seed?: readonly SegmentDefinition[];
}

export interface SegmentsWiring {
  readonly service: SegmentService;
  readonly members: MembershipReader;
  readonly dispatcher: WebhookDispatcher | undefined;
  readonly routes: RouteModule[];
  /** The pipeline the stream should run now (profile + the active and shadow segment versions). */
  pipeline(): PipelineConfig;
  /** Called with a new pipeline whenever definitions change (here or, by polling, elsewhere). */
  onPipeline(listener: (config: PipelineConfig) => void): void;
  /** Active memberships of a stored profile (synchronous: the active versions are cached). */
  segmentsOf(state: KeyState): SegmentMembershipView[];
  onCommit(report: CommitReport): void;
  stop(): Promise<void>;
}

/** The pipeline a worker should run, read from the metadata store (workers in other processes poll it). */
export async function loadSegmentsPipeline(
  service: SegmentService,
  operator?: SegmentsOperatorOptions,
): Promise<PipelineConfig> {
  const revision = await service.revision();
  return { version: revision + 1, segments: await service.definitions(), segmentsOperator: operator };
}

/**
 * The segments capability in the composition root: definitions and lifecycle (metadata store), the
 * member reader (state store), backfills, destinations and the webhook dispatcher, and the pipeline
 * definitions the stream runs. Definitions flow to the stream as a PipelineConfig (rebuilt by every
 * worker); memberships flow back only through the state store and the outbox (data flows one way).
 */
export async function startSegments(deps: SegmentsWiringDeps): Promise<SegmentsWiring> {
  const members = new MembershipReader({ store: deps.state, partitionCount: deps.partitionCount });
  const service = createSegmentService({ metadata: deps.metadata, clock: deps.clock, members });
  const destinations = createDestinationService({ metadata: deps.metadata, clock: deps.clock });

  if (deps.seed && deps.seed.length > 0 && (await service.revision()) === 0) {
    for (const definition of deps.seed) await service.put(definition.id, definition);
  }
  let revision = await service.revision();
  let definitions: ActiveSegmentVersion[] = await service.definitions();
  let active = activeOf(definitions);
  const listeners: ((config: PipelineConfig) => void)[] = [];
  const pipeline = (): PipelineConfig => ({
    version: revision + 1,
    segments: definitions,
    segmentsOperator: deps.operator,
  });
  const apply = (next: ActiveSegmentVersion[], nextRevision: number) => {
    definitions = next;
    active = activeOf(next);
    revision = nextRevision;
    const config = pipeline();
    for (const listener of listeners) listener(config);
  };
  const unsubscribe = service.onChange((next) => {
    void service.revision().then(
      (r) => apply(next, r),
      (error: unknown) => deps.logger.warn({ err: error }, 'could not read the segments revision'),
    );
  });
  // Other processes (admin API elsewhere) change definitions too: poll the revision.
  const poll = setInterval(() => {
    void (async () => {
      const r = await service.revision();
      if (r !== revision) apply(await service.definitions(), r);
    })().catch((error: unknown) => deps.logger.warn({ err: error }, 'could not poll segment definitions'));
  }, deps.pollMs ?? 2_000);
  poll.unref();

  let dispatcher: WebhookDispatcher | undefined;
  if (deps.dispatch ?? true) {
    dispatcher = createWebhookDispatcher({
      store: deps.state,
      metadata: deps.metadata,
      partitionCount: deps.partitionCount,
      clock: deps.clock,
      options: { logger: deps.logger.child({ component: 'webhooks' }), ...deps.webhooks },
      ...(deps.fetch ? { fetch: deps.fetch } : {}),
    });
    await dispatcher.start();
  }

  const backfill =
    deps.pauser && deps.log && deps.stream
      ? createBackfillRunner({
          service,
          log: deps.log,
          liveStore: deps.state,
          createScratchStore: () => {
            const dir = join(deps.dataDir, 'backfill', `${Date.now()}-${Math.random().toString(36).slice(2, 8)}`);
            const store = new LmdbStateStore({ dir });
            const close = store.close.bind(store);
            store.close = async () => {
              await close();
              rmSync(dir, { recursive: true, force: true });
            };
            return Promise.resolve(store);
          },
          pauser: deps.pauser,
          stream: deps.stream,
          ...(deps.operator ? { operator: deps.operator } : {}),
          clock: deps.clock,
          logger: deps.logger.child({ component: 'backfill' }),
        })
      : undefined;

  const routes: RouteModule[] = [
    segmentRoutes({ service, members, ...(backfill ? { backfill } : {}) }),
    destinationRoutes({ destinations, ...(dispatcher ? { dispatcher } : {}) }),
  ];

  return {
    service,
    members,
    dispatcher,
    routes,
    pipeline,
    onPipeline: (listener) => listeners.push(listener),
    segmentsOf: (state) => segmentsOf(state, active),
    onCommit(report) {
      if (dispatcher && report.outbox.length > 0) dispatcher.notify(report.partition);
    },
    async stop() {
      clearInterval(poll);
      unsubscribe();
      await backfill?.idle();
      await dispatcher?.stop();
    },
  };
}

function activeOf(definitions: readonly ActiveSegmentVersion[]): Map<string, number> {
  return new Map(definitions.filter((d) => d.state === 'active').map((d) => [d.id, d.version]));
}
