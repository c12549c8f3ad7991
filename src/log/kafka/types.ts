import type { EventLog } from '../port.js';
import type { KafkaLogMode } from './options.js';

/** The Kafka EventLog: one topic, one Kafka partition per log partition. */
export interface KafkaEventLog extends EventLog {
  readonly kind: 'kafka';
  readonly namespace: string;
  /** `<namespace>.log`. */
  readonly topic: string;
  readonly mode: KafkaLogMode;
}
