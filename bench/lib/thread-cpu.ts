import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuSeconds(stat: string): { name: string; seconds: number } {
  const close = stat.lastIndexOf(')');
  const fields = stat.slice(close + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, close), seconds: (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND };
}

/** CPU seconds (user + system) of a Linux process, every thread, ended ones included (/proc/<pid>/stat). */
export function processCpu(pid: number): number {
  return cpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8')).seconds;
}

/** CPU seconds per live thread of a Linux process (/proc/<pid>/task/<tid>/stat); the main thread's tid is the pid. */
export function threadCpu(pid: number): Map<number, { name: string; seconds: number }> {
  const out = new Map<number, { name: string; seconds: number }>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      out.set(Number(tid), cpuSeconds(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')));
    } catch {
      // the thread ended
    }
  }
  return out;
}
