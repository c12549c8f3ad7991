import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../../core/index.js';
import { LogErrors } from '../errors.js';

export const LOCK_FILE = 'LOCK';
const TEMP_RE = /^LOCK\.(\d+)\.[0-9a-f-]+\.tmp$/;

interface LockHolder {
  readonly pid: number;
  /** Process start time in clock ticks since boot (Linux), so a recycled pid is not taken for the holder. */
  readonly start: string | null;
  readonly token: string;
}

export interface DirLock {
  readonly holder: LockHolder;
  release(): void;
}

/** Start time of a process from /proc (Linux); null where unavailable. */
function processStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at field 3; starttime is field 22.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function isAlive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = processStart(holder.pid);
  return holder.start === null || start === null || start === holder.start;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.token !== 'string') return undefined;
    return { pid: parsed.pid, start: typeof parsed.start === 'string' ? parsed.start : null, token: parsed.token };
  } catch {
    return undefined;
  }
}

/**
 * Takes the single-writer lock of a log directory. The lock file is written completely under a temporary
 * name and then hard-linked into place (`link` fails if LOCK exists), so a holder is never seen half
 * written. A LOCK left by a dead process (`kill -9`) — or by a recycled pid, told apart by its start
 * time — is taken over with a warning. Another live writer, in this process or another: LOG_LOCKED.
 */
export function acquireDirLock(dir: string, logger: Logger): DirLock {
  const lockPath = join(dir, LOCK_FILE);
  removeDeadTemporaries(dir);
  const holder: LockHolder = { pid: process.pid, start: processStart(process.pid), token: randomUUID() };
  const temp = join(dir, `LOCK.${process.pid}.${holder.token}.tmp`);
  writeFileSync(temp, JSON.stringify(holder));
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        linkSync(temp, lockPath);
        return { holder, release: () => releaseLock(lockPath, holder) };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const current = readHolder(lockPath);
      if (current && isAlive(current)) {
        throw LogErrors.create('LOG_LOCKED', `Event log ${dir} is locked by live process ${current.pid}`, {
          details: { dir, pid: current.pid },
        });
      }
      logger.warn({ dir, stalePid: current?.pid }, 'event log: taking over a lock left by a dead process');
      rmSync(lockPath, { force: true });
    }
    throw LogErrors.create('LOG_LOCKED', `Event log ${dir} lock is contended`, { details: { dir } });
  } finally {
    rmSync(temp, { force: true });
  }
}

function releaseLock(lockPath: string, holder: LockHolder): void {
  // Only remove our own lock: never one another writer took over meanwhile.
  if (readHolder(lockPath)?.token === holder.token) {
    try {
      unlinkSync(lockPath);
    } catch {
      // Already gone: nothing to release.
    }
  }
}

/** A writer killed between writing its temporary lock file and linking it leaves the temporary behind. */
function removeDeadTemporaries(dir: string): void {
  for (const name of readdirSync(dir)) {
    const match = TEMP_RE.exec(name);
    if (!match) continue;
    const pid = Number(match[1]);
    let alive = true;
    try {
      process.kill(pid, 0);
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) rmSync(join(dir, name), { force: true });
  }
}
