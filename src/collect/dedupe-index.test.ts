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
