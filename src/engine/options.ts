import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { CoreErrors, systemClock, type Clock, type Logger } from '../core/index.js';
import type {
  FetchFunction,
  SegmentDefinition,
  SegmentsOperatorOptions,
  WebhookDispatcherOptions,
} from '../segments/index.js';
import type { StreamOptions } from '../stream/index.js';
import type { EngineExtension } from './extension.js';

/**
 * Options of an embedded engine (`kairos start`). The entry point maps the process environment
 * (HOST, PORT, KAIROS_DATA_DIR, KAIROS_WRITE_KEY, KAIROS_SECRET_KEY, …) onto these; nothing below reads it.
 */
export interface EngineOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** 0 picks a free port. @default 8080 */
  port?: number;
  /** Where the log, state, metadata and keys live. @default "./data" */
  dataDir?: string;
  /** Fixed write key; else generated on first start and stored in the data dir. */
  writeKey?: string;
  /** Fixed secret key; else generated on first start and stored in the data dir. */
  secretKey?: string;
  /** Log partitions (fixed when the data dir is created). @default 4 */
  partitions?: number;
  /** Stream worker threads; 0 runs the stream on the main thread. @default 2 (1 on a single-core machine) */
  streamWorkers?: number;
  /** pino level. @default "info" */
  logLevel?: string;
  /**
   * How long a stream commit may wait in the OS page cache before it is flushed to disk (ms); 0 flushes
   * every commit. A crash of the process loses nothing either way; after a crash of the machine the
   * state is rebuilt from the event log (docs/stream.md). @default 1000
   */
  stateFlushIntervalMs?: number;
  stream?: StreamOptions;
  /** Collector options (limits, dedupe window), passed through. */
  collector?: Record<string, unknown>;
  /** Embedded log options (maxPendingBytes, retention, …), passed through. */
  log?: Record<string, unknown>;
  /** Extra capabilities wired into this engine (see EngineExtension); the built-in ones come first. */
  extensions?: readonly EngineExtension[];
  /** Segments: operator limits, webhook dispatcher options (retries, backoff), a fetch for tests. */
  segments?: EngineSegmentsOptions;
  clock?: Clock;
  logger?: Logger;
}

export interface EngineSegmentsOptions {
  readonly operator?: SegmentsOperatorOptions;
  readonly webhooks?: WebhookDispatcherOptions;
  readonly fetch?: FetchFunction;
  /** Runs the webhook dispatcher in this process. @default true */
  readonly dispatch?: boolean;
  /** Segments installed on the first start of a data directory (`kairos start`: DESIGN.md §6's three). */
  readonly seed?: readonly SegmentDefinition[];
}

export interface ResolvedEngineOptions {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly writeKey: string | undefined;
  readonly secretKey: string | undefined;
  readonly partitions: number;
  readonly streamWorkers: number;
  readonly logLevel: string;
  readonly stateFlushIntervalMs: number | undefined;
  readonly stream: StreamOptions;
  readonly collector: Record<string, unknown>;
  readonly log: Record<string, unknown>;
  readonly extensions: readonly EngineExtension[];
  readonly segments: EngineSegmentsOptions;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
}

export function resolveEngineOptions(options: EngineOptions = {}): ResolvedEngineOptions {
  const resolved: ResolvedEngineOptions = {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8080,
    dataDir: resolve(options.dataDir ?? './data'),
    writeKey: options.writeKey,
    secretKey: options.secretKey,
    partitions: options.partitions ?? 4,
    streamWorkers: options.streamWorkers ?? Math.min(2, availableParallelism()),
    logLevel: options.logLevel ?? 'info',
    stateFlushIntervalMs: options.stateFlushIntervalMs,
    stream: options.stream ?? {},
    collector: options.collector ?? {},
    log: options.log ?? {},
    extensions: options.extensions ?? [],
    segments: options.segments ?? {},
    clock: options.clock ?? systemClock,
    logger: options.logger,
  };
  if (!Number.isInteger(resolved.port) || resolved.port < 0 || resolved.port > 65_535) {
    throw CoreErrors.create('CORE_INVALID_OPTIONS', `port must be 0..65535, got ${resolved.port}`);
  }
  if (!Number.isInteger(resolved.partitions) || resolved.partitions < 1 || resolved.partitions > 1024) {
    throw CoreErrors.create('CORE_INVALID_OPTIONS', `partitions must be 1..1024, got ${resolved.partitions}`);
  }
  if (!Number.isInteger(resolved.streamWorkers) || resolved.streamWorkers < 0) {
    throw CoreErrors.create('CORE_INVALID_OPTIONS', `streamWorkers must be ≥ 0, got ${resolved.streamWorkers}`);
  }
  const flush = resolved.stateFlushIntervalMs;
  if (flush !== undefined && (!Number.isInteger(flush) || flush < 0)) {
    throw CoreErrors.create('CORE_INVALID_OPTIONS', `stateFlushIntervalMs must be an integer ≥ 0, got ${flush}`);
  }
  return Object.freeze(resolved);
}
