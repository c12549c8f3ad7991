import { Worker } from 'node:worker_threads';
import type { Logger } from '../../core/index.js';
import type { SegmentMembers } from './build-serving.js';
import { RecommendServingErrors } from './errors.js';
import { deltaTransfer, type InteractionDelta } from './interaction-table.js';
import type { TrainerReply, TrainerRequest, TrainerWorkerData } from './trainer-protocol.js';

export type ReadyReply = Extract<TrainerReply, { type: 'ready' }>;
export type TrainedReply = Extract<TrainerReply, { type: 'trained' }>;
export type SnapshotReply = Extract<TrainerReply, { type: 'snapshot-written' }>;

interface Pending {
  readonly kind: 'train' | 'snapshot' | 'stop';
  resolve(reply: TrainerReply): void;
  reject(error: Error): void;
}

/**
 * Starts `<name>.js` next to `moduleUrl` in a worker thread; from TypeScript sources (tests, tsx)
 * the worker first registers tsx's loader, then imports `<name>.ts` (the engine's stream pool does
 * the same).
 */
function spawnWorker(moduleUrl: string, name: string, workerData: unknown): Worker {
  if (!moduleUrl.endsWith('.ts')) return new Worker(new URL(`./${name}.js`, moduleUrl), { workerData });
  const entry = new URL(`./${name}.ts`, moduleUrl).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/**
 * The main thread's handle on the trainer thread. Replies come back in request order, so pending
 * calls are a FIFO. When the thread dies, every pending call fails with
 * RECOMMEND_TRAINER_UNAVAILABLE and `onExit` is told (the service restarts it from its snapshot).
 */
export class TrainerClient {
  private worker: Worker | undefined;
  private readonly pending: Pending[] = [];
  private stopping = false;

  constructor(
    private readonly data: TrainerWorkerData,
    private readonly logger: Logger,
    private readonly onExit: (code: number) => void,
  ) {}

  start(): Promise<ReadyReply> {
    const worker = spawnWorker(import.meta.url, 'trainer-worker', this.data);
    this.worker = worker;
    return new Promise<ReadyReply>((resolve, reject) => {
      let ready = false;
      worker.on('message', (reply: TrainerReply) => {
        if (reply.type === 'ready') {
          ready = true;
          resolve(reply);
          return;
        }
        const next = this.pending.shift();
        if (!next) {
          this.logger.warn({ type: reply.type }, 'unexpected trainer reply');
          return;
        }
        next.resolve(reply);
      });
      worker.on('error', (error) => {
        this.logger.error({ err: error }, 'trainer thread failed');
        if (!ready) reject(error);
      });
      worker.on('exit', (code) => {
        if (this.worker === worker) this.worker = undefined;
        const failure = RecommendServingErrors.create(
          'RECOMMEND_TRAINER_UNAVAILABLE',
          `The trainer thread exited (code ${code})`,
        );
        for (const p of this.pending.splice(0)) p.reject(failure);
        if (!ready) reject(failure);
        if (!this.stopping) this.onExit(code);
      });
    });
  }

  get running(): boolean {
    return this.worker !== undefined;
  }

  /** Hands new interactions over (their buffers move to the trainer). */
  send(delta: InteractionDelta): void {
    this.post({ type: 'delta', delta }, deltaTransfer(delta));
  }

  async train(version: number, segments: readonly SegmentMembers[], nowMs: number): Promise<TrainedReply> {
    const transfer = segments.map((s) => s.users.buffer as ArrayBuffer);
    const reply = await this.call('train', { type: 'train', version, segments, nowMs }, transfer);
    if (reply.type === 'trained') return reply;
    if (reply.type === 'train-failed') {
      throw RecommendServingErrors.create('RECOMMEND_TRAINING_FAILED', reply.message, {
        details: { version, cause: reply.code },
      });
    }
    throw RecommendServingErrors.create('RECOMMEND_TRAINING_FAILED', `unexpected reply ${reply.type}`);
  }

  async snapshot(): Promise<SnapshotReply> {
    const reply = await this.call('snapshot', { type: 'snapshot' });
    if (reply.type === 'snapshot-written') return reply;
    throw RecommendServingErrors.create(
      'RECOMMEND_TRAINING_FAILED',
      reply.type === 'snapshot-failed' ? reply.message : `unexpected reply ${reply.type}`,
    );
  }

  async stop(timeoutMs = 10_000): Promise<void> {
    this.stopping = true;
    const worker = this.worker;
    if (!worker) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    const timer = setTimeout(() => void worker.terminate(), timeoutMs);
    // Everything queued before (a training, a snapshot) finishes first: requests are handled in order.
    await this.call('stop', { type: 'stop' }).catch(() => undefined);
    await worker.terminate();
    await exited;
    clearTimeout(timer);
  }

  private call(kind: Pending['kind'], request: TrainerRequest, transfer: ArrayBuffer[] = []): Promise<TrainerReply> {
    return new Promise<TrainerReply>((resolve, reject) => {
      if (!this.worker) {
        reject(RecommendServingErrors.create('RECOMMEND_TRAINER_UNAVAILABLE'));
        return;
      }
      this.pending.push({ kind, resolve, reject });
      this.worker.postMessage(request, transfer);
    });
  }

  private post(request: TrainerRequest, transfer: ArrayBuffer[] = []): void {
    if (!this.worker) throw RecommendServingErrors.create('RECOMMEND_TRAINER_UNAVAILABLE');
    this.worker.postMessage(request, transfer);
  }
}
