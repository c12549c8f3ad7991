import type { Channel, ConsumeMessage } from 'amqplib';
import { isKairosError } from '../../core/index.js';
import { LogErrors } from '../errors.js';
import type { LogReader, LogRecord, ReadOptions } from '../port.js';
import { HEADERS, decodeDelivery } from './codec.js';
import type { ResolvedRabbitMqEventLogOptions } from './options.js';
import { barrier, locate, type StreamStart } from './scan.js';
import type { AmqpSession, Link } from './session.js';

interface Buffered {
  readonly record: LogRecord;
  readonly message: ConsumeMessage;
  readonly streamOffset: number;
  /** The last record of its message: once taken, the message can be acknowledged. */
  readonly closesMessage: boolean;
}

/** One consumer on the partition's stream, on a channel of its own. */
interface Attachment {
  readonly channel: Channel;
  readonly generation: number;
  /** The newest delivery received (acknowledging it with allUpTo frees every earlier one). */
  last: ConsumeMessage | undefined;
  lastStreamOffset: number | undefined;
  acked: number;
}

/**
 * Reads one partition by consuming its stream queue (`x-stream-offset`, prefetch, manual acks in bulk).
 * Deliveries are unpacked and buffered, and returned in log-offset order; records below the position,
 * fence markers and foreign messages are skipped. After a lost connection, a cancelled consumer or
 * `readerIdleMs` without a read, the buffer is dropped and the next read consumes again from the stream
 * offset of the message holding the position — which also moves a reader left behind by retention to
 * the oldest retained record.
 */
export class RabbitMqLogReader implements LogReader {
  private attachment: Attachment | undefined;
  private attaching: Promise<void> | undefined;
  private buffer: Buffered[] = [];
  private head = 0;
  /** The next log offset the buffer accepts (position + buffered records). */
  private accepted: number;
  /** Where to consume from on the next attach. */
  private resumeAt: StreamStart | undefined;
  private wake: (() => void) | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private reading = false;
  private closed = false;
  private readonly offLost: () => void;

  constructor(
    private readonly session: AmqpSession,
    private readonly opts: ResolvedRabbitMqEventLogOptions,
    private readonly queue: string,
    readonly partition: number,
    private pos: number,
    private readonly onClose: (reader: RabbitMqLogReader) => void,
  ) {
    this.accepted = pos;
    this.offLost = session.onLost((generation) => {
      if (this.attachment?.generation === generation) this.detach();
    });
  }

  get position(): number {
    return this.pos;
  }

  /**
   * Finds the message holding the position, consumes from there and waits until everything already
   * committed is buffered (up to the prefetch); then moves the position to the first buffered record when
   * retention removed the records before it (the port's clamp to the oldest retained offset).
   */
  async open(): Promise<void> {
    const link = await this.session.connect();
    this.resumeAt = await locate(this.session, link, this.queue, this.pos, this.opts.scanTimeoutMs);
    await this.ensureAttached(this.opts.connectTimeoutMs);
    const first = this.buffer[this.head];
    if (first && first.record.offset > this.pos) this.pos = first.record.offset;
  }

  async read({ maxRecords, waitMs }: ReadOptions): Promise<LogRecord[]> {
    // Rejects rather than answering []: a loop reading a closed reader must not spin on instant answers.
    if (this.closed) throw LogErrors.create('LOG_CLOSED', 'The reader is closed');
    if (maxRecords <= 0) return [];
    this.reading = true;
    clearTimeout(this.idleTimer);
    try {
      const deadline = Date.now() + Math.max(0, waitMs);
      for (;;) {
        if (!this.attachment) await this.ensureAttached(Math.max(waitMs, this.opts.connectTimeoutMs));
        if (this.head < this.buffer.length || this.closed) break;
        const left = deadline - Date.now();
        if (left <= 0) break;
        const woken = await this.waitForDelivery(left);
        // Let the rest of a burst (several messages in one chunk) land before taking records.
        if (woken) await new Promise((resolve) => setImmediate(resolve));
      }
      return this.take(maxRecords);
    } finally {
      this.reading = false;
      if (!this.closed && this.attachment) {
        this.idleTimer = setTimeout(() => {
          if (!this.reading) this.detach();
        }, this.opts.readerIdleMs);
        this.idleTimer.unref();
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idleTimer);
    this.offLost();
    this.onClose(this);
    const attachment = this.attachment;
    this.detach();
    this.wake?.();
    if (attachment) await attachment.channel.close().catch(() => undefined);
  }

  // ---------------------------------------------------------------------------------------------------

  private take(maxRecords: number): LogRecord[] {
    const end = Math.min(this.buffer.length, this.head + maxRecords);
    if (end === this.head) return [];
    const taken = this.buffer.slice(this.head, end);
    this.head = end;
    const drained = this.head === this.buffer.length;
    if (drained) {
      this.buffer = [];
      this.head = 0;
    } else if (this.head > 4_096) {
      this.buffer = this.buffer.slice(this.head);
      this.head = 0;
    }
    this.pos = taken.at(-1)!.record.offset + 1;
    const attachment = this.attachment;
    if (attachment) {
      // Acknowledge every message whose records are all taken (skipped deliveries included when drained).
      let upTo: ConsumeMessage | undefined = drained ? attachment.last : undefined;
      if (!upTo) {
        for (let i = taken.length - 1; i >= 0; i--) {
          if (taken[i]!.closesMessage) {
            upTo = taken[i]!.message;
            break;
          }
        }
      }
      if (upTo) this.ack(attachment, upTo);
    }
    return taken.map((b) => b.record);
  }

  private ack(attachment: Attachment, message: ConsumeMessage): void {
    if (attachment !== this.attachment) return;
    const tag = message.fields.deliveryTag;
    if (tag <= attachment.acked) return;
    try {
      attachment.channel.ack(message, true);
      attachment.acked = tag;
    } catch {
      // The channel is closing; the consumer will be re-created from the position.
    }
  }

  private waitForDelivery(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wake = undefined;
        resolve(false);
      }, ms);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve(true);
      };
    });
  }

  private ensureAttached(timeoutMs: number): Promise<void> {
    if (this.attachment) return Promise.resolve();
    this.attaching ??= this.attach(timeoutMs).finally(() => (this.attaching = undefined));
    return this.attaching;
  }

  private async attach(timeoutMs: number): Promise<void> {
    if (this.closed) return;
    let link: Link;
    try {
      link = await this.session.connect(timeoutMs);
    } catch (err) {
      if (isKairosError(err, 'LOG_CLOSED')) return;
      throw err;
    }
    // Without a resume point (never attached, or nothing delivered yet), search for the position again.
    const from = this.resumeAt ?? (await locate(this.session, link, this.queue, this.pos, this.opts.scanTimeoutMs));
    const channel = await this.session.channel(link);
    const attachment: Attachment = {
      channel,
      generation: link.generation,
      last: undefined,
      lastStreamOffset: undefined,
      acked: 0,
    };
    this.buffer = [];
    this.head = 0;
    this.accepted = this.pos;
    this.attachment = attachment;
    channel.on('close', () => {
      if (this.attachment === attachment) this.detach();
    });
    try {
      await channel.prefetch(this.opts.readerPrefetch);
      await channel.consume(this.queue, (message) => this.deliver(attachment, message), {
        noAck: false,
        arguments: { [HEADERS.streamOffset]: from },
      });
      // Everything committed now (up to the prefetch) is buffered once this round trip is back: a read
      // right after attaching returns all available records, not just the first frames.
      await barrier(channel, this.queue);
    } catch (err) {
      if (this.attachment === attachment) this.detach();
      await channel.close().catch(() => undefined);
      if (this.closed) return;
      throw LogErrors.create('LOG_UNAVAILABLE', `Cannot consume the stream ${this.queue}`, {
        cause: err,
        details: { queue: this.queue },
      });
    }
  }

  private deliver(attachment: Attachment, message: ConsumeMessage | null): void {
    if (attachment !== this.attachment) return;
    if (message === null) {
      // The broker cancelled the consumer (queue deleted, replica moved): consume again on the next read.
      this.opts.logger.warn({ queue: this.queue }, 'rabbitmq log: the broker cancelled a reader consumer');
      this.detach();
      this.wake?.();
      return;
    }
    attachment.last = message;
    const decoded = decodeDelivery(message);
    attachment.lastStreamOffset = decoded.streamOffset;
    let added = 0;
    if (decoded.kind === 'records') {
      const { records } = decoded;
      for (let i = 0; i < records.length; i++) {
        const record = records[i]!;
        if (record.offset < this.accepted) continue;
        this.accepted = record.offset + 1;
        this.buffer.push({
          message,
          streamOffset: decoded.streamOffset,
          closesMessage: i === records.length - 1,
          record: {
            partition: this.partition,
            offset: record.offset,
            key: record.key,
            value: record.value,
            timestampMs: record.timestampMs,
          },
        });
        added++;
      }
    }
    if (added > 0) this.wake?.();
    // Nothing to read from it (already read, a marker): free its credit at once when nothing waits to be read.
    else if (this.head === this.buffer.length) this.ack(attachment, message);
  }

  private detach(): void {
    const attachment = this.attachment;
    if (!attachment) return;
    this.attachment = undefined;
    // Resume at the message holding the next record (re-reading its taken records, which are skipped),
    // or after the last delivery when everything delivered was taken.
    const next = this.buffer[this.head];
    if (next) this.resumeAt = next.streamOffset;
    else if (attachment.lastStreamOffset !== undefined && attachment.lastStreamOffset >= 0)
      this.resumeAt = attachment.lastStreamOffset + 1;
    this.buffer = [];
    this.head = 0;
    this.accepted = this.pos;
    clearTimeout(this.idleTimer);
    void attachment.channel.close().catch(() => undefined);
    this.wake?.();
  }
}
