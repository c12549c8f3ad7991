/**
 * Benchmark: collection throughput and latency of the Segment-compatible collector (collector +
 * embedded log + Fastify, durable answers) next to bare Fastify routes that parse and drop the same
 * payloads, each server in its own child process, both driven by the same autocannon load in this
 * process (so the load generator shares the machine, as in FACTS.md).
 *
 *   npx tsx bench/ingest.ts [--duration 10] [--connections 64] [--rounds 2]
 *   (experiments: --only kairos-batch|kairos-single, --cpu-prof DIR, --node-flags '...', --collector '{json}')
 *
 * Batched: 100 realistic e-commerce events per request (~50 KB), a fresh messageId per message per
 * request (`[<id>]` placeholders filled per request), so nothing is deduplicated away.
 * Single: one event per request on /v1/track, against a hello-world-sized bare route.
 * Writes bench/results/ingest.json.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = dirname(fileURLToPath(import.meta.url));

/** The part of autocannon's API used here (the package ships no types). */
interface AutocannonRequest {
  method: string;
  path: string;
  body?: string;
  setupRequest?: (request: AutocannonRequest) => AutocannonRequest;
}
interface AutocannonResult {
  '2xx': number;
  non2xx: number;
  errors: number;
  timeouts: number;
  duration: number;
  latency: { p50: number; p99: number };
}
type Autocannon = (options: {
  url: string;
  connections: number;
  pipelining: number;
  duration: number;
  headers: Record<string, string>;
  requests: AutocannonRequest[];
}) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;
const WRITE_KEY = 'WK_bench';
const EVENTS_PER_REQUEST = 100;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function stringArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Payloads

const EVENTS = [
  'Product Viewed',
  'Product Clicked',
  'Product Added',
  'Product Removed',
  'Cart Viewed',
  'Checkout Started',
  'Order Completed',
  'Products Searched',
];
const CATEGORIES = ['shoes', 'shirts', 'electronics', 'books', 'toys', 'garden', 'kitchen'];
const BRANDS = ['Acme', 'Globex', 'Initech', 'Umbrella', 'Hooli'];

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function product(r: () => number) {
  const id = `p-${Math.floor(r() * 50_000)}`;
  return {
    product_id: id,
    sku: `SKU-${id.slice(2)}-${Math.floor(r() * 9)}`,
    category: CATEGORIES[Math.floor(r() * CATEGORIES.length)]!,
    name: `Product ${id}`,
    brand: BRANDS[Math.floor(r() * BRANDS.length)]!,
    price: Math.round(r() * 20_000) / 100,
    quantity: 1 + Math.floor(r() * 3),
  };
}

/** One e-commerce event (Segment e-commerce spec); `[<id>]` becomes a per-request unique id. */
function event(r: () => number, i: number, now: number): Record<string, unknown> {
  const name = EVENTS[Math.floor(r() * EVENTS.length)]!;
  const visitor = Math.floor(r() * 20_000);
  const loggedIn = r() < 0.3;
  let properties: Record<string, unknown>;
  if (name === 'Order Completed') {
    const products = [product(r), product(r)];
    properties = {
      order_id: `o-[<id>]-${i}`,
      revenue: products.reduce((s, p) => s + p.price * p.quantity, 0),
      currency: 'USD',
      products: products.map(({ product_id, sku, category, price, quantity }) => ({
        product_id,
        sku,
        category,
        price,
        quantity,
      })),
    };
  } else if (name === 'Products Searched') {
    properties = { query: 'running shoes' };
  } else if (name === 'Cart Viewed' || name === 'Checkout Started') {
    properties = {
      cart_id: `c-${visitor}`,
      products: [product(r)].map(({ product_id, price }) => ({ product_id, price })),
    };
  } else {
    properties = { ...product(r), currency: 'USD', position: i % 24 };
  }
  return {
    type: 'track',
    event: name,
    messageId: `bench-[<id>]-${i}`,
    anonymousId: `anon-${visitor}-6f1c2b7e`,
    ...(loggedIn ? { userId: `user-${visitor % 5000}` } : {}),
    timestamp: new Date(now - 2000 + i).toISOString(),
    properties,
    context: {
      library: { name: 'analytics.js', version: 'npm:next-1.84.3' },
      page: { path: `/p/${visitor}`, url: `https://shop.example/p/${visitor}`, referrer: '' },
      userAgent:
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36',
      locale: 'en-US',
    },
  };
}

function batchBody(): string {
  const r = rng(42);
  const now = Date.now();
  const batch = Array.from({ length: EVENTS_PER_REQUEST }, (_, i) => event(r, i, now));
  return JSON.stringify({ batch, sentAt: new Date(now).toISOString(), writeKey: WRITE_KEY });
}

function singleBody(): string {
  const single = event(rng(7), 0, Date.now());
  return JSON.stringify({ ...single, sentAt: new Date().toISOString(), writeKey: WRITE_KEY });
}

// ---------------------------------------------------------------------------------------------------
// Child processes

async function serveKairos(): Promise<void> {
  const { Registry } = await import('prom-client');
  const { createCollector } = await import('../src/collect/index.js');
  const { silentLogger, systemClock } = await import('../src/core/index.js');
  const { createEmbeddedEventLog } = await import('../src/log/index.js');
  const { collectRoutes, createHttpServer } = await import('../src/serve/index.js');
  const { createLmdbMetadataStore } = await import('../src/store/index.js');
  const dir = mkdtempSync(join(tmpdir(), 'kairos-bench-ingest-'));
  const log = await createEmbeddedEventLog({ dir: join(dir, 'log') });
  const metadata = createLmdbMetadataStore({ dir: join(dir, 'metadata') });
  // `--collector '{"dedupeMaxEntries":1000}'` tries other collector options (experiments only).
  const overrides = JSON.parse(stringArg('collector') ?? '{}') as Record<string, unknown>;
  const collector = createCollector({ log, metadata, clock: systemClock, logger: silentLogger(), options: overrides });
  await collector.start();
  const app = await createHttpServer({
    keys: { writeKeys: [WRITE_KEY], secretKeys: ['SK_bench'] },
    logger: silentLogger(),
    metrics: new Registry(),
    docs: false,
    routes: [
      collectRoutes({ collector }),
      (scope) => {
        const window = processWindow();
        scope.get('/bench/stats', () => ({
          ...window(),
          memory: process.memoryUsage(),
          collector: collector.stats(),
          log: log.stats(),
        }));
      },
    ],
  });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`LISTENING ${address}\n`);
  process.on('SIGTERM', () => {
    void (async () => {
      await app.close();
      await collector.close();
      await log.close();
      await metadata.close();
      rmSync(dir, { recursive: true, force: true });
      process.exit(0);
    })();
  });
}

/**
 * Event-loop utilisation (near 1: the main thread is the bottleneck) and CPU time of the whole process
 * since the previous call.
 */
function processWindow(): () => { eventLoopUtilization: number; cpuMs: number } {
  let elu = performance.eventLoopUtilization();
  let cpu = process.cpuUsage();
  return () => {
    const nowElu = performance.eventLoopUtilization();
    const nowCpu = process.cpuUsage();
    const result = {
      eventLoopUtilization: performance.eventLoopUtilization(nowElu, elu).utilization,
      cpuMs: (nowCpu.user - cpu.user + nowCpu.system - cpu.system) / 1000,
    };
    elu = nowElu;
    cpu = nowCpu;
    return result;
  };
}

async function serveBare(): Promise<void> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  const window = processWindow();
  app.get('/bench/stats', () => window());
  // Parse (Fastify's JSON parser) and drop: the ceiling any collector on Fastify can reach.
  app.post('/v1/batch', (request) => ({
    success: true,
    accepted: (request.body as { batch: unknown[] }).batch.length,
    rejected: [],
  }));
  app.post('/v1/track', () => ({ success: true, accepted: 1, rejected: [] }));
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`LISTENING ${address}\n`);
  process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

function startChild(mode: 'kairos' | 'bare'): Promise<{ child: ChildProcess; url: string }> {
  // `--cpu-prof DIR` profiles the collector's process (node writes the profile when it exits).
  const profileDir = stringArg('cpu-prof');
  const nodeArgs = mode === 'kairos' && profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  // `--node-flags "--max-semi-space-size=32"` runs both servers with the same V8 flags.
  nodeArgs.push(...(stringArg('node-flags')?.split(' ').filter(Boolean) ?? []));
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      '--import',
      'tsx',
      fileURLToPath(import.meta.url),
      '--serve',
      mode,
      ...(stringArg('collector') ? ['--collector', stringArg('collector')!] : []),
    ],
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
    child.once('exit', (code) => reject(new Error(`${mode} server exited with ${code}`)));
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  await exited;
}

// ---------------------------------------------------------------------------------------------------
// Load

type ServerStats = { eventLoopUtilization: number; cpuMs: number } & Record<string, unknown>;

interface Measured {
  reqPerSec: number;
  ok: number;
  errors: number;
  p50: number;
  p99: number;
}

let idCounter = 0;
const runPrefix = Math.floor(Math.random() * 36 ** 6).toString(36);

async function load(url: string, path: string, body: string, connections: number, duration: number): Promise<Measured> {
  // autocannon's own `idReplacement` miscounts Content-Length with current hyperid: join the parts ourselves.
  const parts = body.split('[<id>]');
  const result = await autocannon({
    url,
    connections,
    pipelining: 1,
    duration,
    headers: {
      'content-type': 'application/json',
      authorization: `Basic ${Buffer.from(`${WRITE_KEY}:`).toString('base64')}`,
    },
    requests: [
      {
        method: 'POST',
        path,
        setupRequest: (request) => ({ ...request, body: parts.join(`${runPrefix}${(++idCounter).toString(36)}`) }),
      },
    ],
  });
  return {
    reqPerSec: result['2xx'] / result.duration,
    ok: result['2xx'],
    errors: result.non2xx + result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
  };
}

async function measure(
  mode: 'kairos' | 'bare',
  path: string,
  body: string,
  connections: number,
  duration: number,
): Promise<Measured & { stats: ServerStats; cpuUsPerRequest: number }> {
  const { child, url } = await startChild(mode);
  try {
    await load(url, path, body, connections, Math.max(2, Math.round(duration / 4))); // warm-up (JIT, page cache)
    await fetch(`${url}/bench/stats`); // starts the utilisation and CPU window
    const measured = await load(url, path, body, connections, duration);
    const stats = (await (await fetch(`${url}/bench/stats`)).json()) as ServerStats;
    return { ...measured, stats, cpuUsPerRequest: Math.round((stats.cpuMs * 1000) / Math.max(1, measured.ok)) };
  } finally {
    await stopChild(child);
  }
}

/** The figures that explain a result: main-thread saturation, CPU per request, flush and fsync times. */
function summary(m: Measured & { stats: ServerStats; cpuUsPerRequest: number }): Record<string, number> {
  const stats = m.stats as ServerStats & {
    log?: { flushMs: { count: number; sumMs: number }; fsyncMs: { count: number; sumMs: number } };
    memory?: { heapUsed: number; rss: number };
  };
  const round = (x: number) => Math.round(x * 100) / 100;
  return {
    eventLoopUtilization: round(stats.eventLoopUtilization),
    cpuUsPerRequest: m.cpuUsPerRequest,
    ...(stats.log
      ? {
          flushMsMean: round(stats.log.flushMs.sumMs / Math.max(1, stats.log.flushMs.count)),
          fsyncMsMean: round(stats.log.fsyncMs.sumMs / Math.max(1, stats.log.fsyncMs.count)),
        }
      : {}),
    ...(stats.memory
      ? { heapUsedMB: Math.round(stats.memory.heapUsed / 1e6), rssMB: Math.round(stats.memory.rss / 1e6) }
      : {}),
  };
}

async function main(): Promise<void> {
  const duration = arg('duration', 10);
  const connections = arg('connections', 64);
  const batch = batchBody();
  const single = singleBody();
  const loadBefore = loadavg();
  console.log(`batch body ${batch.length} bytes (${EVENTS_PER_REQUEST} events), single body ${single.length} bytes`);

  // `--only kairos-batch` (or kairos-single) runs just that measurement, e.g. with --cpu-prof.
  const only = stringArg('only');
  if (only === 'kairos-batch' || only === 'kairos-single') {
    const m = await measure(
      'kairos',
      only === 'kairos-batch' ? '/v1/batch' : '/v1/track',
      only === 'kairos-batch' ? batch : single,
      connections,
      duration,
    );
    console.log(only, { reqPerSec: Math.round(m.reqPerSec), p50: m.p50, p99: m.p99, errors: m.errors, ...summary(m) });
    return;
  }
  // Bare and collector runs alternate, `--rounds` times each (default 2); the best run of each server
  // counts, so a burst of other work on this shared machine hits both sides alike rather than one.
  const rounds = Math.max(1, arg('rounds', 2));
  type Run = Awaited<ReturnType<typeof measure>>;
  const runs: Record<'bareBatch' | 'kairosBatch' | 'bareSingle' | 'kairosSingle', Run[]> = {
    bareBatch: [],
    kairosBatch: [],
    bareSingle: [],
    kairosSingle: [],
  };
  for (let round = 0; round < rounds; round++) {
    runs.bareBatch.push(await measure('bare', '/v1/batch', batch, connections, duration));
    runs.kairosBatch.push(await measure('kairos', '/v1/batch', batch, connections, duration));
  }
  for (let round = 0; round < rounds; round++) {
    runs.bareSingle.push(await measure('bare', '/v1/track', single, connections, duration));
    runs.kairosSingle.push(await measure('kairos', '/v1/track', single, connections, duration));
  }
  const best = (list: Run[]): Run => list.reduce((a, b) => (b.reqPerSec > a.reqPerSec ? b : a));
  const bareBatch = best(runs.bareBatch);
  const kairosBatch = best(runs.kairosBatch);
  const bareSingle = best(runs.bareSingle);
  const kairosSingle = best(runs.kairosSingle);
  const allRounds = Object.fromEntries(
    Object.entries(runs).map(([name, list]) => [
      name,
      list.map((r) => ({ reqPerSec: Math.round(r.reqPerSec), p50: r.p50, p99: r.p99, ...summary(r) })),
    ]),
  );

  const eventsPerSec = kairosBatch.reqPerSec * EVENTS_PER_REQUEST;
  const bareEventsPerSec = bareBatch.reqPerSec * EVENTS_PER_REQUEST;
  const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
  const results = [
    {
      metric: 'batched ingest (100 events/request, durable)',
      value: Math.round(eventsPerSec),
      unit: 'events/s',
      baseline: 'bare Fastify route parsing and dropping the same batches',
      baselineValue: Math.round(bareEventsPerSec),
      ratio: round(eventsPerSec / bareEventsPerSec),
      goal: '>= 100000 events/s and ratio >= 0.6',
    },
    {
      metric: 'batched ingest p50 latency',
      value: kairosBatch.p50,
      unit: 'ms',
      baseline: 'bare Fastify route, same load',
      baselineValue: bareBatch.p50,
      ratio: round(kairosBatch.p50 / Math.max(bareBatch.p50, 0.001)),
      goal: 'report',
    },
    {
      metric: 'batched ingest p99 latency',
      value: kairosBatch.p99,
      unit: 'ms',
      baseline: 'bare Fastify route, same load',
      baselineValue: bareBatch.p99,
      ratio: round(kairosBatch.p99 / Math.max(bareBatch.p99, 0.001)),
      goal: 'report',
    },
    {
      metric: 'CPU per batched request (server process, all threads)',
      value: kairosBatch.cpuUsPerRequest,
      unit: 'us',
      baseline: 'bare Fastify route, same batches',
      baselineValue: bareBatch.cpuUsPerRequest,
      ratio: round(kairosBatch.cpuUsPerRequest / Math.max(1, bareBatch.cpuUsPerRequest)),
      goal: 'report (load-insensitive view of the throughput ratio)',
    },
    {
      metric: 'single-event /v1/track (durable)',
      value: Math.round(kairosSingle.reqPerSec),
      unit: 'req/s',
      baseline: 'hello-world-sized bare Fastify route parsing the same event',
      baselineValue: Math.round(bareSingle.reqPerSec),
      ratio: round(kairosSingle.reqPerSec / bareSingle.reqPerSec),
      goal: 'ratio >= 0.5',
    },
    {
      metric: 'single-event p50 latency',
      value: kairosSingle.p50,
      unit: 'ms',
      baseline: 'bare Fastify route, same load',
      baselineValue: bareSingle.p50,
      ratio: round(kairosSingle.p50 / Math.max(bareSingle.p50, 0.001)),
      goal: 'report',
    },
    {
      metric: 'single-event p99 latency',
      value: kairosSingle.p99,
      unit: 'ms',
      baseline: 'bare Fastify route, same load',
      baselineValue: bareSingle.p99,
      ratio: round(kairosSingle.p99 / Math.max(bareSingle.p99, 0.001)),
      goal: 'report',
    },
    {
      metric: 'CPU per single-event request (server process, all threads)',
      value: kairosSingle.cpuUsPerRequest,
      unit: 'us',
      baseline: 'hello-world-sized bare Fastify route',
      baselineValue: bareSingle.cpuUsPerRequest,
      ratio: round(kairosSingle.cpuUsPerRequest / Math.max(1, bareSingle.cpuUsPerRequest)),
      goal: 'report',
    },
  ];
  for (const r of results) {
    console.log(`${r.metric}: ${r.value} ${r.unit}  (baseline ${r.baselineValue}, ratio ${r.ratio}; goal ${r.goal})`);
  }
  const errors = {
    bareBatch: bareBatch.errors,
    kairosBatch: kairosBatch.errors,
    bareSingle: bareSingle.errors,
    kairosSingle: kairosSingle.errors,
  };
  console.log('non-2xx/errors:', errors);
  const servers = {
    bareBatch: summary(bareBatch),
    kairosBatch: summary(kairosBatch),
    bareSingle: summary(bareSingle),
    kairosSingle: summary(kairosSingle),
  };
  console.log('servers:', servers);
  const out = {
    name: 'ingest',
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    results,
    notes: {
      setup: `autocannon in the bench process, ${connections} connections, pipelining 1, ${duration}s measured after a warm-up, best of ${rounds} alternating rounds per server; each server in its own child process; embedded log (4 partitions, group commit with fsync) + lmdb metadata in a temp dir; every answer sent after durability`,
      machineLoad: {
        before: loadBefore.map((x) => Math.round(x * 100) / 100),
        after: loadavg().map((x) => Math.round(x * 100) / 100),
        note: '1/5/15-minute load averages of this 2-core machine; other work running at the same time slows both servers, the collector (more CPU per request) more',
      },
      batchBytes: batch.length,
      singleBytes: single.length,
      errors,
      servers,
      rounds: allRounds,
      kairosBatchStats: kairosBatch.stats,
      kairosSingleStats: kairosSingle.stats,
    },
  };
  const file = resolve(here, 'results/ingest.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  console.log(`wrote ${file}`);
}

const serveIndex = process.argv.indexOf('--serve');
if (serveIndex > 0) {
  const mode = process.argv[serveIndex + 1];
  await (mode === 'bare' ? serveBare() : serveKairos());
} else {
  await main();
}
