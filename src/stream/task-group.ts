import type { EventLog } from '../log/index.js';
import type { StateStore } from '../store/index.js';
import { isKairosError } from '../core/index.js';
import type { ResolvedStreamOptions } from './options.js';
import { PartitionTask } from './task.js';
import type { CommitReport, Pipeline } from './types.js';

export interface TaskGroupDeps {
  readonly partitions: readonly number[];
  readonly log: EventLog;
  readonly store: StateStore;
  readonly options: ResolvedStreamOptions;
  /** Identifies this worker in fencing records. */
  readonly owner: string;
  readonly pipeline: Pipeline;
  readonly onCommit?: (report: CommitReport) => void;
  /** A task lost its partition to a newer owner (distributed mode): it stops; the caller may rebalance. */
  readonly onFenced?: (partition: number) => void;
}

interface Running {
  task: PartitionTask;
  loop: Promise<void>;
}

/**
 * Runs the tasks of several partitions in one thread: each task is an async loop, so a task waiting
 * for records or for a merge does not block the others. A task that fails restarts from its last
 * checkpoint (the work redone is deterministic); a fenced task stops for good.
 */
export class TaskGroup {
  private running = new Map<number, Running>();
  private stopped = false;
  private pipeline: Pipeline;

  constructor(private readonly deps: TaskGroupDeps) {
    this.pipeline = deps.pipeline;
  }

  async start(): Promise<void> {
    await Promise.all(this.deps.partitions.map((p) => this.add(p)));
  }

  /** Starts (or restarts) the task of one partition. */
  async add(partition: number): Promise<void> {
    if (this.running.has(partition) || this.stopped) return;
    const task = this.createTask(partition);
    await task.start();
    // Registered before the loop starts: the loop runs while this entry holds its task.
    const entry: Running = { task, loop: Promise.resolve() };
    this.running.set(partition, entry);
    entry.loop = this.loop(partition, task);
  }

  /** Stops the task of one partition (rebalancing) and gives up its ownership. */
  async remove(partition: number): Promise<void> {
    const entry = this.running.get(partition);
    if (!entry) return;
    this.running.delete(partition);
    await entry.loop;
    await entry.task.stop();
    await entry.task.release();
  }

  /** Swaps the operator pipeline (e.g. segment definitions changed); applies from each task's next step. */
  setPipeline(pipeline: Pipeline): void {
    this.pipeline = pipeline;
    for (const { task } of this.running.values()) task.setPipeline(pipeline);
  }

  get partitions(): number[] {
    return [...this.running.keys()];
  }

  /** Watermark and next offset per partition, for readiness and lag metrics. */
  positions(): { partition: number; offset: number; watermarkMs: number }[] {
    return [...this.running.values()].map(({ task }) => ({
      partition: task.partition,
      offset: task.position,
      watermarkMs: task.watermark,
    }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const entries = [...this.running.values()];
    this.running.clear();
    await Promise.all(entries.map((e) => e.loop));
    await Promise.all(entries.map((e) => e.task.stop()));
  }

  private createTask(partition: number): PartitionTask {
    return new PartitionTask({
      partition,
      log: this.deps.log,
      store: this.deps.store,
      pipeline: this.pipeline,
      options: this.deps.options,
      owner: this.deps.owner,
      ...(this.deps.onCommit ? { onCommit: this.deps.onCommit } : {}),
    });
  }

  private async loop(partition: number, initial: PartitionTask): Promise<void> {
    let task = initial;
    let failures = 0;
    const logger = this.deps.options.logger;
    while (!this.stopped && this.running.get(partition)?.task === task) {
      try {
        const progressed = await task.step();
        failures = 0;
        if (!progressed && task.hasPending) await sleep(this.deps.options.pollMs);
      } catch (error) {
        if (isKairosError(error, 'STREAM_FENCED')) {
          logger.warn({ partition }, 'partition taken over by another worker; stopping its task');
          this.running.delete(partition);
          await task.stop();
          this.deps.onFenced?.(partition);
          return;
        }
        failures++;
        logger.error({ err: error, partition, failures }, 'stream task failed; restarting from its checkpoint');
        await task.stop().catch(() => undefined);
        await sleep(Math.min(5000, 50 * 2 ** Math.min(failures, 7)));
        if (this.stopped) return;
        try {
          task = this.createTask(partition);
          await task.start();
          const entry = this.running.get(partition);
          if (entry) entry.task = task;
        } catch (restartError) {
          logger.error({ err: restartError, partition }, 'stream task restart failed');
        }
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
