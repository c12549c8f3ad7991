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

/** FNV-1a over UTF-16 units, then a finaliser so the low bits (the table index) are well mixed. */
function hashId(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  return h ^ (h >>> 13);
}

const EMPTY = 0;
const TOMBSTONE = -1;
const INITIAL_CAPACITY = 1024;

/**
 * The index is a FIFO ring of entries (insertion order, what eviction walks) plus an open-addressing
 * table of 32-bit hashes pointing into it. A Map did the same with two lookups per message that each
 * missed the CPU caches several times once it held hundreds of thousands of ids; here a fresh id costs
 * one probe into a dense Int32Array and the string is only compared when the hashes match.
 */
export class DedupeIndex {
  /** Ring of entries; a slot whose flight is undefined is a hole (an entry forgotten out of order). */
  private ids: (string | undefined)[] = new Array<string | undefined>(INITIAL_CAPACITY);
  private flights: (Flight | undefined)[] = new Array<Flight | undefined>(INITIAL_CAPACITY);
  private hashes = new Int32Array(INITIAL_CAPACITY);
  private ringMask = INITIAL_CAPACITY - 1;
  /** Oldest and next ring positions (absolute counts; the slot is `position & ringMask`). */
  private head = 0;
  private tail = 0;
  private live = 0;
  /** Ring slot + 1, EMPTY or TOMBSTONE; at most half full (live + tombstones) so probes stay short. */
  private table = new Int32Array(4 * INITIAL_CAPACITY);
  private tableMask = 4 * INITIAL_CAPACITY - 1;
  private tombstones = 0;

  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}

  get size(): number {
    return this.live;
  }

  get(messageId: string): Flight | undefined {
    const at = this.find(messageId, hashId(messageId));
    return at < 0 ? undefined : this.flights[this.table[at]! - 1];
  }

  /** Registers a pending message (the caller has checked it is absent, or that its flight failed). */
  add(messageId: string, flight: Flight): void {
    const hash = hashId(messageId);
    const at = this.find(messageId, hash);
    // Like Map#set: an existing entry takes the new flight and keeps its place in the eviction order.
    if (at >= 0) this.flights[this.table[at]! - 1] = flight;
    else this.insert(messageId, hash, flight);
    if (flight.state === FlightState.pending) flight.ids.push(messageId);
  }

  /**
   * `get` and, when that finds nothing (or a failed flight), `add`, with one lookup: returns the flight
   * already carrying the message (the caller treats it as a duplicate or waits for it), or undefined
   * when the message is now registered with `flight`.
   */
  claim(messageId: string, flight: Flight): Flight | undefined {
    const hash = hashId(messageId);
    const at = this.find(messageId, hash);
    if (at >= 0) {
      const slot = this.table[at]! - 1;
      const seen = this.flights[slot]!;
      if (seen.state !== FlightState.failed) return seen;
      this.flights[slot] = flight;
    } else this.insert(messageId, hash, flight);
    if (flight.state === FlightState.pending) flight.ids.push(messageId);
    return undefined;
  }

  /** Registers a durable message found in the log (start-up), unless already known. */
  addDone(messageId: string, flight: Flight): void {
    const hash = hashId(messageId);
    if (this.find(messageId, hash) < 0) this.insert(messageId, hash, flight);
  }

  /** Forgets a failed flight's messages so a retry appends them. */
  forget(flight: Flight): void {
    for (const id of flight.ids) {
      const at = this.find(id, hashId(id));
      if (at >= 0 && this.flights[this.table[at]! - 1] === flight) this.remove(at);
    }
  }

  /** Drops entries older than the window, then the oldest beyond the count bound. */
  evict(nowMs: number): void {
    const oldest = nowMs - this.windowMs;
    let excess = this.live - this.maxEntries;
    while (this.head < this.tail) {
      const slot = this.head & this.ringMask;
      const flight = this.flights[slot];
      if (flight === undefined) {
        this.head++;
        continue;
      }
      if (excess <= 0 && flight.atMs >= oldest) break;
      // Never forget a message whose append is still in flight: a concurrent duplicate must wait for it.
      if (flight.state === FlightState.pending) break;
      this.remove(this.find(this.ids[slot]!, this.hashes[slot]!));
      this.head++;
      excess--;
    }
  }

  /** Table position of the entry for `id`, or -1. */
  private find(id: string, hash: number): number {
    const table = this.table;
    const mask = this.tableMask;
    for (let at = hash & mask; ; at = (at + 1) & mask) {
      const v = table[at]!;
      if (v === EMPTY) return -1;
      if (v !== TOMBSTONE && this.hashes[v - 1] === hash && this.ids[v - 1] === id) return at;
    }
  }

  private insert(id: string, hash: number, flight: Flight): void {
    if (this.tail - this.head > this.ringMask) this.grow();
    const slot = this.tail++ & this.ringMask;
    this.ids[slot] = id;
    this.flights[slot] = flight;
    this.hashes[slot] = hash;
    this.live++;
    this.place(hash, slot);
  }

  private place(hash: number, slot: number): void {
    const table = this.table;
    const mask = this.tableMask;
    let at = hash & mask;
    while (table[at]! > 0) at = (at + 1) & mask;
    if (table[at] === TOMBSTONE) this.tombstones--;
    table[at] = slot + 1;
    if (2 * (this.live + this.tombstones) > table.length) this.rebuild(table.length);
  }

  /** Removes the entry at table position `at` (its ring slot becomes a hole). */
  private remove(at: number): void {
    const slot = this.table[at]! - 1;
    this.table[at] = TOMBSTONE;
    this.tombstones++;
    this.ids[slot] = undefined;
    this.flights[slot] = undefined;
    this.live--;
  }

  /** Doubles the ring, dropping holes, and rebuilds the table for it. */
  private grow(): void {
    const capacity = 2 * (this.ringMask + 1);
    const ids = new Array<string | undefined>(capacity);
    const flights = new Array<Flight | undefined>(capacity);
    const hashes = new Int32Array(capacity);
    let n = 0;
    for (let p = this.head; p < this.tail; p++) {
      const slot = p & this.ringMask;
      if (this.flights[slot] === undefined) continue;
      ids[n] = this.ids[slot];
      flights[n] = this.flights[slot];
      hashes[n] = this.hashes[slot]!;
      n++;
    }
    this.ids = ids;
    this.flights = flights;
    this.hashes = hashes;
    this.ringMask = capacity - 1;
    this.head = 0;
    this.tail = n;
    this.rebuild(4 * capacity);
  }

  /** A fresh table of `size` positions (no tombstones) for the entries in the ring. */
  private rebuild(size: number): void {
    this.table = new Int32Array(size);
    this.tableMask = size - 1;
    this.tombstones = 0;
    const table = this.table;
    for (let p = this.head; p < this.tail; p++) {
      const slot = p & this.ringMask;
      if (this.flights[slot] === undefined) continue;
      let at = this.hashes[slot]! & this.tableMask;
      while (table[at] !== EMPTY) at = (at + 1) & this.tableMask;
      table[at] = slot + 1;
    }
  }
}
