/** A server-requested wait longer than this is taken as a mistake, not as a reason to go silent. */
export const MAX_RETRY_AFTER_MS = 600_000;

/**
 * Delay before retry number `attempt` (0-based): "full jitter", uniform in
 * [0, min(maxMs, baseMs·2^attempt)), so that many browsers recovering from the same outage spread out.
 */
export function backoffDelayMs(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

/**
 * A `Retry-After` header as milliseconds from `nowMs`: delta-seconds or an HTTP date; a date in the
 * past means "now". Undefined when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  // Date.parse accepts bare numbers ("-5" is the year -5): only text with letters is a date.
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : /[a-z]/i.test(text) ? Date.parse(text) - nowMs : NaN;
  return Number.isNaN(ms) ? undefined : Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}
