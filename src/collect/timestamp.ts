/**
 * ISO-8601 timestamps as Segment-spec clients send them, parsed without Date.parse's leniency
 * ("March 7, 2020" or "2026-02-30" are not timestamps) and without its dependence on the server's
 * time zone: a date-time without an offset is read as UTC.
 */
const ISO_RE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?$/;

const MAX_DATE_MS = 8.64e15;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Epoch milliseconds of an ISO-8601 date or date-time, or NaN when the text is not one. */
export function parseIsoTimestamp(text: string): number {
  if (text.length < 10 || text.length > 40) return NaN;
  const m = ISO_RE.exec(text);
  if (m === null) return NaN;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = m[4] === undefined ? 0 : Number(m[4]);
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const millis = m[7] === undefined ? 0 : Number(m[7].padEnd(3, '0').slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  let offsetMinutes = 0;
  if (m[9] !== undefined) {
    const oh = Number(m[10]);
    const om = m[11] === undefined ? 0 : Number(m[11]);
    if (oh > 23 || om > 59) return NaN;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  let ms = Date.UTC(year, month - 1, day, hour, minute, second, millis);
  // Date.UTC maps years 0–99 to 1900–1999.
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  return ms - offsetMinutes * 60_000;
}

/**
 * Event time by Segment's rule: with `sentAt`, the client's clock offset is removed
 * (`receivedAt − (sentAt − timestamp)`); without it the timestamp is trusted; without a timestamp the
 * event happened when it was received. NaN when the correction leaves the representable date range.
 */
export function computeEventTimeMs(
  timestampMs: number | undefined,
  sentAtMs: number | undefined,
  receivedAtMs: number,
): number {
  if (timestampMs === undefined) return receivedAtMs;
  const ms = sentAtMs === undefined ? timestampMs : receivedAtMs - (sentAtMs - timestampMs);
  return Math.abs(ms) <= MAX_DATE_MS ? ms : NaN;
}
