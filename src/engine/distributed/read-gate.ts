import type { EventLog, LogReader, LogRecord, ReadOptions } from '../../log/index.js';

/**
 * Holds the reads of a worker's running tasks while it takes partitions over. Starting a task is a
 * chain of a hundred or so round trips (acquire, checkpoint, state scans, finding the offset in the
 * stream); on a busy worker each one waits behind other tasks' batches, and a takeover measured 4–6 s
 * instead of 0.5 s on the test machine. Held reads only wait (no work is lost or reordered), and the
 * gate opens by itself after `maxHoldMs` whatever happens to the takeover.
 */
export class ReadGate {
  private holds = 0;
  private waiters: (() => void)[] = [];

  /** Closes the gate until the returned function is called (or `maxHoldMs` passed). */
  hold(maxHoldMs: number): () => void {
    this.holds++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      if (--this.holds === 0) for (const wake of this.waiters.splice(0)) wake();
    };
    const timer = setTimeout(release, maxHoldMs);
    timer.unref();
    return release;
  }

  get isHeld(): boolean {
    return this.holds > 0;
  }

  /** Resolves once the gate is open (undefined when it is open now: no allocation on the hot path). */
  passage(): Promise<void> | undefined {
    return this.holds > 0 ? new Promise((resolve) => this.waiters.push(resolve)) : undefined;
  }
}

class GatedReader implements LogReader {
  constructor(
    private readonly reader: LogReader,
    private readonly gate: ReadGate,
  ) {}

  get partition(): number {
    return this.reader.partition;
  }

  get position(): number {
    return this.reader.position;
  }

  async read(options: ReadOptions): Promise<LogRecord[]> {
    const wait = this.gate.passage();
    if (wait) await wait;
    return this.reader.read(options);
  }

  close(): Promise<void> {
    return this.reader.close();
  }
}

/** The log as the worker's tasks see it: readers wait at the gate before each read. */
export function gatedLog(log: EventLog, gate: ReadGate): EventLog {
  return {
    get kind() {
      return log.kind;
    },
    get partitionCount() {
      return log.partitionCount;
    },
    partitionOf: (key) => log.partitionOf(key),
    append: (entries) => log.append(entries),
    offsets: (partition) => log.offsets(partition),
    openReader: async (partition, fromOffset) => new GatedReader(await log.openReader(partition, fromOffset), gate),
    close: () => log.close(),
  };
}
