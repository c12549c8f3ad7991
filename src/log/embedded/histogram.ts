import type { LatencyHistogram } from './types.js';

/** Bucket bounds in ms: fsyncs here take ~0.2–2 ms; a slow disk or a big flush lands in the upper ones. */
const BOUNDS_MS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 1000, Number.POSITIVE_INFINITY] as const;

export class Histogram {
  private readonly counts = new Array<number>(BOUNDS_MS.length).fill(0);
  private count = 0;
  private sumMs = 0;
  private maxMs = 0;

  observe(ms: number): void {
    const i = BOUNDS_MS.findIndex((bound) => ms <= bound);
    this.counts[i]!++;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  snapshot(): LatencyHistogram {
    let cumulative = 0;
    return {
      count: this.count,
      sumMs: this.sumMs,
      maxMs: this.maxMs,
      buckets: BOUNDS_MS.map((leMs, i) => ({ leMs, count: (cumulative += this.counts[i]!) })),
    };
  }
}
