import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of a /proc stat line, in seconds. */
function cpuSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** CPU seconds (user + system) of a Linux process, every thread, ended ones included (/proc/<pid>/stat). */
export function processCpu(pid: number): number {
  return cpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

/** CPU seconds of one thread of a process (/proc/<pid>/task/<tid>/stat); the main thread's tid is the pid. */
export function threadCpu(pid: number, tid: number): number {
  return cpuSeconds(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
}
