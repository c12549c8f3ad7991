import { randomUUID } from 'node:crypto';
import type { Channel, ConsumeMessage } from 'amqplib';
import { LogErrors } from '../errors.js';
import { HEADERS, decodeDelivery, type Decoded } from './codec.js';
import { withTimeout, type AmqpSession, type Link } from './session.js';

/** Per-consumer prefetch of scan consumers; a whole chunk is delivered even beyond it. */
const SCAN_PREFETCH = 2_000;

export type StreamStart = 'first' | 'last' | 'next' | number;

/**
 * Makes sure every delivery that `consumerTag`'s stream reader could send *now* has been received.
 *
 * AMQP 0.9.1 has no "end of stream" signal, so this relies on how RabbitMQ 3.10 serves stream
 * consumers (rabbit_stream_queue + osiris 1.3, read from the 3.10.8 sources): a consumer's reader
 * registers an offset listener with the stream's writer process by an asynchronous message; the
 * writer answers a listener whose offset is already committed at the end of its next batch, *before*
 * it sends the replies of that batch; the channel process then reads and delivers every committed
 * chunk (while it has credit) in one go. A second `basic.consume` makes the channel process call the
 * writer synchronously (`get_reader_context`), so the first consumer's notification is queued in the
 * channel before that call returns; the reply to any later method on the channel (here the cancel of
 * the barrier consumer) is therefore written after all those deliveries. The same holds after an ack:
 * the channel delivers the freed credit's messages while handling the ack.
 */
export async function barrier(channel: Channel, queue: string): Promise<void> {
  const { consumerTag } = await channel.consume(queue, () => undefined, {
    noAck: false,
    arguments: { [HEADERS.streamOffset]: 'next' },
  });
  await channel.cancel(consumerTag);
}

export interface ScanVisitor {
  /** Called for every delivery in stream order; return true to stop the scan. */
  visit(decoded: Decoded, message: ConsumeMessage): boolean;
}

/**
 * Consumes `queue` from `from` until everything committed at the time of the scan has been seen (or
 * the visitor stops it), on a channel of its own that is closed afterwards. `prefetch` bounds how many
 * chunks are read ahead (a chunk is always delivered whole).
 */
export async function scanStream(
  session: AmqpSession,
  link: Link,
  queue: string,
  from: StreamStart,
  visitor: ScanVisitor,
  timeoutMs: number,
  prefetch = SCAN_PREFETCH,
): Promise<void> {
  const channel = await session.channel(link);
  let cancelled = false;
  let channelClosed = false;
  channel.on('close', () => (channelClosed = true));
  try {
    await withTimeout(
      (async () => {
        await channel.prefetch(prefetch);
        let delivered = 0;
        let acked = 0;
        let stopped = false;
        let last: ConsumeMessage | undefined;
        await channel.consume(
          queue,
          (message) => {
            if (message === null) {
              cancelled = true;
              return;
            }
            delivered++;
            last = message;
            if (!stopped && visitor.visit(decodeDelivery(message), message)) stopped = true;
          },
          { noAck: false, arguments: { [HEADERS.streamOffset]: from } },
        );
        for (;;) {
          await barrier(channel, queue);
          if (cancelled) throw new Error('the broker cancelled the scan consumer');
          // Credit left means the reader stopped at the end of the stream, not for lack of credit.
          if (stopped || prefetch - (delivered - acked) > 0) return;
          channel.ack(last!, true);
          acked = delivered;
        }
      })(),
      timeoutMs,
      () => new Error(`scan of ${queue} timed out`),
    );
  } catch (err) {
    throw LogErrors.create('LOG_UNAVAILABLE', `Cannot read the stream ${queue}`, {
      cause: err,
      details: { queue },
    });
  } finally {
    if (!channelClosed) await channel.close().catch(() => undefined);
  }
}

/** Where a records message sits in the stream and which log offsets it holds. */
export interface MessageInfo {
  readonly streamOffset: number;
  readonly base: number;
  readonly count: number;
}

export interface TailInfo {
  /**
   * The partition's next log offset as recorded in the stream: one past the last record, or a fence
   * marker's `next` if that comes later; undefined when the stream holds neither (new, or every record
   * and marker removed by retention).
   */
  readonly end: number | undefined;
  /** The last records message. */
  readonly last: MessageInfo | undefined;
}

export async function scanTail(session: AmqpSession, link: Link, queue: string, timeoutMs: number): Promise<TailInfo> {
  let end: number | undefined;
  let last: MessageInfo | undefined;
  const bump = (next: number) => (end = end === undefined ? next : Math.max(end, next));
  // 'last' attaches at the last chunk holding messages (osiris skips its own tracking chunks), so this
  // reads one chunk plus whatever is committed meanwhile.
  await scanStream(
    session,
    link,
    queue,
    'last',
    {
      visit(decoded) {
        if (decoded.kind === 'records') {
          bump(decoded.base + decoded.count);
          last = { streamOffset: decoded.streamOffset, base: decoded.base, count: decoded.count };
        } else if (decoded.kind === 'fence') bump(decoded.next);
        return false;
      },
    },
    timeoutMs,
  );
  return { end, last };
}

/** The first records message at or after `from`; undefined when there is none. */
export async function firstMessage(
  session: AmqpSession,
  link: Link,
  queue: string,
  from: StreamStart,
  timeoutMs: number,
): Promise<MessageInfo | undefined> {
  let found: MessageInfo | undefined;
  await scanStream(
    session,
    link,
    queue,
    from,
    {
      visit(decoded) {
        if (decoded.kind !== 'records') return false;
        found = { streamOffset: decoded.streamOffset, base: decoded.base, count: decoded.count };
        return true;
      },
    },
    timeoutMs,
    1,
  );
  return found;
}

/**
 * Where to start consuming to read from log offset `offset`: the stream offset of the last records
 * message whose first record is at or below it ('first' when every retained record is above it). Log
 * offsets grow with stream offsets, so this is a search: galloping back from the tail (readers mostly
 * resume near it), then bisection. Each probe reads one chunk.
 */
export async function locate(
  session: AmqpSession,
  link: Link,
  queue: string,
  offset: number,
  timeoutMs: number,
): Promise<StreamStart> {
  const first = await firstMessage(session, link, queue, 'first', timeoutMs);
  if (!first || first.base >= offset) return 'first';
  const { last } = await scanTail(session, link, queue, timeoutMs);
  if (!last) return 'first';
  if (last.base <= offset) return last.streamOffset;
  // Invariant: the message at `lo` starts at or below `offset`; every message at or after `hi` above it.
  let lo = first.streamOffset;
  let hi = last.streamOffset;
  const probe = (at: number) => firstMessage(session, link, queue, at, timeoutMs);
  let step = Math.max(1, Math.ceil((last.base - offset) / Math.max(1, last.count)));
  for (;;) {
    const at = hi - step;
    if (at <= lo) break;
    const found = await probe(at);
    if (found && found.streamOffset < hi && found.base <= offset) {
      lo = found.streamOffset;
      break;
    }
    hi = at;
    step *= 2;
  }
  while (lo + 1 < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const found = await probe(mid);
    if (found && found.streamOffset < hi && found.base <= offset) lo = found.streamOffset;
    else hi = mid;
  }
  return lo;
}

/**
 * For a writer that found no record and no fence marker in its stream: is the stream new (nothing was
 * ever written but probes like this one), or did retention remove everything? Publishes a probe,
 * reads the whole stream up to it and answers the probe's stream offset and whether only probes precede it.
 */
export async function probeStream(
  session: AmqpSession,
  link: Link,
  queue: string,
  timeoutMs: number,
): Promise<{ readonly streamOffset: number; readonly onlyProbesBefore: boolean }> {
  const channel = await session.channel(link);
  const id = `probe:${randomUUID()}`;
  let channelClosed = false;
  channel.on('close', () => (channelClosed = true));
  try {
    return await withTimeout(
      new Promise<{ streamOffset: number; onlyProbesBefore: boolean }>((resolve, reject) => {
        let onlyProbes = true;
        let expected = 0;
        channel.on('return', () => reject(new Error(`the stream ${queue} does not exist`)));
        channel
          .prefetch(SCAN_PREFETCH)
          .then(() =>
            channel.consume(
              queue,
              (message) => {
                if (message === null) return reject(new Error('the broker cancelled the probe consumer'));
                channel.ack(message);
                const decoded = decodeDelivery(message);
                if (message.properties.messageId === id) {
                  resolve({ streamOffset: decoded.streamOffset, onlyProbesBefore: onlyProbes });
                  return;
                }
                // Probes from earlier attempts, from stream offset 0 and without holes, keep the stream "new".
                if (decoded.kind !== 'other' || !decoded.probe || decoded.streamOffset !== expected) onlyProbes = false;
                expected = decoded.streamOffset + 1;
              },
              { noAck: false, arguments: { [HEADERS.streamOffset]: 'first' } },
            ),
          )
          .then(() => {
            channel.sendToQueue(queue, Buffer.alloc(0), {
              mandatory: true,
              messageId: id,
              headers: { [HEADERS.control]: 'probe' },
            });
          })
          .catch(reject);
      }),
      timeoutMs,
      () => new Error(`probe of ${queue} timed out`),
    );
  } catch (err) {
    throw LogErrors.create('LOG_UNAVAILABLE', `Cannot probe the stream ${queue}`, { cause: err, details: { queue } });
  } finally {
    if (!channelClosed) await channel.close().catch(() => undefined);
  }
}
