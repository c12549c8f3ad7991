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
 * the visitor stops it), on a channel of its own that is closed afterwards.
 */
export async function scanStream(
  session: AmqpSession,
  link: Link,
  queue: string,
  from: StreamStart,
  visitor: ScanVisitor,
  timeoutMs: number,
): Promise<void> {
  const channel = await session.channel(link);
  let cancelled = false;
  let channelClosed = false;
  channel.on('close', () => (channelClosed = true));
  try {
    await withTimeout(
      (async () => {
        await channel.prefetch(SCAN_PREFETCH);
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
          if (stopped || SCAN_PREFETCH - (delivered - acked) > 0) return;
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

/**
 * The partition's next log offset as recorded in the stream: one past the last record, or a fence
 * marker's `next` if that comes later; undefined when the stream holds neither (new, or every record
 * and marker removed by retention).
 */
export async function scanEnd(
  session: AmqpSession,
  link: Link,
  queue: string,
  timeoutMs: number,
): Promise<number | undefined> {
  let end: number | undefined;
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
        if (decoded.kind === 'record') bump(decoded.offset + 1);
        else if (decoded.kind === 'fence') bump(decoded.next);
        return false;
      },
    },
    timeoutMs,
  );
  return end;
}

/** The first retained record's log offset; undefined when the stream holds no record. */
export async function scanStart(
  session: AmqpSession,
  link: Link,
  queue: string,
  timeoutMs: number,
): Promise<number | undefined> {
  let start: number | undefined;
  await scanStream(
    session,
    link,
    queue,
    'first',
    {
      visit(decoded) {
        if (decoded.kind !== 'record') return false;
        start = decoded.offset;
        return true;
      },
    },
    timeoutMs,
  );
  return start;
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
                const headers = (message.properties.headers ?? {}) as Record<string, unknown>;
                const decoded = decodeDelivery(message);
                if (message.properties.messageId === id) {
                  resolve({ streamOffset: decoded.streamOffset, onlyProbesBefore: onlyProbes });
                  return;
                }
                // Probes from earlier attempts, starting at stream offset 0 and without holes, keep it "new".
                if (headers[HEADERS.control] !== 'probe' || decoded.streamOffset !== expected) onlyProbes = false;
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
