import { parseProfileKey, type Clock } from '../core/index.js';
import type { MetadataStore, StateStore } from '../store/index.js';
import { DestinationService, WEBHOOK_CURSORS_COLLECTION } from './destinations.js';
import { isMembershipChange } from './membership.js';
import {
  resolveWebhookDispatcherOptions,
  type ResolvedWebhookDispatcherOptions,
  type WebhookDispatcherOptions,
} from './options.js';
import type { DeadLetter, Destination, MembershipChange } from './types.js';
import { ATTEMPT_HEADER, IDEMPOTENCY_HEADER, SIGNATURE_HEADER, signWebhook } from './webhook-signature.js';

export type FetchFunction = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string; signal: AbortSignal },
) => Promise<{
  status: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}>;

export interface WebhookDispatcherDeps {
  readonly store: StateStore;
  readonly metadata: MetadataStore;
  readonly partitionCount: number;
  /** Signature timestamps and dead-letter times (overrides `options.clock`). @default systemClock */
  readonly clock?: Clock;
  readonly options?: WebhookDispatcherOptions;
  /**
   * With `options.trimOutbox`: the outbox seq up to which the partition's other consumers have read;
   * trimming never goes past it. @default no other consumer
   */
  readonly trimFloor?: (partition: number) => Promise<number>;
  /** @default globalThis.fetch */
  readonly fetch?: FetchFunction;
}

/** The JSON body of a webhook request. */
export interface WebhookPayload {
  id: string;
  type: 'enter' | 'exit';
  segmentId: string;
  version: number;
  profileKey: string;
  userId?: string;
  anonymousId?: string;
  eventTime: string;
  eventTimeMs: number;
}

export interface WebhookDispatcherStats {
  delivered: number;
  failedAttempts: number;
  deadLettered: number;
  lanes: number;
}

export interface WebhookDispatcher {
  /** Starts delivering (one lane per destination and partition). */
  start(): Promise<void>;
  /** Stops; in-flight deliveries are abandoned without advancing cursors (they are redelivered later). */
  stop(): Promise<void>;
  /** Wakes the lanes (call after a commit with outbox records) for low latency. */
  notify(partition?: number): void;
  /** Re-reads destinations now (after an API change in this process). */
  refresh(): Promise<void>;
  /** One attempt per dead letter of a destination; delivered ones are removed. */
  replayDeadLetters(destinationId: string): Promise<{ delivered: number; failed: number }>;
  stats(): WebhookDispatcherStats;
}

export function toPayload(change: MembershipChange): WebhookPayload {
  const { kind, id } = parseProfileKey(change.profileKey);
  return {
    id: change.id,
    type: change.type,
    segmentId: change.segmentId,
    version: change.version,
    profileKey: change.profileKey,
    ...(kind === 'user' ? { userId: id } : { anonymousId: id }),
    eventTime: new Date(change.eventTimeMs).toISOString(),
    eventTimeMs: change.eventTimeMs,
  };
}

/**
 * Delivers segment enter/exit records from each partition's outbox to webhook destinations.
 *
 * - At-least-once: each (destination, partition) lane reads the outbox from a cursor persisted in the
 *   MetadataStore (`webhook-cursors/<destination>/<partition>`) and advances it only after every record
 *   of a batch was delivered or dead-lettered; a restart resumes from the cursor. A redelivery carries
 *   the same `Idempotency-Key` (the change id), so receivers deduplicate.
 * - Retries: exponential backoff with full jitter (`random(0, min(max, base·2^(n-1)))`), a per-request
 *   timeout, then a dead letter (`webhook-dead-letters/<destination>/…`), inspectable and replayable.
 * - Signed: `Kairos-Signature: t=<unix s>,v1=<HMAC-SHA256(secret, "<t>.<body>")>`.
 * - With `trimOutbox`, the outbox is trimmed up to the slowest lane (and `trimFloor`: the other
 *   consumers); with no destination, records are skipped (and trimmed) unread.
 */
export function createWebhookDispatcher(deps: WebhookDispatcherDeps): WebhookDispatcher {
  return new Dispatcher(deps);
}

class Waiter {
  private wakers = new Set<() => void>();
  wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakers.add(done);
    });
  }
  wake(): void {
    for (const waker of [...this.wakers]) waker();
  }
}

interface Lane {
  readonly destinationId: string;
  readonly partition: number;
  cursor: number | undefined;
  stopped: boolean;
  loop: Promise<void>;
}

class Stopped extends Error {}

class Dispatcher implements WebhookDispatcher {
  private readonly opts: ResolvedWebhookDispatcherOptions;
  private readonly destinations: DestinationService;
  private readonly fetchFn: FetchFunction;
  private current = new Map<string, Destination>();
  private readonly lanes = new Map<string, Lane>();
  private readonly heads: number[];
  private readonly waiters: Waiter[];
  private readonly idle = new Waiter();
  private running = false;
  private main: Promise<void> | undefined;
  private lastRefreshMs = -Infinity;
  private readonly inflight = new Set<AbortController>();
  private readonly counters: WebhookDispatcherStats = { delivered: 0, failedAttempts: 0, deadLettered: 0, lanes: 0 };

  constructor(private readonly deps: WebhookDispatcherDeps) {
    this.opts = resolveWebhookDispatcherOptions({ ...deps.options, ...(deps.clock ? { clock: deps.clock } : {}) });
    this.destinations = new DestinationService({ metadata: deps.metadata, clock: this.opts.clock });
    this.fetchFn = deps.fetch ?? globalThis.fetch;
    this.heads = new Array<number>(deps.partitionCount).fill(0);
    this.waiters = Array.from({ length: deps.partitionCount }, () => new Waiter());
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    for (let p = 0; p < this.deps.partitionCount; p++) {
      const head = await this.deps.metadata.get<{ seq: number }>(WEBHOOK_CURSORS_COLLECTION, headId(p));
      this.heads[p] = head?.seq ?? 0;
    }
    await this.refresh();
    this.main = this.mainLoop();
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const controller of this.inflight) controller.abort();
    this.idle.wake();
    for (const waiter of this.waiters) waiter.wake();
    await this.main;
    await Promise.all([...this.lanes.values()].map((lane) => lane.loop));
    // A last trim behind the final cursors (best effort: the next start trims too).
    for (let p = 0; p < this.deps.partitionCount; p++) await this.janitor(p).catch(() => undefined);
    this.lanes.clear();
  }

  notify(partition?: number): void {
    if (partition === undefined) for (const waiter of this.waiters) waiter.wake();
    else this.waiters[partition]?.wake();
  }

  stats(): WebhookDispatcherStats {
    return { ...this.counters, lanes: this.lanes.size };
  }

  async refresh(): Promise<void> {
    this.lastRefreshMs = this.opts.clock.now();
    const all = await this.destinations.all();
    this.current = new Map(all.filter((d) => d.enabled).map((d) => [d.id, d]));
    if (!this.running) return;
    for (const [key, lane] of this.lanes) {
      if (!this.current.has(lane.destinationId)) {
        lane.stopped = true;
        this.lanes.delete(key);
      }
    }
    for (const destination of this.current.values()) {
      for (let p = 0; p < this.deps.partitionCount; p++) {
        const key = `${destination.id}/${p}`;
        if (this.lanes.has(key)) continue;
        const lane: Lane = {
          destinationId: destination.id,
          partition: p,
          cursor: undefined,
          stopped: false,
          loop: Promise.resolve(),
        };
        lane.loop = this.laneLoop(lane);
        this.lanes.set(key, lane);
      }
    }
    this.notify();
  }

  async replayDeadLetters(destinationId: string): Promise<{ delivered: number; failed: number }> {
    const destination = await this.destinations.require(destinationId);
    let delivered = 0;
    let failed = 0;
    let after: string | undefined;
    for (;;) {
      const page = await this.destinations.deadLetters(destinationId, {
        limit: 100,
        ...(after !== undefined ? { after } : {}),
      });
      for (const letter of page.items) {
        const result = await this.attempt(destination, letter.change, letter.attempts + 1);
        if (result.ok) {
          delivered++;
          await this.destinations.removeDeadLetter(destinationId, letter.id);
        } else {
          failed++;
        }
      }
      if (page.next === undefined) break;
      after = page.next;
    }
    return { delivered, failed };
  }

  // ---- loops ----------------------------------------------------------------------------------------

  private async mainLoop(): Promise<void> {
    while (this.running) {
      try {
        if (this.opts.clock.now() - this.lastRefreshMs >= this.opts.destinationsRefreshMs) await this.refresh();
        for (let p = 0; p < this.deps.partitionCount; p++) await this.janitor(p);
      } catch (error) {
        this.opts.logger.error({ err: error }, 'webhook dispatcher housekeeping failed; retrying');
      }
      await this.idle.wait(this.opts.pollIntervalMs);
    }
  }

  /** Advances the partition's head and trims what every lane has settled. */
  private async janitor(partition: number): Promise<void> {
    const lanes = [...this.lanes.values()].filter((l) => l.partition === partition && !l.stopped);
    let head = this.heads[partition]!;
    let floor: number;
    if (lanes.length === 0) {
      const unread = await this.deps.store.readOutbox(partition, head, 1000);
      if (unread.length > 0) head = unread.at(-1)!.seq;
      floor = head;
    } else {
      if (lanes.some((l) => l.cursor === undefined)) return;
      floor = Math.min(...lanes.map((l) => l.cursor!));
      head = Math.max(head, ...lanes.map((l) => l.cursor!));
    }
    if (head !== this.heads[partition]) {
      this.heads[partition] = head;
      await this.deps.metadata.put(WEBHOOK_CURSORS_COLLECTION, headId(partition), { seq: head });
    }
    if (this.opts.trimOutbox && floor > 0) {
      if (this.deps.trimFloor) floor = Math.min(floor, await this.deps.trimFloor(partition));
      if (floor > 0) await this.deps.store.trimOutbox(partition, floor);
    }
  }

  private async laneLoop(lane: Lane): Promise<void> {
    const cursorId = `${lane.destinationId}/${lane.partition}`;
    try {
      const saved = await this.deps.metadata.get<{ seq: number }>(WEBHOOK_CURSORS_COLLECTION, cursorId);
      if (saved) {
        lane.cursor = saved.seq;
      } else {
        // A new destination receives the changes committed from now on.
        lane.cursor = this.heads[lane.partition]!;
        await this.deps.metadata.put(WEBHOOK_CURSORS_COLLECTION, cursorId, { seq: lane.cursor });
      }
      while (this.running && !lane.stopped) {
        const records = await this.deps.store.readOutbox(lane.partition, lane.cursor, this.opts.batchSize);
        if (records.length === 0) {
          await this.waiters[lane.partition]!.wait(this.opts.pollIntervalMs);
          continue;
        }
        const destination = this.current.get(lane.destinationId);
        if (!destination) break;
        const deliveries: Promise<void>[] = [];
        for (const record of records) {
          const change = record.value;
          if (isMembershipChange(change) && matches(destination, change))
            deliveries.push(this.deliver(lane, destination, change, record.seq));
        }
        await Promise.all(deliveries);
        lane.cursor = records.at(-1)!.seq;
        await this.deps.metadata.put(WEBHOOK_CURSORS_COLLECTION, cursorId, { seq: lane.cursor });
      }
    } catch (error) {
      if (error instanceof Stopped) return;
      this.opts.logger.error(
        { err: error, destination: lane.destinationId, partition: lane.partition },
        'webhook lane failed; it restarts',
      );
      if (this.running && !lane.stopped) {
        await this.idle.wait(this.opts.pollIntervalMs);
        const key = `${lane.destinationId}/${lane.partition}`;
        if (this.lanes.get(key) === lane && this.running) {
          const next: Lane = { ...lane, cursor: undefined, loop: Promise.resolve() };
          next.loop = this.laneLoop(next);
          this.lanes.set(key, next);
        }
      }
    }
  }

  /** Delivers one change with retries; dead-letters it when the budget is spent. Throws Stopped on stop. */
  private async deliver(lane: Lane, destination: Destination, change: MembershipChange, seq: number): Promise<void> {
    let last: { status?: number; error: string } = { error: '' };
    for (let attempt = 1; attempt <= this.opts.maxAttempts; attempt++) {
      if (!this.running || lane.stopped) throw new Stopped();
      const latest = this.current.get(destination.id) ?? destination;
      const result = await this.attempt(latest, change, attempt);
      if (result.ok) {
        // Delivered, even if a stop began meanwhile: the batch's cursor can still advance.
        this.counters.delivered++;
        return;
      }
      if (!this.running || lane.stopped) throw new Stopped();
      this.counters.failedAttempts++;
      last = result;
      if (attempt < this.opts.maxAttempts) {
        const ceiling = Math.min(this.opts.maxBackoffMs, this.opts.backoffBaseMs * 2 ** (attempt - 1));
        await this.idle.wait(Math.floor(this.opts.random() * ceiling));
      }
    }
    const failedAtMs = this.opts.clock.now();
    const letter: DeadLetter = {
      id: `${String(failedAtMs).padStart(15, '0')}-${change.id}`,
      destinationId: destination.id,
      partition: lane.partition,
      seq,
      change,
      attempts: this.opts.maxAttempts,
      lastError: last.error,
      failedAt: new Date(failedAtMs).toISOString(),
      ...(last.status !== undefined ? { lastStatus: last.status } : {}),
    };
    await this.destinations.addDeadLetter(letter);
    this.counters.deadLettered++;
    this.opts.logger.warn(
      { destination: destination.id, change: change.id, error: last.error },
      'webhook dead-lettered',
    );
  }

  private async attempt(
    destination: Destination,
    change: MembershipChange,
    attempt: number,
  ): Promise<{ ok: true } | { ok: false; status?: number; error: string }> {
    const body = JSON.stringify(toPayload(change));
    const timestamp = Math.floor(this.opts.clock.now() / 1000);
    const controller = new AbortController();
    this.inflight.add(controller);
    const timer = setTimeout(() => controller.abort(), this.opts.requestTimeoutMs);
    try {
      const response = await this.fetchFn(destination.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'kairos-webhooks/1',
          [SIGNATURE_HEADER]: signWebhook(destination.secret, timestamp, body),
          [IDEMPOTENCY_HEADER]: change.id,
          [ATTEMPT_HEADER]: String(attempt),
        },
        body,
        signal: controller.signal,
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { ok: true };
      return { ok: false, status: response.status, error: `HTTP ${response.status}` };
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause?.code;
      const message = controller.signal.aborted
        ? `timeout after ${this.opts.requestTimeoutMs} ms`
        : (cause ?? (error as Error).message);
      return { ok: false, error: message };
    } finally {
      clearTimeout(timer);
      this.inflight.delete(controller);
    }
  }
}

function headId(partition: number): string {
  return `_head/${partition}`;
}

function matches(destination: Destination, change: MembershipChange): boolean {
  if (destination.segments && destination.segments.length > 0 && !destination.segments.includes(change.segmentId))
    return false;
  if (destination.types && !destination.types.includes(change.type)) return false;
  return true;
}
