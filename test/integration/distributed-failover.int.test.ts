/**
 * Failover (issue 7 acceptance): 1 collector, 3 workers and 1 api as separate processes over the real
 * RabbitMQ, Redis and PostgreSQL. ≥ 200,000 events are replayed through the collector; one worker is
 * killed with SIGKILL mid-way. Its partitions must be owned by a survivor and progressing again within
 * 10 s, and at the end every profile (eventCount, eventCounts, sessionCount) and its segment
 * memberships must equal the batch computation over the acknowledged events: nothing lost, nothing
 * counted twice. The segments are count rules over 30 days (the Taobao sample spans 9), so their final
 * membership is a plain function of the acknowledged events.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replayToServer } from '../../src/datasets/index.js';
import { sessionCount } from '../../src/profiles/index.js';
import { createRedisStateStore, type RedisStateStore } from '../../src/store/index.js';
import { freePort } from '../helpers/engine-process.js';
import {
  BatchReference,
  REDIS_URL,
  RoleProcess,
  compareMemberships,
  compareProfiles,
  deployment,
  dropDeployment,
  ensureServices,
  referenceSessions,
  taobaoEvents,
  waitCaughtUp,
  waitForAssignment,
  type WorkerReadiness,
} from './distributed-harness.js';

const MIN_EVENTS = 200_000;
const PARTITIONS = 8;
const TAKEOVER_LIMIT_MS = 10_000;
/** Segments defined before the replay (through the API role, stored in PostgreSQL, run by the workers). */
const SEGMENTS = [
  {
    id: 'cart-twice',
    name: 'Added to cart twice',
    condition: { count: { event: 'Product Added', within: '30d' }, gte: 2 },
  },
  {
    id: 'buyer-or-fan',
    name: 'Bought, or wishlisted three times',
    condition: {
      any: [
        { count: { event: 'Order Completed', within: '30d' }, gte: 1 },
        { count: { event: 'Product Added to Wishlist', within: '30d' }, gte: 3 },
      ],
    },
  },
] as const;
const expectedSegments = (ref: { eventCounts: Record<string, number> }) => {
  const c = (name: string) => ref.eventCounts[name] ?? 0;
  const ids: string[] = [];
  if (c('Product Added') >= 2) ids.push('cart-twice');
  if (c('Order Completed') >= 1 || c('Product Added to Wishlist') >= 3) ids.push('buyer-or-fan');
  return ids;
};

describe('distributed mode: a worker killed mid-replay', () => {
  const dep = deployment('failover', PARTITIONS);
  const processes: RoleProcess[] = [];
  let state: RedisStateStore | undefined;

  beforeAll(async () => {
    await ensureServices();
  }, 300_000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await state?.close();
    await dropDeployment(dep.namespace);
  }, 120_000);

  it('moves the dead worker’s partitions within 10 s and ends with the batch result over the acknowledged events', async () => {
    const collector = new RoleProcess('collector', await freePort(), dep.env());
    processes.push(collector);
    await collector.start();
    const workers = await Promise.all(
      [0, 1, 2].map(
        async (i) =>
          new RoleProcess(
            'worker',
            await freePort(),
            dep.env({ KAIROS_MEMBER_ID: `w${i}-${process.pid}`, KAIROS_LOG_LEVEL: 'info' }),
          ),
      ),
    );
    const api = new RoleProcess('api', await freePort(), dep.env());
    processes.push(...workers, api);
    await Promise.all([...workers.map((w) => w.start()), api.start()]);
    const initial = await waitForAssignment(workers, PARTITIONS);
    state = await createRedisStateStore({ url: REDIS_URL, namespace: dep.namespace });
    for (const segment of SEGMENTS) {
      const put = await fetch(`${api.url}/v1/segments/${segment.id}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${dep.secretKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(segment),
      });
      expect(put.status, await put.clone().text()).toBeLessThan(300);
    }
    // Every worker runs the segments before the first event (definitions revision 2 → pipeline 3).
    for (const w of workers) {
      const deadline = performance.now() + 30_000;
      while ((await w.readyz<WorkerReadiness>()).worker.pipelineVersion < SEGMENTS.length + 1) {
        if (performance.now() > deadline) throw new Error(`worker ${w.pid} did not load the segment definitions`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }

    const reference = new BatchReference();
    let sent = 0;
    const replay = replayToServer(
      (async function* () {
        for await (const m of taobaoEvents(MIN_EVENTS)) {
          sent++;
          yield m;
        }
      })(),
      {
        url: collector.url,
        writeKey: dep.writeKey,
        batchSize: 200,
        concurrency: 4,
        ratePerSecond: 4_000,
        onAck: (batch, response) => {
          const rejected = new Set(response.rejected.map((r) => r.index));
          batch.forEach((m, index) => {
            if (!rejected.has(index)) reference.add(m);
          });
        },
      },
    );
    let replayDone = false;
    void replay.finally(() => (replayDone = true));

    // Mid-way: the worker with the most partitions dies without a word.
    while (reference.acknowledged.size < 0.35 * MIN_EVENTS && !replayDone) await new Promise((r) => setTimeout(r, 100));
    expect(replayDone).toBe(false);
    const victim = [...initial.entries()].sort((a, b) => b[1].length - a[1].length)[0]![0];
    const victimPartitions = (await victim.readyz<WorkerReadiness>()).worker.partitions
      .map((p) => p.partition)
      .sort((a, b) => a - b);
    expect(victimPartitions.length).toBeGreaterThan(0);
    await victim.kill9();
    const killedAt = performance.now();
    const killedAtWallMs = Date.now();
    // Read after the process is gone: from here on only a survivor can move these checkpoints.
    const offsetAtKill = new Map(
      await Promise.all(victimPartitions.map(async (p) => [p, (await state!.checkpoint(p))?.offset ?? 0] as const)),
    );
    console.log(
      `killed ${victim.role} pid ${victim.pid} owning ${JSON.stringify(victimPartitions)} at ${reference.acknowledged.size} acknowledged`,
    );

    const survivors = workers.filter((w) => w !== victim);
    const ownedAfterMs = new Map<number, number>();
    const progressAfterMs = new Map<number, number>();
    while (progressAfterMs.size < victimPartitions.length && performance.now() - killedAt < 60_000) {
      const running = new Set(
        (await Promise.all(survivors.map((w) => w.readyz<WorkerReadiness>()))).flatMap((s) =>
          s.worker.partitions.map((p) => p.partition),
        ),
      );
      const elapsed = performance.now() - killedAt;
      for (const p of victimPartitions) {
        if (running.has(p) && !ownedAfterMs.has(p)) ownedAfterMs.set(p, elapsed);
        if (
          ownedAfterMs.has(p) &&
          !progressAfterMs.has(p) &&
          ((await state.checkpoint(p))?.offset ?? 0) > offsetAtKill.get(p)!
        ) {
          progressAfterMs.set(p, performance.now() - killedAt);
        }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const takeover = Object.fromEntries(
      victimPartitions.map((p) => [
        p,
        { ownedMs: Math.round(ownedAfterMs.get(p) ?? NaN), progressingMs: Math.round(progressAfterMs.get(p) ?? NaN) },
      ]),
    );
    // Where the time went, from the survivors' own logs: noticing the death, then starting the tasks.
    const timeline = survivors.flatMap((w) =>
      w.log
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { time: number; msg: string; gone?: string[]; added?: number[] })
        .filter(
          (e) =>
            e.time >= killedAtWallMs && (e.msg === 'membership changed' || e.msg === 'partition ownership changed'),
        )
        .map((e) => `${e.time - killedAtWallMs} ms ${e.msg} ${JSON.stringify(e.gone ?? e.added)}`),
    );
    console.log(`takeover after kill -9: ${JSON.stringify(takeover)}\n${timeline.join('\n')}`);
    expect(progressAfterMs.size).toBe(victimPartitions.length);
    expect(Math.max(...progressAfterMs.values())).toBeLessThanOrEqual(TAKEOVER_LIMIT_MS);

    const summary = await replay;
    for (const w of workers) {
      const notable = w.log.split('\n').filter((l) => /refused|taken over|paused|did not release/.test(l));
      if (notable.length > 0) console.log(`${w.role} ${w.pid}:\n${notable.slice(-10).join('\n')}`);
    }
    expect(summary.failedBatches).toBe(0);
    expect(sent).toBeGreaterThanOrEqual(MIN_EVENTS);
    expect(reference.acknowledged.size).toBe(sent);
    await waitCaughtUp(api);
    const after = await waitForAssignment(survivors, PARTITIONS);
    console.log(
      `final assignment: ${JSON.stringify([...after.values()])}; replay ${Math.round(summary.eventsPerSecond)} events/s, ${summary.retries} retries`,
    );

    // The API path, on a sample.
    const users = [...reference.users.keys()];
    for (let i = 0; i < 200; i++) {
      const user = users[Math.floor(Math.random() * users.length)]!;
      const response = await fetch(`${api.url}/v1/profiles/${encodeURIComponent(user)}`, {
        headers: { authorization: `Bearer ${dep.secretKey}` },
      });
      expect(response.status).toBe(200);
      const profile = (await response.json()) as {
        features: { eventCount: number; eventCounts: Record<string, number>; sessionCount: number };
      };
      const ref = reference.users.get(user)!;
      expect({ user, ...profile.features }).toMatchObject({
        user,
        eventCount: ref.eventCount,
        eventCounts: ref.eventCounts,
        sessionCount: referenceSessions(ref.times),
      });
    }

    // Every profile, read from Redis.
    const result = await compareProfiles(dep.namespace, reference, sessionCount);
    expect(result.examples).toEqual([]);
    expect(result.missing).toEqual([]);
    expect(result.mismatches).toBe(0);
    expect(result.profiles).toBe(reference.users.size);

    // Every profile's segment memberships, read from Redis, against the batch evaluation.
    const active = new Map(SEGMENTS.map((segment) => [segment.id, 1]));
    const memberships = await compareMemberships(dep.namespace, reference, active, expectedSegments);
    console.log(`segment members: ${JSON.stringify(memberships.members)} over ${memberships.profiles} profiles`);
    expect(memberships.examples).toEqual([]);
    expect(memberships.mismatches).toBe(0);
    expect(memberships.profiles).toBe(reference.users.size);
    expect(Object.keys(memberships.members).sort()).toEqual(['buyer-or-fan', 'cart-twice']);
    // And through the API: the members endpoint's count is the same.
    for (const segment of SEGMENTS) {
      const page = (await (
        await fetch(`${api.url}/v1/segments/${segment.id}/members?limit=10`, {
          headers: { authorization: `Bearer ${dep.secretKey}` },
        })
      ).json()) as { count: number };
      expect(page.count).toBe(memberships.members[segment.id]);
    }
  }, 1_200_000);
});
