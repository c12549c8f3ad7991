import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isKairosError } from '../../core/index.js';
import { createRedisStateStore, type RedisStateStore } from './redis-state-store.js';
import { ensureRedis, PrivateRedis, TEST_REDIS_URL, uniqueNamespace } from './testing.js';

const childScript = fileURLToPath(new URL('./fencing-child.ts', import.meta.url));
const open: RedisStateStore[] = [];
const children: ChildProcessByStdio<Writable, Readable, null>[] = [];
const namespaces: string[] = [];

async function store(
  options: { namespace?: string; url?: string; commandTimeoutMs?: number } = {},
): Promise<RedisStateStore> {
  const namespace = options.namespace ?? uniqueNamespace('int');
  if (!namespaces.includes(namespace) && (options.url ?? TEST_REDIS_URL) === TEST_REDIS_URL) namespaces.push(namespace);
  const s = await createRedisStateStore({ url: TEST_REDIS_URL, ...options, namespace });
  open.push(s);
  return s;
}

const codeOf = (error: unknown) => (isKairosError(error) ? error.code : String(error));
const step = (offset: number, puts: [string, unknown][] = [], outbox: unknown[] = []) => ({
  puts,
  deletes: [],
  checkpoint: { offset, meta: {} },
  outbox,
});

beforeAll(() => ensureRedis());
afterEach(async () => {
  for (const child of children.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  for (const s of open.splice(0)) await s.close();
});
afterAll(async () => {
  for (const namespace of namespaces) {
    const s = await createRedisStateStore({ url: TEST_REDIS_URL, namespace });
    await s.drop();
    await s.close();
  }
});

/** A child process owning a partition; lines of its stdout arrive in `lines`. */
function spawnOwner(options: unknown, partition: number, mode: 'gate' | 'stream') {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', childScript, JSON.stringify(options), String(partition), mode],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  const lines: string[] = [];
  const waiters: { test: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let buffer = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffer += chunk;
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      for (const w of waiters.splice(0))
        if (w.test(line)) w.resolve(line);
        else waiters.push(w);
    }
  });
  const waitFor = (test: (line: string) => boolean, timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const found = lines.find(test);
      if (found !== undefined) return resolve(found);
      const timer = setTimeout(
        () => reject(new Error(`no such line within ${timeoutMs} ms; last: ${lines.at(-1)}`)),
        timeoutMs,
      );
      waiters.push({
        test,
        resolve: (line) => {
          clearTimeout(timer);
          resolve(line);
        },
      });
      child.once('exit', () => {
        clearTimeout(timer);
        reject(new Error(`child exited; output: ${lines.slice(-5).join(' | ')}`));
      });
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, lines, waitFor, exited };
}

describe('Redis StateStore: fencing across processes', () => {
  it('a paused old owner (promise gate) is refused after a new owner acquired, and nothing it wrote shows', async () => {
    const namespace = uniqueNamespace('fence-gate');
    const main = await store({ namespace });
    const first = await main.acquire(2, 'setup');
    await first.commit({
      puts: [['keep', 'kept']],
      deletes: [],
      checkpoint: { offset: 1, meta: {} },
      outbox: ['setup'],
    });

    const zombie = spawnOwner({ url: TEST_REDIS_URL, namespace }, 2, 'gate');
    const zombieToken = Number((await zombie.waitFor((l) => l.startsWith('acquired '))).split(' ')[1]);
    const owner = await main.acquire(2, 'new-owner');
    expect(owner.token).toBeGreaterThan(zombieToken);
    await owner.commit({
      puts: [['shared', 'owner']],
      deletes: [],
      checkpoint: { offset: 2, meta: { by: 'owner' } },
      outbox: ['owner'],
    });

    zombie.child.stdin.write('go\n');
    expect(await zombie.waitFor((l) => l.startsWith('result '))).toBe('result STORE_FENCED');
    await zombie.exited;

    const reader = await store({ namespace });
    expect(await reader.getMany(['zombie/a', 'shared', 'keep'])).toEqual([undefined, 'owner', 'kept']);
    expect(await reader.checkpoint(2)).toEqual({ offset: 2, meta: { by: 'owner' } });
    expect((await reader.readOutbox(2, 0, 100)).map((r) => [r.seq, r.value])).toEqual([
      [1, 'setup'],
      [2, 'owner'],
    ]);
    expect((await reader.scan('zombie/')).length).toBe(0);
  });

  it('a process frozen with SIGSTOP mid-stream cannot land a single commit after the takeover', async () => {
    const namespace = uniqueNamespace('fence-stop');
    const zombie = spawnOwner({ url: TEST_REDIS_URL, namespace }, 4, 'stream');
    await zombie.waitFor((l) => l === 'ok 20');
    zombie.child.kill('SIGSTOP');
    // Anything the frozen process had fully sent has run by now; a half-sent command waits in Redis.
    await new Promise((r) => setTimeout(r, 200));
    const main = await store({ namespace });
    const owner = await main.acquire(4, 'new-owner');
    const taken = (await owner.checkpoint())?.offset ?? 0;
    expect(taken).toBeGreaterThanOrEqual(20);
    await owner.commit(step(taken + 1000, [['loop', 'owner']], ['owner']));
    zombie.child.kill('SIGCONT');

    const result = await zombie.waitFor((l) => l.startsWith('result '));
    const [, code, failedAt] = result.split(' ');
    expect(code).toBe('STORE_FENCED');
    await zombie.exited;

    expect(await main.get('loop')).toBe('owner');
    expect(await main.get(`zombie/${failedAt}`)).toBeUndefined();
    expect((await main.scan('zombie/', { limit: 100_000 })).length).toBe(taken);
    expect(await main.checkpoint(4)).toEqual({ offset: taken + 1000, meta: {} });
    const outbox = await main.readOutbox(4, 0, 100_000);
    expect(outbox.map((r) => r.seq)).toEqual(Array.from({ length: taken + 1 }, (_, i) => i + 1));
    expect(outbox.at(-1)?.value).toBe('owner');
    expect(outbox.at(-2)?.value).toBe(taken);
  });

  it('release fences the released handle and the next owner gets a greater token', async () => {
    const s = await store();
    const a = await s.acquire(0, 'a');
    await a.release();
    const error = await a.commit(step(1, [['x', 1]])).catch((e: unknown) => e);
    expect(codeOf(error)).toBe('STORE_FENCED');
    expect(await s.get('x')).toBeUndefined();
    const b = await s.acquire(0, 'b');
    expect(b.token).toBeGreaterThan(a.token);
    await b.commit(step(1, [['x', 2]]));
    expect(await s.get('x')).toBe(2);
  });

  it('a handle from before a Redis data loss never matches a token handed out after it', async () => {
    const namespace = uniqueNamespace('epoch');
    const s = await store({ namespace });
    const before = await s.acquire(1, 'before');
    expect(before.token).toBe(1);
    await s.drop(); // what a restart without persistence (or FLUSHALL) does to the namespace
    const after = await s.acquire(1, 'after');
    expect(after.token).toBe(1);
    expect(codeOf(await before.commit(step(5, [['k', 'stale']])).catch((e: unknown) => e))).toBe('STORE_FENCED');
    await after.commit(step(1, [['k', 'fresh']]));
    expect(await s.get('k')).toBe('fresh');
  });
});

describe('Redis StateStore: layout details', () => {
  it('scan orders keys by UTF-8 bytes, pages across the script chunk size, and stays inside the prefix', async () => {
    const s = await store();
    const p = await s.acquire(0, 'w');
    const keys = Array.from({ length: 1203 }, (_, i) => `big/${String(i).padStart(5, '0')}`);
    const odd = ['u/z', 'u/é', 'u/a', 'u/\u0000x', 'u/😀', 'u/\uffee', 'u/a/b', 'u0', 'u'];
    await p.commit(
      step(
        1,
        [...keys, ...odd].map((k) => [k, k] as [string, unknown]),
      ),
    );
    const bytewise = odd
      .filter((k) => k.startsWith('u/'))
      .sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect((await s.scan('u/')).map((kv) => kv.key)).toEqual(bytewise);
    expect((await s.scan('u/', { after: 'u/a' })).map((kv) => kv.key)).toEqual(
      bytewise.slice(bytewise.indexOf('u/a') + 1),
    );
    expect((await s.scan('u/', { after: 'a' })).length).toBe(bytewise.length);
    expect((await s.scan('u/', { after: 'v' })).length).toBe(0);
    const all = await s.scan('big/', { limit: 5000 });
    expect(all.map((kv) => kv.key)).toEqual(keys);
    expect(all.every((kv) => kv.value === kv.key)).toBe(true);
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await s.scan('big/', after === undefined ? { limit: 500 } : { after, limit: 500 });
      if (page.length === 0) break;
      paged.push(...page.map((kv) => kv.key));
      after = page.at(-1)!.key;
    }
    expect(paged).toEqual(keys);
    expect((await s.scan('')).length).toBe(1000);
  });

  it('deletes leave the index, and a key put and deleted in one commit ends deleted', async () => {
    const s = await store();
    const p = await s.acquire(0, 'w');
    await p.commit(
      step(1, [
        ['i/a', 1],
        ['i/b', 2],
        ['i/c', 3],
      ]),
    );
    await p.commit({ puts: [['i/d', 4]], deletes: ['i/b', 'i/d'], checkpoint: { offset: 2, meta: {} }, outbox: [] });
    expect((await s.scan('i/')).map((kv) => kv.key)).toEqual(['i/a', 'i/c']);
    expect(await s.getMany(['i/b', 'i/d'])).toEqual([undefined, undefined]);
  });

  it('getMany beyond one MGET chunk keeps the order; namespaces do not see each other', async () => {
    const a = await store();
    const b = await store();
    const p = await a.acquire(0, 'w');
    const keys = Array.from({ length: 2500 }, (_, i) => `m/${i}`);
    await p.commit(
      step(
        1,
        keys.map((k, i) => [k, { i }] as [string, unknown]),
      ),
    );
    const values = await a.getMany([...keys, 'missing']);
    expect(values.slice(0, 2500)).toEqual(keys.map((_, i) => ({ i })));
    expect(values[2500]).toBeUndefined();
    expect(await b.get('m/1')).toBeUndefined();
    expect(await b.scan('m/')).toEqual([]);
    expect(await b.checkpoint(0)).toBeUndefined();
  });

  it('a commit of 20 000 keys applies whole', async () => {
    const s = await store();
    const p = await s.acquire(3, 'w');
    const puts = Array.from({ length: 20_000 }, (_, i) => [`bulk/${i}`, 'x'.repeat(100)] as [string, unknown]);
    await p.commit({
      puts,
      deletes: [],
      checkpoint: { offset: 7, meta: {} },
      outbox: Array.from({ length: 1000 }, (_, i) => i),
    });
    expect((await s.scan('bulk/', { limit: 30_000 })).length).toBe(20_000);
    expect(await p.outboxSeq()).toBe(1000);
  });

  it('refuses invalid options and rejects calls after close with STORE_CLOSED', async () => {
    await expect(createRedisStateStore({ url: TEST_REDIS_URL, namespace: 'has space' })).rejects.toMatchObject({
      code: 'STORE_INVALID_OPTIONS',
    });
    const namespace = uniqueNamespace('closed');
    namespaces.push(namespace);
    const s = await createRedisStateStore({ url: TEST_REDIS_URL, namespace });
    await s.close();
    await expect(s.get('a')).rejects.toMatchObject({ code: 'STORE_CLOSED' });
  });
});

describe('Redis StateStore: outages (a private redis-server)', () => {
  let server: PrivateRedis;
  beforeAll(async () => {
    server = await PrivateRedis.start();
  });
  afterAll(async () => {
    await server.kill();
  });

  it('opening against a port nobody listens on fails with STORE_UNAVAILABLE', async () => {
    const dead = new PrivateRedis(server.port + 1);
    const error = await createRedisStateStore({ url: dead.url, namespace: 'x', connectTimeoutMs: 1000 }).catch(
      (e: unknown) => e,
    );
    expect(codeOf(error)).toBe('STORE_UNAVAILABLE');
  });

  it('a server crash makes calls fail fast with STORE_UNAVAILABLE; the store recovers when it is back', async () => {
    const s = await store({ url: server.url, namespace: 'outage' });
    const p = await s.acquire(0, 'w');
    await p.commit(step(1, [['a', 1]]));
    const epoch = server.cli('GET', '{outage}:epoch');
    const fence = server.cli('GET', '{outage}:fence:0');
    await server.kill();
    const startedAt = Date.now();
    const readError = await s.get('a').catch((e: unknown) => e);
    const commitError = await p.commit(step(2, [['a', 2]])).catch((e: unknown) => e);
    expect(codeOf(readError)).toBe('STORE_UNAVAILABLE');
    expect(codeOf(commitError)).toBe('STORE_UNAVAILABLE');
    expect((readError as { retryable: boolean }).retryable).toBe(true);
    // Fail fast: no offline queue, so neither call waited for the 5 s command timeout.
    expect(Date.now() - startedAt).toBeLessThan(4000);

    await server.start();
    let recovered = false;
    for (let i = 0; i < 100 && !recovered; i++) {
      try {
        await s.checkpoint(0);
        recovered = true;
      } catch (error) {
        expect(codeOf(error)).toBe('STORE_UNAVAILABLE');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    expect(recovered).toBe(true);
    // Even if the restarted server had kept the fence and epoch (an AOF that lost only later writes),
    // a handle acquired before the restart proves nothing any more: it is fenced.
    server.cli('SET', '{outage}:epoch', epoch);
    server.cli('SET', '{outage}:fence:0', fence);
    const stale = await p.commit(step(3, [['a', 3]])).catch((e: unknown) => e);
    expect(codeOf(stale)).toBe('STORE_FENCED');
    expect(await s.get('a')).toBeUndefined();
    const again = await s.acquire(0, 'w2');
    await again.commit(step(1, [['a', 'again']]));
    expect(await s.get('a')).toBe('again');
  });

  it('a stalled server (DEBUG SLEEP) turns calls into STORE_UNAVAILABLE after the command timeout; the late reply is not misread', async () => {
    const s = await store({ url: server.url, namespace: 'stall', commandTimeoutMs: 300 });
    const p = await s.acquire(0, 'w');
    await p.commit(step(1, [['k', 'before']], ['one']));
    const sleeping = server.cliAsync('DEBUG', 'SLEEP', '1.5');
    await new Promise((r) => setTimeout(r, 100));
    const commitError = await p
      .commit(
        step(
          2,
          [
            ['k', 'during'],
            ['k2', 'during'],
          ],
          ['two'],
        ),
      )
      .catch((e: unknown) => e);
    const readError = await s.get('k').catch((e: unknown) => e);
    expect(codeOf(commitError)).toBe('STORE_UNAVAILABLE');
    expect((commitError as { details: { ambiguous: boolean } }).details.ambiguous).toBe(true);
    expect(codeOf(readError)).toBe('STORE_UNAVAILABLE');
    await sleeping;
    // The commit was queued in the server and ran after the sleep: "ambiguous" means exactly this. The
    // caller re-reads instead of resending, and sees it whole.
    const reader = await store({ url: server.url, namespace: 'stall' });
    expect(await reader.checkpoint(0)).toEqual({ offset: 2, meta: {} });
    expect(await reader.getMany(['k', 'k2'])).toEqual(['during', 'during']);
    expect((await reader.readOutbox(0, 0, 10)).map((r) => r.value)).toEqual(['one', 'two']);
    // The first client's late replies were matched to the timed-out commands, not to later ones.
    expect(await s.getMany(['k', 'k2', 'nope'])).toEqual(['during', 'during', undefined]);
    expect(await s.checkpoint(0)).toEqual({ offset: 2, meta: {} });
  });

  it('a killed connection (CLIENT KILL) reconnects; calls in between fail only with STORE_UNAVAILABLE', async () => {
    const s = await store({ url: server.url, namespace: 'kill' });
    const p = await s.acquire(0, 'w');
    await p.commit(step(1, [['k', 1]]));
    const before = server
      .cli('CLIENT', 'LIST')
      .split('\n')
      .filter((l) => l.includes('name=kairos-state:kill'));
    expect(before.length).toBe(1);
    const id = /\bid=(\d+)/.exec(before[0]!)![1]!;
    expect(server.cli('CLIENT', 'KILL', 'ID', id)).toBe('1');
    const errors: unknown[] = [];
    let value: unknown;
    for (let i = 0; i < 100; i++) {
      try {
        value = await s.get('k');
        break;
      } catch (error) {
        errors.push(error);
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(value).toBe(1);
    expect(errors.map(codeOf).filter((c) => c !== 'STORE_UNAVAILABLE')).toEqual([]);
    const after = server
      .cli('CLIENT', 'LIST')
      .split('\n')
      .filter((l) => l.includes('name=kairos-state:kill'));
    expect(after.length).toBe(1);
    expect(after[0]).not.toBe(before[0]);
    await p.commit(step(2, [['k', 2]]));
    expect(await s.get('k')).toBe(2);
  });
});
