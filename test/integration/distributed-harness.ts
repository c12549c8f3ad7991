// Shared by the distributed integration tests (failover, broker outage) and bench/distributed.ts:
// role processes, a namespace on the real services and its clean-up, and a TCP proxy that can cut
// the broker connection of one process.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { readDataset, type SegmentMessage } from '../../src/datasets/index.js';
import { deleteRabbitMqEventLog } from '../../src/log/index.js';
import { PROFILE_LIMITS, type ProfileState } from '../../src/profiles/index.js';
import { segmentsOf } from '../../src/segments/index.js';
import type { KeyState } from '../../src/stream/index.js';
import { createPostgresMetadataStore, createRedisStateStore, type RedisStateStore } from '../../src/store/index.js';
import { ensureRabbitMq } from '../../src/log/rabbitmq/testing.js';
import { ensureRedis } from '../../src/store/redis/testing.js';
import { ensurePostgres } from '../../src/store/postgres/testing.js';
import { kairosCommand } from '../helpers/engine-process.js';

export const RABBITMQ_URL = 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = 'redis://127.0.0.1:6379';
export const POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/test';

export async function ensureServices(): Promise<void> {
  await ensureRabbitMq();
  ensureRedis();
  ensurePostgres();
}

/** A KAIROS_NAMESPACE no other run uses (lower case, digits, '-'). */
export function uniqueNamespace(label: string): string {
  return `kt-${label}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export interface Deployment {
  readonly namespace: string;
  readonly partitions: number;
  readonly writeKey: string;
  readonly secretKey: string;
  /** Environment of every role process of this deployment. */
  env(extra?: Record<string, string>): Record<string, string>;
}

export function deployment(label: string, partitions: number): Deployment {
  const namespace = uniqueNamespace(label);
  const writeKey = `wk_${label.replaceAll('-', '_')}`;
  const secretKey = `sk_${label.replaceAll('-', '_')}`;
  return {
    namespace,
    partitions,
    writeKey,
    secretKey,
    env: (extra = {}) => ({
      KAIROS_LOG_URL: RABBITMQ_URL,
      KAIROS_STATE_URL: REDIS_URL,
      KAIROS_METADATA_URL: POSTGRES_URL,
      KAIROS_NAMESPACE: namespace,
      KAIROS_PARTITIONS: String(partitions),
      KAIROS_WRITE_KEY: writeKey,
      KAIROS_SECRET_KEY: secretKey,
      KAIROS_LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      ...extra,
    }),
  };
}

/** Removes everything a namespace left in RabbitMQ, Redis and PostgreSQL. */
export async function dropDeployment(namespace: string): Promise<void> {
  const errors: unknown[] = [];
  await deleteRabbitMqEventLog({ url: RABBITMQ_URL, namespace }).catch((e: unknown) => errors.push(e));
  try {
    const state = await createRedisStateStore({ url: REDIS_URL, namespace });
    await state.drop();
    await state.close();
  } catch (e) {
    errors.push(e);
  }
  try {
    const metadata = await createPostgresMetadataStore({ url: POSTGRES_URL, schema: namespace.replaceAll('-', '_') });
    await metadata.drop();
    await metadata.close();
  } catch (e) {
    errors.push(e);
  }
  if (errors.length > 0) throw new AggregateError(errors, `clean-up of ${namespace} failed`);
}

/** `kairos <role>` as a child process, so a test can SIGKILL it. */
export class RoleProcess {
  private child: ChildProcess | undefined;
  private output = '';
  readonly url: string;

  constructor(
    readonly role: string,
    readonly port: number,
    private readonly env: Record<string, string>,
    private readonly command: string[] = kairosCommand(),
  ) {
    this.url = `http://127.0.0.1:${port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns it and waits for /readyz. */
  async start(timeoutMs = 90_000): Promise<void> {
    const child = spawn(process.execPath, [...this.command, this.role], {
      env: { ...process.env, ...this.env, PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => {
      this.output = (this.output + chunk.toString()).slice(-30_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${this.role} exited with ${child.exitCode}:\n${this.output}`);
      try {
        if ((await fetch(`${this.url}/readyz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${this.role} did not become ready within ${timeoutMs} ms:\n${this.output}`);
  }

  async readyz<T = Record<string, unknown>>(): Promise<T> {
    return (await (await fetch(`${this.url}/readyz`)).json()) as T;
  }

  /** SIGKILL: no shutdown hook runs. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }
}

export interface WorkerReadiness {
  worker: {
    member: string;
    assigned: number[];
    owned: number[];
    live: string[];
    partitions: { partition: number; offset: number }[];
    pipelineVersion: number;
  };
}

export interface ApiReadiness {
  api: {
    partitions: {
      partition: number;
      logEnd: number | null;
      offset: number | null;
      lag: number | null;
      owner: string | null;
    }[];
  };
}

/** Waits until the workers agree: each runs exactly what it is assigned and together they run every partition. */
export async function waitForAssignment(
  workers: readonly RoleProcess[],
  partitions: number,
  timeoutMs = 60_000,
): Promise<Map<RoleProcess, number[]>> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const states = await Promise.all(workers.map((w) => w.readyz<WorkerReadiness>()));
    const owned = states.map((s) => s.worker.partitions.map((p) => p.partition).sort((a, b) => a - b));
    last = JSON.stringify(
      states.map((s) => ({
        member: s.worker.member,
        assigned: s.worker.assigned,
        owned: s.worker.owned,
        live: s.worker.live,
      })),
    );
    const all = owned.flat().sort((a, b) => a - b);
    const settled = states.every(
      (s, i) =>
        JSON.stringify(s.worker.assigned) === JSON.stringify(owned[i]) && s.worker.live.length === workers.length,
    );
    if (settled && JSON.stringify(all) === JSON.stringify(Array.from({ length: partitions }, (_, p) => p))) {
      return new Map(workers.map((w, i) => [w, owned[i]!]));
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`workers did not settle on an assignment: ${last}`);
}

/** Waits until every partition's committed offset reached the log end (as the API role reports it). */
export async function waitCaughtUp(api: RoleProcess, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  let stable = 0;
  while (Date.now() < deadline) {
    const body = await api.readyz<ApiReadiness>();
    const parts = body.api.partitions;
    last = JSON.stringify(parts);
    if (parts.length > 0 && parts.every((p) => p.lag === 0 && p.logEnd !== null)) {
      // Two consecutive measurements (they are a second apart), so a late retry's records are seen too.
      if (++stable >= 2) return;
    } else stable = 0;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`stream did not catch up: ${last}`);
}

// ---- events and the batch reference ------------------------------------------------------------

const DATASETS = process.env.KAIROS_DATASETS_DIR ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'datasets');
const TAOBAO = join(DATASETS, 'taobao-user-behavior', 'user_behavior_stream_96k.csv');

/**
 * ≥ `min` realistic events: the time-ordered Taobao stream (read in place), passes after the first as
 * other users two hours later each; a deterministic synthetic stream without the dataset. (The per-user
 * tail file is left out: retried batches would reorder a user's five days, beyond the bound within
 * which profiles are exact — docs/stream.md.)
 */
export async function* taobaoEvents(min: number, label = 'p'): AsyncGenerator<SegmentMessage> {
  if (!existsSync(TAOBAO)) {
    for (let i = 0; i < min + 5_000; i++) {
      yield {
        type: 'track',
        messageId: `${label}-syn-${i}`,
        userId: `${label}-syn-${(i * 7919) % 40_000}`,
        event: ['Product Viewed', 'Product Added', 'Order Completed'][i % 3]!,
        properties: { product_id: `p${i % 5000}` },
        timestamp: new Date(Date.UTC(2026, 0, 1) + i * 37).toISOString(),
      };
    }
    return;
  }
  let produced = 0;
  for (let pass = 0; produced < min; pass++) {
    for await (const m of readDataset(TAOBAO, 'taobao')) {
      produced++;
      if (pass === 0) yield m;
      else
        yield {
          ...m,
          messageId: `${label}${pass}-${m.messageId}`,
          userId: `${label}${pass}-${String(m.userId)}`,
          timestamp: new Date(Date.parse(m.timestamp as string) + pass * 2 * 3_600_000).toISOString(),
        };
    }
  }
}

export interface Reference {
  eventCount: number;
  eventCounts: Record<string, number>;
  times: number[];
}

/** The batch computation the profiles must equal: per user, over the acknowledged events. */
export class BatchReference {
  readonly users = new Map<string, Reference>();
  readonly acknowledged = new Set<string>();

  add(m: SegmentMessage): void {
    if (this.acknowledged.has(m.messageId)) return;
    this.acknowledged.add(m.messageId);
    const user = String(m.userId);
    let ref = this.users.get(user);
    if (!ref) this.users.set(user, (ref = { eventCount: 0, eventCounts: {}, times: [] }));
    ref.eventCount++;
    const name = String(m.event);
    ref.eventCounts[name] = (ref.eventCounts[name] ?? 0) + 1;
    ref.times.push(Date.parse(m.timestamp as string));
  }

  expected(user: string): { n: number; c: Record<string, number>; s: number } | undefined {
    const ref = this.users.get(user);
    return ref ? { n: ref.eventCount, c: ref.eventCounts, s: referenceSessions(ref.times) } : undefined;
  }
}

export function referenceSessions(times: number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  let sessions = 0;
  for (let i = 0; i < sorted.length; i++)
    if (i === 0 || sorted[i]! - sorted[i - 1]! > PROFILE_LIMITS.sessionGapMs) sessions++;
  return sessions;
}

export function sameCounts(a: { n: number; c: Record<string, number>; s: number } | undefined, b: typeof a): boolean {
  if (!a || !b) return a === b;
  if (a.n !== b.n || a.s !== b.s) return false;
  const keys = new Set([...Object.keys(a.c), ...Object.keys(b.c)]);
  for (const k of keys) if (a.c[k] !== b.c[k]) return false;
  return true;
}

/** Scans every stored profile of a namespace and compares it with the reference. */
/** Every stored profile state of a deployment in Redis, as (user id, key state). */
async function* storedProfiles(namespace: string): AsyncGenerator<{ user: string; state: KeyState }> {
  const store: RedisStateStore = await createRedisStateStore({ url: REDIS_URL, namespace });
  try {
    let after: string | undefined;
    for (;;) {
      const page = await store.scan('s/', after === undefined ? { limit: 5_000 } : { after, limit: 5_000 });
      for (const { key, value } of page) yield { user: key.slice('s/u:'.length), state: value as KeyState };
      if (page.length < 5_000) break;
      after = page.at(-1)!.key;
    }
  } finally {
    await store.close();
  }
}

export async function compareProfiles(
  namespace: string,
  reference: BatchReference,
  sessionCount: (p: ProfileState) => number,
): Promise<{ profiles: number; mismatches: number; examples: unknown[]; missing: string[] }> {
  const seen = new Set<string>();
  let mismatches = 0;
  const examples: unknown[] = [];
  for await (const { user, state } of storedProfiles(namespace)) {
    const profile = state.ops.profile as ProfileState | undefined;
    seen.add(user);
    const actual = profile ? { n: profile.n, c: profile.c, s: sessionCount(profile) } : undefined;
    const expected = reference.expected(user);
    if (!sameCounts(actual, expected)) {
      mismatches++;
      if (examples.length < 5) examples.push({ user, actual, expected });
    }
  }
  const missing = [...reference.users.keys()].filter((u) => !seen.has(u)).slice(0, 5);
  return { profiles: seen.size, mismatches, examples, missing };
}

/**
 * Compares every stored profile's active segment memberships (as the API shows them) with
 * `expected(user)` computed from the acknowledged events. Returns the mismatches.
 */
export async function compareMemberships(
  namespace: string,
  reference: BatchReference,
  active: ReadonlyMap<string, number>,
  expected: (ref: Reference) => string[],
): Promise<{ profiles: number; members: Record<string, number>; mismatches: number; examples: unknown[] }> {
  let profiles = 0;
  let mismatches = 0;
  const members: Record<string, number> = {};
  const examples: unknown[] = [];
  for await (const { user, state } of storedProfiles(namespace)) {
    const ref = reference.users.get(user);
    if (!ref) continue;
    profiles++;
    const actual = segmentsOf(state, active).map((m) => m.id);
    for (const id of actual) members[id] = (members[id] ?? 0) + 1;
    const want = expected(ref).sort();
    if (actual.join(',') !== want.join(',')) {
      mismatches++;
      if (examples.length < 5) examples.push({ user, actual, expected: want, counts: ref.eventCounts });
    }
  }
  return { profiles, members, mismatches, examples };
}

// ---- a TCP proxy that can cut a connection ------------------------------------------------------

/**
 * Forwards a local port to `targetPort`. `cut()` destroys every connection on both sides (the broker
 * sees its client gone, the client sees a reset) and resets new ones until `restore()`: a network
 * outage between one process and the broker, without disturbing anyone else on the shared broker.
 */
export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private down = false;
  port = 0;

  constructor(private readonly targetPort: number) {}

  async start(): Promise<number> {
    const server = createServer((client) => {
      if (this.down) {
        client.destroy();
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
      for (const [a, b] of [
        [client, upstream],
        [upstream, client],
      ] as const) {
        this.sockets.add(a);
        a.on('error', () => b.destroy());
        a.on('close', () => {
          this.sockets.delete(a);
          b.destroy();
        });
        a.pipe(b);
      }
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    this.port = typeof address === 'object' && address ? address.port : 0;
    return this.port;
  }

  cut(): void {
    this.down = true;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  restore(): void {
    this.down = false;
  }

  get isDown(): boolean {
    return this.down;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
