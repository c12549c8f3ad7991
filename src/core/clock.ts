/**
 * Wall-clock time comes from an injected Clock so tests drive it (event time comes from events).
 */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/** A clock that moves only when told to; for tests and deterministic replays. */
export class ManualClock implements Clock {
  constructor(private timeMs = 0) {}
  now(): number {
    return this.timeMs;
  }
  set(timeMs: number): void {
    this.timeMs = timeMs;
  }
  advance(ms: number): void {
    this.timeMs += ms;
  }
}
