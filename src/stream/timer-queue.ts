import type { TimeDomain } from './types.js';

export interface TimerEntry {
  readonly timeMs: number;
  readonly domain: TimeDomain;
  readonly key: string;
  readonly operator: string;
  readonly tag: string;
  /** Unique per (domain, time, key, operator, tag): registering twice is one timer. */
  readonly id: string;
}

export function timerId(domain: TimeDomain, timeMs: number, key: string, operator: string, tag: string): string {
  return `${domain}\u0000${timeMs}\u0000${key}\u0000${operator}\u0000${tag}`;
}

/**
 * One time domain's timers of a partition: a binary min-heap by time with lazy deletion, and a map
 * for deduplication. Ties fire in registration order of equal times by id, so replays are stable.
 */
export class TimerQueue {
  private heap: TimerEntry[] = [];
  private readonly live = new Map<string, TimerEntry>();

  get size(): number {
    return this.live.size;
  }

  has(id: string): boolean {
    return this.live.has(id);
  }

  add(entry: TimerEntry): boolean {
    if (this.live.has(entry.id)) return false;
    this.live.set(entry.id, entry);
    this.heap.push(entry);
    this.up(this.heap.length - 1);
    return true;
  }

  delete(id: string): TimerEntry | undefined {
    const entry = this.live.get(id);
    if (entry) this.live.delete(id);
    return entry;
  }

  /** The earliest live timer, without removing it. */
  peek(): TimerEntry | undefined {
    this.dropDead();
    return this.heap[0];
  }

  /** Removes and returns the earliest live timer when its time is ≤ `untilMs`. */
  pollDue(untilMs: number): TimerEntry | undefined {
    const head = this.peek();
    if (!head || head.timeMs > untilMs) return undefined;
    this.pop();
    this.live.delete(head.id);
    return head;
  }

  private dropDead(): void {
    while (this.heap.length > 0 && !this.live.has(this.heap[0]!.id)) this.pop();
    // Also drop a live-looking duplicate object of a re-registered id (the map holds the newest).
    while (this.heap.length > 0 && this.live.get(this.heap[0]!.id) !== this.heap[0]) this.pop();
  }

  private pop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private less(a: TimerEntry, b: TimerEntry): boolean {
    return a.timeMs < b.timeMs || (a.timeMs === b.timeMs && a.id < b.id);
  }

  private up(i: number): void {
    const heap = this.heap;
    const item = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(item, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[i]!;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && this.less(heap[right]!, heap[left]!) ? right : left;
      if (!this.less(heap[child]!, item)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = item;
  }
}
