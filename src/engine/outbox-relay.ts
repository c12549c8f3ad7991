import { encodePayload, type Logger } from '../core/index.js';
import type { EventLog } from '../log/index.js';
import { deleteAll, type MetadataStore, type StateStore } from '../store/index.js';
import { WEBHOOK_CURSORS_COLLECTION } from '../segments/index.js';
import { isForwardRecord } from '../stream/index.js';

export const OUTBOX_CURSORS = 'outbox-cursors';

export interface OutboxRelayOptions {
  readonly log: EventLog;
  readonly state: StateStore;
  readonly metadata: MetadataStore;
  readonly partitionCount: number;
  readonly logger: Logger;
  /** How often every partition's outbox is polled (commit reports also wake it). @default 250 */
  readonly pollMs?: number;
}

/**
 * Re-appends ForwardRecords (events that reached a profile after it was merged away) to the log under
 * the surviving profile. At-least-once: the cursor is saved after the append, and a repeat is dropped
 * by message id downstream. Runs beside the stream, never inside it.
 */
export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private readonly cursors = new Map<number, number>();
  relayed = 0;

  constructor(private readonly options: OutboxRelayOptions) {}

  async start(): Promise<void> {
    for (let p = 0; p < this.options.partitionCount; p++) {
      this.cursors.set(p, (await this.options.metadata.get<number>(OUTBOX_CURSORS, `relay/${p}`)) ?? 0);
    }
    this.timer = setInterval(() => this.wake(), this.options.pollMs ?? 250);
    this.timer.unref();
  }

  /** Runs a pass now (a stream commit reported forwarded events). */
  wake(): void {
    if (this.running || this.stopped) return;
    this.running = this.pass()
      .catch((error: unknown) => this.options.logger.error({ err: error }, 'outbox relay pass failed'))
      .finally(() => (this.running = undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }

  private async pass(): Promise<void> {
    for (let p = 0; p < this.options.partitionCount; p++) {
      for (;;) {
        const after = this.cursors.get(p) ?? 0;
        const records = await this.options.state.readOutbox(p, after, 500);
        if (records.length === 0) break;
        const forwards = records.map((r) => r.value).filter(isForwardRecord);
        if (forwards.length > 0) {
          await this.options.log.append(
            forwards.map((f) => ({ key: f.intoKey, value: encodePayload(f.event), timestampMs: f.event.receivedAtMs })),
          );
          this.relayed += forwards.length;
        }
        const last = records.at(-1)!.seq;
        this.cursors.set(p, last);
        await this.options.metadata.put(OUTBOX_CURSORS, `relay/${p}`, last);
        if (records.length < 500) break;
      }
    }
  }
}

/**
 * Forgets every cursor into the state store's outbox (the relay's and the webhook lanes'), for a state
 * store that starts over (moved aside after a crash of the machine): its outbox sequence numbers start
 * again from 1, and the rebuilt stream writes its records again. Webhooks are then delivered again from
 * the beginning, with the same idempotency keys.
 */
export async function forgetOutboxCursors(metadata: MetadataStore): Promise<void> {
  for (const collection of [OUTBOX_CURSORS, WEBHOOK_CURSORS_COLLECTION]) await deleteAll(metadata, collection);
}
