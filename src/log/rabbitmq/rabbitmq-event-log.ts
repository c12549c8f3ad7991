import { randomUUID } from 'node:crypto';
import type { ConfirmChannel, Message } from 'amqplib';
import { isKairosError, partitionFor } from '../../core/index.js';
import type { KairosError } from '../../core/index.js';
import { LogErrors } from '../errors.js';
import type { LogErrorCode } from '../errors.js';
import type { LogEntry, LogPosition, LogReader, PartitionOffsets } from '../port.js';
import {
  MAX_BATCH_BYTES,
  MAX_BATCH_RECORDS,
  batchBytes,
  batchPublishOptions,
  encodeBatch,
  fencePublishOptions,
  singlePublishOptions,
} from './codec.js';
import {
  MAX_KEY_BYTES,
  fenceQueueName,
  resolveRabbitMqEventLogOptions,
  streamQueueArguments,
  streamQueueName,
} from './options.js';
import type { RabbitMqEventLogOptions, RabbitMqLogMode, ResolvedRabbitMqEventLogOptions } from './options.js';
import { RabbitMqLogReader } from './reader.js';
import { firstMessage, probeStream, scanTail } from './scan.js';
import { AmqpSession, brokerCode, loadAmqplib, sleep, withTimeout, type Link } from './session.js';
import type { RabbitMqEventLog, RabbitMqLogStats } from './types.js';

/** The broker versions whose consumer delivery order scan.ts relies on (checked against 3.10.8's sources). */
const TESTED_BROKER = /^3\.10\./;
/** Channels opened at once for declarations and fences (RabbitMQ allows 2047 per connection). */
const SETUP_CONCURRENCY = 16;

/**
 * Opens the RabbitMQ EventLog over AMQP 0.9.1 (amqplib, loaded on first use): connects, checks or
 * declares the stream queues `<namespace>.log.p<N>` and, as a writer, takes every partition's fence
 * and reads where each stream ends. See docs/log-rabbitmq.md.
 */
export async function createRabbitMqEventLog(options: RabbitMqEventLogOptions): Promise<RabbitMqEventLog> {
  const resolved = resolveRabbitMqEventLogOptions(options);
  const lib = await loadAmqplib();
  const log = new RabbitMqEventLogImpl(new AmqpSession(lib, resolved), resolved);
  try {
    await log.open();
  } catch (err) {
    await log.close().catch(() => undefined);
    throw err;
  }
  return log;
}

/** Runs `fn` over `items` with at most `limit` in flight; rejects with the first failure. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i]!);
      }
    }),
  );
  return results;
}

/** A partition's writer state: its fence, and the next log offset to assign. */
interface Writer {
  readonly partition: number;
  readonly queue: string;
  /** Connection generation whose exclusive fence queue we hold. */
  fenceGeneration: number | undefined;
  /** Next log offset to assign; undefined until the stream's end is known. */
  next: number | undefined;
  /** Every offset below is confirmed (or was found in the stream). */
  durableEnd: number;
  /** A publish failed since the last sync: the stream's end must be read again before appending. */
  dirty: boolean;
  preparing: Promise<void> | undefined;
}

interface Publisher {
  readonly channel: ConfirmChannel;
  readonly generation: number;
  broken: boolean;
}

/** An append waiting in the queue, then in flight until every message holding its records is confirmed. */
interface QueuedAppend {
  readonly entries: readonly LogEntry[];
  readonly partitions: readonly number[];
  readonly keySizes: readonly number[];
  readonly bytes: number;
  /** Until when it may wait for the connection and its partitions' fences. */
  readonly deadline: number;
  readonly positions: LogPosition[];
  /** Messages holding some of its records, not yet confirmed. */
  remaining: number;
  settled: boolean;
  failure: unknown;
  readonly resolve: (positions: LogPosition[]) => void;
  readonly reject: (err: KairosError) => void;
}

/** One outgoing message: a partition's records from one or more appends of the same flush. */
interface OutgoingMessage {
  readonly w: Writer;
  /** [append, entry index] pairs, in call order. */
  readonly records: (readonly [QueuedAppend, number])[];
  bytes: number;
}

type MutableStats = { -readonly [K in keyof RabbitMqLogStats]: RabbitMqLogStats[K] };

class RabbitMqEventLogImpl implements RabbitMqEventLog {
  readonly kind = 'rabbitmq';
  readonly namespace: string;
  readonly mode: RabbitMqLogMode;
  readonly partitionCount: number;
  private readonly writers: Writer[];
  private readonly queues: string[];
  private publisher: Publisher | undefined;
  private publisherCreating: Promise<Publisher> | undefined;
  /** Settles once every abandoned publisher channel is closed (its publishes processed by the broker). */
  private publisherClosing: Promise<void> = Promise.resolve();
  /** Message ids the broker returned as unroutable (their confirm follows the return). */
  private readonly returned = new Set<string>();
  /**
   * Group commit: appends wait here for the next flush, which publishes everything queued — one message
   * per partition (split past MAX_BATCH_BYTES) — in call order, so the stream order is the call order.
   */
  private queued: QueuedAppend[] = [];
  private flushing: Promise<void> | undefined;
  private readonly inflight = new Set<QueuedAppend>();
  /** Resolves when nothing is queued or in flight (what `close` waits for). */
  private idle: { promise: Promise<void>; resolve: () => void } | undefined;
  private readonly readers = new Set<RabbitMqLogReader>();
  private pendingBytes = 0;
  /** close() was called: new appends, readers and offsets are refused; queued appends still go out. */
  private closing = false;
  /** Everything drained: fences and scans stop. */
  private closed = false;
  private readonly counters = {
    appends: 0,
    appendedRecords: 0,
    appendedBytes: 0,
    rejectedBackpressure: 0,
    rejectedUnavailable: 0,
    resyncs: 0,
    publisherFailures: 0,
    fenceWaits: 0,
  };

  constructor(
    private readonly session: AmqpSession,
    private readonly opts: ResolvedRabbitMqEventLogOptions,
  ) {
    this.namespace = opts.namespace;
    this.mode = opts.mode;
    this.partitionCount = opts.partitionCount;
    this.queues = Array.from({ length: opts.partitionCount }, (_, p) => streamQueueName(opts.namespace, p));
    this.writers = this.queues.map((queue, partition) => ({
      partition,
      queue,
      fenceGeneration: undefined,
      next: undefined,
      durableEnd: 0,
      dirty: false,
      preparing: undefined,
    }));
    if (opts.mode === 'writer') {
      session.onLost(() => {
        // Fences are exclusive queues owned by the connection: take them back as soon as it is up again.
        if (!this.closing) void this.reacquire();
      });
    }
  }

  // --- open ----------------------------------------------------------------------------------------

  async open(): Promise<void> {
    const deadline = Date.now() + this.opts.connectTimeoutMs;
    const link = await this.session.connect();
    this.checkBroker(link);
    await this.declare(link);
    if (this.mode === 'writer') {
      await mapLimit(this.writers, SETUP_CONCURRENCY, (w) => this.ensureWriter(w, deadline, 'LOG_LOCKED'));
    }
  }

  private checkBroker(link: Link): void {
    const { product, version } = link.model.connection.serverProperties;
    if (TESTED_BROKER.test(version) || this.opts.allowUntestedBroker) {
      if (!TESTED_BROKER.test(version))
        this.opts.logger.warn({ version }, 'rabbitmq log: broker version not verified; tail detection may be wrong');
      return;
    }
    throw LogErrors.create(
      'LOG_INVALID_OPTIONS',
      `The RabbitMQ event log is verified with RabbitMQ 3.10 only (found ${product} ${version}); set allowUntestedBroker to try anyway`,
      { details: { field: 'url', version } },
    );
  }

  /** Checks the partition count against existing queues, then declares (writer) or requires (reader) them. */
  private async declare(link: Link): Promise<void> {
    const exists = async (partition: number) => {
      const channel = await this.session.channel(link);
      try {
        await channel.checkQueue(streamQueueName(this.namespace, partition));
        await channel.close().catch(() => undefined);
        return true;
      } catch (err) {
        if (brokerCode(err) === 404) return false;
        throw LogErrors.create('LOG_UNAVAILABLE', 'Cannot inspect the stream queues', { cause: err });
      }
    };
    const present = await mapLimit(
      Array.from({ length: this.partitionCount + 1 }, (_, p) => p),
      SETUP_CONCURRENCY,
      exists,
    );
    const found = present.slice(0, this.partitionCount).filter(Boolean).length;
    if (present[this.partitionCount] || (found > 0 && found < this.partitionCount)) {
      throw LogErrors.create(
        'LOG_INVALID_OPTIONS',
        `Namespace ${this.namespace} exists with another partition count than ${this.partitionCount}: keys would move between partitions`,
        { details: { field: 'partitionCount', value: this.partitionCount } },
      );
    }
    if (this.mode === 'reader') {
      if (found === 0)
        throw LogErrors.create(
          'LOG_INVALID_OPTIONS',
          `No event log in namespace ${this.namespace}: open a writer first`,
          {
            details: { field: 'namespace', value: this.namespace },
          },
        );
      return;
    }
    const args = streamQueueArguments(this.opts);
    await mapLimit(this.queues, SETUP_CONCURRENCY, async (queue) => {
      const channel = await this.session.channel(link);
      try {
        await channel.assertQueue(queue, { durable: true, exclusive: false, autoDelete: false, arguments: args });
        await channel.close().catch(() => undefined);
      } catch (err) {
        if (brokerCode(err) === 406)
          throw LogErrors.create(
            'LOG_INVALID_OPTIONS',
            `Queue ${queue} exists with other arguments (retention, segment size or queue type); change retention with a RabbitMQ policy`,
            { cause: err, details: { field: 'retention', queue } },
          );
        throw LogErrors.create('LOG_UNAVAILABLE', `Cannot declare ${queue}`, { cause: err });
      }
    });
  }

  // --- writer fences and sync ----------------------------------------------------------------------

  /**
   * Returns a live connection on which this instance holds `w`'s fence and knows its stream's end,
   * taking the fence and reading the end first if needed.
   */
  private async ensureWriter(w: Writer, deadline: number, fencedCode: LogErrorCode): Promise<Link> {
    for (;;) {
      if (this.closed) throw LogErrors.create('LOG_CLOSED');
      const link = await this.session.connect(Math.max(1, deadline - Date.now()));
      if (w.fenceGeneration === link.generation && !w.dirty && w.next !== undefined) return link;
      if (w.preparing) {
        await w.preparing.catch(() => undefined);
      } else {
        w.preparing = this.prepare(w, link, deadline, fencedCode).finally(() => (w.preparing = undefined));
        await w.preparing;
      }
      if (Date.now() > deadline && !(w.fenceGeneration === link.generation && !w.dirty && w.next !== undefined))
        throw LogErrors.create('LOG_UNAVAILABLE', `Partition ${w.partition} is not ready to append`, {
          details: { partition: w.partition },
        });
      if (!(w.fenceGeneration === link.generation && !w.dirty && w.next !== undefined)) await retryPause(deadline);
    }
  }

  private async prepare(w: Writer, link: Link, deadline: number, fencedCode: LogErrorCode): Promise<void> {
    if (w.fenceGeneration !== link.generation) {
      w.next = undefined;
      await this.acquireFence(w, link, deadline, fencedCode);
      w.fenceGeneration = link.generation;
    }
    w.dirty = false;
    // Publishes of an abandoned channel must have reached the stream (or be lost for good) before its end
    // is read: the broker processes a channel's publishes before its close-ok.
    await this.publisherClosing;
    if (!this.session.isLive(link.generation)) return;
    let next = (await scanTail(this.session, link, w.queue, this.opts.scanTimeoutMs)).end;
    let marker = false;
    if (next === undefined) {
      // No record and no fence marker: a new stream (start at 0), or retention removed everything. Then
      // continue above every log offset the stream can have held (see MAX_BATCH_RECORDS): a gap, never a reuse.
      const probe = await probeStream(this.session, link, w.queue, this.opts.scanTimeoutMs);
      next = probe.onlyProbesBefore ? 0 : probe.streamOffset * MAX_BATCH_RECORDS;
      if (!probe.onlyProbesBefore)
        this.opts.logger.warn(
          { partition: w.partition, next },
          'rabbitmq log: the stream holds no record (removed by retention); continuing above any offset it held',
        );
      marker = true;
    }
    this.counters.resyncs++;
    if (!this.session.isLive(link.generation) || w.fenceGeneration !== link.generation) return;
    w.next = next;
    w.durableEnd = next;
    if (marker) {
      // Record the decision in the stream so every later scan agrees (published before any record of ours).
      const publisher = await this.ensurePublisher(link);
      const id = randomUUID();
      const options = fencePublishOptions(w.partition, next, id);
      try {
        publisher.channel.sendToQueue(w.queue, Buffer.alloc(0), options, (err: unknown) =>
          this.confirmed(publisher, options.messageId!, err),
        );
      } catch (err) {
        this.failPublisher(publisher, (err as Error).message);
      }
    }
  }

  private async acquireFence(w: Writer, link: Link, deadline: number, fencedCode: LogErrorCode): Promise<void> {
    const name = fenceQueueName(this.namespace, w.partition);
    let delay = 10;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw LogErrors.create('LOG_CLOSED');
      if (!this.session.isLive(link.generation))
        throw LogErrors.create('LOG_UNAVAILABLE', 'The broker connection was lost');
      const channel = await this.session.channel(link);
      try {
        // Exclusive queues belong to one connection and vanish when it closes — after the broker has
        // terminated its channels, so nothing a previous writer published can reach the stream later.
        await channel.assertQueue(name, { exclusive: true, durable: false, autoDelete: false });
        await channel.close().catch(() => undefined);
        if (attempt > 1) this.opts.logger.info({ partition: w.partition, attempt }, 'rabbitmq log: writer fence taken');
        return;
      } catch (err) {
        if (brokerCode(err) !== 405)
          throw LogErrors.create('LOG_UNAVAILABLE', `Cannot take the writer fence ${name}`, { cause: err });
        if (attempt === 1) {
          this.counters.fenceWaits++;
          this.opts.logger.info(
            { partition: w.partition },
            'rabbitmq log: another connection holds the writer fence; waiting',
          );
        }
        if (Date.now() + delay > deadline)
          throw LogErrors.create(
            fencedCode,
            `Another live writer holds partition ${w.partition} of the RabbitMQ event log ${this.namespace}`,
            { details: { partition: w.partition, fence: name } },
          );
        await sleep(delay);
        delay = Math.min(delay * 2, 250);
      }
    }
  }

  private async reacquire(): Promise<void> {
    try {
      const deadline = Date.now() + this.opts.connectTimeoutMs;
      await mapLimit(this.writers, SETUP_CONCURRENCY, (w) => this.ensureWriter(w, deadline, 'LOG_UNAVAILABLE'));
    } catch (err) {
      if (!this.closed)
        this.opts.logger.warn(
          { err: (err as Error).message },
          'rabbitmq log: could not take the writer fences back yet',
        );
    }
  }

  // --- publishing ----------------------------------------------------------------------------------

  private async ensurePublisher(link: Link): Promise<Publisher> {
    for (;;) {
      const current = this.publisher;
      if (current && !current.broken && current.generation === link.generation) return current;
      if (!this.publisherCreating) {
        this.publisherCreating = (async () => {
          const channel = await this.session.confirmChannel(link);
          const publisher: Publisher = { channel, generation: link.generation, broken: false };
          channel.on('return', (message: Message) => {
            const id = message.properties.messageId as unknown;
            if (typeof id === 'string') this.returned.add(id);
          });
          channel.on('close', () => this.failPublisher(publisher, 'channel closed'));
          this.publisher = publisher;
          return publisher;
        })().finally(() => (this.publisherCreating = undefined));
      }
      const made = await this.publisherCreating;
      if (made.generation === link.generation && !made.broken) return made;
      if (!this.session.isLive(link.generation))
        throw LogErrors.create('LOG_UNAVAILABLE', 'The broker connection was lost');
    }
  }

  /**
   * Abandons a publisher channel after any failure: what it still carries has an unknown outcome, so
   * every partition reads its stream's end again (after the channel is closed) before the next append.
   */
  private failPublisher(publisher: Publisher, reason: string): void {
    if (publisher.broken) return;
    publisher.broken = true;
    if (this.publisher === publisher) this.publisher = undefined;
    this.counters.publisherFailures++;
    for (const w of this.writers) w.dirty = true;
    if (!this.closed) this.opts.logger.warn({ reason }, 'rabbitmq log: publisher failed; partitions will resync');
    const closing = withTimeout(
      publisher.channel.close(),
      Math.min(5_000, this.opts.publishTimeoutMs),
      () => new Error('close timed out'),
    ).catch((err: unknown) => {
      // A channel that cannot even be closed (blocked connection, dead socket): drop the connection, so
      // none of its publishes can reach a stream after we read its end.
      if (!/closed/i.test((err as Error).message)) this.session.destroy(publisher.generation, reason);
    });
    this.publisherClosing = Promise.all([this.publisherClosing, closing]).then(() => undefined);
  }

  append(entries: readonly LogEntry[]): Promise<LogPosition[]> {
    if (this.closing) return Promise.reject(LogErrors.create('LOG_CLOSED'));
    if (this.mode === 'reader')
      return Promise.reject(LogErrors.create('LOG_READ_ONLY', 'This RabbitMQ event log instance is a reader'));
    let bytes = 0;
    const partitions = new Array<number>(entries.length);
    const keySizes = new Array<number>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const keyBytes = Buffer.byteLength(entry.key, 'utf8');
      keySizes[i] = keyBytes;
      const size = keyBytes + entry.value.byteLength;
      if (size > this.opts.maxRecordBytes || keyBytes > MAX_KEY_BYTES) {
        return Promise.reject(
          LogErrors.create('LOG_RECORD_TOO_LARGE', undefined, {
            details: {
              index: i,
              bytes: size,
              keyBytes,
              maxRecordBytes: this.opts.maxRecordBytes,
              maxKeyBytes: MAX_KEY_BYTES,
            },
          }),
        );
      }
      bytes += size;
      partitions[i] = partitionFor(entry.key, this.partitionCount);
    }
    if (entries.length === 0) return Promise.resolve([]);
    if (this.session.blocked || (this.pendingBytes > 0 && this.pendingBytes + bytes > this.opts.maxPendingBytes)) {
      this.counters.rejectedBackpressure++;
      return Promise.reject(
        LogErrors.create('LOG_BACKPRESSURE', undefined, {
          details: this.session.blocked
            ? { reason: 'broker-blocked' }
            : { pendingBytes: this.pendingBytes, maxPendingBytes: this.opts.maxPendingBytes },
        }),
      );
    }
    this.pendingBytes += bytes;
    return new Promise<LogPosition[]>((resolve, reject) => {
      this.queued.push({
        entries,
        partitions,
        keySizes,
        bytes,
        deadline: Date.now() + this.opts.connectTimeoutMs,
        positions: new Array<LogPosition>(entries.length),
        remaining: 0,
        settled: false,
        failure: undefined,
        resolve,
        reject,
      });
      // setImmediate, not a microtask: appends made by the callbacks of the same I/O batch join this flush.
      this.flushing ??= new Promise<void>((started) => setImmediate(() => started(this.flush())));
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        const appends = this.queued;
        this.queued = [];
        try {
          await this.publishAll(appends);
        } catch (err) {
          // A bug, not an outage: fail this flush's appends (their offsets may be half assigned: resync).
          this.opts.logger.error({ err: (err as Error).message }, 'rabbitmq log: flush failed');
          if (this.publisher) this.failPublisher(this.publisher, 'flush failed');
          for (const a of appends) this.fail(a, err);
        }
      }
    } finally {
      this.flushing = undefined;
      this.checkIdle();
    }
  }

  /** Waits until every touched partition can be written, then publishes synchronously. */
  private async publishAll(appends: QueuedAppend[]): Promise<void> {
    for (;;) {
      if (this.closed) {
        for (const a of appends) this.fail(a, LogErrors.create('LOG_CLOSED'));
        return;
      }
      const touched = new Set<number>();
      for (const a of appends) for (const p of a.partitions) touched.add(p);
      const deadline = Math.max(...appends.map((a) => a.deadline));
      // A partition that cannot be made ready fails the appends that touch it; the others go on.
      const failed = new Map<number, unknown>();
      let link: Link | undefined;
      await Promise.all(
        [...touched].map(async (p) => {
          try {
            link = await this.ensureWriter(this.writers[p]!, deadline, 'LOG_UNAVAILABLE');
          } catch (err) {
            failed.set(p, err);
          }
        }),
      );
      if (failed.size > 0) {
        const rest: QueuedAppend[] = [];
        for (const a of appends) {
          const p = a.partitions.find((q) => failed.has(q));
          if (p === undefined) rest.push(a);
          else this.fail(a, failed.get(p));
        }
        appends = rest;
        if (appends.length === 0) return;
        continue;
      }
      let publisher: Publisher | undefined;
      try {
        publisher = await this.ensurePublisher(link!);
      } catch (err) {
        if (Date.now() > deadline) {
          for (const a of appends) this.fail(a, err);
          return;
        }
        // Retry after a pause: an immediate retry is a microtask loop that starves the event loop
        // (timers, sockets — the very events that would change the outcome) until the deadline.
        await retryPause(deadline);
        continue;
      }
      // Nothing may have changed while we waited: same connection, fences held, ends known, channel sound.
      const generation = link!.generation;
      const ready =
        this.session.isLive(generation) &&
        !publisher.broken &&
        publisher.generation === generation &&
        [...touched].every((p) => {
          const w = this.writers[p]!;
          return w.fenceGeneration === generation && !w.dirty && w.next !== undefined;
        });
      if (ready) {
        this.publishNow(publisher, appends);
        return;
      }
      const now = Date.now();
      for (const a of appends)
        if (now > a.deadline)
          this.fail(a, LogErrors.create('LOG_UNAVAILABLE', 'The RabbitMQ event log could not get ready to append'));
      appends = appends.filter((a) => !a.settled);
      if (appends.length === 0) return;
      await retryPause(deadline);
    }
  }

  /**
   * Assigns offsets and publishes synchronously, in call order: per partition, the records of every
   * append of this flush as one message (split past MAX_BATCH_BYTES). An append resolves when every
   * message holding one of its records is confirmed.
   */
  private publishNow(publisher: Publisher, appends: readonly QueuedAppend[]): void {
    const byPartition = new Map<number, OutgoingMessage[]>();
    for (const a of appends) {
      this.inflight.add(a);
      for (let i = 0; i < a.entries.length; i++) {
        const p = a.partitions[i]!;
        const size = batchBytes(a.keySizes[i]!, a.entries[i]!.value.byteLength);
        let list = byPartition.get(p);
        if (!list) byPartition.set(p, (list = []));
        let message = list.at(-1);
        if (
          !message ||
          message.records.length >= MAX_BATCH_RECORDS ||
          (message.records.length > 0 && message.bytes + size > MAX_BATCH_BYTES)
        ) {
          message = { w: this.writers[p]!, records: [], bytes: 1 };
          list.push(message);
        }
        message.records.push([a, i]);
        message.bytes += size;
      }
    }
    const messages = [...byPartition.values()].flat();
    const holders = messages.map((message) => {
      const set = new Set<QueuedAppend>();
      for (const [a] of message.records) set.add(a);
      for (const a of set) a.remaining++;
      return set;
    });
    const timer = setTimeout(() => {
      for (const set of holders)
        for (const a of set)
          if (!a.settled) this.fail(a, new Error(`no confirm within ${this.opts.publishTimeoutMs} ms`));
      this.failPublisher(publisher, 'confirm timeout');
    }, this.opts.publishTimeoutMs);
    let unconfirmed = messages.length;
    const messageDone = () => {
      if (--unconfirmed === 0) clearTimeout(timer);
    };
    for (let m = 0; m < messages.length; m++) {
      const { w, records } = messages[m]!;
      const base = w.next!;
      w.next = base + records.length;
      records.forEach(([a, i], k) => (a.positions[i] = { partition: w.partition, offset: base + k }));
      let content: Buffer;
      let options;
      if (records.length === 1) {
        const [a, i] = records[0]!;
        const entry = a.entries[i]!;
        content = Buffer.from(entry.value.buffer, entry.value.byteOffset, entry.value.byteLength);
        options = singlePublishOptions(w.partition, base, entry);
      } else {
        content = encodeBatch(
          records.map(([a, i]) => a.entries[i]!),
          records.map(([a, i]) => a.keySizes[i]!),
        );
        options = batchPublishOptions(w.partition, base, records.length);
      }
      const messageId = options.messageId!;
      const end = base + records.length;
      const holding = holders[m]!;
      try {
        publisher.channel.sendToQueue(w.queue, content, options, (err: unknown) => {
          messageDone();
          this.confirmed(publisher, messageId, err, holding, w, end);
        });
      } catch (err) {
        // The channel closed under us: this message and the rest are never sent.
        for (let rest = m; rest < messages.length; rest++) {
          messageDone();
          this.confirmed(publisher, '', err, holders[rest]);
        }
        break;
      }
    }
    for (const a of appends) {
      this.counters.appends++;
      this.counters.appendedRecords += a.entries.length;
      this.counters.appendedBytes += a.bytes;
    }
  }

  private confirmed(
    publisher: Publisher,
    messageId: string,
    err: unknown,
    holding?: ReadonlySet<QueuedAppend>,
    w?: Writer,
    end?: number,
  ): void {
    let failure = err;
    if (this.returned.delete(messageId)) failure ??= new Error(`the broker returned ${messageId} as unroutable`);
    if (failure) this.failPublisher(publisher, (failure as Error).message ?? 'nack');
    else if (w && end !== undefined && w.fenceGeneration === publisher.generation)
      w.durableEnd = Math.max(w.durableEnd, end);
    if (!holding) return;
    for (const a of holding) {
      if (failure) a.failure ??= failure;
      if (--a.remaining === 0) this.settle(a);
    }
  }

  private fail(a: QueuedAppend, err: unknown): void {
    a.failure ??= err;
    this.settle(a);
  }

  private settle(a: QueuedAppend): void {
    if (a.settled) return;
    a.settled = true;
    this.inflight.delete(a);
    this.pendingBytes -= a.bytes;
    if (a.failure === undefined) a.resolve(a.positions);
    else {
      const err = a.failure;
      // Retryable log errors pass through (LOG_CLOSED, LOG_UNAVAILABLE); anything else is an outage.
      if (isKairosError(err) && err.retryable) {
        if (err.code === 'LOG_UNAVAILABLE') this.counters.rejectedUnavailable++;
        a.reject(err);
      } else {
        this.counters.rejectedUnavailable++;
        a.reject(
          LogErrors.create(
            'LOG_UNAVAILABLE',
            'The broker did not confirm every record; none of this append is acknowledged',
            {
              cause: err,
            },
          ),
        );
      }
    }
    this.checkIdle();
  }

  private checkIdle(): void {
    if (this.idle && this.queued.length === 0 && !this.flushing && this.inflight.size === 0) this.idle.resolve();
  }

  // --- reading -------------------------------------------------------------------------------------

  partitionOf(key: string): number {
    return partitionFor(key, this.partitionCount);
  }

  queueName(partition: number): string {
    return this.queues[this.checkPartition(partition)]!;
  }

  private checkPartition(partition: number): number {
    if (!Number.isInteger(partition) || partition < 0 || partition >= this.partitionCount)
      throw LogErrors.create('LOG_INVALID_PARTITION', `No partition ${partition}`, { details: { partition } });
    return partition;
  }

  async offsets(partition: number): Promise<PartitionOffsets> {
    this.checkPartition(partition);
    if (this.closing) throw LogErrors.create('LOG_CLOSED');
    const w = this.writers[partition]!;
    let link: Link | undefined;
    if (this.mode === 'writer') {
      try {
        link = await this.ensureWriter(w, Date.now() + this.opts.connectTimeoutMs, 'LOG_UNAVAILABLE');
      } catch (err) {
        if (isKairosError(err, 'LOG_CLOSED')) throw err;
        // Our fence is gone (another writer took over): read the end from the stream like a reader.
      }
    }
    const writing = link !== undefined;
    link ??= await this.session.connect();
    // Start first: both only grow, so a start read before the end never exceeds it.
    const start = (await firstMessage(this.session, link, w.queue, 'first', this.opts.scanTimeoutMs))?.base;
    // The fence holder knows its end exactly; anyone else reads it from the stream (then, with a live
    // writer elsewhere, it is a lower bound: everything below is durable, newer records may follow).
    const end =
      writing && w.fenceGeneration === link.generation && !w.dirty
        ? w.durableEnd
        : ((await scanTail(this.session, link, w.queue, this.opts.scanTimeoutMs)).end ?? 0);
    return { start: Math.min(start ?? end, end), end };
  }

  async openReader(partition: number, fromOffset: number): Promise<LogReader> {
    this.checkPartition(partition);
    if (this.closing) throw LogErrors.create('LOG_CLOSED');
    const from = Number.isFinite(fromOffset) ? Math.max(0, Math.floor(fromOffset)) : 0;
    const reader = new RabbitMqLogReader(this.session, this.opts, this.queues[partition]!, partition, from, (r) =>
      this.readers.delete(r),
    );
    this.readers.add(reader);
    try {
      await reader.open();
    } catch (err) {
      await reader.close();
      throw err;
    }
    return reader;
  }

  stats(): RabbitMqLogStats {
    const stats: MutableStats = {
      ...this.counters,
      reconnects: this.session.reconnects,
      pendingBytes: this.pendingBytes,
      readers: this.readers.size,
    };
    return stats;
  }

  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    // Appends called before close finish: queued ones fail with LOG_CLOSED, published ones get their
    // confirms (or time out); appends called from now on fail with LOG_CLOSED.
    if (this.queued.length > 0 || this.flushing || this.inflight.size > 0) {
      let resolve!: () => void;
      this.idle = { promise: new Promise<void>((r) => (resolve = r)), resolve };
      this.checkIdle();
      await this.idle.promise;
    }
    this.closed = true;
    await Promise.all([...this.readers].map((reader) => reader.close()));
    await this.session.close();
  }
}

/** A short timer pause before retrying a not-yet-ready link (never past the deadline). */
function retryPause(deadline: number): Promise<void> {
  const ms = Math.max(1, Math.min(20, deadline - Date.now()));
  return new Promise((resolve) => setTimeout(resolve, ms));
}
