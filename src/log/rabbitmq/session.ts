import type * as Amqplib from 'amqplib';
import type { Channel, ChannelModel, ConfirmChannel } from 'amqplib';
import { LogErrors } from '../errors.js';
import type { ResolvedRabbitMqEventLogOptions } from './options.js';

type AmqpLib = typeof Amqplib;

let loading: Promise<AmqpLib> | undefined;

/** amqplib is an optional dependency: loaded on first use, so the embedded mode never needs it. */
export function loadAmqplib(): Promise<AmqpLib> {
  loading ??= import('amqplib').catch((err: unknown) => {
    loading = undefined;
    throw LogErrors.create(
      'LOG_INVALID_OPTIONS',
      'The RabbitMQ event log needs the optional dependency amqplib (npm install amqplib)',
      { cause: err },
    );
  });
  return loading;
}

/** One live AMQP connection; `generation` tells connections apart across reconnects. */
export interface Link {
  readonly model: ChannelModel;
  readonly generation: number;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves like `promise`, or rejects with `onTimeout()` after `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(onTimeout()), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: Error) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}

/** The broker's text for a failed operation (amqplib puts the close frame's reply in `message`). */
export function brokerCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/**
 * The log instance's single AMQP connection: connects on demand with exponential backoff, reconnects in
 * the background after an unexpected close, and tells listeners which generation was lost (their
 * channels, consumers and — since exclusive queues belong to a connection — writer fences died with it).
 */
export class AmqpSession {
  private link: Link | undefined;
  private connecting: Promise<Link> | undefined;
  private generation = 0;
  private closed = false;
  private blockedSince: number | undefined;
  private readonly lostListeners = new Set<(generation: number) => void>();
  /** Reconnections after the first connection, for stats. */
  reconnects = 0;

  constructor(
    private readonly lib: AmqpLib,
    private readonly opts: ResolvedRabbitMqEventLogOptions,
  ) {}

  get isClosed(): boolean {
    return this.closed;
  }

  /** True while the broker blocks publishers (memory or disk alarm): publishes would stall. */
  get blocked(): boolean {
    return this.blockedSince !== undefined;
  }

  current(): Link | undefined {
    return this.link;
  }

  isLive(generation: number): boolean {
    return this.link?.generation === generation;
  }

  onLost(listener: (generation: number) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  /** The live connection, connecting if needed; LOG_UNAVAILABLE when none comes up within `timeoutMs`. */
  connect(timeoutMs: number = this.opts.connectTimeoutMs): Promise<Link> {
    if (this.closed) return Promise.reject(LogErrors.create('LOG_CLOSED'));
    if (this.link) return Promise.resolve(this.link);
    this.connecting ??= this.connectLoop();
    return withTimeout(this.connecting, timeoutMs, () =>
      LogErrors.create('LOG_UNAVAILABLE', 'The RabbitMQ broker is unreachable', {
        details: { waitedMs: timeoutMs },
      }),
    );
  }

  async channel(link: Link): Promise<Channel> {
    const channel = await this.open(link, () => link.model.createChannel());
    channel.on('error', (err: Error) => this.opts.logger.debug({ err: err.message }, 'rabbitmq log: channel error'));
    return channel;
  }

  async confirmChannel(link: Link): Promise<ConfirmChannel> {
    const channel = await this.open(link, () => link.model.createConfirmChannel());
    channel.on('error', (err: Error) =>
      this.opts.logger.debug({ err: err.message }, 'rabbitmq log: publisher channel error'),
    );
    return channel;
  }

  /** Opening a channel on a connection that is gone (or going) must fail, not wait for a reply forever. */
  private async open<C>(link: Link, create: () => Promise<C>): Promise<C> {
    if (!this.isLive(link.generation))
      throw LogErrors.create('LOG_UNAVAILABLE', 'The broker connection was lost', {
        details: { reason: 'connection-lost' },
      });
    try {
      return await withTimeout(create(), this.opts.connectTimeoutMs, () => new Error('opening a channel timed out'));
    } catch (err) {
      throw LogErrors.create('LOG_UNAVAILABLE', 'Cannot open a channel to the broker', { cause: err });
    }
  }

  /**
   * Kills the connection of `generation` now (socket destroyed, no handshake): used when a channel cannot
   * be closed in time, so that its unconfirmed publishes can no longer reach the broker afterwards.
   */
  destroy(generation: number, reason: string): void {
    const link = this.link;
    if (!link || link.generation !== generation) return;
    this.opts.logger.warn({ reason }, 'rabbitmq log: dropping the broker connection');
    const stream = (link.model.connection as unknown as { stream?: { destroy(): void } }).stream;
    this.lose(link);
    stream?.destroy();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const link = this.link;
    this.link = undefined;
    if (!link) return;
    try {
      await withTimeout(link.model.close(), 5_000, () => new Error('close timed out'));
    } catch {
      const stream = (link.model.connection as unknown as { stream?: { destroy(): void } }).stream;
      stream?.destroy();
    }
  }

  private async connectLoop(): Promise<Link> {
    let delay = this.opts.reconnectInitialDelayMs;
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw LogErrors.create('LOG_CLOSED');
      try {
        const model = await this.lib.connect(this.connectUrl(), {
          noDelay: true,
          timeout: Math.min(this.opts.connectTimeoutMs, 10_000),
          clientProperties: { connection_name: this.opts.connectionName },
        });
        if (this.closed) {
          await model.close().catch(() => undefined);
          throw LogErrors.create('LOG_CLOSED');
        }
        const link: Link = { model, generation: ++this.generation };
        if (link.generation > 1) this.reconnects++;
        model.on('error', (err: Error) =>
          this.opts.logger.warn({ err: err.message }, 'rabbitmq log: connection error'),
        );
        model.on('close', (err?: Error) => {
          if (this.link === link && !this.closed)
            this.opts.logger.warn({ err: err?.message }, 'rabbitmq log: connection closed; reconnecting');
          this.lose(link);
        });
        model.on('blocked', (reason: string) => {
          this.blockedSince = Date.now();
          this.opts.logger.warn({ reason }, 'rabbitmq log: the broker blocks publishers');
        });
        model.on('unblocked', () => {
          this.blockedSince = undefined;
          this.opts.logger.info('rabbitmq log: the broker unblocked publishers');
        });
        this.blockedSince = undefined;
        this.link = link;
        this.connecting = undefined;
        if (attempt > 1) this.opts.logger.info({ attempt }, 'rabbitmq log: connected');
        return link;
      } catch (err) {
        if (this.closed) throw LogErrors.create('LOG_CLOSED');
        if (attempt === 1 || attempt % 10 === 0)
          this.opts.logger.warn(
            { err: (err as Error).message, attempt },
            'rabbitmq log: cannot connect to the broker; retrying',
          );
        await sleep(delay * (0.8 + Math.random() * 0.4));
        delay = Math.min(delay * 2, this.opts.reconnectMaxDelayMs);
      }
    }
  }

  private lose(link: Link): void {
    if (this.link !== link) return;
    this.link = undefined;
    this.blockedSince = undefined;
    for (const listener of [...this.lostListeners]) listener(link.generation);
    if (!this.closed) {
      // Reconnect in the background so readers and writer fences come back without waiting for a caller.
      this.connecting ??= this.connectLoop();
      this.connecting.catch(() => undefined);
    }
  }

  /** The URL with our heartbeat and frame size unless the user set them. */
  private connectUrl(): string {
    const url = new URL(this.opts.url);
    if (!url.searchParams.has('heartbeat')) url.searchParams.set('heartbeat', String(this.opts.heartbeatSeconds));
    // 128 KiB frames: fewer frames per large record, and room for the key in the content header.
    if (!url.searchParams.has('frameMax')) url.searchParams.set('frameMax', '131072');
    return url.toString();
  }
}
