import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/index.js';
import type { CommitReport, ResolvedStreamOptions } from '../stream/index.js';
import { serializableStreamOptions } from '../stream/index.js';
import type { PipelineConfig } from './pipeline.js';

/** What a stream worker thread is started with (plain data). */
export interface WorkerData {
  readonly logDir: string;
  readonly shared: SharedArrayBuffer;
  readonly stateDir: string;
  readonly stateFlushIntervalMs: number;
  readonly partitions: readonly number[];
  readonly stream: ReturnType<typeof serializableStreamOptions>;
  readonly pipeline: PipelineConfig;
  readonly logLevel: string;
}

export type WorkerRequest = { type: 'pipeline'; config: PipelineConfig } | { type: 'stop' };
export type WorkerMessage =
  | { type: 'ready'; partitions: number[]; positions: { partition: number; offset: number; watermarkMs: number }[] }
  | { type: 'commit'; report: CommitReport }
  | { type: 'stopped' };

export interface StreamPoolOptions {
  readonly workers: number;
  readonly partitionCount: number;
  readonly logDir: string;
  readonly shared: SharedArrayBuffer;
  readonly stateDir: string;
  /** The main thread's store setting (lmdb's flags must match within a process). */
  readonly stateFlushIntervalMs: number;
  readonly stream: ResolvedStreamOptions;
  readonly pipeline: PipelineConfig;
  readonly logLevel: string;
  readonly logger: Logger;
  readonly onCommit: (report: CommitReport) => void;
}

interface Slot {
  worker: Worker;
  partitions: number[];
  ready: Promise<void>;
}

/**
 * The embedded runtime's worker threads: partitions are spread round-robin over `workers` threads,
 * each running a TaskGroup. A worker that dies is restarted with the same partitions (its tasks resume
 * from their checkpoints).
 */
export class StreamPool {
  private slots: Slot[] = [];
  private stopping = false;
  private pipeline: PipelineConfig;
  private readonly positions = new Map<number, { offset: number; watermarkMs: number }>();

  constructor(private readonly options: StreamPoolOptions) {
    this.pipeline = options.pipeline;
  }

  /** Starts the workers (again after stop(): a paused stream resumes from its checkpoints). */
  async start(): Promise<void> {
    this.stopping = false;
    const { workers, partitionCount } = this.options;
    const assignments: number[][] = Array.from({ length: Math.max(1, Math.min(workers, partitionCount)) }, () => []);
    for (let p = 0; p < partitionCount; p++) assignments[p % assignments.length]!.push(p);
    this.slots = assignments.map((partitions) => this.spawn(partitions));
    await Promise.all(this.slots.map((slot) => slot.ready));
  }

  /** Rebuild every worker's pipeline (segment definitions changed). */
  setPipeline(config: PipelineConfig): void {
    this.pipeline = config;
    for (const slot of this.slots) slot.worker.postMessage({ type: 'pipeline', config } satisfies WorkerRequest);
  }

  /** Last reported position per partition. */
  partitionPositions(): Map<number, { offset: number; watermarkMs: number }> {
    return this.positions;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => void slot.worker.terminate().then(() => resolve()), 10_000);
            slot.worker.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            slot.worker.on('message', (message: WorkerMessage) => {
              if (message.type === 'stopped') void slot.worker.terminate();
            });
            slot.worker.postMessage({ type: 'stop' } satisfies WorkerRequest);
          }),
      ),
    );
  }

  private spawn(partitions: number[]): Slot {
    const data: WorkerData = {
      logDir: this.options.logDir,
      shared: this.options.shared,
      stateDir: this.options.stateDir,
      stateFlushIntervalMs: this.options.stateFlushIntervalMs,
      partitions,
      stream: serializableStreamOptions(this.options.stream),
      pipeline: this.pipeline,
      logLevel: this.options.logLevel,
    };
    const worker = spawnWorker(import.meta.url, 'stream-worker', data);
    let resolveReady!: () => void;
    let rejectReady!: (error: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      resolveReady = resolve;
      rejectReady = reject;
    });
    const slot: Slot = { worker, partitions, ready };
    worker.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') {
        for (const p of message.positions)
          this.positions.set(p.partition, { offset: p.offset, watermarkMs: p.watermarkMs });
        resolveReady();
      } else if (message.type === 'commit') {
        this.positions.set(message.report.partition, {
          offset: message.report.offset,
          watermarkMs: message.report.watermarkMs,
        });
        this.options.onCommit(message.report);
      }
    });
    worker.on('error', (error) => {
      this.options.logger.error({ err: error, partitions }, 'stream worker failed');
      rejectReady(error);
    });
    worker.on('exit', (code) => {
      if (this.stopping) return;
      this.options.logger.error({ code, partitions }, 'stream worker exited; restarting it');
      const index = this.slots.indexOf(slot);
      if (index !== -1) this.slots[index] = this.spawn(partitions);
    });
    return slot;
  }
}

/**
 * Starts `<name>.js` next to `moduleUrl` in a worker thread. When running from TypeScript sources
 * (tests, `tsx`), the worker first registers tsx's loader, then imports `<name>.ts`.
 */
export function spawnWorker(moduleUrl: string, name: string, workerData: unknown): Worker {
  if (!moduleUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, moduleUrl), { workerData });
  const entry = new URL(`./${name}.ts`, moduleUrl).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}
