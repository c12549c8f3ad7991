import { CoreErrors } from './errors.js';

/** A duration as users write it ("500ms", "30s", "10m", "2h", "30d", "1w") or a number of milliseconds. */
export type Duration = string | number;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/;

export function isDurationString(value: unknown): value is string {
  return typeof value === 'string' && DURATION_RE.test(value.trim());
}

/** Parses a Duration into milliseconds; throws CORE_INVALID_DURATION on anything else. */
export function parseDuration(value: Duration, field = 'duration'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value;
  } else {
    const match = DURATION_RE.exec(value.trim());
    if (match) {
      const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
      if (Number.isFinite(ms)) return Math.round(ms);
    }
  }
  throw CoreErrors.create('CORE_INVALID_DURATION', `Invalid ${field}: ${JSON.stringify(value)}`, {
    details: { field, value },
  });
}

/** The shortest exact form, for display ("600000" → "10m"). */
export function formatDuration(ms: number): string {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = UNIT_MS[unit];
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
