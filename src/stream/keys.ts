import type { TimeDomain } from './types.js';

/**
 * Store key layout of the stream (one StateStore namespace):
 * - `s/<profileKey>`                         per-key state blob (all operators of the pipeline)
 * - `t/<p>/<domain>/<time:15>/<key>\0<op>\0<tag>` one timer (value 1), time-ordered per partition
 * - `d/<p>/<batch:12>`                       message ids processed in one committed step (dedupe)
 * - `l/<p>/<offset:15>`                      late side-output records
 * - `x/<operator>/<key>`                      an operator's secondary index entries
 * - `c/<p>/<operator>/<name>`                 an operator's per-partition counters
 */
export function stateKey(profileKey: string): string {
  return `s/${profileKey}`;
}

export function timerPrefix(partition: number): string {
  return `t/${partition}/`;
}

export function timerKey(
  partition: number,
  domain: TimeDomain,
  timeMs: number,
  key: string,
  operator: string,
  tag: string,
): string {
  return `t/${partition}/${domain}/${pad(timeMs, 15)}/${key}\u0000${operator}\u0000${tag}`;
}

export function parseTimerKey(storeKey: string): {
  domain: TimeDomain;
  timeMs: number;
  key: string;
  operator: string;
  tag: string;
} {
  // t/<p>/<domain>/<time>/<rest>
  const first = storeKey.indexOf('/', 2);
  const second = storeKey.indexOf('/', first + 1);
  const third = storeKey.indexOf('/', second + 1);
  const domain = storeKey.slice(first + 1, second) as TimeDomain;
  const timeMs = Number(storeKey.slice(second + 1, third));
  const [key = '', operator = '', tag = ''] = storeKey.slice(third + 1).split('\u0000');
  return { domain, timeMs, key, operator, tag };
}

export function dedupePrefix(partition: number): string {
  return `d/${partition}/`;
}

export function dedupeKey(partition: number, batch: number): string {
  return `d/${partition}/${pad(batch, 12)}`;
}

export function latePrefix(partition: number): string {
  return `l/${partition}/`;
}

export function lateKey(partition: number, offset: number, index: number): string {
  return `l/${partition}/${pad(offset, 15)}/${index}`;
}

function pad(n: number, width: number): string {
  return Math.max(0, Math.floor(n)).toString().padStart(width, '0');
}

export function indexKey(operator: string, key: string): string {
  return `x/${operator}/${key}`;
}

export function indexPrefix(operator: string): string {
  return `x/${operator}/`;
}

export function counterPrefix(partition: number): string {
  return `c/${partition}/`;
}

export function counterKey(partition: number, operator: string, name: string): string {
  return `c/${partition}/${operator}/${name}`;
}
