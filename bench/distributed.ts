/**
 * Distributed mode throughput (issue 7): the same Taobao replay (N events, 100 per batch, 8 concurrent
 * batches, as fast as acknowledgements come back) into
 *   - the embedded engine (`kairos start`: one process, embedded log, lmdb state) — the baseline,
 *   - collector + 1 worker + api (RabbitMQ stream queues, Redis state, PostgreSQL metadata),
 *   - collector + 2 workers + api,
 * all in the same run. Ingest = acknowledged events/s seen by the client; processing = events/s from
 * the first send until every partition's committed offset reached the log end. The load generator runs
 * in this process; every engine process is its own child process. 2 cores: the distributed topologies
 * share them with RabbitMQ, Redis and PostgreSQL, so this measures overhead, not scale-out.
 *
 * Run: npm run build && npx tsx bench/distributed.ts [--events 50000]. Writes bench/results/distributed.json.
 */
import { replayToServer } from '../src/datasets/index.js';
import {
  RoleProcess,
  deployment,
  dropDeployment,
  ensureServices,
  taobaoEvents,
  waitCaughtUp,
  waitForAssignment,
} from '../test/integration/distributed-harness.js';
import { freePort, startBenchEngine } from './lib/engine.js';
import { writeResults, type BenchResult } from './lib/results.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const EVENTS = arg('events', 50_000);
const PARTITIONS = 4;

interface Measured {
  ingest: number;
  processing: number;
  retries: number;
}

async function drive(url: string, writeKey: string, label: string, caughtUp: () => Promise<void>): Promise<Measured> {
  const started = performance.now();
  let n = 0;
  const summary = await replayToServer(
    (async function* () {
      for await (const m of taobaoEvents(EVENTS, label)) {
        if (n++ >= EVENTS) return;
        yield m;
      }
    })(),
    { url, writeKey, batchSize: 100, concurrency: 8 },
  );
  if (summary.failedBatches > 0) throw new Error(`${label}: ${summary.failedBatches} batches failed`);
  await caughtUp();
  const processedMs = performance.now() - started;
  return {
    ingest: summary.accepted / (summary.elapsedMs / 1000),
    processing: summary.accepted / (processedMs / 1000),
    retries: summary.retries,
  };
}

async function embedded(): Promise<Measured> {
  const engine = await startBenchEngine();
  try {
    return await drive(engine.url, engine.writeKey, 'emb', async () => {
      for (let stable = 0; stable < 2;) {
        const body = (await (await fetch(`${engine.url}/readyz`)).json()) as { partitions: { lag: number | null }[] };
        stable = body.partitions.every((p) => p.lag === 0) ? stable + 1 : 0;
        await new Promise((r) => setTimeout(r, 100));
      }
    });
  } finally {
    await engine.stop();
  }
}

async function distributed(workers: number): Promise<Measured> {
  const dep = deployment(`bench-${workers}w`, PARTITIONS);
  const processes: RoleProcess[] = [];
  try {
    const collector = new RoleProcess('collector', await freePort(), dep.env());
    processes.push(collector);
    await collector.start();
    const ws = await Promise.all(
      Array.from(
        { length: workers },
        async (_, i) =>
          new RoleProcess('worker', await freePort(), dep.env({ KAIROS_MEMBER_ID: `bench-w${i}-${process.pid}` })),
      ),
    );
    const api = new RoleProcess('api', await freePort(), dep.env());
    processes.push(...ws, api);
    await Promise.all([...ws.map((w) => w.start()), api.start()]);
    await waitForAssignment(ws, PARTITIONS);
    // The caught-up check polls /readyz every 0.5 s (at most that much is added to the processing time).
    return await drive(collector.url, dep.writeKey, `d${workers}`, () => waitCaughtUp(api));
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await dropDeployment(dep.namespace).catch(() => undefined);
  }
}

await ensureServices();
const base = await embedded();
console.log(`embedded: ingest ${Math.round(base.ingest)} ev/s, processing ${Math.round(base.processing)} ev/s`);
const one = await distributed(1);
console.log(
  `distributed, 1 worker: ingest ${Math.round(one.ingest)} ev/s, processing ${Math.round(one.processing)} ev/s`,
);
const two = await distributed(2);
console.log(
  `distributed, 2 workers: ingest ${Math.round(two.ingest)} ev/s, processing ${Math.round(two.processing)} ev/s`,
);

const rows: BenchResult[] = [
  {
    metric: 'distributed ingest, 1 worker (RabbitMQ confirms)',
    value: one.ingest,
    unit: 'events/s',
    baseline: 'embedded engine, same replay',
    baselineValue: base.ingest,
    ratio: one.ingest / base.ingest,
  },
  {
    metric: 'distributed processing, 1 worker (Redis state)',
    value: one.processing,
    unit: 'events/s',
    baseline: 'embedded engine, same replay',
    baselineValue: base.processing,
    ratio: one.processing / base.processing,
  },
  {
    metric: 'distributed ingest, 2 workers',
    value: two.ingest,
    unit: 'events/s',
    baseline: 'distributed, 1 worker, same run',
    baselineValue: one.ingest,
    ratio: two.ingest / one.ingest,
  },
  {
    metric: 'distributed processing, 2 workers',
    value: two.processing,
    unit: 'events/s',
    baseline: 'distributed, 1 worker, same run',
    baselineValue: one.processing,
    ratio: two.processing / one.processing,
  },
];
writeResults(
  'distributed',
  rows,
  `${EVENTS} Taobao events per topology (100/batch, 8 concurrent batches, unthrottled), ${PARTITIONS} partitions; collector, workers and api as separate processes on this 2-core machine beside RabbitMQ 3.10, Redis and PostgreSQL. Retries: embedded ${base.retries}, 1 worker ${one.retries}, 2 workers ${two.retries}.`,
);
