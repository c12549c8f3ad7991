/**
 * Benchmark: live recommendation serving (`GET /v1/recommendations`) of the whole engine next to a
 * hello-world route on a bare Fastify server, each in its own child process, both driven the same way
 * by autocannon from this process (the load generator shares the 2 cores, as in FACTS.md).
 *
 *   npx tsx bench/recommend-serve.ts [--duration 10] [--connections 32] [--rate 10000]
 *                                    [--paths 20000] [--cache-ttl 30s] [--cpu-prof DIR]
 *                                    [--profile-window FILE.cpuprofile] [--loop-delay 1]
 *
 * The engine gets the Taobao stream (96k real e-commerce events, timestamps shifted to end now)
 * through `POST /v1/batch`, the stream builds the profiles, the recommendation extension trains its
 * model (sar) in its trainer thread; then requests for real visitors of the data set are replayed:
 * 60% home (known users: trained candidates + live session from the profile), 25% product pages
 * (item-to-item), 10% cart (complements), 5% unknown visitors (cold start). Each autocannon
 * connection walks its own rotation of the request list.
 *
 * Two loads per server: a fixed rate (autocannon `overallRate`) and the maximum rate. Latencies are
 * taken from every response (autocannon's `response` event, sub-millisecond), not from its
 * millisecond histogram. Writes bench/results/recommend-serve.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { benchEngineNodeArgs } from './lib/engine.js';
import { percentile, round, writeResults, type BenchResult } from './lib/results.js';
import { processCpu } from './lib/thread-cpu.js';

const here = dirname(fileURLToPath(import.meta.url));
const WRITE_KEY = 'wk_bench_recommend';
const SECRET_KEY = 'sk_bench_recommend';

interface AutocannonRequest {
  method: string;
  path: string;
}
interface AutocannonClient {
  setRequests(requests: AutocannonRequest[]): void;
}
interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
}
interface AutocannonInstance extends Promise<AutocannonResult> {
  on(
    event: 'response',
    listener: (client: unknown, statusCode: number, bytes: number, responseTimeMs: number) => void,
  ): void;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  pipelining: number;
  duration: number;
  overallRate?: number;
  headers: Record<string, string>;
  requests: AutocannonRequest[];
  setupClient?: (client: AutocannonClient) => void;
}) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const num = (name: string, fallback: number) => Number(arg(name) ?? fallback);

// ---------------------------------------------------------------------------------------------------
// Child roles: the engine, and the bare Fastify hello world.

async function serveEngine(): Promise<void> {
  const { startEngine } = await import('../src/engine/index.js');
  const { createRecommendationExtension } = await import('../src/recommend/index.js');
  const dataDir = arg('data-dir')!;
  const engine = await startEngine({
    host: '127.0.0.1',
    port: 0,
    dataDir,
    writeKey: WRITE_KEY,
    secretKey: SECRET_KEY,
    partitions: 4,
    streamWorkers: 1,
    logLevel: 'warn',
    extensions: [
      createRecommendationExtension({
        // The benchmark trains once, explicitly, after the replay.
        minInteractions: Number.MAX_SAFE_INTEGER,
        retrainInterval: 0,
        retrainEveryInteractions: 0,
        cacheTtl: arg('cache-ttl') ?? '30s',
      }),
    ],
  });
  process.stdout.write(`LISTENING ${engine.url}\n`);
  if (arg('loop-delay') !== undefined) {
    const { monitorEventLoopDelay } = await import('node:perf_hooks');
    const h = monitorEventLoopDelay({ resolution: 5 });
    h.enable();
    setInterval(() => {
      process.stderr.write(
        `event loop delay: p50 ${(h.percentile(50) / 1e6).toFixed(1)} ms p99 ${(h.percentile(99) / 1e6).toFixed(1)} ms max ${(h.max / 1e6).toFixed(1)} ms; heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB\n`,
      );
      h.reset();
    }, 2000).unref();
  }
  const profileOut = arg('profile-window');
  if (profileOut !== undefined) {
    // SIGUSR2 starts a CPU profile of the engine's main thread; the next SIGUSR2 writes it.
    const { Session } = await import('node:inspector/promises');
    const { writeFileSync } = await import('node:fs');
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    let profiling = false;
    process.on('SIGUSR2', () => {
      void (async () => {
        if (!profiling) {
          profiling = true;
          await session.post('Profiler.start');
        } else {
          profiling = false;
          const { profile } = await session.post('Profiler.stop');
          writeFileSync(profileOut, JSON.stringify(profile));
        }
      })();
    });
  }
  process.on('SIGTERM', () => void engine.stop().then(() => process.exit(0)));
}

async function serveHello(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false });
  app.get('/hello', () => ({ hello: 'world' }));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`LISTENING ${address}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

function startChild(role: 'engine' | 'hello', extra: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const profileDir = arg('cpu-prof');
  const nodeArgs =
    role === 'engine'
      ? [...benchEngineNodeArgs(), ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [])]
      : [];
  const child = spawn(
    process.execPath,
    [...nodeArgs, '--import', 'tsx', fileURLToPath(import.meta.url), '--role', role, ...extra],
    {
      cwd: resolve(here, '..'),
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  return new Promise((resolvePromise, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      if (line.startsWith('LISTENING ')) resolvePromise({ child, url: line.slice(10) });
    });
    child.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

// ---------------------------------------------------------------------------------------------------
// Load

/** CPU time (user + system, all threads) a child process has used, from /proc (Linux). */
function cpuMsOf(child: ChildProcess): number {
  try {
    return processCpu(child.pid!) * 1000;
  } catch {
    return NaN;
  }
}

interface Measured {
  /** Server CPU (all its threads) per answered request, µs. */
  cpuUsPerRequest: number;
  reqPerSec: number;
  ok: number;
  failed: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

async function drive(
  server: ChildProcess,
  url: string,
  paths: string[],
  connections: number,
  duration: number,
  auth: string,
  overallRate?: number,
): Promise<Measured> {
  const cpuBefore = cpuMsOf(server);
  const latencies: number[] = [];
  // Each connection walks its own slice of the paths (built once per connection: autocannon builds
  // every request of a client's list when it is set, so a shared 20k list per client would keep the
  // load generator itself busy).
  const slices = Array.from({ length: connections }, (_, c) =>
    paths.filter((_, k) => k % connections === c).map((path) => ({ method: 'GET', path })),
  );
  let clientIndex = 0;
  const instance = autocannon({
    url,
    connections,
    pipelining: 1,
    duration,
    ...(overallRate ? { overallRate } : {}),
    headers: { authorization: auth },
    requests: [{ method: 'GET', path: paths[0]! }],
    setupClient: (client) => {
      const slice = slices[clientIndex++ % connections]!;
      if (slice.length > 0) client.setRequests(slice);
    },
  });
  instance.on('response', (_client, statusCode, _bytes, ms) => {
    if (statusCode === 200) latencies.push(ms);
  });
  const result = await instance;
  if (arg('loop-delay') !== undefined)
    console.log(
      `autocannon: 2xx ${result['2xx']} non2xx ${result.non2xx} errors ${result.errors} timeouts ${result.timeouts}`,
    );
  latencies.sort((a, b) => a - b);
  const cpuMs = cpuMsOf(server) - cpuBefore;
  return {
    cpuUsPerRequest: (cpuMs * 1000) / Math.max(1, result['2xx']),
    reqPerSec: result['2xx'] / result.duration,
    ok: result['2xx'],
    failed: result.non2xx + result.errors + result.timeouts,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    p999: percentile(latencies, 99.9),
    max: latencies.at(-1) ?? NaN,
  };
}

// ---------------------------------------------------------------------------------------------------
// Data: the Taobao stream replayed through the collector, and request paths from its visitors.

interface Visitor {
  user: string;
  items: string[];
}

function visitorsOf(path: string): Visitor[] {
  const byUser = new Map<string, string[]>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const [user, item] = line.split(',');
    if (!user || !item) continue;
    let items = byUser.get(user);
    if (!items) byUser.set(user, (items = []));
    items.push(item);
  }
  return [...byUser].map(([user, items]) => ({ user: `tb-${user}`, items }));
}

/** Deterministic request mix (LCG), see the header comment. */
function requestPaths(visitors: Visitor[], count: number): string[] {
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const paths: string[] = [];
  for (let k = 0; k < count; k++) {
    const v = visitors[Math.floor(rand() * visitors.length)]!;
    const item = v.items[Math.floor(rand() * v.items.length)]!;
    const r = rand();
    const who = `userId=${encodeURIComponent(v.user)}`;
    if (r < 0.6) paths.push(`/v1/recommendations?${who}&placement=home&n=10`);
    else if (r < 0.85) paths.push(`/v1/recommendations?${who}&placement=product&itemId=${item}&n=10`);
    else if (r < 0.95) paths.push(`/v1/recommendations?${who}&placement=cart&itemId=${item}&n=10`);
    else paths.push(`/v1/recommendations?anonymousId=new-visitor-${k}&n=10`);
  }
  return paths;
}

async function json<T>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(url, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

async function waitForStream(url: string): Promise<void> {
  for (;;) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.json() as Promise<{ partitions?: { lag: number | null }[] }>,
    );
    if (ready.partitions?.every((p) => p.lag === 0)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

function metricValue(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/**
 * In-process cost of scoring one request (no HTTP): the serving form (LiveScorer) against the offline
 * dense Scorer (model score over the whole catalogue + session fold-in + top-10), same SAR model, same
 * Taobao interactions, same visitors with their history as the session.
 */
async function scoringCost(
  file: string,
): Promise<{ serving: { p50: number; p99: number }; dense: { p50: number; p99: number } }> {
  const { Catalogue } = await import('../src/recommend/serving/catalogue.js');
  const { Dictionary } = await import('../src/recommend/serving/dictionary.js');
  const { DeltaBuffer, InteractionTable } = await import('../src/recommend/serving/interaction-table.js');
  const { LiveScorer } = await import('../src/recommend/serving/live-scorer.js');
  const { ServingModel } = await import('../src/recommend/serving/serving-model.js');
  const { runTraining } = await import('../src/recommend/serving/train-job.js');
  const {
    buildInteractionMatrix,
    createScorer,
    createTrainer,
    eventWeight,
    ItemExclusion,
    popularityScores,
    resolveRecommendationOptions,
  } = await import('../src/recommend/index.js');
  const users = new Dictionary();
  const items = new Dictionary();
  const buffer = new DeltaBuffer();
  const catalogue = new Catalogue();
  const history = new Map<number, number[]>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [u, i, c, b, t] = line.split(',');
    if (!t) continue;
    const user = users.intern(u!);
    const item = items.intern(i!);
    catalogue.apply(item, { itemId: i!, category: c! });
    buffer.add(user, item, eventWeight(b!) ?? 1, Number(t));
    let h = history.get(user);
    if (!h) history.set(user, (h = []));
    h.unshift(item);
  }
  const table = new InteractionTable(1);
  table.apply(buffer.take(users, 0, items, 0, catalogue.takeDelta(), [0]));
  const matrix = buildInteractionMatrix(table.toLog());
  const options = resolveRecommendationOptions({ evaluate: false });
  const serving = new LiveScorer(
    ServingModel.fromResult(runTraining(table, 1, [], options.trainer, Date.now())),
    options,
    options.maxN,
  );
  const dense = createScorer(createTrainer('sar').fit(matrix), popularityScores(matrix));
  const exclude = new ItemExclusion(matrix.itemCount);
  const visitors = [...history.keys()];
  const REQUESTS = 5_000;
  const time = (fn: (user: number, session: number[]) => void) => {
    const lat: number[] = [];
    for (let r = -500; r < REQUESTS; r++) {
      const user = visitors[Math.abs(r * 7919) % visitors.length]!;
      const session = history.get(user)!.slice(0, 10);
      const t = performance.now();
      fn(user, session);
      if (r >= 0) lat.push((performance.now() - t) * 1000);
    }
    lat.sort((a, b) => a - b);
    return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
  };
  const servingCost = time((user, session) =>
    serving.score({
      placement: 'home',
      n: 10,
      user,
      sessionItems: session,
      sessionWeights: session.map(() => 1),
      contextItems: [],
      contextCategory: -1,
      exclude: session,
      excludeHistory: true,
      segments: [],
      boostCategory: -1,
      catalogue,
    }),
  );
  const denseCost = time((user, session) => {
    exclude.clear();
    exclude.addAll(session);
    dense.recommend({ user, session: { items: session, weights: session.map(() => 1) }, k: 10, exclude });
  });
  return { serving: servingCost, dense: denseCost };
}

async function main(): Promise<void> {
  const duration = num('duration', 10);
  const connections = num('connections', 32);
  const rate = num('rate', 10_000);
  const rateConnections = num('rate-connections', 10);
  const datasets = resolve(arg('datasets') ?? join(here, '../../shared/datasets'));
  const file = join(datasets, 'taobao-user-behavior/user_behavior_stream_96k.csv');
  const dataDir = mkdtempSync(join(tmpdir(), 'kairos-bench-recommend-'));
  const started = performance.now();
  const { readDataset, replayToServer } = await import('../src/datasets/index.js');

  const engine = await startChild('engine', [
    '--data-dir',
    dataDir,
    ...(arg('cache-ttl') ? ['--cache-ttl', arg('cache-ttl')!] : []),
    ...(arg('loop-delay') !== undefined ? ['--loop-delay', '1'] : []),
    ...(arg('profile-window') !== undefined ? ['--profile-window', arg('profile-window')!] : []),
    ...(arg('profile-healthz') !== undefined ? ['--profile-window', arg('profile-healthz')!] : []),
  ]);
  const hello = await startChild('hello');
  try {
    // 1. Replay the Taobao stream through the collector, shifted to end now.
    const first = Number(readFileSync(file, 'utf8').slice(0, 200).split('\n')[0]!.split(',')[4]);
    const last = Number(readFileSync(file, 'utf8').trimEnd().split('\n').at(-1)!.split(',')[4]);
    const replay = await replayToServer(readDataset(file, 'taobao'), {
      url: engine.url,
      writeKey: WRITE_KEY,
      batchSize: 500,
      concurrency: 4,
      shiftToMs: Date.now() - (last - first) * 1000,
    });
    await waitForStream(engine.url);
    const secret = { authorization: `Bearer ${SECRET_KEY}` };
    const trainStarted = performance.now();
    const record = await json<{
      version: number;
      interactions: number;
      users: number;
      items: number;
      trainMs: number;
      metrics: Record<string, number> | null;
    }>(`${engine.url}/v1/models/train?wait=true`, { method: 'POST', headers: secret });
    const trainWallMs = performance.now() - trainStarted;
    console.log(
      `replayed ${replay.accepted} events in ${(replay.elapsedMs / 1000).toFixed(1)} s; trained v${record.version} (${record.interactions} interactions, ` +
        `${record.users} users, ${record.items} items) in ${record.trainMs} ms; holdout ${JSON.stringify(record.metrics)}`,
    );

    // 2. Requests from the data set's visitors.
    const visitors = visitorsOf(file);
    const paths = requestPaths(visitors, num('paths', 20_000));
    const auth = `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`;
    const sample = await fetch(`${engine.url}${paths[0]}`, { headers: { authorization: auth } }).then((r) => r.text());
    console.log(`sample answer: ${sample}`);
    const helloPaths = ['/hello'];

    // Warm-up both (JIT, connection pools), then measure.
    await drive(engine.child, engine.url, paths, connections, 3, auth);
    await drive(hello.child, hello.url, helloPaths, connections, 3, auth);
    // The engine's CPU when idle (stream worker polling, timers), and its own /healthz, to tell the
    // route's cost from the engine's baseline.
    const idleBefore = cpuMsOf(engine.child);
    await new Promise((r) => setTimeout(r, 3000));
    const idleCpuPerSecondMs = (cpuMsOf(engine.child) - idleBefore) / 3;
    if (arg('profile-healthz') !== undefined) engine.child.kill('SIGUSR2');
    const healthMax = await drive(engine.child, engine.url, ['/healthz'], connections, duration, auth);
    if (arg('profile-healthz') !== undefined) {
      engine.child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const oneMax =
      arg('one-path') !== undefined
        ? await drive(engine.child, engine.url, [paths[0]!], connections, duration, auth)
        : undefined;
    const metricsBefore = await fetch(`${engine.url}/metrics`).then((r) => r.text());
    // `--profile-window FILE`: a CPU profile of the engine's main thread during this run only.
    if (arg('profile-window') !== undefined) engine.child.kill('SIGUSR2');
    const recsMax = await drive(engine.child, engine.url, paths, connections, duration, auth);
    if (arg('profile-window') !== undefined) {
      engine.child.kill('SIGUSR2');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const helloMax = await drive(hello.child, hello.url, helloPaths, connections, duration, auth);
    const recsRate = await drive(engine.child, engine.url, paths, rateConnections, duration, auth, rate);
    const helloRate = await drive(hello.child, hello.url, helloPaths, rateConnections, duration, auth, rate);
    const metricsAfter = await fetch(`${engine.url}/metrics`).then((r) => r.text());
    const hits =
      metricValue(metricsAfter, 'kairos_recommend_cache_total{result="hit"}') -
      metricValue(metricsBefore, 'kairos_recommend_cache_total{result="hit"}');
    const misses =
      metricValue(metricsAfter, 'kairos_recommend_cache_total{result="miss"}') -
      metricValue(metricsBefore, 'kairos_recommend_cache_total{result="miss"}');
    const hitRatio = hits + misses > 0 ? hits / (hits + misses) : 0;

    const show = (label: string, m: Measured) =>
      console.log(
        `${label.padEnd(28)} ${m.reqPerSec.toFixed(0).padStart(7)} req/s  server CPU ${m.cpuUsPerRequest.toFixed(0).padStart(4)} µs/req  p50 ${m.p50.toFixed(3)} ms  p99 ${m.p99.toFixed(3)} ms  p99.9 ${m.p999.toFixed(3)} ms  max ${m.max.toFixed(1)} ms  failed ${m.failed}`,
      );
    show('recommendations, max rate', recsMax);
    show('hello world, max rate', helloMax);
    show('engine /healthz, max rate', healthMax);
    if (oneMax) show('recommendations, one path', oneMax);
    console.log(`engine idle CPU: ${idleCpuPerSecondMs.toFixed(0)} ms per second`);
    show(`recommendations, ${rate}/s`, recsRate);
    show(`hello world, ${rate}/s`, helloRate);
    console.log(`cache hit ratio during the measured runs: ${(hitRatio * 100).toFixed(1)}%`);

    await stopChild(hello.child);
    const cost = await scoringCost(file);
    console.log(
      `in-process scoring: serving form p50 ${cost.serving.p50.toFixed(1)} µs p99 ${cost.serving.p99.toFixed(1)} µs; dense scorer p50 ${cost.dense.p50.toFixed(1)} µs p99 ${cost.dense.p99.toFixed(1)} µs`,
    );

    const results: BenchResult[] = [
      {
        metric: 'recommend_max_req_per_s',
        value: round(recsMax.reqPerSec, 0),
        unit: 'req/s',
        baseline: 'bare Fastify hello world, max rate',
        baselineValue: round(helloMax.reqPerSec, 0),
        ratio: round(recsMax.reqPerSec / helloMax.reqPerSec, 3),
        goal: '≥ 0.7 of hello world',
      },
      {
        metric: 'recommend_server_cpu_us_per_request',
        value: round(recsMax.cpuUsPerRequest, 1),
        unit: 'µs',
        baseline: 'hello world server CPU per request (max-rate runs)',
        baselineValue: round(helloMax.cpuUsPerRequest, 1),
        ratio: round(recsMax.cpuUsPerRequest / helloMax.cpuUsPerRequest, 3),
        goal: '≤ 1/0.7 of hello world (the req/s goal on an unshared core)',
      },
      {
        metric: 'engine_healthz_max_req_per_s',
        value: round(healthMax.reqPerSec, 0),
        unit: 'req/s',
        baseline: 'bare Fastify hello world, max rate',
        baselineValue: round(helloMax.reqPerSec, 0),
        ratio: round(healthMax.reqPerSec / helloMax.reqPerSec, 3),
        goal: "context: the engine's own route overhead (CORS, auth hooks, error handler, background threads)",
      },
      {
        metric: 'engine_idle_cpu_ms_per_s',
        value: round(idleCpuPerSecondMs, 1),
        unit: 'ms/s',
        baseline: 'none (engine idle, all threads)',
        baselineValue: 0,
        ratio: 0,
        goal: 'context',
      },
      {
        metric: 'recommend_max_p99_ms',
        value: round(recsMax.p99, 3),
        unit: 'ms',
        baseline: 'hello world p99 at max rate',
        baselineValue: round(helloMax.p99, 3),
        ratio: round(recsMax.p99 / helloMax.p99, 3),
        goal: 'lower is better',
      },
      {
        metric: `recommend_p99_ms_at_${rate}_per_s`,
        value: round(recsRate.p99, 3),
        unit: 'ms',
        baseline: `hello world p99 at ${rate}/s`,
        baselineValue: round(helloRate.p99, 3),
        ratio: round(recsRate.p99 / helloRate.p99, 3),
        goal: '≤ 2 ms',
      },
      {
        metric: `recommend_p50_ms_at_${rate}_per_s`,
        value: round(recsRate.p50, 3),
        unit: 'ms',
        baseline: `hello world p50 at ${rate}/s`,
        baselineValue: round(helloRate.p50, 3),
        ratio: round(recsRate.p50 / helloRate.p50, 3),
        goal: 'lower is better',
      },
      {
        metric: `recommend_req_per_s_at_${rate}_per_s`,
        value: round(recsRate.reqPerSec, 0),
        unit: 'req/s',
        baseline: `hello world at ${rate}/s`,
        baselineValue: round(helloRate.reqPerSec, 0),
        ratio: round(recsRate.reqPerSec / helloRate.reqPerSec, 3),
        goal: `sustains ${rate}/s`,
      },
      {
        metric: 'scoring_p50_us_in_process',
        value: round(cost.serving.p50, 1),
        unit: 'µs',
        baseline: 'offline dense Scorer (same SAR model, whole-catalogue score + top-10)',
        baselineValue: round(cost.dense.p50, 1),
        ratio: round(cost.serving.p50 / cost.dense.p50, 4),
        goal: 'independent of the catalogue size',
      },
      {
        metric: 'scoring_p99_us_in_process',
        value: round(cost.serving.p99, 1),
        unit: 'µs',
        baseline: 'offline dense Scorer p99',
        baselineValue: round(cost.dense.p99, 1),
        ratio: round(cost.serving.p99 / cost.dense.p99, 4),
        goal: 'lower is better',
      },
      {
        metric: 'train_ms_sar_taobao_96k',
        value: record.trainMs,
        unit: 'ms',
        baseline:
          'POST /v1/models/train wall time (tail catch-up, hand-over, holdout fit, fit, serving form, artifact, snapshot, swap)',
        baselineValue: round(trainWallMs, 0),
        ratio: round(record.trainMs / trainWallMs, 3),
        goal: 'trainer thread: serving never waits for it',
      },
    ];
    writeResults(
      'recommend-serve',
      results,
      [
        `Taobao user_behavior_stream_96k replayed through POST /v1/batch (${replay.accepted} events, ${record.users} profiles, ${record.items} items); model ${record.interactions} interactions, sar;`,
        `holdout (newest 10% of pairs, k=10): ${JSON.stringify(record.metrics)}.`,
        `${paths.length} distinct request paths (60% home, 25% product, 10% cart, 5% unknown visitors), each autocannon connection walking its own rotation;`,
        `cache ${arg('cache-ttl') ?? '30s'} TTL, measured hit ratio ${(hitRatio * 100).toFixed(1)}% (hits still read the live profile to check it is the one the list was computed from).`,
        `Max rate: ${connections} connections, pipelining 1, ${duration} s each. Fixed rate: autocannon overallRate ${rate} over ${rateConnections} connections`,
        `(autocannon enforces the rate as a per-connection quota per second, so requests come in bursts with at most ${rateConnections} in flight).`,
        `Latencies from every response (sub-ms), not autocannon's ms histogram. Engine (main thread + stream worker + trainer thread), hello world and autocannon share the 2 cores;`,
        `load average at the end ${loadavg()
          .map((l) => l.toFixed(1))
          .join(' / ')} (other jobs were running on the machine).`,
        `Total bench time ${((performance.now() - started) / 1000).toFixed(0)} s. Command: npx tsx bench/recommend-serve.ts ${process.argv.slice(2).join(' ')}`.trim(),
      ].join(' '),
    );
  } finally {
    await stopChild(engine.child);
    if (hello.child.exitCode === null) await stopChild(hello.child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const role = arg('role');
if (role === 'engine') await serveEngine();
else if (role === 'hello') await serveHello();
else await main();
