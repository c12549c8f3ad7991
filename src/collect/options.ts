import { parseDuration, type Duration } from '../core/index.js';
import { CollectErrors } from './errors.js';

/** Collector limits and windows. Sizes are bytes; the limits follow Segment's HTTP Tracking API. */
export interface CollectorOptions {
  /** Request body size, checked on the raw and on the decompressed body (413 beyond). @default 512000 (500 KiB) */
  maxRequestBytes?: number;
  /** Size of one message as stored (the normalised event, UTF-8 JSON). @default 32768 (32 KiB) */
  maxMessageBytes?: number;
  /** Messages per request (bounds the work one request can cause). @default 5000 */
  maxBatchMessages?: number;
  /** Nesting depth of a message (the message object itself is depth 1). @default 32 */
  maxDepth?: number;
  /** Length (UTF-16 code units) of a track event name. @default 256 */
  maxEventNameLength?: number;
  /** Length of messageId, userId, anonymousId, previousId, groupId. @default 256 */
  maxIdLength?: number;
  /** How long a messageId is remembered for deduplication ("24h" or ms). @default 86400000 (24 h) */
  dedupeWindowMs?: Duration;
  /** Most messageIds remembered (oldest forgotten first; ≈ 120 bytes each). @default 500000 */
  dedupeMaxEntries?: number;
  /** Decoded request bytes being processed at once; beyond it requests get 503 COLLECT_OVERLOADED. @default 67108864 (64 MiB) */
  maxInFlightBytes?: number;
  /** Dead letters kept; beyond it the oldest are deleted (counted in stats). @default 1000000 */
  deadLetterMaxEntries?: number;
  /** How often the schema registry re-reads the metadata store (other processes may register); 0 = never. @default 30000 */
  schemaRefreshMs?: Duration;
  /** Dead letters re-validated per replay call at most. @default 10000 */
  replayMaxMessages?: number;
  /** Scan the retained log tail on start() to rebuild the dedupe index and missing identity links. @default true */
  rebuildOnStart?: boolean;
}

export type ResolvedCollectorOptions = Readonly<{
  maxRequestBytes: number;
  maxMessageBytes: number;
  maxBatchMessages: number;
  maxDepth: number;
  maxEventNameLength: number;
  maxIdLength: number;
  dedupeWindowMs: number;
  dedupeMaxEntries: number;
  maxInFlightBytes: number;
  deadLetterMaxEntries: number;
  schemaRefreshMs: number;
  replayMaxMessages: number;
  rebuildOnStart: boolean;
}>;

function positiveInt(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw CollectErrors.create('COLLECT_INVALID_OPTIONS', `${name} must be a positive integer (got ${String(value)})`, {
      details: { option: name, value },
    });
  }
  return v;
}

export function resolveCollectorOptions(options: CollectorOptions = {}): ResolvedCollectorOptions {
  const resolved = {
    maxRequestBytes: positiveInt('maxRequestBytes', options.maxRequestBytes, 500 * 1024),
    maxMessageBytes: positiveInt('maxMessageBytes', options.maxMessageBytes, 32 * 1024),
    maxBatchMessages: positiveInt('maxBatchMessages', options.maxBatchMessages, 5000),
    maxDepth: positiveInt('maxDepth', options.maxDepth, 32),
    maxEventNameLength: positiveInt('maxEventNameLength', options.maxEventNameLength, 256),
    maxIdLength: positiveInt('maxIdLength', options.maxIdLength, 256),
    dedupeWindowMs: parseDuration(options.dedupeWindowMs ?? 86_400_000, 'dedupeWindowMs'),
    dedupeMaxEntries: positiveInt('dedupeMaxEntries', options.dedupeMaxEntries, 500_000),
    maxInFlightBytes: positiveInt('maxInFlightBytes', options.maxInFlightBytes, 64 * 1024 * 1024),
    deadLetterMaxEntries: positiveInt('deadLetterMaxEntries', options.deadLetterMaxEntries, 1_000_000),
    schemaRefreshMs: parseDuration(options.schemaRefreshMs ?? 30_000, 'schemaRefreshMs'),
    replayMaxMessages: positiveInt('replayMaxMessages', options.replayMaxMessages, 10_000),
    rebuildOnStart: options.rebuildOnStart ?? true,
  };
  if (resolved.maxMessageBytes > resolved.maxRequestBytes) {
    throw CollectErrors.create('COLLECT_INVALID_OPTIONS', 'maxMessageBytes must not exceed maxRequestBytes');
  }
  return Object.freeze(resolved);
}
