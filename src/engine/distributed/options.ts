import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CoreErrors, parseDuration, systemClock, type Clock, type Duration, type Logger } from '../../core/index.js';
import type { StreamOptions } from '../../stream/index.js';
import type { EngineExtension } from '../extension.js';
import type { PipelineConfig } from '../pipeline.js';

/** The roles of the distributed topology (DESIGN.md §2). */
export const ROLES = ['collector', 'worker', 'api', 'trainer'] as const;
export type Role = (typeof ROLES)[number];

/**
 * Options of a distributed role (`kairos collector|worker|api|trainer`). The entry point maps the
 * environment onto these (KAIROS_LOG_URL, KAIROS_STATE_URL, KAIROS_METADATA_URL, KAIROS_PARTITIONS,
 * KAIROS_NAMESPACE, HOST, PORT, …); nothing below reads it.
 */
export interface DistributedOptions {
  /** RabbitMQ, `amqp://user:pass@host:5672/vhost` (KAIROS_LOG_URL). */
  logUrl: string;
  /** Redis, `redis://host:6379/db` (KAIROS_STATE_URL). */
  stateUrl: string;
  /** PostgreSQL, `postgres://user@host:5432/db` (KAIROS_METADATA_URL). */
  metadataUrl: string;
  /**
   * Prefix of every queue, key and schema of this deployment, so several deployments or test runs share
   * one broker, one Redis and one database: RabbitMQ queues `<ns>.log.p<N>`, Redis keys `{<ns>}:…`,
   * PostgreSQL schema `<ns>` with `-` written `_`. Lower-case letters, digits and `-`, starting with a
   * letter, at most 48 characters (so the mapping to a schema name is one-to-one).
   * @default "kairos"
   */
  namespace?: string;
  /** Log partitions; fixed once the stream queues exist. Every role of a deployment must agree. @default 4 */
  partitions?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** HTTP port of this process (every role serves at least /healthz, /readyz, /metrics); 0 picks one. @default 8080 */
  port?: number;
  /** Fixed write key; else the deployment's key kept in the metadata store (generated once). */
  writeKey?: string;
  /** Fixed secret key; else the deployment's key kept in the metadata store (generated once). */
  secretKey?: string;
  /** Local directory of the trainer role (model artifacts). @default "./data" */
  dataDir?: string;
  /** pino level. @default "info" */
  logLevel?: string;
  /** Identity of this worker in the membership and in fencing records. @default "<hostname>-<pid>-<random>" */
  memberId?: string;
  /** How often a worker writes its heartbeat and re-reads the membership. @default "500ms" */
  heartbeat?: Duration;
  /**
   * A worker whose heartbeat has not advanced for this long (as seen by each observer's own clock) is
   * dead: its partitions move. Takeover time ≈ this + two heartbeats + task start. @default "3s"
   */
  memberTtl?: Duration;
  /**
   * A partition assigned to this worker but still claimed by another live worker (a rebalance in
   * progress) is taken without waiting for the release after this long. @default "8s"
   */
  handoffTimeout?: Duration;
  /** Stream task options (out-of-orderness, batch size, …). */
  stream?: StreamOptions;
  /** Collector options (limits, dedupe window), passed through. */
  collector?: Record<string, unknown>;
  /** Extra RabbitMQ log options, passed through (see RabbitMqEventLogOptions). */
  log?: Record<string, unknown>;
  /** Extensions run by the trainer role (e.g. the recommendation extension). */
  extensions?: readonly EngineExtension[];
  /**
   * Where a worker gets its pipeline definition. Polled every `pipelinePoll`; a new `version` rebuilds
   * every task's pipeline. @default the segment definitions of the metadata store (profile + segments)
   */
  loadPipeline?: () => Promise<PipelineConfig>;
  /** @default "5s" */
  pipelinePoll?: Duration;
  clock?: Clock;
  logger?: Logger;
}

export interface NamespaceNames {
  /** RabbitMQ queue prefix. */
  readonly log: string;
  /** Redis key prefix (hash tag). */
  readonly state: string;
  /** PostgreSQL schema. */
  readonly metadata: string;
}

export interface ResolvedDistributedOptions {
  readonly logUrl: string;
  readonly stateUrl: string;
  readonly metadataUrl: string;
  readonly namespace: string;
  readonly names: NamespaceNames;
  readonly partitions: number;
  readonly host: string;
  readonly port: number;
  readonly writeKey: string | undefined;
  readonly secretKey: string | undefined;
  readonly dataDir: string;
  readonly logLevel: string;
  readonly memberId: string;
  readonly heartbeatMs: number;
  readonly memberTtlMs: number;
  readonly handoffTimeoutMs: number;
  readonly stream: StreamOptions;
  readonly collector: Record<string, unknown>;
  readonly log: Record<string, unknown>;
  readonly extensions: readonly EngineExtension[];
  readonly loadPipeline: (() => Promise<PipelineConfig>) | undefined;
  readonly pipelinePollMs: number;
  readonly clock: Clock;
  readonly logger: Logger | undefined;
}

const NAMESPACE_RE = /^[a-z][a-z0-9-]{0,47}$/;

function invalid(field: string, value: unknown, why: string): never {
  throw CoreErrors.create('CORE_INVALID_OPTIONS', `Invalid distributed option ${field}: ${why}`, {
    details: { field, value: typeof value === 'string' || typeof value === 'number' ? value : typeof value },
  });
}

/**
 * The names a namespace takes in each service. RabbitMQ and Redis take it as is; a PostgreSQL schema
 * cannot hold `-`, so it becomes `_` — one-to-one because a namespace never contains `_`.
 */
export function namespaceNames(namespace: string): NamespaceNames {
  if (!NAMESPACE_RE.test(namespace)) {
    invalid('namespace', namespace, 'lower-case letters, digits and "-", starting with a letter, at most 48');
  }
  return Object.freeze({ log: namespace, state: namespace, metadata: namespace.replaceAll('-', '_') });
}

/** True when the options name at least one distributed service (the CLI then refuses the embedded mode). */
export function isDistributedConfigured(
  options: Partial<Pick<DistributedOptions, 'logUrl' | 'stateUrl' | 'metadataUrl'>>,
): boolean {
  return Boolean(options.logUrl || options.stateUrl || options.metadataUrl);
}

function url(field: 'logUrl' | 'stateUrl' | 'metadataUrl', value: unknown, schemes: RegExp, env: string): string {
  if (typeof value !== 'string' || !schemes.test(value))
    invalid(field, value, `${env} must be set to a ${schemes.source.replace(/[\\^()]/g, '')} URL`);
  return value;
}

function duration(field: string, value: Duration | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const ms = parseDuration(value, field);
  if (ms <= 0) invalid(field, value, 'must be longer than 0');
  return ms;
}

export function resolveDistributedOptions(options: DistributedOptions): ResolvedDistributedOptions {
  const namespace = options.namespace ?? 'kairos';
  const names = namespaceNames(namespace);
  const heartbeatMs = duration('heartbeat', options.heartbeat, 500);
  const memberTtlMs = duration('memberTtl', options.memberTtl, 3_000);
  if (memberTtlMs < 2 * heartbeatMs) invalid('memberTtl', options.memberTtl, 'must be at least two heartbeats');
  const partitions = options.partitions ?? 4;
  if (!Number.isInteger(partitions) || partitions < 1 || partitions > 1024)
    invalid('partitions', partitions, 'must be 1..1024');
  const port = options.port ?? 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) invalid('port', port, 'must be 0..65535');
  const memberId = options.memberId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (!/^[A-Za-z0-9._:-]{1,128}$/.test(memberId))
    invalid('memberId', memberId, 'letters, digits, ".", "_", ":", "-", at most 128');
  return Object.freeze({
    logUrl: url('logUrl', options.logUrl, /^(amqps?):\/\//, 'KAIROS_LOG_URL'),
    stateUrl: url('stateUrl', options.stateUrl, /^(rediss?):\/\//, 'KAIROS_STATE_URL'),
    metadataUrl: url('metadataUrl', options.metadataUrl, /^(postgres|postgresql):\/\//, 'KAIROS_METADATA_URL'),
    namespace,
    names,
    partitions,
    host: options.host ?? '127.0.0.1',
    port,
    writeKey: options.writeKey,
    secretKey: options.secretKey,
    dataDir: resolve(options.dataDir ?? './data'),
    logLevel: options.logLevel ?? 'info',
    memberId,
    heartbeatMs,
    memberTtlMs,
    handoffTimeoutMs: duration('handoffTimeout', options.handoffTimeout, 8_000),
    stream: options.stream ?? {},
    collector: options.collector ?? {},
    log: options.log ?? {},
    extensions: options.extensions ?? [],
    loadPipeline: options.loadPipeline,
    pipelinePollMs: duration('pipelinePoll', options.pipelinePoll, 5_000),
    clock: options.clock ?? systemClock,
    logger: options.logger,
  });
}
