import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CoreErrors, createLogger, parseProfileKey, type Logger } from '../core/index.js';
import { createCollector, type Collector } from '../collect/index.js';
import { createEmbeddedEventLog, type EmbeddedEventLog } from '../log/index.js';
import { ProfileReader } from '../profiles/index.js';
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
  type RouteModule,
} from '../serve/index.js';
import { LmdbMetadataStore, LmdbStateStore } from '../store/index.js';
import { TaskGroup, resolveStreamOptions, type CommitReport } from '../stream/index.js';
import { resolveKeys } from './keys.js';
import { resolveEngineOptions, type EngineOptions } from './options.js';
import type { EngineContext } from './extension.js';
import { liveRecordOf } from './distributed/outbox-feed.js';
import { OutboxRelay, forgetOutboxCursors } from './outbox-relay.js';
import { createPipeline, type PipelineConfig } from './pipeline.js';
import { startSegments, type SegmentsWiring } from './segments.js';
import { StreamPool } from './stream-pool.js';

export interface RunningEngine {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly writeKey: string;
  readonly secretKey: string;
  /** True when this start generated the keys (first start of this data dir). */
  readonly keysGenerated: boolean;
  readonly app: Awaited<ReturnType<typeof createHttpServer>>;
  readonly logger: Logger;
  stop(): Promise<void>;
}

/** Stream side of the engine: worker threads, or (streamWorkers = 0) tasks on the main thread. */
interface StreamRunner {
  setPipeline(config: PipelineConfig): void;
  /** Stops every task (their handles released) until resume(): a segment backfill's switch. */
  pause(): Promise<void>;
  resume(): Promise<void>;
  positions(): { partition: number; offset: number; watermarkMs: number }[];
  stop(): Promise<void>;
}

/**
 * The embedded engine: one process runs collection (HTTP + durable log), the stream (worker threads),
 * the stores and the API. Data flows one way: collect → log → stream → store → serve.
 */
export async function startEngine(input: EngineOptions = {}): Promise<RunningEngine> {
  const options = resolveEngineOptions(input);
  const logger = options.logger ?? createLogger({ level: options.logLevel });
  const { dataDir, clock } = options;
  mkdirSync(dataDir, { recursive: true });
  const keys = resolveKeys(dataDir, { writeKey: options.writeKey, secretKey: options.secretKey });
  const closers: (() => Promise<void>)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) {
      await close().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
    }
  };

  try {
    const metadata = new LmdbMetadataStore({ dir: join(dataDir, 'metadata') });
    closers.push(() => metadata.close());
    const logDir = join(dataDir, 'log');
    const log: EmbeddedEventLog = await createEmbeddedEventLog({
      ...options.log,
      dir: logDir,
      partitionCount: options.partitions,
      clock,
      logger: logger.child({ component: 'log' }),
    });
    closers.push(() => log.close());
    const stateDir = join(dataDir, 'state');
    const state = new LmdbStateStore({
      dir: stateDir,
      ...(options.stateFlushIntervalMs !== undefined ? { flushIntervalMs: options.stateFlushIntervalMs } : {}),
      onFlushError: (error) => logger.error({ err: error }, 'flushing the stream state to disk failed'),
    });
    closers.push(() => state.close());
    if (state.movedAsideTo !== undefined) {
      logger.warn(
        { movedTo: state.movedAsideTo },
        'the machine went down while stream state was not yet on disk: that state was moved aside; ' +
          'every profile is rebuilt from the event log',
      );
    }
    if (state.outboxRestarted) {
      await forgetOutboxCursors(metadata);
      state.outboxRestartHandled();
    }

    const collector: Collector = createCollector({
      log,
      metadata,
      clock,
      logger: logger.child({ component: 'collect' }),
      options: options.collector,
    });
    await collector.start();
    closers.push(() => collector.close());

    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics, prefix: 'kairos_process_' });
    const streamMetrics = createStreamMetrics(metrics);
    const hub = new SseHub();
    closers.push(() => Promise.resolve(hub.close()));

    const relay = new OutboxRelay({
      log,
      state,
      metadata,
      partitionCount: log.partitionCount,
      logger: logger.child({ component: 'relay' }),
    });
    await relay.start();
    closers.push(() => relay.stop());
    const commitListeners: ((report: CommitReport) => void)[] = [(report) => report.forwarded > 0 && relay.wake()];
    const onCommit = (report: CommitReport) => {
      streamMetrics.record(report);
      for (const listener of commitListeners) listener(report);
      for (const { value } of report.outbox) {
        const live = liveRecordOf(value);
        if (live) hub.publish(live);
      }
    };

    const streamOptions = resolveStreamOptions({
      ...options.stream,
      clock,
      logger: logger.child({ component: 'stream' }),
    });
    // Segments: definitions in the metadata store become the stream's pipeline; a backfill pauses it.
    let stream: StreamRunner | undefined;
    const segments: SegmentsWiring = await startSegments({
      dataDir,
      log,
      state,
      metadata,
      partitionCount: log.partitionCount,
      clock,
      logger: logger.child({ component: 'segments' }),
      stream: streamOptions,
      pauser: {
        pause: async () => stream?.pause(),
        resume: async () => stream?.resume(),
      },
      ...options.segments,
    });
    closers.push(() => segments.stop());
    commitListeners.push((report) => segments.onCommit(report));
    const profiles = new ProfileReader({
      store: state,
      segmentsOf: (keyState) => segments.segmentsOf(keyState),
      resolveKey: (key) => {
        const { kind, id } = parseProfileKey(key);
        return collector.resolveProfileKey(kind === 'user' ? { userId: id } : { anonymousId: id }) ?? key;
      },
    });

    const extensionRoutes: RouteModule[] = [];
    const context: EngineContext = {
      dataDir,
      log,
      state,
      metadata,
      profiles,
      keys,
      metrics,
      clock,
      logger,
      partitionCount: log.partitionCount,
    };
    for (const extension of options.extensions) {
      const started = await extension.start({ ...context, logger: logger.child({ component: extension.name }) });
      if (started.routes) extensionRoutes.push(...started.routes);
      if (started.onCommit) commitListeners.push(started.onCommit);
      if (started.stop) closers.push(started.stop);
    }

    let pipeline: PipelineConfig = segments.pipeline();
    segments.onPipeline((config) => {
      pipeline = config;
      stream?.setPipeline(config);
    });
    if (options.streamWorkers === 0) {
      const newGroup = () =>
        new TaskGroup({
          partitions: Array.from({ length: log.partitionCount }, (_, p) => p),
          log,
          store: state,
          options: streamOptions,
          owner: `embedded-main-${process.pid}`,
          pipeline: createPipeline(pipeline),
          onCommit,
        });
      let group = newGroup();
      await group.start();
      let paused = false;
      stream = {
        setPipeline: (config) => group.setPipeline(createPipeline(config)),
        positions: () => group.positions(),
        pause: async () => {
          paused = true;
          await group.stop();
        },
        resume: async () => {
          if (!paused) return;
          paused = false;
          group = newGroup();
          await group.start();
        },
        stop: () => group.stop(),
      };
    } else {
      if (!log.shared) throw CoreErrors.create('CORE_INTERNAL', 'the embedded log writer has no shared offsets buffer');
      const pool = new StreamPool({
        workers: options.streamWorkers,
        partitionCount: log.partitionCount,
        logDir,
        shared: log.shared,
        stateDir,
        stateFlushIntervalMs: state.flushIntervalMs,
        stream: streamOptions,
        pipeline,
        logLevel: options.logLevel,
        logger: logger.child({ component: 'stream' }),
        onCommit,
      });
      await pool.start();
      let paused = false;
      stream = {
        setPipeline: (config) => pool.setPipeline(config),
        positions: () => [...pool.partitionPositions()].map(([partition, p]) => ({ partition, ...p })),
        pause: async () => {
          paused = true;
          await pool.stop();
        },
        resume: async () => {
          if (!paused) return;
          paused = false;
          pool.setPipeline(pipeline);
          await pool.start();
        },
        stop: () => pool.stop(),
      };
    }
    const running = stream;
    closers.push(() => running.stop());

    let ready = false;
    /** Per partition: durable log end, stream position (next offset) and watermark — lag = end − offset. */
    const readiness = () => {
      const positions = new Map(running.positions().map((p) => [p.partition, p]));
      const stats = log.stats();
      return stats.partitions.map((part) => {
        const position = positions.get(part.partition);
        return {
          partition: part.partition,
          logEnd: part.end,
          offset: position?.offset ?? null,
          lag: position ? part.end - position.offset : null,
          watermark: position && position.watermarkMs > -8e15 ? new Date(position.watermarkMs).toISOString() : null,
        };
      });
    };
    const routes: RouteModule[] = [
      healthRoutes({
        isReady: () => ready,
        readiness: () => ({ partitions: readiness() }),
      }),
      collectRoutes({ collector, clock }),
      schemaRoutes({ collector }),
      deadLetterRoutes({ collector }),
      profileRoutes({ profiles, hub }),
      ...segments.routes,
      ...extensionRoutes,
      staticRoutes({ sdkDir: fileURLToPath(new URL('../../dist/sdk', import.meta.url)) }),
      webRoutes({}),
    ];
    const app = await createHttpServer({ keys, logger, metrics, routes, version: '0.1.0' });
    closers.push(() => app.close());
    await app.listen({ host: options.host, port: options.port });
    const address = app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    ready = true;
    const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
    return {
      url,
      host: options.host,
      port,
      dataDir,
      writeKey: keys.writeKeys[0]!,
      secretKey: keys.secretKeys[0]!,
      keysGenerated: keys.generated,
      app,
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

export function createStreamMetrics(registry: Registry) {
  const processed = new Counter({
    name: 'kairos_stream_events_processed_total',
    help: 'Log records processed by stream tasks',
    registers: [registry],
  });
  const late = new Counter({
    name: 'kairos_stream_late_records_total',
    help: 'Records sent to the late side-output',
    registers: [registry],
  });
  const duplicates = new Counter({
    name: 'kairos_stream_duplicates_total',
    help: 'Duplicate message ids dropped by stream tasks',
    registers: [registry],
  });
  const commits = new Counter({
    name: 'kairos_stream_commits_total',
    help: 'Atomic state commits',
    registers: [registry],
  });
  const outbox = new Counter({
    name: 'kairos_stream_outbox_records_total',
    help: 'Outbox records committed',
    registers: [registry],
  });
  const watermark = new Gauge({
    name: 'kairos_stream_watermark_ms',
    help: 'Event-time watermark per partition',
    labelNames: ['partition'],
    registers: [registry],
  });
  const offset = new Gauge({
    name: 'kairos_stream_committed_offset',
    help: 'Next log offset per partition',
    labelNames: ['partition'],
    registers: [registry],
  });
  const commitSeconds = new Histogram({
    name: 'kairos_stream_commit_duration_seconds',
    help: 'How long a stream task waited for its atomic state commit (state, outbox, checkpoint)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  return {
    record(report: CommitReport) {
      commits.inc();
      commitSeconds.observe(report.commitMs / 1000);
      if (report.processed) processed.inc(report.processed);
      if (report.late) late.inc(report.late);
      if (report.duplicates) duplicates.inc(report.duplicates);
      if (report.outbox.length) outbox.inc(report.outbox.length);
      const partition = String(report.partition);
      if (report.watermarkMs > -8e15) watermark.set({ partition }, report.watermarkMs);
      offset.set({ partition }, report.offset);
    },
  };
}
