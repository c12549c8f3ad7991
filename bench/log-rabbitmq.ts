/**
 * The RabbitMQ EventLog beside the embedded one, measured in the same run: durable (broker-confirmed)
 * appends per second of 100-event batches of ~500 B from 1, 8 and 64 concurrent appenders, then read
 * throughput of everything written (one reader per partition, concurrently). Ratio = rabbitmq / embedded.
 *
 * Needs RabbitMQ 3.10 at 127.0.0.1:5672 (guest/guest; started by scripts/services.sh when down).
 * Run: npx tsx bench/log-rabbitmq.ts [--seconds 3]. Writes bench/results/log-rabbitmq.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmbeddedEventLog, createRabbitMqEventLog, deleteRabbitMqEventLog } from '../src/log/index.js';
import type { EventLog, LogEntry } from '../src/log/index.js';
import { TEST_RABBITMQ_URL, ensureRabbitMq, uniqueNamespace } from '../src/log/rabbitmq/testing.js';

const BATCH = 100;
const PARTITIONS = 4;
const GOAL_EVENTS_PER_S = 100_000;
const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 3;
const root = mkdtempSync(join(tmpdir(), 'kairos-bench-log-rabbitmq-'));
const namespaces: string[] = [];

/** A Segment-style track event of about 500 bytes. */
function eventBytes(i: number): Buffer {
  const event = {
    type: 'track',
    event: 'Product Viewed',
    messageId: `msg-${i}-${Math.random().toString(36).slice(2, 12)}`,
    anonymousId: `anon-${i % 10_000}`,
    timestamp: new Date(1_700_000_000_000 + i).toISOString(),
    properties: {
      product_id: `p-${i % 5_000}`,
      sku: `SKU-${i % 777}`,
      category: 'Shoes',
      name: 'Trail runner',
      brand: 'Kairos',
      price: 89.9,
    },
    context: {
      ip: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126 Safari/537.36',
      locale: 'en-US',
    },
  };
  return Buffer.from(JSON.stringify(event).padEnd(500, ' '));
}

const pool = Array.from({ length: 10_000 }, (_, i) => eventBytes(i));
const poolBytes = pool.reduce((sum, b) => sum + b.length, 0) / pool.length;
function batchAt(n: number): LogEntry[] {
  return Array.from({ length: BATCH }, (_, i) => {
    const j = (n * BATCH + i) % pool.length;
    return { key: `anon-${j % 10_000}`, value: pool[j]!, timestampMs: 1_700_000_000_000 + j };
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface AppendRun {
  readonly eventsPerS: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

async function appendRun(log: EventLog, concurrency: number): Promise<AppendRun> {
  let next = 0;
  for (let i = 0; i < 10; i++) await log.append(batchAt(next++)); // warm-up
  const latencies: number[] = [];
  const started = performance.now();
  const until = started + SECONDS * 1_000;
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now();
        await log.append(batchAt(next++));
        latencies.push(performance.now() - t);
        done++;
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1_000;
  latencies.sort((a, b) => a - b);
  return { eventsPerS: (done * BATCH) / elapsedS, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}

/** Reads every partition from its start to its end, one reader per partition, all at once. */
async function readRun(log: EventLog): Promise<{ recordsPerS: number; records: number }> {
  const started = performance.now();
  const counts = await Promise.all(
    Array.from({ length: log.partitionCount }, async (_, p) => {
      const { start, end } = await log.offsets(p);
      const reader = await log.openReader(p, start);
      let n = 0;
      try {
        while (reader.position < end) {
          const records = await reader.read({ maxRecords: 1_000, waitMs: 5_000 });
          if (records.length === 0) throw new Error(`partition ${p}: no record at ${reader.position}`);
          n += records.length;
        }
      } finally {
        await reader.close();
      }
      return n;
    }),
  );
  const records = counts.reduce((a, b) => a + b, 0);
  return { recordsPerS: records / ((performance.now() - started) / 1_000), records };
}

async function openEmbedded(label: string): Promise<EventLog> {
  return createEmbeddedEventLog({
    dir: join(root, label),
    partitionCount: PARTITIONS,
    maxPendingBytes: 256 * 1024 * 1024,
  });
}

async function openRabbit(label: string): Promise<EventLog> {
  const namespace = uniqueNamespace(`bench-${label}`);
  namespaces.push(namespace);
  return createRabbitMqEventLog({
    url: TEST_RABBITMQ_URL,
    namespace,
    partitionCount: PARTITIONS,
    maxPendingBytes: 256 * 1024 * 1024,
  });
}

async function main(): Promise<void> {
  await ensureRabbitMq();
  console.log(
    `log-rabbitmq: ${SECONDS}s per run, batches of ${BATCH} events of ~${Math.round(poolBytes)} B, ${PARTITIONS} partitions`,
  );
  const results: Record<string, unknown>[] = [];
  const lines: string[] = [];
  const logs: Record<string, EventLog> = {};
  for (const concurrency of [1, 8, 64]) {
    // The embedded log right before the broker, each on a fresh log, so load changes hit both alike.
    const embedded = await openEmbedded(`c${concurrency}`);
    const base = await appendRun(embedded, concurrency);
    const rabbit = await openRabbit(`c${concurrency}`);
    const run = await appendRun(rabbit, concurrency);
    if (concurrency === 64) {
      logs.embedded = embedded;
      logs.rabbitmq = rabbit;
    } else {
      await embedded.close();
      await rabbit.close();
    }
    const ratio = run.eventsPerS / base.eventsPerS;
    const line =
      `${String(concurrency).padStart(2)} appenders: rabbitmq ${Math.round(run.eventsPerS)} events/s (p50 ${run.p50Ms.toFixed(1)} ms, p99 ${run.p99Ms.toFixed(1)} ms) ` +
      `vs embedded ${Math.round(base.eventsPerS)} events/s (p50 ${base.p50Ms.toFixed(1)} ms, p99 ${base.p99Ms.toFixed(1)} ms): ×${ratio.toFixed(3)}`;
    console.log(line);
    lines.push(line);
    results.push(
      {
        metric: `durable (confirmed) events/s, ${concurrency} concurrent appender(s), batches of ${BATCH}`,
        value: Math.round(run.eventsPerS),
        unit: 'events/s',
        baseline: 'embedded EventLog (group commit + fdatasync), same batches, measured just before',
        baselineValue: Math.round(base.eventsPerS),
        ratio: Number(ratio.toFixed(3)),
        goal: GOAL_EVENTS_PER_S,
      },
      {
        metric: `append latency p50, ${concurrency} appender(s)`,
        value: Number(run.p50Ms.toFixed(2)),
        unit: 'ms',
        baseline: 'embedded EventLog p50 (measured just before)',
        baselineValue: Number(base.p50Ms.toFixed(2)),
        ratio: Number((run.p50Ms / base.p50Ms).toFixed(3)),
        goal: null,
      },
      {
        metric: `append latency p99, ${concurrency} appender(s)`,
        value: Number(run.p99Ms.toFixed(2)),
        unit: 'ms',
        baseline: 'embedded EventLog p99 (measured just before)',
        baselineValue: Number(base.p99Ms.toFixed(2)),
        ratio: Number((run.p99Ms / base.p99Ms).toFixed(3)),
        goal: null,
      },
    );
  }
  const embeddedRead = await readRun(logs.embedded!);
  const rabbitRead = await readRun(logs.rabbitmq!);
  const readRatio = rabbitRead.recordsPerS / embeddedRead.recordsPerS;
  const readLine =
    `read (4 readers, maxRecords 1000): rabbitmq ${Math.round(rabbitRead.recordsPerS)} records/s over ${rabbitRead.records} records ` +
    `vs embedded ${Math.round(embeddedRead.recordsPerS)} records/s over ${embeddedRead.records}: ×${readRatio.toFixed(3)}`;
  console.log(readLine);
  lines.push(readLine);
  results.push({
    metric: 'read throughput, one reader per partition (4), maxRecords 1000, whole log of the 64-appender run',
    value: Math.round(rabbitRead.recordsPerS),
    unit: 'records/s',
    baseline: 'embedded EventLog reading its own 64-appender run the same way',
    baselineValue: Math.round(embeddedRead.recordsPerS),
    ratio: Number(readRatio.toFixed(3)),
    goal: null,
  });
  await logs.embedded!.close();
  await logs.rabbitmq!.close();

  mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
  writeFileSync(
    new URL('./results/log-rabbitmq.json', import.meta.url),
    `${JSON.stringify(
      {
        name: 'log-rabbitmq',
        date: new Date().toISOString(),
        node: process.version,
        cpus: cpus().length,
        results,
        notes:
          `RabbitMQ 3.10.8 on the same ${cpus().length}-core machine as the benchmark (broker and client share the CPUs; ` +
          `load average ${loadavg()
            .map((l) => l.toFixed(1))
            .join('/')} at the end of the run: other jobs ran too, so figures swing between runs — compare ratios). ` +
          `${PARTITIONS} partitions, ${SECONDS}s per run, events of ~${Math.round(poolBytes)} B. Group commit: every append ` +
          'queued when a flush starts goes out as one AMQP message per partition (cut at 1 MiB / 8192 records) on one ' +
          'publisher-confirm channel; an append resolves when every message holding its records is confirmed (on a single ' +
          'node: written to the stream segment in the OS page cache — RabbitMQ streams do not fsync, durability comes ' +
          'from replication), while the embedded log fdatasyncs every flush. ' +
          lines.join(' | '),
      },
      null,
      2,
    )}\n`,
  );
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(async () => {
    for (const namespace of namespaces)
      await deleteRabbitMqEventLog({ url: TEST_RABBITMQ_URL, namespace }).catch(() => 0);
    rmSync(root, { recursive: true, force: true });
  });
