import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, encodePayload, userKey, type KairosEvent } from '../core/index.js';
import { MemoryEventLog } from '../log/index.js';
import { createProfileOperator } from '../profiles/index.js';
import { LmdbMetadataStore, MemoryStateStore } from '../store/index.js';
import { PartitionTask, resolveStreamOptions, stateKey, type KeyState } from '../stream/index.js';
import { createBackfillRunner } from './backfill.js';
import { CASE_T0, drain } from './cases-harness.js';
import { MembershipReader, isMembershipChange, segmentsOf } from './membership.js';
import { createSegmentsOperator } from './operator.js';
import { SegmentService } from './service.js';
import type { ActiveSegmentVersion, MembershipChange } from './types.js';

const MIN = 60_000;
let seq = 0;
function track(user: string, t: number, name: string): KairosEvent {
  const iso = new Date(t).toISOString();
  return {
    type: 'track',
    event: name,
    messageId: `bf-${++seq}`,
    userId: user,
    properties: { product_id: 'p1' },
    timestamp: iso,
    eventTimeMs: t,
    receivedAt: iso,
    receivedAtMs: t,
    profileKey: userKey(user),
  };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

describe('segment backfill', () => {
  it('computes a new version from the retained log, switches atomically with handover, and the live stream continues', async () => {
    const partitions = 2;
    const log = new MemoryEventLog(partitions);
    const live = new MemoryStateStore();
    const clock = new ManualClock(CASE_T0);
    const stream = resolveStreamOptions({
      outOfOrderness: '5s',
      idleTimeout: '1s',
      pollMs: 1,
      clock,
      maxBatchRecords: 4,
    });
    const metadata = new LmdbMetadataStore({ dir: mkdtempSync(join(tmpdir(), 'kairos-backfill-')) });
    closers.push(() => metadata.close());
    const members = new MembershipReader({ store: live, partitionCount: partitions });
    const service = new SegmentService({ metadata, clock, members });
    // v1: viewed twice within an hour.
    await service.put('engaged', {
      name: 'Engaged',
      condition: { count: { event: 'Product Viewed', within: '1h' }, gte: 2 },
    });

    let tasks: PartitionTask[] = [];
    const startLive = async (definitions: ActiveSegmentVersion[]) => {
      tasks = [];
      for (let p = 0; p < partitions; p++) {
        const task = new PartitionTask({
          partition: p,
          log,
          store: live,
          pipeline: [createProfileOperator(), createSegmentsOperator(definitions)],
          options: stream,
          owner: 'live',
        });
        await task.start();
        tasks.push(task);
      }
    };
    await startLive(await service.definitions());
    const append = async (events: KairosEvent[]) => {
      clock.set(Math.max(clock.now(), ...events.map((e) => e.eventTimeMs)));
      await log.append(events.map((e) => ({ key: e.profileKey, value: encodePayload(e), timestampMs: e.eventTimeMs })));
      await drain({ tasks, log });
    };
    await append([
      track('ann', CASE_T0, 'Product Viewed'),
      track('ann', CASE_T0 + MIN, 'Product Viewed'),
      track('ann', CASE_T0 + 2 * MIN, 'Product Added'),
      track('bob', CASE_T0 + MIN, 'Product Viewed'),
      track('bob', CASE_T0 + 2 * MIN, 'Product Viewed'),
      track('cid', CASE_T0 + 3 * MIN, 'Product Added'),
      track('dee', CASE_T0 + 3 * MIN, 'Product Viewed'),
    ]);
    const outbox = async () => {
      const out: MembershipChange[] = [];
      for (let p = 0; p < partitions; p++)
        for (const r of await live.readOutbox(p, 0, 10_000)) if (isMembershipChange(r.value)) out.push(r.value);
      return out;
    };
    expect((await outbox()).map((c) => `${c.type} ${c.profileKey} v${c.version}`).sort()).toEqual([
      'enter u:ann v1',
      'enter u:bob v1',
    ]);
    const seen = new Set((await outbox()).map((c) => c.id));
    const fresh = async () => {
      const out = (await outbox()).filter((c) => !seen.has(c.id));
      for (const c of out) seen.add(c.id);
      return out;
    };

    // v2 — added to cart within the hour — is computed from the log: a new leaf the live stream never kept.
    const pauses: string[] = [];
    const runner = createBackfillRunner({
      service,
      log,
      liveStore: live,
      createScratchStore: () => Promise.resolve(new MemoryStateStore()),
      stream,
      clock,
      pauser: {
        async pause(list) {
          pauses.push(`pause ${list.join(',')}`);
          for (const task of tasks) await task.stop();
        },
        async resume(list) {
          pauses.push(`resume ${list.join(',')}`);
          await startLive(await service.definitions());
        },
      },
    });
    const { version } = await service.beginBackfill('engaged', {
      name: 'Engaged',
      condition: { count: { event: 'Product Added', within: '1h' }, gte: 1 },
    });
    expect(version).toBe(2);
    expect((await service.get('engaged')).versions[0]).toMatchObject({ version: 2, state: 'backfilling' });
    await runner.start('engaged', version);
    await runner.idle();

    const status = await service.backfillStatus('engaged');
    expect(status).toMatchObject({ state: 'done', fraction: 1, version: 2, switched: { enters: 1, exits: 1 } });
    expect(status!.partitions.every((p) => p.offset === p.target)).toBe(true);
    expect(pauses).toEqual(['pause 0,1', 'resume 0,1']);
    const view = await service.get('engaged');
    expect(view.versions.map((v) => `${v.version}:${v.state}`)).toEqual(['2:active', '1:retired']);
    // ann: in both versions (silent handover), bob: v1 only (exit), cid: v2 only (enter), dee: neither.
    const switched = await fresh();
    expect(switched.map((c) => `${c.type} ${c.profileKey} v${c.version}`).sort()).toEqual([
      'enter u:cid v2',
      'exit u:bob v1',
    ]);
    expect(await members.count('engaged', 2)).toBe(2);
    expect((await members.page('engaged', 2)).members.map((m) => m.profileId)).toEqual(['u:ann', 'u:cid']);
    const ann = (await live.get(stateKey('u:ann'))) as KeyState;
    expect(segmentsOf(ann)).toEqual([{ id: 'engaged', version: 2, since: new Date(CASE_T0 + 2 * MIN).toISOString() }]);

    // The live stream resumed on v2: a new add enters, and the adds exit by their (switched-in) timers an hour later.
    await append([track('dee', CASE_T0 + 10 * MIN, 'Product Added')]);
    clock.advance(2 * 60 * MIN);
    await drain({ tasks, log });
    const later = await fresh();
    expect(
      later.map((c) => `${c.type} ${c.profileKey} v${c.version} +${(c.eventTimeMs - CASE_T0) / MIN}m`).sort(),
    ).toEqual(['enter u:dee v2 +10m', 'exit u:ann v2 +62m', 'exit u:cid v2 +63m', 'exit u:dee v2 +70m']);
    expect(await members.count('engaged', 2)).toBe(0);
  });

  it('refuses a second backfill of the same segment while one is running, and reports failures', async () => {
    const metadata = new LmdbMetadataStore({ dir: mkdtempSync(join(tmpdir(), 'kairos-backfill-')) });
    closers.push(() => metadata.close());
    const service = new SegmentService({ metadata });
    await service.put('s', { name: 'S', state: 'draft', condition: { trait: 'plan', eq: 'pro' } });
    const { version } = await service.beginBackfill('s');
    expect(version).toBe(1);
    await expect(service.beginBackfill('s')).rejects.toMatchObject({ code: 'SEGMENTS_BACKFILL_RUNNING' });
    const clock = new ManualClock(CASE_T0);
    const runner = createBackfillRunner({
      service,
      log: new MemoryEventLog(1),
      liveStore: new MemoryStateStore(),
      createScratchStore: () => Promise.resolve(new MemoryStateStore()),
      stream: resolveStreamOptions({ pollMs: 1, clock }),
      clock,
      pauser: {
        pause: () => Promise.reject(new Error('workers unreachable')),
        resume: () => Promise.resolve(),
      },
    });
    await runner.start('s', version);
    await runner.idle();
    expect(await service.backfillStatus('s')).toMatchObject({ state: 'failed', error: 'workers unreachable' });
    // The version went back to draft: it can be backfilled again.
    expect((await service.get('s')).versions[0]).toMatchObject({ version: 1, state: 'draft' });
  });
});
