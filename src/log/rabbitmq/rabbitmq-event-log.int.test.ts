import { execFile } from 'node:child_process';
import { createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { connect as amqpConnect } from 'amqplib';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isKairosError } from '../../core/index.js';
import { selfCheckingValue } from '../conformance.js';
import type { EventLog, LogEntry, LogRecord } from '../port.js';
import { deleteRabbitMqEventLog } from './admin.js';
import { HEADERS } from './codec.js';
import type { RabbitMqEventLogOptions } from './options.js';
import { createRabbitMqEventLog } from './rabbitmq-event-log.js';
import { TEST_RABBITMQ_URL, ensureRabbitMq, uniqueNamespace } from './testing.js';
import type { RabbitMqEventLog } from './types.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(ensureRabbitMq, 300_000);

const namespaces = new Set<string>();
const opened: EventLog[] = [];
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close().catch(() => undefined);
});
afterAll(async () => {
  for (const namespace of namespaces) await deleteRabbitMqEventLog({ url: TEST_RABBITMQ_URL, namespace });
}, 120_000);

function capture() {
  const lines: { level: number; msg: string }[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  return { logger, warnings: () => lines.filter((l) => l.level === 40).map((l) => l.msg) };
}

async function openLog(options: Partial<RabbitMqEventLogOptions> & { namespace: string }): Promise<RabbitMqEventLog> {
  namespaces.add(options.namespace);
  const log = await createRabbitMqEventLog({ url: TEST_RABBITMQ_URL, partitionCount: 4, ...options });
  opened.push(log);
  return log;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (err) {
    if (isKairosError(err)) return err.code;
    throw err;
  }
  return undefined;
}

/** Closes, from the broker side, every connection whose client-provided name is `name` (nobody else's). */
async function closeConnectionsNamed(name: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['list_connections', 'pid', 'client_properties', '-q'], {
    timeout: 60_000,
  });
  const pids = stdout
    .split('\n')
    .filter((line) => line.includes(`{"connection_name","${name}"}`))
    .map((line) => line.split('\t')[0]!.trim());
  for (const pid of pids)
    await run('rabbitmqctl', ['close_connection', pid, 'kairos test: broker-side close'], { timeout: 60_000 });
  return pids.length;
}

async function readAll(log: EventLog, partition: number): Promise<LogRecord[]> {
  const { start, end } = await log.offsets(partition);
  const reader = await log.openReader(partition, start);
  const records: LogRecord[] = [];
  try {
    while (reader.position < end) {
      const batch = await reader.read({ maxRecords: 1_000, waitMs: 10_000 });
      if (batch.length === 0) throw new Error(`partition ${partition}: nothing at ${reader.position} (end ${end})`);
      records.push(...batch);
    }
  } finally {
    await reader.close();
  }
  return records;
}

function isWhole(record: LogRecord): boolean {
  if (record.value.byteLength < 4) return false;
  const view = new DataView(record.value.buffer, record.value.byteOffset, record.value.byteLength);
  return view.getUint32(0, true) === crc32(record.value.subarray(4), crc32(record.key));
}

interface Ack {
  readonly key: string;
  readonly crc: number;
  readonly length: number;
}

/** Appenders that keep going through failures, remembering every acknowledged record and every error code. */
function startAppenders(log: EventLog, loops: number) {
  const acked = new Map<string, Ack>();
  const codes = new Map<string, number>();
  let stop = false;
  let seq = 0;
  const running = Array.from({ length: loops }, async () => {
    while (!stop) {
      const entries: LogEntry[] = Array.from({ length: 20 + (seq % 30) }, (_, i) => {
        const key = `k-${(seq * 7 + i) % 50}`;
        const payload = Buffer.from(`record ${seq}.${i} `.repeat(1 + (i % 20)));
        return { key, value: selfCheckingValue(key, payload), timestampMs: Date.now() };
      });
      seq++;
      try {
        const positions = await log.append(entries);
        positions.forEach(({ partition, offset }, i) => {
          const id = `${partition}:${offset}`;
          expect(acked.has(id), `${id} acknowledged twice`).toBe(false);
          acked.set(id, { key: entries[i]!.key, crc: crc32(entries[i]!.value), length: entries[i]!.value.byteLength });
        });
      } catch (err) {
        expect(isKairosError(err) && err.retryable, `unexpected failure ${String(err)}`).toBe(true);
        const code = (err as { code: string }).code;
        codes.set(code, (codes.get(code) ?? 0) + 1);
        await sleep(20);
      }
    }
  });
  return {
    acked,
    codes,
    async stop() {
      stop = true;
      await Promise.all(running);
    },
  };
}

/** Every acknowledged record is there with its bytes; offsets are dense; nothing partial anywhere. */
async function verify(log: EventLog, acked: ReadonlyMap<string, Ack>): Promise<number> {
  let present = 0;
  for (let p = 0; p < log.partitionCount; p++) {
    const records = await readAll(log, p);
    const { start } = await log.offsets(p);
    records.forEach((record, i) => {
      expect(record.offset, `partition ${p} is not dense`).toBe(start + i);
      expect(isWhole(record), `${p}:${record.offset} is not whole`).toBe(true);
      expect(log.partitionOf(record.key)).toBe(p);
    });
    const byOffset = new Map(records.map((r) => [r.offset, r]));
    for (const [id, ack] of acked) {
      const [partition, offset] = id.split(':').map(Number) as [number, number];
      if (partition !== p) continue;
      const record = byOffset.get(offset);
      expect(record, `acknowledged ${id} is missing`).toBeDefined();
      expect(record!.key).toBe(ack.key);
      expect(record!.value.byteLength).toBe(ack.length);
      expect(crc32(record!.value)).toBe(ack.crc);
    }
    present += records.length;
  }
  return present;
}

describe('RabbitMQ event log: broker outages', () => {
  it('a broker-side close fails in-flight appends with LOG_UNAVAILABLE, then appends and readers recover with nothing acknowledged lost', async () => {
    const namespace = uniqueNamespace('outage');
    const connectionName = `kairos-test-conn-${namespace}`;
    const { logger, warnings } = capture();
    const log = await openLog({ namespace, connectionName, logger });
    // A reader on the same connection follows partition 0 through the outage.
    const follower = await log.openReader(0, 0);
    const followed: LogRecord[] = [];
    let following = true;
    const follow = (async () => {
      while (following) {
        try {
          followed.push(...(await follower.read({ maxRecords: 500, waitMs: 200 })));
        } catch (err) {
          // Closed under it (the test failed and afterEach closed the log): stop, do not spin.
          if (isKairosError(err, 'LOG_CLOSED')) break;
          expect(isKairosError(err, 'LOG_UNAVAILABLE'), String(err)).toBe(true);
          await sleep(50);
        }
      }
    })();

    const appenders = startAppenders(log, 4);
    while (appenders.acked.size < 500) await sleep(20);
    expect(await closeConnectionsNamed(connectionName)).toBe(1);
    const deadline = Date.now() + 30_000;
    while (!appenders.codes.get('LOG_UNAVAILABLE') && Date.now() < deadline) await sleep(20);
    expect(appenders.codes.get('LOG_UNAVAILABLE'), 'in-flight appends rejected').toBeGreaterThanOrEqual(1);
    const ackedAtOutage = appenders.acked.size;
    while (appenders.acked.size < ackedAtOutage + 500 && Date.now() < deadline + 30_000) await sleep(20);
    await appenders.stop();
    expect(appenders.acked.size, 'appends recovered after the outage').toBeGreaterThanOrEqual(ackedAtOutage + 500);
    expect([...appenders.codes.keys()].every((code) => code === 'LOG_UNAVAILABLE' || code === 'LOG_BACKPRESSURE')).toBe(
      true,
    );
    expect(log.stats().reconnects).toBeGreaterThanOrEqual(1);
    expect(warnings()).toContain('rabbitmq log: connection closed; reconnecting');

    await verify(log, appenders.acked);
    // The follower saw partition 0 in order, without a gap or a duplicate, across the reconnect.
    const { end } = await log.offsets(0);
    const followDeadline = Date.now() + 30_000;
    while (followed.length < end && Date.now() < followDeadline) await sleep(50);
    following = false;
    await follow;
    expect(followed.map((r) => r.offset)).toEqual(Array.from({ length: end }, (_, i) => i));
    await follower.close();
  });

  it('a stalled connection rejects appends with LOG_UNAVAILABLE; publishes it still delivers afterwards never reuse an offset', async () => {
    const proxy = await StallProxy.start(5672);
    try {
      const namespace = uniqueNamespace('stall');
      const log = await openLog({
        namespace,
        url: `amqp://guest:guest@127.0.0.1:${proxy.port}`,
        publishTimeoutMs: 1_000,
        connectTimeoutMs: 20_000,
        heartbeatSeconds: 0,
      });
      const acked = new Map<string, Ack>();
      const batch = (label: string, n: number): LogEntry[] =>
        Array.from({ length: n }, (_, i) => {
          const key = `s-${i % 13}`;
          return { key, value: selfCheckingValue(key, Buffer.from(`${label} ${i}`)), timestampMs: i };
        });
      const remember = (entries: LogEntry[], positions: { partition: number; offset: number }[]) =>
        positions.forEach(({ partition, offset }, i) =>
          acked.set(`${partition}:${offset}`, {
            key: entries[i]!.key,
            crc: crc32(entries[i]!.value),
            length: entries[i]!.value.byteLength,
          }),
        );
      const before = batch('before', 40);
      remember(before, await log.append(before));

      // The network path stalls: bytes in both directions are held, not lost.
      proxy.stall();
      expect(await codeOf(log.append(batch('stalled', 40)))).toBe('LOG_UNAVAILABLE');
      // The client gives up on the stalled connection; when it drops it, the proxy delivers the held
      // publishes to the broker anyway (then closes): records whose append was rejected land in the streams
      // *after* the client gave up. The next writer must find them and continue after them.
      const after = batch('after', 40);
      remember(after, await log.append(after));
      expect(proxy.deliveredAfterStall).toBeGreaterThan(0);

      const present = await verify(log, acked);
      // At-least-once: the stalled append's records were delivered late and are kept, under fresh offsets.
      expect(present).toBe(120);
    } finally {
      await proxy.close();
    }
  });
});

describe('RabbitMQ event log: fences and modes', () => {
  it('one live writer per namespace: a second writer fails with LOG_LOCKED until the first closes', async () => {
    const namespace = uniqueNamespace('fence');
    const first = await openLog({ namespace });
    await first.append([{ key: 'a', value: Buffer.from('1'), timestampMs: 1 }]);
    expect(await codeOf(openLog({ namespace, connectTimeoutMs: 1_500 }))).toBe('LOG_LOCKED');
    await first.close();
    const second = await openLog({ namespace });
    const [position] = await second.append([{ key: 'a', value: Buffer.from('2'), timestampMs: 2 }]);
    expect(position).toEqual({ partition: second.partitionOf('a'), offset: 1 });
  });

  it('a reader-mode instance reads and reports offsets but cannot append', async () => {
    const namespace = uniqueNamespace('reader');
    const writer = await openLog({ namespace });
    const entries = Array.from({ length: 30 }, (_, i) => ({
      key: `r${i}`,
      value: Buffer.from(`v${i}`),
      timestampMs: i,
    }));
    await writer.append(entries);
    const reader = await openLog({ namespace, mode: 'reader' });
    expect(await codeOf(reader.append(entries))).toBe('LOG_READ_ONLY');
    for (let p = 0; p < 4; p++) {
      expect(await reader.offsets(p)).toEqual(await writer.offsets(p));
      expect((await readAll(reader, p)).map((r) => r.key)).toEqual((await readAll(writer, p)).map((r) => r.key));
    }
    expect(await codeOf(openLog({ namespace: uniqueNamespace('missing'), mode: 'reader' }))).toBe(
      'LOG_INVALID_OPTIONS',
    );
  });

  it('refuses another partition count or other retention arguments for an existing namespace', async () => {
    const namespace = uniqueNamespace('args');
    const log = await openLog({ namespace, partitionCount: 4, retentionBytes: 1_000_000 });
    await log.close();
    expect(await codeOf(openLog({ namespace, partitionCount: 8, retentionBytes: 1_000_000 }))).toBe(
      'LOG_INVALID_OPTIONS',
    );
    expect(await codeOf(openLog({ namespace, partitionCount: 2, retentionBytes: 1_000_000 }))).toBe(
      'LOG_INVALID_OPTIONS',
    );
    expect(await codeOf(openLog({ namespace, partitionCount: 4, retentionBytes: 2_000_000 }))).toBe(
      'LOG_INVALID_OPTIONS',
    );
    await (await openLog({ namespace, partitionCount: 4, retentionBytes: 1_000_000 })).close();
  });
});

describe('RabbitMQ event log: why log offsets are not stream offsets', () => {
  it('stream offsets skip a number at segment rolls and count messages, while log offsets stay dense', async () => {
    const namespace = uniqueNamespace('gaps');
    const log = await openLog({ namespace, partitionCount: 1, segmentBytes: 4_096 });
    // 60 appends of one record (one message each), then 4 appends of 10 records (one message each).
    for (let i = 0; i < 60; i++) await log.append([{ key: 'g', value: Buffer.alloc(300, i), timestampMs: i }]);
    for (let round = 0; round < 4; round++)
      await log.append(
        Array.from({ length: 10 }, (_, i) => ({ key: 'g', value: Buffer.alloc(300, i), timestampMs: i })),
      );
    const count = 100;
    // Read the stream as a plain AMQP consumer: which stream offsets did the broker give our messages?
    const connection = await amqpConnect(TEST_RABBITMQ_URL);
    const messages: { stream: number; base: number }[] = [];
    try {
      const channel = await connection.createChannel();
      await channel.prefetch(1_000);
      await channel.consume(
        log.queueName(0),
        (message) => {
          if (!message) return;
          const headers = message.properties.headers as Record<string, number>;
          const base = headers[HEADERS.offset];
          if (base !== undefined) messages.push({ stream: headers[HEADERS.streamOffset]!, base });
          channel.ack(message);
        },
        { arguments: { 'x-stream-offset': 'first' } },
      );
      const deadline = Date.now() + 10_000;
      while (messages.length < 64 && Date.now() < deadline) await sleep(20);
    } finally {
      await connection.close();
    }
    expect(messages).toHaveLength(64);
    // osiris writes a tracking snapshot chunk at the head of every new segment, and it takes a stream offset.
    const single = messages.slice(0, 60).map((m) => m.stream);
    expect(single.some((offset, i) => i > 0 && offset !== single[i - 1]! + 1)).toBe(true);
    expect(messages.map((m) => m.base)).toEqual([...Array.from({ length: 60 }, (_, i) => i), 60, 70, 80, 90]);
    // The adapter's reader returns the dense log offsets, from anywhere.
    expect((await readAll(log, 0)).map((r) => r.offset)).toEqual(Array.from({ length: count }, (_, i) => i));
    for (const from of [0, 37, 59, 60, 65, 99, 100]) {
      const reader = await log.openReader(0, from);
      const records = from < count ? await reader.read({ maxRecords: 1_000, waitMs: 5_000 }) : [];
      expect(records.map((r) => r.offset)).toEqual(Array.from({ length: count - from }, (_, i) => from + i));
      await reader.close();
    }
  });
});

describe('RabbitMQ event log: streams without records', () => {
  it('a stream holding no record of ours (emptied by retention, or foreign messages only) continues above any offset it can have held', async () => {
    const namespace = uniqueNamespace('emptied');
    namespaces.add(namespace);
    // Before any writer: the stream exists and holds one message that is not ours.
    const connection = await amqpConnect(TEST_RABBITMQ_URL);
    try {
      const channel = await connection.createConfirmChannel();
      await channel.assertQueue(`${namespace}.log.p0`, { durable: true, arguments: { 'x-queue-type': 'stream' } });
      channel.sendToQueue(`${namespace}.log.p0`, Buffer.from('not a kairos record'));
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    const { logger, warnings } = capture();
    const log = await openLog({ namespace, partitionCount: 1, logger });
    expect(warnings()).toContain(
      'rabbitmq log: the stream holds no record (removed by retention); continuing above any offset it held',
    );
    // The foreign message took stream offset 0 and the probe 1: continue at 1 × MAX_BATCH_RECORDS.
    const [position] = await log.append([{ key: 'k', value: Buffer.from('first'), timestampMs: 1 }]);
    expect(position).toEqual({ partition: 0, offset: 8_192 });
    expect(await log.offsets(0)).toEqual({ start: 8_192, end: 8_193 });
    const reader = await log.openReader(0, 0);
    expect(reader.position).toBe(8_192);
    expect((await reader.read({ maxRecords: 10, waitMs: 5_000 })).map((r) => Buffer.from(r.value).toString())).toEqual([
      'first',
    ]);
    await reader.close();
    // The decision was recorded (fence marker): a new writer agrees instead of jumping again.
    await log.close();
    const again = await openLog({ namespace, partitionCount: 1 });
    expect(await again.offsets(0)).toEqual({ start: 8_192, end: 8_193 });
  });
});

describe('RabbitMQ event log: readers', () => {
  it('resume exactly after releasing their consumer mid-batch, and seek anywhere among many batches', async () => {
    const namespace = uniqueNamespace('seek');
    const log = await openLog({ namespace, partitionCount: 1, readerIdleMs: 100 });
    // 300 messages of 1 to 9 records: log offsets and stream offsets drift apart.
    let count = 0;
    for (let m = 0; m < 300; m++) {
      const n = 1 + (m % 9);
      await log.append(
        Array.from({ length: n }, (_, i) => ({ key: 'k', value: Buffer.from(`${count + i}`), timestampMs: m })),
      );
      count += n;
    }
    const reader = await log.openReader(0, 0);
    const seen: number[] = [];
    while (seen.length < count) {
      const batch = await reader.read({ maxRecords: 7, waitMs: 5_000 });
      expect(batch.length).toBeGreaterThan(0);
      for (const record of batch) {
        expect(Buffer.from(record.value).toString()).toBe(String(record.offset));
        seen.push(record.offset);
      }
      // Idle past readerIdleMs now and then: the consumer is released and re-created mid-message.
      if (seen.length % 5 === 0) await sleep(150);
    }
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
    await reader.close();
    const rand = (n: number) => Math.floor(Math.random() * n);
    for (const from of [0, 1, count - 1, count, count + 3, ...Array.from({ length: 12 }, () => rand(count))]) {
      const at = await log.openReader(0, from);
      expect(at.position).toBe(from);
      const records = from < count ? await at.read({ maxRecords: 3, waitMs: 5_000 }) : [];
      expect(records.map((r) => r.offset)).toEqual(
        Array.from({ length: Math.min(3, Math.max(0, count - from)) }, (_, i) => from + i),
      );
      await at.close();
    }
  });
});

/**
 * A TCP proxy in front of the broker whose existing connections can be stalled: bytes are held in both
 * directions (a frozen network path). When the client drops a stalled connection, the bytes it had sent
 * are still delivered to the broker before the proxy closes that side — as a slow network would.
 */
class StallProxy {
  private stalled = false;
  private readonly pairs = new Set<{ client: Socket; upstream: Socket; held: Buffer[]; stalled: boolean }>();
  deliveredAfterStall = 0;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(targetPort: number): Promise<StallProxy> {
    const holder: { proxy?: StallProxy } = {};
    const server = createServer((client) => holder.proxy!.accept(client, targetPort));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no proxy port');
    holder.proxy = new StallProxy(server, address.port);
    return holder.proxy;
  }

  /** Stalls the connections open now; connections made later pass freely. */
  stall(): void {
    for (const pair of this.pairs) pair.stalled = true;
    this.stalled = true;
  }

  private accept(client: Socket, targetPort: number): void {
    const upstream = netConnect({ host: '127.0.0.1', port: targetPort });
    const pair = { client, upstream, held: [] as Buffer[], stalled: false };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => (pair.stalled ? pair.held.push(chunk) : upstream.write(chunk)));
    upstream.on('data', (chunk: Buffer) => {
      if (!pair.stalled) client.write(chunk);
    });
    client.on('close', () => {
      this.pairs.delete(pair);
      if (pair.held.length > 0) {
        this.deliveredAfterStall += pair.held.reduce((sum, b) => sum + b.length, 0);
        for (const chunk of pair.held) upstream.write(chunk);
      }
      upstream.end();
    });
    upstream.on('close', () => client.destroy());
    client.on('error', () => undefined);
    upstream.on('error', () => client.destroy());
  }

  async close(): Promise<void> {
    for (const { client, upstream } of this.pairs) {
      client.destroy();
      upstream.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
