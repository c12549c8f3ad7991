/**
 * Child process of the EventLog conformance crash test (run as `node --import tsx crash-child.ts SPEC`).
 * It opens the adapter named in SPEC, prints `ready`, then appends random batches from several
 * concurrent loops and prints one JSON line per record as soon as its `append` resolved (an
 * acknowledgement), until the parent kills it with SIGKILL. stdout is written with `writeSync`, so a line
 * the parent reads was acknowledged before the kill.
 */
import { writeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { crc32 } from 'node:zlib';
import { isKairosError } from '../core/index.js';
import type { CrashAck, CrashChildSpec } from './conformance.js';
import type { EventLog, LogEntry } from './port.js';

const SAFETY_EXIT_MS = 120_000;

/** Blocking write of a whole string to stdout, riding out EAGAIN should the pipe be non-blocking. */
function print(text: string): void {
  const bytes = Buffer.from(text);
  let written = 0;
  while (written < bytes.length) {
    try {
      written += writeSync(1, bytes, written, bytes.length - written);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Same layout as `selfCheckingValue` in conformance.ts: CRC32(key + payload) then the payload. */
function selfChecking(key: string, payload: Uint8Array): Uint8Array {
  const value = new Uint8Array(4 + payload.byteLength);
  value.set(payload, 4);
  new DataView(value.buffer).setUint32(0, crc32(payload, crc32(key)), true);
  return value;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '') as CrashChildSpec;
  const module = (await import(pathToFileURL(spec.module).href)) as Record<string, unknown>;
  const factory = module[spec.exportName];
  if (typeof factory !== 'function') throw new Error(`${spec.module} has no function export ${spec.exportName}`);
  const log = await (factory as (options: unknown) => EventLog | Promise<EventLog>)(spec.options);
  print('ready\n');
  setTimeout(() => process.exit(3), SAFETY_EXIT_MS).unref();

  const rand = prng(spec.seed);
  const keys = Array.from({ length: 64 }, (_, i) => (i % 5 === 0 ? `ü-${i}` : `key-${i}`));
  const payload = (length: number) => {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) bytes[i] = (rand() * 256) | 0;
    return bytes;
  };
  const valueSize = () => {
    const r = rand();
    // Mostly event-sized values, some large ones that span read chunks and fill segments quickly.
    return r < 0.92
      ? Math.floor(rand() * 1_500)
      : r < 0.995
        ? 4_000 + Math.floor(rand() * 20_000)
        : 100_000 + Math.floor(rand() * 150_000);
  };

  const loop = async () => {
    for (;;) {
      const entries: LogEntry[] = Array.from({ length: 1 + Math.floor(rand() * 40) }, () => {
        const key = keys[Math.floor(rand() * keys.length)]!;
        return { key, value: selfChecking(key, payload(valueSize())), timestampMs: Date.now() };
      });
      let positions;
      try {
        positions = await log.append(entries);
      } catch (err) {
        if (isKairosError(err) && err.retryable) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          continue;
        }
        throw err;
      }
      const lines = positions.map(({ partition, offset }, i) => {
        const entry = entries[i]!;
        const ack: CrashAck = {
          p: partition,
          o: offset,
          k: entry.key,
          n: entry.value.byteLength,
          c: crc32(entry.value),
        };
        return `${JSON.stringify(ack)}\n`;
      });
      print(lines.join(''));
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, loop));
}

main().catch((err: unknown) => {
  process.stderr.write(`crash child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(2);
});
