import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock, silentLogger, userKey } from '../../core/index.js';
import { MemoryEventLog } from '../../log/index.js';
import { createProfileOperator, type ProfileState } from '../../profiles/index.js';
import { LmdbMetadataStore, MemoryStateStore } from '../../store/index.js';
import { TaskGroup, resolveStreamOptions, stateKey, type KeyState } from '../../stream/index.js';
import { appendPayloads, makeEvent } from '../../../test/helpers/events.js';
import { assignPartitions } from './assignment.js';
import { PartitionCoordinator } from './coordinator.js';
import { MEMBERS_COLLECTION, Membership, type MemberDoc } from './membership.js';

const P = 4;
const TTL = 3_000;
const BEAT = 500;
const HANDOFF = 8_000;

interface Worker {
  id: string;
  group: TaskGroup;
  coordinator: PartitionCoordinator;
  fenced: number[];
}

let dir: string;
let metadata: LmdbMetadataStore;
let store: MemoryStateStore;
let log: MemoryEventLog;
let clock: ManualClock;
const workers: Worker[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'kairos-coord-'));
  metadata = new LmdbMetadataStore({ dir });
  store = new MemoryStateStore();
  log = new MemoryEventLog(P);
  clock = new ManualClock(Date.UTC(2026, 0, 1));
});

afterEach(async () => {
  for (const w of workers.splice(0)) await w.group.stop();
  await metadata.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A worker as the worker role builds it, with its own StateStore client; nothing runs on timers but the tasks. */
function worker(id: string, grace = 0): Worker {
  const fenced: number[] = [];
  const group = new TaskGroup({
    partitions: [],
    log,
    store: store.another(),
    options: resolveStreamOptions({ pollMs: 5, logger: silentLogger() }),
    owner: id,
    pipeline: [createProfileOperator()],
    onFenced: (p) => {
      fenced.push(p);
      // Called only once the tasks run, after `coordinator` below is initialised.
      coordinator.onFenced(p);
    },
  });
  const coordinator: PartitionCoordinator = new PartitionCoordinator({
    membership: new Membership({
      metadata,
      memberId: id,
      clock,
      ttlMs: TTL,
      info: { host: 'test', pid: 1, startedAtMs: clock.now() },
    }),
    runner: group,
    partitionCount: P,
    clock,
    logger: silentLogger(),
    heartbeatMs: BEAT,
    ttlMs: TTL,
    handoffTimeoutMs: HANDOFF,
    startupGraceMs: grace,
  });
  const w = { id, group, coordinator, fenced };
  workers.push(w);
  return w;
}

/** One heartbeat + reconciliation round of each given worker, in order. */
async function round(...ws: Worker[]): Promise<void> {
  for (const w of ws) await w.coordinator.heartbeat();
  for (const w of ws) await w.coordinator.reconcile();
}

/** Lets time pass in heartbeat steps while only `alive` workers run their loops. */
async function pass(ms: number, ...alive: Worker[]): Promise<void> {
  for (let t = 0; t < ms; t += BEAT) {
    clock.advance(BEAT);
    await round(...alive);
  }
}

function sorted(list: readonly number[]): number[] {
  return [...list].sort((a, b) => a - b);
}

function expectPartitioned(...ws: Worker[]): void {
  const all = ws.flatMap((w) => w.group.partitions);
  expect(sorted(all)).toEqual(Array.from({ length: P }, (_, p) => p));
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** An event for a user whose profile key falls in `partition`. */
function eventIn(partition: number, n: number) {
  for (let i = 0; ; i++) {
    const userId = `user-${partition}-${n}-${i}`;
    if (log.partitionOf(userKey(userId)) === partition) return makeEvent({ userId, eventTimeMs: Date.UTC(2026, 0, 1) });
  }
}

describe('partition ownership (leases with fencing)', () => {
  it('a lone worker takes every partition; a joining worker gets its share through a clean handoff', async () => {
    const a = worker('a');
    await round(a);
    expect(sorted(a.group.partitions)).toEqual([0, 1, 2, 3]);

    const b = worker('b');
    const expected = assignPartitions(['a', 'b'], P);
    await b.coordinator.heartbeat();
    const first = await b.coordinator.reconcile();
    // Everything B is assigned is still claimed by A, which is alive: B waits instead of fencing A.
    expect(first.added).toEqual([]);
    expect(sorted(first.waiting)).toEqual(expected.get('b'));

    await round(a); // A sees B, releases B's share, and its heartbeat stops claiming it
    expect(sorted(a.group.partitions)).toEqual(expected.get('a'));
    const second = await b.coordinator.reconcile();
    expect(sorted(second.added)).toEqual(expected.get('b'));
    expectPartitioned(a, b);
    expect(a.fenced).toEqual([]);
    expect(b.fenced).toEqual([]);
  });

  it('moves a silent worker’s partitions only after the ttl, and fences its zombie tasks', async () => {
    const a = worker('a');
    const b = worker('b');
    await pass(2 * BEAT, a, b);
    await pass(2 * BEAT, a, b);
    expectPartitioned(a, b);
    const aShare = sorted(a.group.partitions);
    expect(aShare.length).toBe(2);

    // A stops heartbeating (killed, or paused) but its tasks still run, as a zombie's would.
    await pass(TTL - BEAT, b);
    expect(sorted(b.group.partitions)).toEqual(sorted(assignPartitions(['a', 'b'], P).get('b')!));
    await pass(2 * BEAT, b);
    expect(sorted(b.group.partitions)).toEqual([0, 1, 2, 3]);

    // An event in A's partition: both tasks read it; only B's commit lands, A's is refused and A stops.
    const p = aShare[0]!;
    const event = eventIn(p, 1);
    await appendPayloads(log, [event]);
    await until(() => a.fenced.includes(p));
    expect(a.group.partitions).not.toContain(p);
    await until(async () => (await store.checkpoint(p))?.offset === 1);
    const state = (await store.get(stateKey(event.profileKey))) as KeyState;
    expect((state.ops.profile as ProfileState).n).toBe(1);
    expect(a.coordinator.events.some((e) => e.partition === p && e.kind === 'fenced')).toBe(true);
  });

  it('a worker that was paused drops its partitions when it resumes, then gets its share back by handoff', async () => {
    const a = worker('a');
    const b = worker('b');
    await pass(4 * BEAT, a, b);
    const aShare = sorted(a.group.partitions);

    await pass(TTL + 2 * BEAT, b); // A is frozen meanwhile; B takes everything
    expect(sorted(b.group.partitions)).toEqual([0, 1, 2, 3]);

    // A resumes: the gap since its last round exceeds the ttl, so it drops what it ran …
    const resumed = await a.coordinator.reconcile();
    expect(a.group.partitions).toEqual([]);
    expect(
      a.coordinator.events
        .filter((e) => e.kind === 'dropped')
        .map((e) => e.partition)
        .sort(),
    ).toEqual(aShare);
    // … and waits for B (alive, claiming them) instead of fencing it.
    expect(resumed.added).toEqual([]);
    expect(sorted(resumed.waiting)).toEqual(aShare);

    await pass(3 * BEAT, a, b);
    expectPartitioned(a, b);
    expect(sorted(a.group.partitions)).toEqual(aShare);
    expect(b.fenced).toEqual([]);
  });

  it('takes a partition from a live owner that does not release it after the handoff timeout', async () => {
    const a = worker('a');
    await round(a);
    const b = worker('b');
    const bShare = sorted(assignPartitions(['a', 'b'], P).get('b')!);
    // A keeps heartbeating (claiming everything) but never reconciles: a stuck release.
    for (let t = 0; t < HANDOFF - BEAT; t += BEAT) {
      clock.advance(BEAT);
      a.coordinator.alive();
      await a.coordinator.heartbeat();
      await b.coordinator.heartbeat();
      expect((await b.coordinator.reconcile()).added).toEqual([]);
    }
    clock.advance(2 * BEAT);
    await a.coordinator.heartbeat();
    await b.coordinator.heartbeat();
    expect(sorted((await b.coordinator.reconcile()).added)).toEqual(bShare);
  });

  it('workers started together wait a grace period, then split the partitions without fencing each other', async () => {
    const ws = ['a', 'b', 'c'].map((id) => worker(id, 2 * BEAT));
    const first = await Promise.all(
      ws.map(async (w) => {
        await w.coordinator.heartbeat();
        return w.coordinator.reconcile();
      }),
    );
    for (const result of first) expect(result.added).toEqual([]);
    await pass(3 * BEAT, ...ws);
    expectPartitioned(...ws);
    const expected = assignPartitions(['a', 'b', 'c'], P);
    for (const w of ws) expect(sorted(w.group.partitions)).toEqual(expected.get(w.id));
    expect(ws.flatMap((w) => w.fenced)).toEqual([]);
  });

  it('after losing a partition to fencing it waits a heartbeat before acquiring it again', async () => {
    const a = worker('a');
    await round(a);
    a.coordinator.onFenced(2);
    await a.group.remove(2);
    clock.advance(BEAT / 2);
    expect((await a.coordinator.reconcile()).waiting).toContain(2);
    clock.advance(BEAT);
    expect((await a.coordinator.reconcile()).added).toEqual([2]);
  });

  it('a worker that stops leaves the membership: the others take over at once, without a ttl', async () => {
    const a = worker('a');
    const b = worker('b');
    await pass(4 * BEAT, a, b);
    await a.coordinator.stop();
    expect(a.group.partitions).toEqual([]);
    const result = await b.coordinator.reconcile();
    expect(result.live).toEqual(['b']);
    expect(sorted(b.group.partitions)).toEqual([0, 1, 2, 3]);
  });
});

describe('membership liveness', () => {
  const doc = (id: string, beat: number, updatedAtMs: number): MemberDoc => ({
    id,
    beat,
    owned: [],
    startedAtMs: 0,
    updatedAtMs,
    host: 'h',
    pid: 1,
  });

  it('judges liveness by beats seen to change on the observer’s clock, not by the writer’s timestamps', async () => {
    const observer = new Membership({
      metadata,
      memberId: 'me',
      clock,
      ttlMs: TTL,
      info: { host: 'h', pid: 1, startedAtMs: 0 },
    });
    // A writer whose clock runs an hour ahead: its timestamps say nothing about its liveness.
    await metadata.put(MEMBERS_COLLECTION, 'skewed', doc('skewed', 1, clock.now() + 3_600_000));
    expect((await observer.view()).live.map((m) => m.id)).toEqual(['me', 'skewed']);
    clock.advance(TTL - 1);
    await metadata.put(MEMBERS_COLLECTION, 'skewed', doc('skewed', 2, clock.now() + 3_600_000));
    expect((await observer.view()).live.map((m) => m.id)).toContain('skewed');
    clock.advance(TTL + 1);
    const view = await observer.view();
    expect(view.live.map((m) => m.id)).toEqual(['me']);
    expect(view.dead.map((m) => m.id)).toEqual(['skewed']);
  });

  it('a doc written long ago is dead at first sight; a recent one is alive for a ttl', async () => {
    await metadata.put(MEMBERS_COLLECTION, 'ancient', doc('ancient', 7, clock.now() - 3_600_000));
    await metadata.put(MEMBERS_COLLECTION, 'recent', doc('recent', 7, clock.now() - 1_000));
    const observer = new Membership({
      metadata,
      memberId: 'me',
      clock,
      ttlMs: TTL,
      info: { host: 'h', pid: 1, startedAtMs: 0 },
    });
    const view = await observer.view();
    expect(view.live.map((m) => m.id)).toEqual(['me', 'recent']);
    expect(view.dead.map((m) => m.id)).toEqual(['ancient']);
  });

  it('forgets the docs of members dead for long (housekeeping), and a returning member rejoins', async () => {
    const observer = new Membership({
      metadata,
      memberId: 'me',
      clock,
      ttlMs: TTL,
      forgetAfterMs: 10 * TTL,
      info: { host: 'h', pid: 1, startedAtMs: 0 },
    });
    const other = new Membership({
      metadata,
      memberId: 'other',
      clock,
      ttlMs: TTL,
      info: { host: 'h', pid: 2, startedAtMs: 0 },
    });
    await other.heartbeat([1]);
    await observer.view();
    clock.advance(10 * TTL + 1);
    await observer.view();
    expect(await metadata.get(MEMBERS_COLLECTION, 'other')).toBeUndefined();
    await other.heartbeat([]);
    expect((await observer.view()).live.map((m) => m.id)).toEqual(['me', 'other']);
  });
});
