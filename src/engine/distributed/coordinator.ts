import type { Clock, Logger } from '../../core/index.js';
import { assignPartitions } from './assignment.js';
import type { MemberDoc, Membership, MembershipView } from './membership.js';

/** What the coordinator drives: a TaskGroup satisfies it. */
export interface PartitionRunner {
  /** Acquires the partition (new fencing token: any earlier owner is fenced) and starts its task. */
  add(partition: number): Promise<void>;
  /** Stops the partition's task after its current step and releases ownership. */
  remove(partition: number): Promise<void>;
  /** Partitions whose task runs. */
  readonly partitions: readonly number[];
}

export interface CoordinatorOptions {
  readonly membership: Membership;
  readonly runner: PartitionRunner;
  readonly partitionCount: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Interval of the heartbeat and of the reconciliation loop (the timers of `start`). */
  readonly heartbeatMs: number;
  /** Same as the membership's ttl: a gap this long between two rounds means this process was paused. */
  readonly ttlMs: number;
  /** Take a partition still claimed by a live member after waiting this long for its release. */
  readonly handoffTimeoutMs: number;
  /** After losing a partition to fencing, wait this long before acquiring it again. @default heartbeatMs */
  readonly fencedBackoffMs?: number;
  /**
   * Acquire nothing during this long after the first round: workers started together first see each
   * other, instead of each seeing itself alone, taking everything and fencing the others. @default 2 × heartbeatMs
   */
  readonly startupGraceMs?: number;
}

/** What one reconciliation did (for logs, metrics and tests). */
export interface ReconcileResult {
  readonly live: readonly string[];
  readonly assigned: readonly number[];
  readonly added: readonly number[];
  readonly removed: readonly number[];
  /** Assigned partitions left alone this round: still claimed by another live member (handoff) or in backoff. */
  readonly waiting: readonly number[];
  readonly failed: readonly number[];
}

/** One ownership change, kept for /readyz and for tests (when a partition was taken, from whom). */
export interface OwnershipEvent {
  readonly partition: number;
  readonly kind: 'acquired' | 'released' | 'fenced' | 'dropped';
  readonly atMs: number;
}

/**
 * A worker's partition ownership (docs/distributed.md): heartbeats into the membership, a
 * deterministic assignment over the live members, acquire what is assigned (fencing the previous
 * owner), release what is not. Two loops with their own timers, so a slow acquisition (a task loading
 * its state) never delays the heartbeat that keeps this worker alive in the others' eyes.
 */
export class PartitionCoordinator {
  private readonly releasing = new Set<number>();
  private readonly adding = new Set<number>();
  private readonly waitingSince = new Map<number, number>();
  private readonly fencedAt = new Map<number, number>();
  /** Our clock the last time this process was seen running (watchdog ticks, rounds). */
  private lastAliveAtMs: number | undefined;
  /** Longest stall seen since the last round (0: none longer than the ttl). */
  private pausedForMs = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private lastView: MembershipView | undefined;
  private firstRoundAtMs: number | undefined;
  private assigned: number[] = [];
  private readonly history: OwnershipEvent[] = [];
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<unknown> | undefined;
  private stopped = false;
  private heartbeatFailures = 0;
  private beating: Promise<void> = Promise.resolve();

  constructor(private readonly options: CoordinatorOptions) {}

  /** Partitions this worker runs or is releasing (what its heartbeat claims). */
  get owned(): number[] {
    const set = new Set([...this.options.runner.partitions, ...this.releasing, ...this.adding]);
    return [...set].sort((a, b) => a - b);
  }

  get assignment(): readonly number[] {
    return this.assigned;
  }

  get view(): MembershipView | undefined {
    return this.lastView;
  }

  get events(): readonly OwnershipEvent[] {
    return this.history;
  }

  /** The TaskGroup's `onFenced`: another worker took the partition (or we were paused). */
  onFenced(partition: number): void {
    const now = this.options.clock.now();
    this.fencedAt.set(partition, now);
    this.record(partition, 'fenced', now);
  }

  /** Writes the heartbeat; failures are logged (fencing keeps the state safe meanwhile). */
  heartbeat(): Promise<void> {
    // Serialised: two writes in flight could land in either order and leave stale claims behind.
    this.beating = this.beating.then(() => this.beatOnce());
    return this.beating;
  }

  private async beatOnce(): Promise<void> {
    try {
      await this.options.membership.heartbeat(this.owned);
      if (this.heartbeatFailures > 0)
        this.options.logger.info({ failures: this.heartbeatFailures }, 'membership heartbeat stored again');
      this.heartbeatFailures = 0;
    } catch (error) {
      if (this.heartbeatFailures++ === 0)
        this.options.logger.warn({ err: error }, 'membership heartbeat failed; retrying');
    }
  }

  /**
   * One round: read the membership, compute the assignment, release what is no longer ours, acquire
   * what is (waiting for a live previous owner's release up to the handoff timeout).
   */
  async reconcile(): Promise<ReconcileResult> {
    const { clock, runner, logger } = this.options;
    const now = clock.now();
    const empty: ReconcileResult = {
      live: [],
      assigned: this.assigned,
      added: [],
      removed: [],
      waiting: [],
      failed: [],
    };
    this.alive(now);
    if (this.pausedForMs > 0) {
      // This process stood still for longer than a ttl (SIGSTOP, a long GC, a frozen VM): the others may
      // have declared it dead and taken its partitions. Its tasks would be fenced at their next commit
      // anyway; dropping them now avoids redoing work that cannot land. It re-acquires what the
      // assignment gives it, after the handoff rules below.
      const drop = [...runner.partitions];
      logger.warn(
        { pausedMs: this.pausedForMs, partitions: drop },
        'this worker was paused longer than the member ttl; dropping its partitions',
      );
      this.pausedForMs = 0;
      await this.removeAll(drop, 'dropped');
    }
    try {
      return await this.reconcileView(now, empty);
    } finally {
      this.alive(clock.now());
    }
  }

  /**
   * Notes that this process runs at `now`; a gap longer than the ttl since the last note is a pause.
   * Called by a watchdog timer (every quarter heartbeat) and around every round.
   */
  alive(now: number = this.options.clock.now()): void {
    if (this.lastAliveAtMs !== undefined && now - this.lastAliveAtMs > this.options.ttlMs) {
      this.pausedForMs = Math.max(this.pausedForMs, now - this.lastAliveAtMs);
    }
    this.lastAliveAtMs = now;
  }

  private async reconcileView(now: number, empty: ReconcileResult): Promise<ReconcileResult> {
    const { clock, runner, membership, logger } = this.options;
    let view: MembershipView;
    try {
      view = await membership.view();
    } catch (error) {
      logger.warn({ err: error }, 'membership unreadable; keeping the current partitions');
      return empty;
    }
    const previous = this.lastView;
    this.lastView = view;
    const live = view.live.map((m) => m.id);
    if (previous) {
      const was = new Set(previous.live.map((m) => m.id));
      const gone = [...was].filter((id) => !live.includes(id));
      const joined = live.filter((id) => !was.has(id));
      if (gone.length > 0 || joined.length > 0) logger.info({ gone, joined, live }, 'membership changed');
    }
    const mine = assignPartitions(live, this.options.partitionCount).get(membership.memberId) ?? [];
    this.assigned = mine;
    const mineSet = new Set(mine);

    const toRemove = runner.partitions.filter((p) => !mineSet.has(p) && !this.adding.has(p));
    // Releases and acquisitions run side by side: a dead worker's partitions are not held up by a
    // survivor finishing a step of a partition it hands over. A release is announced at once.
    const removing = this.removeAll(toRemove, 'released').then(async (done) => {
      if (done.length > 0) await this.heartbeat();
      return done;
    });
    this.firstRoundAtMs ??= now;
    const settling = now - this.firstRoundAtMs < (this.options.startupGraceMs ?? 2 * this.options.heartbeatMs);

    const claims = new Map<number, MemberDoc>();
    for (const member of view.live) {
      if (member.id === membership.memberId) continue;
      for (const p of member.owned) claims.set(p, member);
    }
    const running = new Set(runner.partitions);
    const toAdd: number[] = [];
    const waiting: number[] = [];
    for (const p of mine) {
      if (running.has(p) || this.adding.has(p) || this.releasing.has(p)) {
        this.waitingSince.delete(p);
        continue;
      }
      if (settling) {
        // Just started: workers started together would each see only themselves and grab everything.
        waiting.push(p);
        continue;
      }
      const fencedAt = this.fencedAt.get(p);
      if (fencedAt !== undefined && now - fencedAt < (this.options.fencedBackoffMs ?? this.options.heartbeatMs)) {
        waiting.push(p);
        continue;
      }
      const claimant = claims.get(p);
      if (claimant) {
        const since = this.waitingSince.get(p) ?? now;
        this.waitingSince.set(p, since);
        if (now - since < this.options.handoffTimeoutMs) {
          waiting.push(p);
          continue;
        }
        logger.warn(
          { partition: p, claimant: claimant.id },
          'previous owner did not release in time; taking the partition (it is fenced)',
        );
      }
      toAdd.push(p);
    }
    for (const p of this.waitingSince.keys()) if (!mineSet.has(p)) this.waitingSince.delete(p);

    const failed: number[] = [];
    const added: number[] = [];
    await Promise.all(
      toAdd.map(async (p) => {
        this.adding.add(p);
        const startedAtMs = clock.now();
        try {
          await runner.add(p);
          logger.debug({ partition: p, ms: clock.now() - startedAtMs }, 'partition task started');
          added.push(p);
          this.waitingSince.delete(p);
          this.fencedAt.delete(p);
          this.record(p, 'acquired', clock.now());
        } catch (error) {
          failed.push(p);
          logger.warn({ err: error, partition: p }, 'could not acquire partition; retrying next round');
        } finally {
          this.adding.delete(p);
        }
      }),
    );
    const removed = await removing;
    added.sort((a, b) => a - b);
    if (added.length > 0 || removed.length > 0) {
      logger.info({ added, removed, owned: this.owned, live }, 'partition ownership changed');
    }
    // Claims must follow ownership at once: a joining worker waits for what it sees claimed.
    if (added.length > 0) await this.heartbeat();
    return { live, assigned: mine, added, removed, waiting, failed };
  }

  /** Runs the heartbeat and reconciliation loops until `stop`. */
  start(): void {
    const { heartbeatMs } = this.options;
    this.watchdog = setInterval(() => this.alive(), Math.max(10, Math.floor(heartbeatMs / 4)));
    this.watchdog.unref();
    const beat = () => {
      if (this.stopped) return;
      void this.heartbeat().finally(() => {
        if (!this.stopped) this.heartbeatTimer = setTimeout(beat, heartbeatMs);
      });
    };
    const round = () => {
      if (this.stopped) return;
      this.reconciling = this.reconcile()
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'partition reconciliation failed'))
        .finally(() => {
          this.reconciling = undefined;
          if (!this.stopped) this.reconcileTimer = setTimeout(round, heartbeatMs);
        });
    };
    beat();
    round();
  }

  /** Stops the loops, releases every partition and leaves the membership (the others rebalance at once). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.watchdog);
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.reconcileTimer);
    await this.reconciling;
    await this.removeAll([...this.options.runner.partitions], 'released');
    await this.options.membership
      .leave()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'could not leave the membership'));
  }

  private async removeAll(partitions: readonly number[], kind: 'released' | 'dropped'): Promise<number[]> {
    const done: number[] = [];
    await Promise.all(
      partitions.map(async (p) => {
        this.releasing.add(p);
        try {
          await this.options.runner.remove(p);
          done.push(p);
          this.record(p, kind, this.options.clock.now());
        } catch (error) {
          this.options.logger.warn({ err: error, partition: p }, 'release failed (the next owner fences it anyway)');
        } finally {
          this.releasing.delete(p);
        }
      }),
    );
    return done.sort((a, b) => a - b);
  }

  private record(partition: number, kind: OwnershipEvent['kind'], atMs: number): void {
    this.history.push({ partition, kind, atMs });
    if (this.history.length > 1000) this.history.splice(0, this.history.length - 1000);
  }
}
