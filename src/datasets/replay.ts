import { gzipSync } from 'node:zlib';
import type { SegmentMessage } from './formats.js';

export interface ReplayOptions {
  /** Base URL of a running Kairos collector, e.g. http://127.0.0.1:8080. */
  readonly url: string;
  readonly writeKey: string;
  /** Messages per request. @default 100 */
  readonly batchSize?: number;
  /** Requests in flight. @default 4 */
  readonly concurrency?: number;
  /** Events per second; 0 = as fast as the server takes them. @default 0 */
  readonly ratePerSecond?: number;
  /** Shift every timestamp so the first message happens at this time (ms), keeping the spacing. */
  readonly shiftToMs?: number;
  /** Stamp every message with the time it is batched (load tests: event time follows the wall clock). */
  readonly stampNow?: boolean;
  /** Stop after this many messages. */
  readonly limit?: number;
  /** gzip request bodies. @default false */
  readonly gzip?: boolean;
  /** Give a batch up after this many retries (network errors, 429, 5xx). @default Infinity */
  readonly maxRetries?: number;
  /** Called after each acknowledged batch with the running totals. */
  readonly onProgress?: (summary: ReplaySummary) => void;
  /** Called for each acknowledged batch (tests use it to know exactly what was acknowledged). */
  readonly onAck?: (batch: readonly SegmentMessage[], response: BatchResponse) => void;
  readonly signal?: AbortSignal;
}

export interface BatchResponse {
  readonly accepted: number;
  readonly rejected: readonly { index: number; messageId?: string; code: string; message: string }[];
}

export interface ReplaySummary {
  messages: number;
  batches: number;
  accepted: number;
  rejected: number;
  rejectedByCode: Record<string, number>;
  retries: number;
  failedBatches: number;
  elapsedMs: number;
  eventsPerSecond: number;
}

/**
 * Sends messages through the collection path of a running server, as a real client would: batches
 * on `/v1/batch` with the write key, retries of the same batch (same messageIds: the server counts
 * them once) on network errors, 429 and 5xx honouring Retry-After, optional rate limit.
 */
export async function replayToServer(
  messages: AsyncIterable<SegmentMessage>,
  options: ReplayOptions,
): Promise<ReplaySummary> {
  const batchSize = options.batchSize ?? 100;
  const concurrency = options.concurrency ?? 4;
  const rate = options.ratePerSecond ?? 0;
  const maxRetries = options.maxRetries ?? Infinity;
  const started = performance.now();
  const summary: ReplaySummary = {
    messages: 0,
    batches: 0,
    accepted: 0,
    rejected: 0,
    rejectedByCode: {},
    retries: 0,
    failedBatches: 0,
    elapsedMs: 0,
    eventsPerSecond: 0,
  };
  const auth = `Basic ${Buffer.from(`${options.writeKey}:`).toString('base64')}`;
  const endpoint = `${options.url.replace(/\/$/, '')}/v1/batch`;
  let shiftMs: number | undefined;
  let budgetStart = performance.now();
  let budgetSent = 0;

  const send = async (batch: SegmentMessage[]): Promise<void> => {
    const text = JSON.stringify({ batch });
    const body = options.gzip ? gzipSync(text) : text;
    const headers: Record<string, string> = { 'content-type': 'application/json', authorization: auth };
    if (options.gzip) headers['content-encoding'] = 'gzip';
    for (let attempt = 0; ; attempt++) {
      if (options.signal?.aborted) throw options.signal.reason;
      let waitMs = Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2);
      try {
        const response = await fetch(endpoint, {
          method: 'POST',
          headers,
          body,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        const payload = (await response.json().catch(() => ({}))) as BatchResponse & { error?: { code: string } };
        if (response.ok) {
          summary.batches++;
          summary.accepted += payload.accepted;
          summary.rejected += payload.rejected.length;
          for (const r of payload.rejected) summary.rejectedByCode[r.code] = (summary.rejectedByCode[r.code] ?? 0) + 1;
          options.onAck?.(batch, payload);
          options.onProgress?.(summary);
          return;
        }
        if (response.status !== 429 && response.status < 500) {
          summary.failedBatches++;
          const code = payload.error?.code ?? `HTTP_${response.status}`;
          summary.rejectedByCode[code] = (summary.rejectedByCode[code] ?? 0) + batch.length;
          return;
        }
        const retryAfter = Number(response.headers.get('retry-after'));
        if (Number.isFinite(retryAfter) && retryAfter > 0) waitMs = retryAfter * 1000;
      } catch (error) {
        if (options.signal?.aborted) throw error;
      }
      if (attempt >= maxRetries) {
        summary.failedBatches++;
        return;
      }
      summary.retries++;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  };

  const inFlight = new Set<Promise<void>>();
  let batch: SegmentMessage[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const toSend = batch;
    batch = [];
    if (rate > 0) {
      budgetSent += toSend.length;
      const dueMs = (budgetSent / rate) * 1000 - (performance.now() - budgetStart);
      if (dueMs > 0) await new Promise((resolve) => setTimeout(resolve, dueMs));
    }
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
    const promise = send(toSend).finally(() => inFlight.delete(promise));
    inFlight.add(promise);
  };

  budgetStart = performance.now();
  for await (const message of messages) {
    if (options.limit !== undefined && summary.messages >= options.limit) break;
    if (options.shiftToMs !== undefined && typeof message.timestamp === 'string') {
      const t = Date.parse(message.timestamp);
      shiftMs ??= options.shiftToMs - t;
      message.timestamp = new Date(t + shiftMs).toISOString();
    }
    if (options.stampNow) message.timestamp = new Date().toISOString();
    summary.messages++;
    batch.push(message);
    if (batch.length >= batchSize) await flush();
  }
  await flush();
  await Promise.all(inFlight);
  summary.elapsedMs = performance.now() - started;
  summary.eventsPerSecond = summary.accepted / (summary.elapsedMs / 1000);
  return summary;
}
