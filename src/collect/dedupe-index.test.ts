import { describe, expect, it } from 'vitest';
import { DedupeIndex, Flight, FlightState, doneFlight } from './dedupe-index.js';

describe('DedupeIndex', () => {
  it('remembers messages per flight and forgets a failed flight', () => {
    const index = new DedupeIndex(1000, 100);
    const flight = new Flight(0);
    index.add('m1', flight);
    index.add('m2', flight);
    expect(index.get('m1')).toBe(flight);
    index.forget(flight);
    flight.settle(FlightState.failed);
    expect(index.get('m1')).toBeUndefined();
    expect(index.size).toBe(0);
  });

  it('evicts by age and by count, oldest first, but never a pending flight', () => {
    const index = new DedupeIndex(1000, 3);
    const old = doneFlight(0);
    index.addDone('a', old);
    index.addDone('b', old);
    const recent = doneFlight(900);
    index.addDone('c', recent);
    index.evict(1500); // the window starts at 500
    expect(index.get('a')).toBeUndefined();
    expect(index.get('c')).toBe(recent);
    const pending = new Flight(1500);
    for (const id of ['d', 'e', 'f']) index.add(id, pending);
    index.evict(1500); // 4 entries, bound 3: the oldest (c) goes
    expect(index.get('c')).toBeUndefined();
    expect(index.size).toBe(3);
    index.evict(10_000); // pending entries stay even past the window
    expect(index.size).toBe(3);
  });

  it('wakes waiters when a flight settles', async () => {
    const flight = new Flight(0);
    let woke = false;
    const waiting = flight.settled().then(() => (woke = true));
    expect(woke).toBe(false);
    flight.settle(FlightState.done);
    await waiting;
    expect(woke).toBe(true);
    await expect(flight.settled()).resolves.toBeUndefined();
  });
});

/** The reference semantics: a Map in insertion order (what the index replaced). */
class MapIndex {
  readonly entries = new Map<string, Flight>();
  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
  ) {}
  add(id: string, flight: Flight): void {
    this.entries.set(id, flight);
  }
  addDone(id: string, flight: Flight): void {
    if (!this.entries.has(id)) this.entries.set(id, flight);
  }
  forget(flight: Flight, ids: readonly string[]): void {
    for (const id of ids) if (this.entries.get(id) === flight) this.entries.delete(id);
  }
  evict(nowMs: number): void {
    const oldest = nowMs - this.windowMs;
    let excess = this.entries.size - this.maxEntries;
    for (const [id, flight] of this.entries) {
      if (excess <= 0 && flight.atMs >= oldest) break;
      if (flight.state === FlightState.pending) break;
      this.entries.delete(id);
      excess--;
    }
  }
}

describe('DedupeIndex against a Map', () => {
  it('agrees on random adds, failures, start-up entries and evictions (through growth and rebuilds)', () => {
    let seed = 11;
    const random = () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return seed / 4294967296;
    };
    const index = new DedupeIndex(5_000, 3_000);
    const reference = new MapIndex(5_000, 3_000);
    const pending: { flight: Flight; ids: string[] }[] = [];
    let now = 0;
    for (let step = 0; step < 20_000; step++) {
      now += Math.floor(random() * 3);
      const r = random();
      if (r < 0.6) {
        const flight = pending.at(-1)?.flight ?? new Flight(now);
        if (pending.length === 0) pending.push({ flight, ids: [] });
        const id = `m-${Math.floor(random() * 8_000)}`;
        const known = reference.entries.get(id);
        const fresh = known === undefined || known.state === FlightState.failed;
        if (random() < 0.5) {
          // claim: one lookup for get + add.
          expect(index.claim(id, flight)).toBe(fresh ? undefined : known);
        } else {
          expect(index.get(id)).toBe(known);
          if (fresh) index.add(id, flight);
        }
        if (fresh) {
          reference.add(id, flight);
          pending.at(-1)!.ids.push(id);
        }
      } else if (r < 0.65) {
        const id = `d-${Math.floor(random() * 8_000)}`;
        const flight = doneFlight(now);
        index.addDone(id, flight);
        reference.addDone(id, flight);
      } else if (r < 0.8 && pending.length > 0) {
        const { flight, ids } = pending.shift()!;
        if (random() < 0.2) {
          index.forget(flight);
          reference.forget(flight, ids);
          flight.settle(FlightState.failed);
        } else flight.settle(FlightState.done);
      } else if (r < 0.85) {
        pending.push({ flight: new Flight(now), ids: [] });
      } else {
        index.evict(now);
        reference.evict(now);
      }
      expect(index.size).toBe(reference.entries.size);
    }
    for (const [id, flight] of reference.entries) expect(index.get(id)).toBe(flight);
    expect(index.get('never')).toBeUndefined();
  });
});
