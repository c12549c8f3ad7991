// Trainer thread: keeps the interaction table the main thread hands it, trains versions on request,
// writes their artifacts and the table snapshot. It never serves requests and never reads the log:
// the main thread tails the log and owns the dictionaries (data flows one way).
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { isKairosError } from '../../core/index.js';
import { encodeArtifact } from '../artifact.js';
import { InteractionTable } from './interaction-table.js';
import { runTraining, resultTransfer, toServingArtifact } from './train-job.js';
import {
  artifactFileName,
  SNAPSHOT_FILE,
  type TrainerReply,
  type TrainerRequest,
  type TrainerWorkerData,
} from './trainer-protocol.js';

const data = workerData as TrainerWorkerData;
const port = parentPort!;
const post = (reply: TrainerReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

/** Durable replace: write a temporary file, fsync, rename over the target. */
async function writeDurably(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(bytes);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, path);
}

let table = new InteractionTable(data.partitionCount);
let snapshotId: string | null = null;
let snapshotProblem: string | null = null;
const snapshotPath = join(data.modelsDir, SNAPSHOT_FILE);
if (existsSync(snapshotPath)) {
  try {
    const restored = InteractionTable.decode(readFileSync(snapshotPath), data.partitionCount);
    table = restored.table;
    snapshotId = restored.snapshotId;
  } catch (error) {
    snapshotProblem = (error as Error).message;
    table = new InteractionTable(data.partitionCount);
  }
}

async function writeSnapshot(): Promise<{ id: string; positions: number[] }> {
  const id = randomUUID();
  await writeDurably(snapshotPath, table.encode(id));
  snapshotId = id;
  return { id, positions: [...table.positions] };
}

async function handle(request: TrainerRequest): Promise<void> {
  switch (request.type) {
    case 'delta':
      table.apply(request.delta);
      return;
    case 'train': {
      let file: string | undefined;
      try {
        const result = runTraining(table, request.version, request.segments, data.settings, request.nowMs);
        const artifact = toServingArtifact(result, table.items.ids, table.users.ids);
        const bytes = encodeArtifact(artifact);
        file = join(data.modelsDir, artifactFileName(request.version, result.model));
        await writeDurably(file, bytes);
        const snapshot = await writeSnapshot();
        post(
          { type: 'trained', result, file: relative(data.dataDir, file), bytes: bytes.length, snapshotId: snapshot.id },
          resultTransfer(result),
        );
      } catch (error) {
        if (file !== undefined) await unlink(file).catch(() => undefined);
        post({
          type: 'train-failed',
          version: request.version,
          code: isKairosError(error) ? error.code : 'RECOMMEND_TRAINING_FAILED',
          message: (error as Error).message,
        });
      }
      return;
    }
    case 'snapshot':
      try {
        const snapshot = await writeSnapshot();
        post({ type: 'snapshot-written', snapshotId: snapshot.id, positions: snapshot.positions });
      } catch (error) {
        post({ type: 'snapshot-failed', message: (error as Error).message });
      }
      return;
    case 'stop':
      post({ type: 'stopped' });
      return;
  }
}

// Requests are handled strictly in order: a delta sent after a train request lands after it.
let queue: Promise<void> = Promise.resolve();
port.on('message', (request: TrainerRequest) => {
  queue = queue.then(() => handle(request));
});

const catalogue = table.catalogue.fullDelta(table.items.size);
post({
  type: 'ready',
  snapshotId,
  snapshotProblem,
  positions: table.positions,
  records: table.records,
  rows: table.length,
  userIds: table.users.ids,
  itemIds: table.items.ids,
  catalogue,
});
