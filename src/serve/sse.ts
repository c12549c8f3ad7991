import type { ServerResponse } from 'node:http';

/** A record pushed to live subscribers of one profile (segment enter/exit). */
export interface LiveRecord {
  readonly profileKey: string;
  readonly event: string;
  readonly data: unknown;
}

/**
 * Fan-out of live records to Server-Sent-Event subscribers, by profile key. The engine publishes
 * what stream commits report; slow subscribers are dropped rather than buffered without bound.
 */
export class SseHub {
  private readonly subscribers = new Map<string, Set<ServerResponse>>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(private readonly heartbeatMs = 15_000) {}

  get size(): number {
    let n = 0;
    for (const set of this.subscribers.values()) n += set.size;
    return n;
  }

  subscribe(keys: readonly string[], response: ServerResponse): () => void {
    for (const key of keys) {
      let set = this.subscribers.get(key);
      if (!set) this.subscribers.set(key, (set = new Set()));
      set.add(response);
    }
    this.heartbeat ??= setInterval(() => this.beat(), this.heartbeatMs).unref();
    return () => {
      for (const key of keys) {
        const set = this.subscribers.get(key);
        set?.delete(response);
        if (set?.size === 0) this.subscribers.delete(key);
      }
    };
  }

  publish(record: LiveRecord): void {
    const set = this.subscribers.get(record.profileKey);
    if (!set) return;
    const frame = `event: ${record.event}\ndata: ${JSON.stringify(record.data)}\n\n`;
    for (const response of set) {
      // Backpressure: a subscriber that cannot keep up is disconnected (EventSource reconnects).
      if (response.writableLength > 1024 * 1024) response.destroy();
      else response.write(frame);
    }
  }

  close(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const set of this.subscribers.values()) for (const response of set) response.end();
    this.subscribers.clear();
  }

  private beat(): void {
    for (const set of this.subscribers.values()) for (const response of set) response.write(': keep-alive\n\n');
  }
}
