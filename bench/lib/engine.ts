import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import type { BenchResult } from './results.js';
import { processCpu, threadCpu } from './thread-cpu.js';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'kairos.js');

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export interface BenchEngine {
  readonly url: string;
  readonly writeKey: string;
  readonly secretKey: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Extra node flags for a benchmark's engine process, from BENCH_ENGINE_NODE_ARGS (e.g. "--cpu-prof
 * --cpu-prof-dir=/tmp/prof" or "--perf-basic-prof"; NODE_OPTIONS refuses --cpu-prof).
 */
export function benchEngineNodeArgs(): string[] {
  return (process.env.BENCH_ENGINE_NODE_ARGS ?? '').split(' ').filter(Boolean);
}

/** `kairos start` from the build (npm run build first) in its own process and data dir. */
export async function startBenchEngine(env: Record<string, string> = {}): Promise<BenchEngine> {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'kairos-bench-engine-'));
  const writeKey = 'wk_bench';
  const secretKey = 'sk_bench';
  const child = spawn(process.execPath, [...benchEngineNodeArgs(), BIN, 'start'], {
    env: {
      ...process.env,
      PORT: String(port),
      KAIROS_DATA_DIR: dataDir,
      KAIROS_WRITE_KEY: writeKey,
      KAIROS_SECRET_KEY: secretKey,
      KAIROS_LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`engine exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    writeKey,
    secretKey,
    child,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Runs `kairos replay` in another process (the load generator must not share the bench's event loop). */
export function startReplay(url: string, writeKey: string, file: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [BIN, 'replay', file, '--url', url, '--write-key', writeKey, '--json', ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

export interface SustainedLoad {
  /** The replay finished: its JSON summary and the engine's CPU over the load (all threads). */
  readonly done: Promise<{
    summary: ReplaySummaryJson;
    engineCpuSeconds: number;
    mainThreadCpuSeconds: number;
    wallSeconds: number;
  }>;
  finished: boolean;
}

export interface ReplaySummaryJson {
  readonly accepted: number;
  readonly eventsPerSecond: number;
  readonly [field: string]: unknown;
}

/**
 * `kairos replay` at `rate` events/s for about `seconds` (the file is replayed in as many passes as it
 * takes, later passes with new messageIds), from another process, with the events stamped at send time.
 * The engine's CPU (every thread, from /proc) is measured from the start of the load to its end.
 */
export function startSustainedLoad(engine: BenchEngine, file: string, rate: number, seconds: number): SustainedLoad {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '').length;
  const passes = Math.max(1, Math.ceil((rate * seconds) / lines));
  const limit = Math.round(rate * seconds);
  const pid = engine.child.pid!;
  const mainThreadCpu = () => threadCpu(pid, pid);
  const cpuBefore = processCpu(pid);
  const mainBefore = mainThreadCpu();
  const started = performance.now();
  const child = startReplay(engine.url, engine.writeKey, file, [
    '--rate',
    String(rate),
    '--stamp-now',
    '--concurrency',
    '8',
    '--batch-size',
    '100',
    '--passes',
    String(passes),
    '--limit',
    String(limit),
  ]);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  const load: SustainedLoad = {
    finished: false,
    done: new Promise((resolve, reject) => {
      child.once('exit', (code) => {
        load.finished = true;
        const engineCpuSeconds = processCpu(pid) - cpuBefore;
        const mainThreadCpuSeconds = mainThreadCpu() - mainBefore;
        const wallSeconds = (performance.now() - started) / 1000;
        if (code !== 0) reject(new Error(`replay exited with ${code}: ${out}`));
        else
          resolve({
            summary: JSON.parse(out) as ReplaySummaryJson,
            engineCpuSeconds,
            mainThreadCpuSeconds,
            wallSeconds,
          });
      });
    }),
  };
  return load;
}

/**
 * The engine's CPU per event over a sustained load beside the machine's CPU per event at the achieved
 * rate (cores ÷ events/s): the share of the machine the engine needs, whatever else runs on it.
 */
export function engineCpuRow(
  load: { summary: ReplaySummaryJson; engineCpuSeconds: number },
  goal: string,
): BenchResult {
  const value = (load.engineCpuSeconds * 1e6) / load.summary.accepted;
  const budget = (availableParallelism() * 1e6) / load.summary.eventsPerSecond;
  return {
    metric: 'engine CPU per event under this load (all threads)',
    value,
    unit: 'µs',
    baseline: `the machine's CPU per event at the achieved rate (${availableParallelism()} cores ÷ events/s)`,
    baselineValue: budget,
    ratio: value / budget,
    goal,
  };
}

/** A Prometheus histogram as /metrics shows it: upper bounds (seconds, the last +Inf) and cumulative counts. */
export interface MetricHistogram {
  bounds: number[];
  cumulative: number[];
}

/** Reads histogram `name` from the engine's /metrics. */
export async function readHistogram(url: string, name: string): Promise<MetricHistogram> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const bounds: number[] = [];
  const cumulative: number[] = [];
  for (const match of text.matchAll(new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`, 'gm'))) {
    bounds.push(match[1] === '+Inf' ? Infinity : Number(match[1]));
    cumulative.push(Number(match[2]));
  }
  if (bounds.length === 0) throw new Error(`no histogram ${name} at ${url}/metrics`);
  return { bounds, cumulative };
}

/**
 * Quantile q of the observations made between two readings of a histogram, interpolated linearly
 * inside its bucket as Prometheus' histogram_quantile does (the last finite bound when it falls in +Inf).
 */
export function histogramQuantile(
  before: MetricHistogram,
  after: MetricHistogram,
  q: number,
): { seconds: number; count: number } {
  const counts = after.cumulative.map((c, i) => c - (before.cumulative[i] ?? 0));
  const count = counts.at(-1) ?? 0;
  if (count === 0) return { seconds: NaN, count };
  const rank = q * count;
  const i = counts.findIndex((c) => c >= rank);
  const upper = after.bounds[i]!;
  const lower = i > 0 ? after.bounds[i - 1]! : 0;
  if (upper === Infinity) return { seconds: lower, count };
  const below = i > 0 ? counts[i - 1]! : 0;
  return { seconds: lower + ((upper - lower) * (rank - below)) / Math.max(1, counts[i]! - below), count };
}
