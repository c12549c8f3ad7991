/**
 * messageId → the append ("flight") that carries it. One Flight object is shared by every message of
 * one append, so the index costs one Map entry per message and no closure or promise per message.
 * Entries are evicted oldest-first by age (the dedupe window) and by count.
 */

export const FlightState = { pending: 0, done: 1, failed: 2 } as const;
export type FlightState = (typeof FlightState)[keyof typeof FlightState];

export class Flight {
  state: FlightState = FlightState.pending;
  /** messageIds registered for this flight (cleared once settled). */
  ids: string[] = [];
  private waiters: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly atMs: number) {}

  /** Resolves when the flight settles, either way. Created only when someone waits. */
  settled(): Promise<void> {
    if (this.state !== FlightState.pending) return Promise.resolve();
    this.waiters ??= new Promise<void>((resolve) => {
      this.wake = resolve;
    });
    return this.waiters;
  }

  settle(state: typeof FlightState.done | typeof FlightState.failed): void {
    this.state = state;
    this.ids = [];
    this.wake?.();
  }
}

/** A settled flight for entries rebuilt from the log (already durable). */
export function doneFlight(atMs: number): Flight {
  const flight = new Flight(atMs);
  flight.state = FlightState.done;
  return flight;
}

export class DedupeIndex {
  private readonly entries = new Map<string, Flight>();

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(messageId: string): Flight | undefined {
    return this.entries.get(messageId);
  }

  /** Registers a pending message (the caller has checked it is absent). */
  add(messageId: string, flight: Flight): void {
    this.entries.set(messageId, flight);
    if (flight.state === FlightState.pending) flight.ids.push(messageId);
  }

  /** Registers a durable message found in the log (start-up), unless already known. */
  addDone(messageId: string, flight: Flight): void {
    if (!this.entries.has(messageId)) this.entries.set(messageId, flight);
  }

  /** Forgets a failed flight's messages so a retry appends them. */
  forget(flight: Flight): void {
    for (const id of flight.ids) if (this.entries.get(id) === flight) this.entries.delete(id);
  }

  /** Drops entries older than the window, then the oldest beyond the count bound. */
  evict(nowMs: number): void {
    const oldest = nowMs - this.windowMs;
    let excess = this.entries.size - this.maxEntries;
    for (const [id, flight] of this.entries) {
      if (excess <= 0 && flight.atMs >= oldest) break;
      // Never forget a message whose append is still in flight: a concurrent duplicate must wait for it.
      if (flight.state === FlightState.pending) break;
      this.entries.delete(id);
      excess--;
    }
  }
}
