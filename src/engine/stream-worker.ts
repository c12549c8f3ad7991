// Worker-thread entry of the embedded stream runtime: runs the partition tasks it is given over the
// shared embedded log (reader mode) and the lmdb state store, and reports every commit to the main
// thread. It never writes the log and never serves HTTP: data flows one way.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { createLogger } from '../core/index.js';
import { createEmbeddedEventLog } from '../log/index.js';
import { LmdbStateStore } from '../store/index.js';
import { TaskGroup, resolveStreamOptions, type CommitReport } from '../stream/index.js';
import { createPipeline } from './pipeline.js';
import type { WorkerData, WorkerMessage, WorkerRequest } from './stream-pool.js';

const data = workerData as WorkerData;
const logger = createLogger({ level: data.logLevel, name: `kairos-stream-${threadId}` });
const log = await createEmbeddedEventLog({ dir: data.logDir, mode: 'reader', shared: data.shared, logger });
// The main thread guards the directory and flushes it; this thread only commits.
const store = new LmdbStateStore({ dir: data.stateDir, flushIntervalMs: data.stateFlushIntervalMs, primary: false });
const options = resolveStreamOptions({
  outOfOrderness: data.stream.outOfOrdernessMs,
  idleTimeout: data.stream.idleTimeoutMs,
  maxBatchRecords: data.stream.maxBatchRecords,
  pollMs: data.stream.pollMs,
  dedupeCapacity: data.stream.dedupeCapacity,
  cacheEntries: data.stream.cacheEntries,
  lateRecordsKept: data.stream.lateRecordsKept,
  sealWaitTimeout: data.stream.sealWaitTimeoutMs,
  logger,
});
const post = (message: WorkerMessage) => parentPort!.postMessage(message);
const group = new TaskGroup({
  partitions: data.partitions,
  log,
  store,
  options,
  owner: `embedded-worker-${threadId}`,
  pipeline: createPipeline(data.pipeline),
  onCommit: (report: CommitReport) => post({ type: 'commit', report }),
});

parentPort!.on('message', (request: WorkerRequest) => {
  if (request.type === 'pipeline') {
    group.setPipeline(createPipeline(request.config));
  } else if (request.type === 'stop') {
    void (async () => {
      await group.stop();
      await log.close();
      await store.close();
      post({ type: 'stopped' });
    })();
  }
});

await group.start();
post({ type: 'ready', partitions: group.partitions, positions: group.positions() });
