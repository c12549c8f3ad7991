import type { EventLog } from '../port.js';
import type { RabbitMqLogMode } from './options.js';

/** Counters for the serve layer's metrics; cumulative since open except the gauges. */
export interface RabbitMqLogStats {
  readonly appends: number;
  readonly appendedRecords: number;
  readonly appendedBytes: number;
  readonly rejectedBackpressure: number;
  readonly rejectedUnavailable: number;
  /** Times a partition's writer re-read its stream's end (at open, after a failed publish or a reconnect). */
  readonly resyncs: number;
  /** Publisher channels abandoned after a nack, a return, a confirm timeout or a closed channel. */
  readonly publisherFailures: number;
  readonly reconnects: number;
  /** Fence acquisitions that had to wait for another connection to let go. */
  readonly fenceWaits: number;
  /** Gauge: bytes published and not yet confirmed. */
  readonly pendingBytes: number;
  /** Gauge: open readers. */
  readonly readers: number;
}

/** The RabbitMQ EventLog: one stream queue per partition. See docs/log-rabbitmq.md. */
export interface RabbitMqEventLog extends EventLog {
  readonly kind: 'rabbitmq';
  readonly namespace: string;
  readonly mode: RabbitMqLogMode;
  /** The stream queue of a partition (`<namespace>.log.p<N>`). */
  queueName(partition: number): string;
  stats(): RabbitMqLogStats;
}
