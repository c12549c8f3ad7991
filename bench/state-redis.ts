/**
 * Redis StateStore beside the embedded (lmdb) one, in the same run: commit throughput for realistic
 * stream steps (200 profile-state puts of ~500 bytes + 20 timer keys + checkpoint + 5 outbox records,
 * one atomic commit each) from 1 and 4 partitions, and `getMany` latency for 100 keys. Also what the
 * lexicographic index costs (the same commit script without its index lines, and memory per key), what
 * auto-pipelining buys concurrent readers, and msgpack vs JSON for the values.
 *
 * Needs Redis on 127.0.0.1:6379 (scripts/services.sh starts it). Uses its own namespace and removes it.
 * Run: npx tsx bench/state-redis.ts [--seconds 3]. Writes bench/results/state-redis.json.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { createRedisStateStore, LmdbStateStore, type StateCommit, type StateStore } from '../src/store/index.js';
import { decodeValue, encodeValue } from '../src/store/redis/codec.js';
import { redisKeys } from '../src/store/redis/keys.js';
import { COMMIT_LUA } from '../src/store/redis/scripts.js';
import { ensureRedis } from '../src/store/redis/testing.js';
import { percentile, round, writeResults, type BenchResult } from './lib/results.js';

const secondsArg = process.argv.indexOf('--seconds');
const SECONDS = secondsArg > 0 ? Number(process.argv[secondsArg + 1]) : 3;
const URL = 'redis://127.0.0.1:6379';
const USERS = 50_000;
const PUTS = 200;
const TIMERS = 20;
const OUTBOX = 5;
const KEYS_PER_COMMIT = PUTS + TIMERS;
const T0 = Date.UTC(2026, 10, 1);

/** A profile-state blob of about 500 bytes as msgpack (what the stream keeps per visitor). */
function profileState(user: number, step: number): Record<string, unknown> {
  return {
    profileId: `u:user-${user}`,
    userId: `user-${user}`,
    anonymousIds: [`anon-${user}-a`, `anon-${user}-b`],
    traits: { plan: user % 3 === 0 ? 'pro' : 'free', country: 'FR', signupMs: T0 - user * 1000 },
    features: { views10m: step % 17, adds30m: step % 3, revenue30d: (user % 50) * 12.5, lastSeenMs: T0 + step * 20 },
    windows: Array.from({ length: 12 }, (_, i) => [T0 + i * 60_000, (step + i) % 9]),
    recent: Array.from({ length: 10 }, (_, i) => `p-${(user * 31 + i) % 20_000}`),
    segments: [{ id: 'high-intent', version: 3, since: T0 }],
    updatedAt: T0 + step * 20,
  };
}

function makeStep(partition: number, n: number): StateCommit {
  const puts: [string, unknown][] = [];
  for (let i = 0; i < PUTS; i++) {
    const user = ((n * PUTS + i) * 7919) % USERS;
    puts.push([`s/u:user-${user}`, profileState(user, n)]);
  }
  for (let i = 0; i < TIMERS; i++) {
    const time = String(T0 + n * 1000 + i).padStart(15, '0');
    puts.push([`t/${partition}/event/${time}/u:user-${(n * TIMERS + i) % USERS}\u0000segments\u0000w${i}`, 1]);
  }
  const outbox = Array.from({ length: OUTBOX }, (_, i) => ({
    kind: i % 2 === 0 ? 'enter' : 'exit',
    segmentId: 'high-intent',
    version: 3,
    profileKey: `u:user-${(n + i) % USERS}`,
    eventTimeMs: T0 + n * 20,
  }));
  return {
    puts,
    deletes: [],
    checkpoint: {
      offset: n * 100,
      meta: { watermarkMs: T0 + n * 20 - 5000, maxEventTimeMs: T0 + n * 20, batchSeq: n },
    },
    outbox,
  };
}

type Commit = (partition: number, step: StateCommit) => Promise<void>;

/** Commits/s from `partitions` concurrent owners, each committing one step after another. */
interface Rate {
  commits: number;
  seconds: number;
  latencies: number[];
}

/** Steps are built ahead (per partition) so the figure is the store's, not the generator's. */
const stepsByPartition = Array.from({ length: 4 }, (_, p) => Array.from({ length: 64 }, (_, n) => makeStep(p, n + 1)));

/** Commits from `partitions` concurrent owners, each committing one step after another, for `seconds`. */
async function commitRate(commit: Commit, partitions: number, seconds: number): Promise<Rate> {
  const latencies: number[] = [];
  let commits = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: partitions }, async (_, p) => {
      const steps = stepsByPartition[p]!;
      for (let n = 0; performance.now() < deadline; n++) {
        const started = performance.now();
        await commit(p, steps[n % steps.length]!);
        latencies.push(performance.now() - started);
        commits++;
      }
    }),
  );
  return { commits, seconds, latencies };
}

/**
 * A and B alternate in 4 rounds of SECONDS/4 each, so a load swing on this shared machine hits both
 * alike; returns commits/s and latency percentiles of each.
 */
async function interleaved(a: Commit, b: Commit, partitions: number) {
  const total = {
    a: { commits: 0, seconds: 0, latencies: [] as number[] },
    b: { commits: 0, seconds: 0, latencies: [] as number[] },
  };
  for (let round = 0; round < 4; round++) {
    for (const [name, commit] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const r = await commitRate(commit, partitions, SECONDS / 4);
      total[name].commits += r.commits;
      total[name].seconds += r.seconds;
      total[name].latencies.push(...r.latencies);
    }
  }
  const summary = (r: Rate) => {
    r.latencies.sort((x, y) => x - y);
    return {
      commitsPerS: r.commits / r.seconds,
      p50Ms: percentile(r.latencies, 50),
      p99Ms: percentile(r.latencies, 99),
    };
  };
  return { a: summary(total.a), b: summary(total.b) };
}

/** Redis-side time of the commit scripts (INFO commandstats), in µs per call. */
async function serverMicrosPerCall(raw: Redis, command: 'evalsha' | 'eval'): Promise<number> {
  const stats = await raw.info('commandstats');
  const line = stats.split('\n').find((l) => l.startsWith(`cmdstat_${command}:`));
  return Number(/usec_per_call=([\d.]+)/.exec(line ?? '')?.[1] ?? Number.NaN);
}

async function ownerCommit(store: StateStore, partitions: number): Promise<Commit> {
  const handles = await Promise.all(Array.from({ length: partitions }, (_, p) => store.acquire(p, 'bench')));
  return (p, step) => handles[p]!.commit(step);
}

async function getManyLatency(
  store: StateStore,
  keys: number,
): Promise<{ p50Ms: number; p99Ms: number; keysPerS: number }> {
  const latencies: number[] = [];
  const deadline = performance.now() + SECONDS * 1000;
  let n = 0;
  while (performance.now() < deadline) {
    const batch = Array.from({ length: keys }, (_, i) => `s/u:user-${((n * keys + i) * 104_729) % USERS}`);
    const started = performance.now();
    const values = await store.getMany(batch);
    latencies.push(performance.now() - started);
    if (values.length !== keys) throw new Error('getMany lost values');
    n++;
  }
  latencies.sort((a, b) => a - b);
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), keysPerS: (n * keys) / SECONDS };
}

/** Keys/s read by `concurrency` readers each fetching `keys` keys at a time (API-like load). */
async function concurrentReads(store: StateStore, concurrency: number, keys: number, seconds: number): Promise<number> {
  let read = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, r) => {
      for (let n = 0; performance.now() < deadline; n++) {
        const batch = Array.from({ length: keys }, (_, i) => `s/u:user-${((n * 131 + r * 7 + i) * 104_729) % USERS}`);
        const values = await store.getMany(batch);
        read += values.length;
      }
    }),
  );
  return read / seconds;
}

ensureRedis(); // starts the local services when Redis is down; throws when it cannot
const results: BenchResult[] = [];
const loadBefore = loadavg()[0]!;
const ns = `kairos-bench:${process.pid}`;
const lmdbDir = mkdtempSync(join(tmpdir(), 'kairos-bench-state-'));
const redisStore = await createRedisStateStore({ url: URL, namespace: ns });
const lmdbStore = new LmdbStateStore({ dir: lmdbDir });

try {
  // ---- commits --------------------------------------------------------------------------------------
  for (const partitions of [1, 4]) {
    const { a: lmdb, b: redis } = await interleaved(
      await ownerCommit(lmdbStore, partitions),
      await ownerCommit(redisStore, partitions),
      partitions,
    );
    console.log(
      `${partitions} partition(s): redis ${round(redis.commitsPerS)} commits/s, lmdb ${round(lmdb.commitsPerS)} commits/s`,
    );
    results.push(
      {
        metric: `commits/s, ${partitions} partition(s) committing concurrently (${KEYS_PER_COMMIT} keys + checkpoint + ${OUTBOX} outbox each)`,
        value: round(redis.commitsPerS),
        unit: 'commits/s',
        baseline: 'embedded lmdb StateStore, same steps (interleaved rounds in the same run)',
        baselineValue: round(lmdb.commitsPerS),
        ratio: round(redis.commitsPerS / lmdb.commitsPerS, 3),
      },
      {
        metric: `keys written/s, ${partitions} partition(s)`,
        value: round(redis.commitsPerS * KEYS_PER_COMMIT),
        unit: 'keys/s',
        baseline: 'embedded lmdb StateStore, same steps',
        baselineValue: round(lmdb.commitsPerS * KEYS_PER_COMMIT),
        ratio: round(redis.commitsPerS / lmdb.commitsPerS, 3),
      },
      {
        metric: `commit latency p99, ${partitions} partition(s)`,
        value: round(redis.p99Ms, 2),
        unit: 'ms',
        baseline: 'embedded lmdb StateStore commit p99',
        baselineValue: round(lmdb.p99Ms, 2),
        ratio: round(redis.p99Ms / lmdb.p99Ms, 3),
      },
    );
  }

  // ---- what the lexicographic index costs -----------------------------------------------------------
  {
    const raw = new Redis(URL);
    const keys = redisKeys(`${ns}:noindex`);
    const noIndexLua = COMMIT_LUA.split('\n')
      .filter((line) => !line.trim().endsWith('-- index'))
      .join('\n');
    await raw.set(keys.fence(0), '1');
    await raw.set(keys.epoch, 'e');
    // The same arguments commitAs sends, to the script without its index lines.
    const commitNoIndex: Commit = async (p, step) => {
      const k: (string | Buffer | number)[] = [
        keys.fence(p),
        keys.checkpoint(p),
        keys.outboxSeq(p),
        keys.outbox(p),
        keys.index,
        keys.epoch,
      ];
      const args: (string | Buffer | number)[] = [
        '1',
        step.puts.length,
        0,
        step.outbox.length,
        keys.valuePrefixBytes,
        encodeValue(step.checkpoint),
        'e',
      ];
      for (const [key, value] of step.puts) {
        k.push(keys.value(key));
        args.push(encodeValue(value));
      }
      for (const record of step.outbox) args.push(encodeValue(record));
      await raw.eval(noIndexLua, k.length, ...k, ...args);
    };
    await raw.config('RESETSTAT');
    const { a: withIndex, b: without } = await interleaved(await ownerCommit(redisStore, 1), commitNoIndex, 1);
    // The store runs its script with EVALSHA, the variant here with EVAL: commandstats keeps them apart.
    const withUs = await serverMicrosPerCall(raw, 'evalsha');
    const withoutUs = await serverMicrosPerCall(raw, 'eval');
    results.push(
      {
        metric: 'commits/s with the lexicographic index (every key also in one ZSET), 1 partition',
        value: round(withIndex.commitsPerS),
        unit: 'commits/s',
        baseline: 'the same commit script without its ZADD/ZREM lines (no scan possible), interleaved',
        baselineValue: round(without.commitsPerS),
        ratio: round(withIndex.commitsPerS / without.commitsPerS, 3),
      },
      {
        metric: 'Redis time per commit script with the lexicographic index',
        value: round(withUs),
        unit: 'µs/commit',
        baseline: 'the same script without its index lines (INFO commandstats)',
        baselineValue: round(withoutUs),
        ratio: round(withUs / withoutUs, 3),
      },
    );
    let cursor = '0';
    do {
      const [next, found] = await raw.scan(cursor, 'MATCH', keys.pattern, 'COUNT', 1000);
      cursor = next;
      if (found.length > 0) await raw.unlink(...found);
    } while (cursor !== '0');

    const indexBytes = Number(await raw.memory('USAGE', redisKeys(ns).index, 'SAMPLES', 0));
    const members = await raw.zcard(redisKeys(ns).index);
    const sample = await raw.zrange(redisKeys(ns).index, '0', '199');
    let valueBytes = 0;
    for (const key of sample) valueBytes += Number(await raw.memory('USAGE', redisKeys(ns).value(key), 'SAMPLES', 0));
    const perValueKey = valueBytes / sample.length;
    const perIndexEntry = indexBytes / members;
    console.log(`index: ${members} members, ${round(perIndexEntry)} B/entry; value keys ${round(perValueKey)} B/key`);
    results.push({
      metric: `memory of the lex index per key (${members} keys)`,
      value: round(perIndexEntry),
      unit: 'bytes/key',
      baseline: 'memory of the value key itself (MEMORY USAGE, mean of 200 keys)',
      baselineValue: round(perValueKey),
      ratio: round(perIndexEntry / perValueKey, 3),
    });
    raw.disconnect();
  }

  // ---- reads ----------------------------------------------------------------------------------------
  const lmdbRead = await getManyLatency(lmdbStore, 100);
  const redisRead = await getManyLatency(redisStore, 100);
  results.push(
    {
      metric: 'getMany(100 keys) latency p50, one caller',
      value: round(redisRead.p50Ms, 3),
      unit: 'ms',
      baseline: 'embedded lmdb StateStore getMany p50 (in-process, memory-mapped)',
      baselineValue: round(lmdbRead.p50Ms, 3),
      ratio: round(redisRead.p50Ms / lmdbRead.p50Ms, 3),
    },
    {
      metric: 'getMany(100 keys) latency p99, one caller',
      value: round(redisRead.p99Ms, 3),
      unit: 'ms',
      baseline: 'embedded lmdb StateStore getMany p99',
      baselineValue: round(lmdbRead.p99Ms, 3),
      ratio: round(redisRead.p99Ms / lmdbRead.p99Ms, 3),
    },
  );
  // Interleaved short rounds, best of each: the figure least disturbed by other load on the machine.
  const pipedStore = await createRedisStateStore({ url: URL, namespace: ns, autoPipelining: true });
  for (const callers of [64, 1]) {
    let plain = 0;
    let piped = 0;
    for (let r = 0; r < 8; r++) {
      piped = Math.max(piped, await concurrentReads(pipedStore, callers, 10, SECONDS / 8));
      plain = Math.max(plain, await concurrentReads(redisStore, callers, 10, SECONDS / 8));
    }
    results.push({
      metric: `keys/s read by ${callers} concurrent caller(s) of getMany(10 keys), auto-pipelining on, best of 8 rounds`,
      value: round(piped),
      unit: 'keys/s',
      baseline: 'the same with autoPipelining: false (the default), best of 8 interleaved rounds',
      baselineValue: round(plain),
      ratio: round(piped / plain, 3),
    });
  }
  await pipedStore.close();

  // ---- codec ----------------------------------------------------------------------------------------
  {
    const values = Array.from({ length: 2_000 }, (_, i) => profileState(i, i));
    // 15 interleaved rounds over the same 2000 values; the fastest round of each (least disturbed).
    const round1 = (fn: () => void) => {
      const started = performance.now();
      fn();
      return ((performance.now() - started) * 1000) / values.length;
    };
    let mpUs = Number.POSITIVE_INFINITY;
    let jsonUs = Number.POSITIVE_INFINITY;
    for (let r = 0; r < 15; r++) {
      mpUs = Math.min(
        mpUs,
        round1(() => {
          for (const v of values) decodeValue(encodeValue(v));
        }),
      );
      jsonUs = Math.min(
        jsonUs,
        round1(() => {
          for (const v of values) JSON.parse(Buffer.from(JSON.stringify(v)).toString('utf8'));
        }),
      );
    }
    const mpBytes = values.reduce((s, v) => s + encodeValue(v).length, 0) / values.length;
    const jsonBytes = values.reduce((s, v) => s + Buffer.byteLength(JSON.stringify(v)), 0) / values.length;
    results.push(
      {
        metric: 'value encode + decode (msgpackr, chosen), best of 15 rounds',
        value: round(mpUs, 2),
        unit: 'µs/value',
        baseline: 'JSON.stringify + Buffer + JSON.parse of the same values, best of 15 interleaved rounds',
        baselineValue: round(jsonUs, 2),
        ratio: round(mpUs / jsonUs, 3),
      },
      {
        metric: 'value size (msgpackr, chosen)',
        value: round(mpBytes),
        unit: 'bytes',
        baseline: 'JSON of the same values',
        baselineValue: round(jsonBytes),
        ratio: round(mpBytes / jsonBytes, 3),
      },
    );
  }
} finally {
  await redisStore.drop();
  await redisStore.close();
  await lmdbStore.close();
  rmSync(lmdbDir, { recursive: true, force: true });
}

writeResults(
  'state-redis',
  results,
  `1-minute load average ${round(loadBefore, 1)} before and ${round(loadavg()[0]!, 1)} after the run (other work shares the 2 cores: absolute figures swing a lot, the same-run ratios less). Redis 7.0 on 127.0.0.1 without persistence (no AOF, no RDB) vs lmdb with its default durable commits, both on this 2-core machine with the benchmark on the same cores. ${SECONDS}s per figure. A step = ${PUTS} profile-state puts (~500 B msgpack) + ${TIMERS} timer keys + checkpoint + ${OUTBOX} outbox records, one atomic commit (one Lua script in Redis). With appendfsync always, Redis would add an fsync per commit (≈0.25 ms here).`,
);
