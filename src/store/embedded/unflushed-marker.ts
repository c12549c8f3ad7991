import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fsyncPath } from '../../core/index.js';

/**
 * The guard of a state directory whose commits reach the disk later than they become visible (the
 * embedded state store's deferred flush). While such a store is open, `unflushed.json` in its directory
 * names the boot of the machine that opened it; a clean close removes it. Found at the next open:
 *
 * - written in this boot: the process died (`kill -9`, a crash) but the machine did not. Every commit is
 *   in the OS page cache, which outlives the process: the store is whole.
 * - written in an earlier boot: the machine went down (power loss, kernel panic, a hard reset) while
 *   commits were not yet on disk. lmdb without its per-commit flush keeps its integrity only if the disk
 *   wrote pages in order, which nothing guarantees; the store cannot be trusted. It is moved aside and
 *   the stream rebuilds every profile from the event log, whose appends are flushed before they are
 *   acknowledged.
 */
export const UNFLUSHED_MARKER = 'unflushed.json';
/**
 * Written (before the store is moved aside) when a store starts over, removed once everything that held
 * positions in the old store's outbox has forgotten them: a crash in between must not leave those
 * positions ahead of the new outbox.
 */
export const OUTBOX_RESTARTED_MARKER = 'outbox-restarted';

const BOOT_ID_FILE = '/proc/sys/kernel/random/boot_id';

/** This boot of the machine (Linux), or undefined where the kernel does not say. */
export function currentBootId(): string | undefined {
  try {
    return readFileSync(BOOT_ID_FILE, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

export interface UnflushedMarker {
  readonly bootId: string;
  readonly pid: number;
  readonly openedAtMs: number;
}

export interface GuardResult {
  /** A marker was found (of this boot or an earlier one). */
  readonly found: boolean;
  /** Where the untrusted store was moved (the store then starts empty), when the machine went down while it was open. */
  readonly movedTo?: string;
  /** The boot that left the marker behind, with `movedTo`. */
  readonly previous?: UnflushedMarker;
}

/** Checks `dir` for a marker left by an earlier boot; then moves `files` into `dir/torn-<time>/`. */
export function guardUnflushed(
  dir: string,
  files: readonly string[],
  bootId: string | undefined,
  nowMs: number,
): GuardResult {
  const previous = readMarker(join(dir, UNFLUSHED_MARKER));
  if (!previous) return { found: false };
  if (previous.bootId === bootId) return { found: true };
  const aside = join(dir, `torn-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}`);
  writeFlushed(join(dir, OUTBOX_RESTARTED_MARKER), new Date(nowMs).toISOString());
  mkdirSync(aside, { recursive: true });
  for (const file of files) if (existsSync(join(dir, file))) renameSync(join(dir, file), join(aside, file));
  rmSync(join(dir, UNFLUSHED_MARKER), { force: true });
  fsyncPath(dir);
  return { found: true, movedTo: aside, previous };
}

/** Before the first deferred commit: this boot has a store open whose commits may not be on disk yet. */
export function markUnflushed(dir: string, bootId: string, nowMs: number): void {
  writeFlushed(
    join(dir, UNFLUSHED_MARKER),
    JSON.stringify({ bootId, pid: process.pid, openedAtMs: nowMs } satisfies UnflushedMarker),
  );
  fsyncPath(dir);
}

/** Whether a store that started over still waits for its outbox's readers to forget their positions. */
export function outboxRestartPending(dir: string): boolean {
  return existsSync(join(dir, OUTBOX_RESTARTED_MARKER));
}

/** Every reader of the old outbox has forgotten its position. */
export function clearOutboxRestart(dir: string): void {
  rmSync(join(dir, OUTBOX_RESTARTED_MARKER), { force: true });
  fsyncPath(dir);
}

/** After a final flush of a clean close: nothing is pending any more. */
export function clearUnflushed(dir: string): void {
  rmSync(join(dir, UNFLUSHED_MARKER), { force: true });
}

function readMarker(path: string): UnflushedMarker | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<UnflushedMarker>;
    if (typeof parsed.bootId === 'string') return parsed as UnflushedMarker;
  } catch {
    // A marker torn by the crash it records: its boot is unknown, so the store is not trusted.
  }
  return { bootId: '', pid: 0, openedAtMs: 0 };
}

function writeFlushed(path: string, text: string): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
